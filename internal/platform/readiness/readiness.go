// Package readiness builds the /readyz checks for each configured dependency:
// the database, Redis when configured, and the blob store (a writable
// directory, or a reachable S3 bucket).
package readiness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Checks returns one check per configured dependency. The returned close
// function releases the clients the checks hold.
func Checks(cfg *config.Config, st *store.Store) ([]httpapi.Check, func() error, error) {
	checks := []httpapi.Check{{Name: "database", Check: st.Ping}}
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
	blobs, err := blobCheck(cfg)
	if err != nil {
		return nil, nil, err
	}
	checks = append(checks, blobs)
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	return checks, closeAll, nil
}

func blobCheck(cfg *config.Config) (httpapi.Check, error) {
	u, err := url.Parse(cfg.Blobs)
	if err != nil {
		return httpapi.Check{}, &config.Error{Key: "blobs", Msg: "not a URL"}
	}
	if u.Scheme == "file" {
		dir := filepath.FromSlash(u.Host + u.Path)
		return httpapi.Check{Name: "blobs", Check: func(context.Context) error { return writableDir(dir) }}, nil
	}
	endpoint, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil || endpoint.Host == "" {
		endpoint = &url.URL{Scheme: "https", Host: "s3.amazonaws.com"}
	}
	client, err := minio.New(endpoint.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.S3.AccessKey, cfg.S3.SecretKey, ""),
		Secure:       endpoint.Scheme == "https",
		Region:       u.Query().Get("region"),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return httpapi.Check{}, &config.Error{Key: "blobs", Msg: err.Error()}
	}
	bucket := u.Host
	return httpapi.Check{Name: "blobs", Check: func(ctx context.Context) error {
		ok, err := client.BucketExists(ctx, bucket)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("bucket %q does not exist", bucket)
		}
		return nil
	}}, nil
}

// writableDir creates dir if needed and checks a file can be written in it.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".ready-*")
	if err != nil {
		return err
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}
