// Package node assembles one Tessera node from its configuration: the store
// (migrated unless told not to), the HTTP edge with its readiness checks, and
// the enabled apps mounted on it. cmd/tessera only parses the command line and
// calls into here.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/readiness"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Options tune how a node starts.
type Options struct {
	// NoMigrate skips applying migrations at start (serve --no-migrate).
	NoMigrate bool
	// Version is reported in the OpenAPI document.
	Version string
}

// Node is one running Tessera process's platform and apps.
type Node struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Store
	edge    *httpapi.Server
	closers []func() error
}

// Open builds a node: it opens (and unless opts.NoMigrate, migrates) the
// store, builds the edge and mounts every enabled app. Close releases it.
func Open(ctx context.Context, cfg *config.Config, registry *app.Registry, log *slog.Logger, opts Options) (n *Node, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, &config.Error{Key: "data_dir", Msg: err.Error()}
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	n = &Node{cfg: cfg, log: log, store: st, closers: []func() error{st.Close}}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Close())
		}
	}()
	if !opts.NoMigrate {
		if err := Migrate(ctx, st, registry); err != nil {
			return nil, err
		}
	}
	blobKey, err := localKey(cfg.DataDir, "blobs")
	if err != nil {
		return nil, &config.Error{Key: "data_dir", Msg: err.Error()}
	}
	blobs, err := blob.Open(ctx, cfg.Blobs, blob.Options{
		AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
		PublicURL: cfg.PublicURL, SigningKey: blobKey,
	})
	if err != nil {
		return nil, &config.Error{Key: "blobs", Msg: err.Error()}
	}
	checks, closeChecks, err := readiness.Checks(cfg, st, blobs)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, closeChecks)
	n.edge = httpapi.New(httpapi.Options{
		Title:       "Tessera",
		Version:     opts.Version,
		Logger:      log,
		CORSOrigins: cfg.CORS.Origins,
		Checks:      checks,
	})
	n.edge.Handle(blob.PathPrefix, blob.Handler(blobs))
	if err := registry.Mount(ctx, cfg, app.Platform{Store: st, Blobs: blobs}, n.edge, log); err != nil {
		return nil, err
	}
	return n, nil
}

// OpenStore opens the configured database.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Database, store.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// Migrate applies the platform's and every registered app's migrations.
func Migrate(ctx context.Context, st *store.Store, registry *app.Registry) error {
	if err := st.Migrate(ctx, registry.MigrationSets()...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Handler is the node's HTTP handler (every route behind the middleware).
func (n *Node) Handler() http.Handler { return n.edge.Handler() }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	n.log.Info("serving", "addr", ln.Addr().String(), "database", string(n.store.Engine()), "public_url", n.cfg.PublicURL)
	return httpapi.Serve(ctx, ln, n.Handler(), n.log)
}

// Close releases the node's resources, last opened first.
func (n *Node) Close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	return errors.Join(errs...)
}
