# syntax=docker/dockerfile:1
#
# Tessera's container image: one static binary on a distroless base, run as a
# non-root user, data in /data. Build from the repository root:
#
#   docker build --build-arg VERSION=v1.2.3 -t tessera:v1.2.3 .
#   docker run -p 8080:8080 -v tessera-data:/data tessera:v1.2.3
#
# deploy/deploy_test.go runs this file's `go build` line exactly as written
# (same flags, same CGO setting) and checks its stages and user; see
# docs/operations.md, "Container image".

# The Go release of go.mod's `go` line: official golang images set
# GOTOOLCHAIN=local, so an older image cannot build the module.
ARG GO_VERSION=1.26.8

# The build runs on the builder's platform and cross-compiles to the target
# (docker buildx build --platform linux/amd64,linux/arm64 .).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# The SQLite driver (modernc.org/sqlite) is pure Go: no cgo, no libc.
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tessera ./cmd/tessera
# The data directory, owned by the runtime user: a fresh named volume mounted
# on /data takes this ownership.
RUN mkdir -p /out/data

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no
# shell. Time zones are embedded in the binary (time/tzdata).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tessera /tessera
COPY --from=build --chown=65532:65532 /out/data /data
ENV TESSERA_DATA_DIR=/data \
    TESSERA_ADDR=:8080
WORKDIR /data
VOLUME /data
USER 65532:65532
EXPOSE 8080
# The image has no shell or HTTP client: tessera probes itself (GET /healthz
# on TESSERA_ADDR; `probe --ready` asks /readyz, the dependencies).
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["/tessera", "probe"]
ENTRYPOINT ["/tessera"]
CMD ["serve"]
