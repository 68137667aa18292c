// Package readiness builds the /readyz checks for each configured dependency:
// the database, Redis when configured, and the blob store.
package readiness

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Checks returns one check per configured dependency. The returned close
// function releases the clients the checks hold.
func Checks(cfg *config.Config, st *store.Store, blobs blob.Store) ([]httpapi.Check, func() error, error) {
	checks := []httpapi.Check{{Name: "database", Check: st.Ping}, {Name: "blobs", Check: blobs.Ping}}
	closers := []func() error{}
	if cfg.Redis != "" {
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, nil, &config.Error{Key: "redis", Msg: err.Error()}
		}
		client := redis.NewClient(opts)
		closers = append(closers, client.Close)
		checks = append(checks, httpapi.Check{Name: "redis", Check: func(ctx context.Context) error {
			return client.Ping(ctx).Err()
		}})
	}
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	return checks, closeAll, nil
}
