package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// The synchronous settings measured in store_bench_test.go; Open uses FULL
// (see the package doc, "Durability").
const (
	synchronousFull   = "FULL"
	synchronousNormal = "NORMAL"
)

// sqliteBackend is one SQLite file in WAL mode behind two pools. Both pools
// are safe for concurrent use; the backend holds no other mutable state.
type sqliteBackend struct {
	path  string  // absolute path of the database file
	write *sql.DB // exactly one connection, BEGIN IMMEDIATE: Exec, InTx, migrations
	read  *sql.DB // query_only connections for Query and QueryRow outside a tx

	// readStmts caches statements of the read pool by query text, so that a
	// hot read (the realtime tailer's, an authorizer lookup) is parsed once
	// per connection instead of at every call. mu guards it; it holds at
	// most maxReadStmts entries (dynamic queries beyond that run uncached).
	mu        sync.Mutex
	readStmts map[string]*sql.Stmt
}

// maxReadStmts bounds the read statement cache.
const maxReadStmts = 512

// readStmt returns the cached statement for query, preparing it on first
// use; nil when the cache is full or preparing fails (the caller then runs
// the query directly, which reports the error).
func (b *sqliteBackend) readStmt(ctx context.Context, query string) *sql.Stmt {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.readStmts[query]; ok {
		return st
	}
	if len(b.readStmts) >= maxReadStmts {
		return nil
	}
	st, err := b.read.PrepareContext(ctx, query) //nolint:sqlclosecheck // cached; closed by close()
	if err != nil {
		return nil
	}
	if b.readStmts == nil {
		b.readStmts = map[string]*sql.Stmt{}
	}
	b.readStmts[query] = st
	return st
}

// openSQLite opens (creating if needed) the database file at path, which is
// the part of the DSN after "sqlite://".
func openSQLite(ctx context.Context, path, synchronous string) (*sqliteBackend, error) {
	switch {
	case path == "":
		return nil, fault.New(fault.Invalid, "store: sqlite:// needs a file path, as in sqlite://data/tessera.db")
	case strings.ContainsAny(path, "?#"):
		return nil, fault.New(fault.Invalid, "store: sqlite:// takes a plain file path, without parameters")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, fault.New(fault.Invalid, "store: sqlite:// takes a file path (an in-memory database cannot be shared by the read and write pools)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("store: create directory of %q: %w", abs, err)
	}

	// Pragmas go in the DSN so that every pooled connection gets them
	// (busy_timeout is applied first by the driver).
	common := "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	// The one writer gets a 32 MiB page cache (the default is 2 MiB): a group
	// commit of records touches many B-tree pages (each row and each of its
	// indexes), and a small cache spilled them to the WAL mid-transaction.
	write, err := sql.Open("sqlite", abs+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous("+synchronous+")&_pragma=cache_size(-32768)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %q: %w", abs, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)

	// The writer connects first, so the file exists and is in WAL mode
	// before any reader opens it.
	var mode string
	if err := write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = write.Close()
		return nil, Normalize(fmt.Errorf("store: open sqlite %q: %w", abs, err))
	}
	if !strings.EqualFold(mode, "wal") {
		_ = write.Close()
		return nil, fmt.Errorf("store: sqlite %q: journal_mode is %q, want wal", abs, mode)
	}

	read, err := sql.Open("sqlite", abs+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", abs, err)
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(5 * time.Minute)
	if err := read.PingContext(ctx); err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, Normalize(fmt.Errorf("store: open sqlite %q: %w", abs, err))
	}
	return &sqliteBackend{path: abs, write: write, read: read}, nil
}

// handle: SQLite has one namespace, so every schema shares both pools.
func (b *sqliteBackend) handle(string) (write, read *sql.DB) { return b.write, b.read }

// txOptions: the isolation comes from the single writer and BEGIN IMMEDIATE
// (set by _txlock), which is serializable.
func (b *sqliteBackend) txOptions(Isolation) *sql.TxOptions { return nil }

// ping uses the read pool, which a long write transaction does not block.
func (b *sqliteBackend) ping(ctx context.Context) error {
	return b.read.PingContext(ctx)
}

func (b *sqliteBackend) close() error {
	b.mu.Lock()
	var errs []error
	for _, st := range b.readStmts {
		errs = append(errs, st.Close())
	}
	b.readStmts = nil
	b.mu.Unlock()
	return errors.Join(append(errs, b.read.Close(), b.write.Close())...)
}

// migrate applies the sets on the writer connection, holding the migration
// file lock so that two processes never apply the same version twice.
func (b *sqliteBackend) migrate(ctx context.Context, s *Store, sets []MigrationSet) error {
	unlock, err := lockFile(ctx, b.path+"-migrate.lock")
	if err != nil {
		return fmt.Errorf("store: lock migrations: %w", err)
	}
	defer unlock()
	for _, set := range sets {
		fsys, err := engineFS(set.FS, EngineSQLite, nil)
		if err != nil {
			return fmt.Errorf("store: schema %q: %w", set.Schema, err)
		}
		if err := s.runGoose(ctx, goose.DialectSQLite3, b.write, set.Schema, fsys); err != nil {
			return err
		}
	}
	return nil
}
