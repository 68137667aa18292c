package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Engine names a database engine.
type Engine string

// The engines a Store runs on.
const (
	EngineSQLite   Engine = "sqlite"
	EnginePostgres Engine = "postgres"
)

// Defaults for [Options].
const (
	DefaultMaxRetries   = 20
	DefaultMaxOpenConns = 10
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Logger receives migration progress and after-commit callback panics.
	// Nil discards.
	Logger *slog.Logger
	// MaxRetries bounds the attempts InTx (and DB.Exec) make when the database
	// reports a transient failure (busy, locked, serialization failure,
	// deadlock). Zero means DefaultMaxRetries; 1 disables retrying.
	MaxRetries int
	// MaxOpenConns bounds each Postgres connection pool (one per schema handed
	// out by App, one for Admin). Zero means DefaultMaxOpenConns. SQLite
	// ignores it: one writer connection and max(4, NumCPU) readers.
	MaxOpenConns int
}

// Store is an open database shared by every app of the process. It is safe for
// concurrent use. Close it when done.
type Store struct {
	engine      Engine
	log         *slog.Logger
	maxAttempts int
	rebinds     *rebindCache // nil on SQLite, which takes `?` natively
	backend     backend
}

// backend is what differs between the engines.
type backend interface {
	// handle returns the pools that serve schema ("" for the admin handle).
	handle(schema string) (write, read *sql.DB)
	txOptions(Isolation) *sql.TxOptions
	migrate(ctx context.Context, s *Store, sets []MigrationSet) error
	ping(ctx context.Context) error
	close() error
}

// Open connects to the database named by dsn:
//
//   - "sqlite://path/to/file.db" (relative to the working directory, or
//     absolute as in "sqlite:///var/lib/tessera/tessera.db"); the parent
//     directory is created; the file is created and switched to WAL mode.
//   - "postgres://…" or "postgresql://…", any URL pgx accepts; Open pings the
//     server.
//
// A dsn with another scheme, or a malformed one, returns fault.Invalid (the
// message names the scheme, never the credentials). A database that cannot be
// reached returns fault.Unavailable. Other failures are internal errors.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := newStore(opts)
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = DefaultMaxOpenConns
	}

	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, fault.New(fault.Invalid, "store: database URL has no scheme: want sqlite://PATH or postgres://…")
	}
	var err error
	switch strings.ToLower(scheme) {
	case "sqlite":
		s.engine = EngineSQLite
		s.backend, err = openSQLite(ctx, rest, synchronousFull)
	case "postgres", "postgresql":
		s.engine = EnginePostgres
		s.rebinds = newRebindCache()
		s.backend, err = openPostgres(ctx, dsn, maxOpen)
	default:
		return nil, fault.New(fault.Invalid, "store: unsupported database scheme %q: want sqlite:// or postgres://", scheme)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// newStore applies the defaults of opts; the caller sets engine and backend.
func newStore(opts Options) *Store {
	s := &Store{log: opts.Logger, maxAttempts: opts.MaxRetries}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = DefaultMaxRetries
	}
	return s
}

// Engine reports which engine the store runs on.
func (s *Store) Engine() Engine { return s.engine }

// App returns the handle of one schema: an app's name, or "platform". It never
// fails and never panics; the schema should have been passed to Migrate in
// this process or exist already.
//
// On Postgres the handle's connections act as the schema's role with
// search_path "<schema>, platform" (a pool per schema, created on first use
// and kept until Close); when the schema was never migrated, or the name is
// not a valid schema name, every call on the handle fails with an internal
// error naming the schema. On SQLite every handle shares the same connections
// and the name only labels the handle (see the package doc).
func (s *Store) App(schema string) *DB {
	return s.newDB(schema)
}

// Admin returns the handle that sees every schema: on Postgres it acts as the
// "<database>_admin" role with search_path listing every Tessera schema that
// existed when the connection was opened (Migrate drops idle admin
// connections so new ones see new schemas). Write admin SQL with the
// unqualified, prefixed table names (messaging_rooms): they resolve on both
// engines. On SQLite it is the same as any App handle.
func (s *Store) Admin() *DB {
	return s.newDB("")
}

func (s *Store) newDB(schema string) *DB {
	w, r := s.backend.handle(schema)
	return &DB{store: s, schema: schema, write: w, read: r}
}

// Ping checks that the database answers. It returns fault.Unavailable when it
// does not.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.backend.ping(ctx); err != nil {
		return Normalize(fmt.Errorf("store: ping: %w", err))
	}
	return nil
}

// Close closes every connection pool. Handles must not be used afterwards.
func (s *Store) Close() error {
	return s.backend.close()
}

// rebind rewrites `?` placeholders for the engine (a no-op on SQLite).
func (s *Store) rebind(query string) string {
	if s.rebinds == nil {
		return query
	}
	return s.rebinds.rebind(query)
}

// AppsRole returns the Postgres group role every schema role belongs to,
// "<database>_apps" (unquoted), for platform packages that grant access to
// tables created outside Migrate (the job queue's); "" on SQLite, which has
// no roles. Inside migrations use the {{apps_role}} token instead.
func (s *Store) AppsRole() string {
	if b, ok := s.backend.(*pgBackend); ok {
		return b.appsRole()
	}
	return ""
}
