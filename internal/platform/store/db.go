package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Querier runs statements; *DB and *Tx implement it, so private helpers take a
// Querier and work inside and outside a transaction. Queries use `?`
// placeholders on both engines.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)

// DB is the handle of one schema (see [Store.App]) or of the admin service
// (see [Store.Admin]). It is safe for concurrent use.
//
// Writes go through Exec or InTx. On SQLite, Query and QueryRow outside a
// transaction run on a read-only pool, so a write issued through them (such as
// QueryRow("INSERT … RETURNING …")) fails with "attempt to write a readonly
// database": run it inside InTx with tx.QueryRow instead.
type DB struct {
	store  *Store
	schema string  // "" for the admin handle
	write  *sql.DB // Exec and InTx (SQLite: the single writer connection)
	read   *sql.DB // Query and QueryRow outside a transaction
}

// Engine reports the engine the handle runs on, for the rare statement that
// must differ between engines.
func (db *DB) Engine() Engine { return db.store.engine }

// Exec runs a statement that returns no rows, in its own transaction. On a
// transient failure (busy, locked, deadlock) it retries like InTx. Errors are
// normalized (see [Normalize]): fault.Conflict, fault.Invalid,
// fault.Unavailable, or an internal error. Called with a context that carries
// an open transaction of this store (from [Tx.Context]), it returns
// fault.Internal without running: use the *Tx.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := db.checkNotInTx(ctx); err != nil {
		return nil, err
	}
	query = db.store.rebind(query)
	var res sql.Result
	err := db.store.retry(ctx, func() error {
		var err error
		res, err = db.write.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		return nil, Normalize(fmt.Errorf("store: exec: %w", err))
	}
	return res, nil
}

// Query runs a read-only query outside any transaction. Errors are normalized
// (see [Normalize]); the caller closes the rows and checks rows.Err().
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = db.store.rebind(query)
	var rows *sql.Rows
	var err error
	if st := db.readStmt(ctx, query); st != nil { //nolint:sqlclosecheck // cached for the store's life, closed by Close
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = db.read.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, Normalize(fmt.Errorf("store: query: %w", err))
	}
	return rows, nil
}

// QueryRow runs a read-only query expected to return at most one row, outside
// any transaction. Its error, sql.ErrNoRows included, is reported by Scan and
// is not normalized: pass it to [NotFound] (or [Normalize]).
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = db.store.rebind(query)
	if st := db.readStmt(ctx, query); st != nil { //nolint:sqlclosecheck // cached for the store's life, closed by Close
		return st.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

// readStmt is the SQLite read pool's cached statement for query (nil on
// Postgres, whose driver caches prepared statements itself).
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	if b, ok := db.store.backend.(*sqliteBackend); ok {
		return b.readStmt(ctx, query)
	}
	return nil
}

// checkNotInTx refuses a write on the handle while ctx carries an open
// transaction of the same store: on SQLite it would wait forever for the one
// writer connection that transaction holds.
func (db *DB) checkNotInTx(ctx context.Context) error {
	if ctx.Value(txKey{db.store}) != nil {
		return fault.Wrap(errNested, fault.Internal, "nested InTx")
	}
	return nil
}

// SQL returns the handle's write pool, for platform packages that drive
// another library on the handle's connections (the job queue): on SQLite it
// is the single writer connection, on Postgres the schema's pool (its
// connections act as the schema's role). Statements run on it are neither
// rebound nor normalized, and they must not be run while a transaction of
// this store is open on the same goroutine (SQLite: one writer). Apps use
// Exec, Query, QueryRow and InTx.
func (db *DB) SQL() *sql.DB { return db.write }
