// Package deploy holds Tessera's deployment files and the tests that check
// them where no Docker engine runs:
//
//   - ../Dockerfile and ../.dockerignore: the container image (multi-stage,
//     a static binary, a non-root user);
//   - compose.yaml and Caddyfile: a cluster of two nodes on Postgres, Redis
//     and an S3 store behind a round-robin proxy;
//   - tessera.service, tessera-backup.service, tessera-backup.timer and
//     tessera.yaml: one machine under systemd.
//
// The tests build the binary exactly as the Dockerfile's build stage does,
// from the files .dockerignore lets in, and check the image's stages and
// user, the compose cluster's wiring and the units' commands. See
// docs/operations.md. The package has no Go API.
package deploy
