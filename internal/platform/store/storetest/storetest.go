// Package storetest runs tests on both storage engines: SQLite always, in a
// fresh file per test, and Postgres when TESSERA_TEST_POSTGRES_URL names a
// server, in a fresh database per test that is dropped, with its roles, at
// cleanup. Test databases are named tessera_t_<random hex>, so any number of
// test processes (go test -p N ./...) can share one server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tessera-dev/tessera/internal/platform/store"
)

// EnvPostgresURL names the environment variable holding the URL of a Postgres
// server whose user may create databases and roles, for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvPostgresURL = "TESSERA_TEST_POSTGRES_URL"

// Run runs fn as two subtests, "sqlite" and "postgres", each with a fresh,
// unmigrated store that is closed (and, for Postgres, dropped) at cleanup. The
// postgres subtest is skipped when TESSERA_TEST_POSTGRES_URL is not set.
func Run(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	Engines(t, func(t *testing.T, e store.Engine) { fn(t, Open(t, e)) })
}

// Engines runs fn as two subtests, "sqlite" and "postgres", for tests that
// open their own stores or nodes on the engine (with DSN). Whether Postgres
// is skipped is DSN's business.
func Engines(t *testing.T, fn func(t *testing.T, engine store.Engine)) {
	t.Helper()
	for _, e := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}

// Open returns a fresh, unmigrated store on the named engine, closed at
// cleanup. For Postgres it creates a database (dropped at cleanup with every
// role named after it), or skips the test when TESSERA_TEST_POSTGRES_URL is not
// set.
func Open(t testing.TB, engine store.Engine) *store.Store {
	t.Helper()
	dsn := DSN(t, engine)
	s, err := store.Open(context.Background(), dsn, store.Options{Logger: logger(t)})
	if err != nil {
		t.Fatalf("storetest: open %s store: %v", engine, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close %s store: %v", engine, err)
		}
	})
	return s
}

// PostgresURL returns TESSERA_TEST_POSTGRES_URL, or skips the test when it is
// not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvPostgresURL)
	if u == "" {
		t.Skip("set " + EnvPostgresURL + " to run the Postgres variant")
	}
	return u
}

// DSN returns the address of a fresh, empty database on the named engine,
// for tests that open stores themselves (several stores on one database, a
// server started with --database): a file in t.TempDir() for SQLite; for
// Postgres a uniquely named database on the server of
// TESSERA_TEST_POSTGRES_URL (skipping the test when it is not set), dropped
// WITH (FORCE) at cleanup together with the roles named "<database>_…" (see
// store's package doc). Register the Close of stores opened on it with
// t.Cleanup after calling DSN: cleanups run last-in, first-out.
func DSN(t testing.TB, engine store.Engine) string {
	t.Helper()
	switch engine {
	case store.EngineSQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "tessera.db")
	case store.EnginePostgres:
		return createDatabase(t)
	}
	t.Fatalf("storetest: unknown engine %q", engine)
	return ""
}

func createDatabase(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s is not a URL: %v", EnvPostgresURL, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "tessera_t_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := openAdmin(base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer admin.Close()
	if err := execCreateDatabase(ctx, admin, name); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(base, name); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// logger writes warnings and errors to the test's output.
func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openAdmin(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(1)
	return db, nil
}

// execCreateDatabase retries while the template database is busy: concurrent
// CREATE DATABASE from several test processes can briefly collide.
func execCreateDatabase(ctx context.Context, admin *sql.DB, name string) error {
	for {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" { // object_in_use
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func dropDatabase(base, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := openAdmin(base)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	rows, err := admin.QueryContext(ctx, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", name+"_")
	if err != nil {
		return err
	}
	defer rows.Close()
	var roles []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return err
		}
		roles = append(roles, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := admin.ExecContext(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
			return err
		}
	}
	return nil
}
