package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Back-off between attempts: doubling from backoffBase, capped at backoffMax,
// each delay drawn at random in [d/2, d) so that competing writers spread out.
const (
	backoffBase = 4 * time.Millisecond
	backoffMax  = 500 * time.Millisecond
)

// txKey marks a context that carries an open transaction of one store.
type txKey struct{ s *Store }

// Tx is one attempt of a transaction, handed to the function given to
// [DB.InTx]. It is not safe for concurrent use and must not be kept after that
// function returns.
type Tx struct {
	tx    *sql.Tx
	db    *DB
	ctx   context.Context // the InTx context, marked with txKey
	after []func()        // AfterCommit callbacks; owned by the goroutine running fn
	// stmts caches SQLite statements by query text for the transaction's
	// life (database/sql closes them when it ends): a statement run again,
	// as in a group commit's loop, is parsed once. Postgres needs none:
	// pgx caches prepared statements per connection.
	stmts map[string]*sql.Stmt
	// shared marks a transaction of a GroupCommit batch: its statements run
	// under ctx, never under the context a caller passes them (see stmtCtx).
	shared bool
}

// stmtCtx is the context a statement runs under: ctx, or tx.ctx in a group
// commit batch, so that one caller's cancellation cannot interrupt a statement
// of the transaction the batch shares (SQLite would roll it all back).
func (tx *Tx) stmtCtx(ctx context.Context) context.Context {
	if tx.shared {
		return tx.ctx
	}
	return ctx
}

// prepared returns the transaction's statement for query (rebound) on
// SQLite, or nil on Postgres or when preparing fails (the direct call then
// reports the error).
func (tx *Tx) prepared(ctx context.Context, query string) *sql.Stmt {
	if tx.db.store.engine != EngineSQLite {
		return nil
	}
	if st, ok := tx.stmts[query]; ok {
		return st
	}
	st, err := tx.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[query] = st
	return st
}

// InTx runs fn in one transaction and commits it if fn returns nil; if fn
// returns an error, nothing fn wrote is kept and InTx returns that error
// (normalized, see [Normalize]). If fn panics, the transaction is rolled back
// and the panic goes on.
//
// Transactions are serializable on both engines (see InTxIsolated for the
// exception). When the database reports a
// transient failure (SQLITE_BUSY or SQLITE_LOCKED, say while another process
// holds the write lock; Postgres serialization_failure or deadlock_detected),
// InTx rolls back and runs fn again, with capped exponential back-off and
// jitter, at most Options.MaxRetries attempts and never past ctx's end. So fn
// may run more than once: keep its effects inside the transaction, and put
// the rest (notifications, pushes) in [Tx.AfterCommit]. After the last attempt
// the error is fault.Unavailable (RetryAfter 1); when ctx ends first, ctx's
// error is returned wrapped.
//
// Do not call InTx, or DB.Exec, of the same store inside fn: on SQLite the one
// writer connection is held by this transaction, so it would wait forever.
// When the call is made with tx.Context() (or a context derived from it), it
// fails at once with fault.Internal ("nested InTx"); pass tx.Context() to the
// helpers fn calls so such mistakes are caught. With another context, on
// SQLite it blocks until that context ends, and on Postgres it runs as a
// separate transaction.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.InTxIsolated(ctx, Serializable, fn)
}

// Isolation is a transaction's isolation level on Postgres. SQLite's
// transactions are serial whatever the level (one writer).
type Isolation int

// The isolation levels.
const (
	// Serializable is InTx's level: no anomaly, at the price of
	// serialization failures (retried) when transactions read ranges others
	// write.
	Serializable Isolation = iota
	// ReadCommitted suits a transaction that takes the row locks it relies
	// on (SELECT … FOR UPDATE) and guards its writes (UPDATE … WHERE
	// version = ?): each statement then sees what committed before it, and
	// shared tables written by many (the event log, the job queue) cause no
	// serialization failures.
	ReadCommitted
)

// InTxIsolated is InTx at the given isolation level.
func (db *DB) InTxIsolated(ctx context.Context, iso Isolation, fn func(tx *Tx) error) error {
	if err := db.checkNotInTx(ctx); err != nil {
		return err
	}
	fn = withCommitHook(ctx, fn)
	var after []func()
	err := db.store.retry(ctx, func() error {
		var err error
		after, err = db.attempt(ctx, iso, fn)
		return err
	})
	if err != nil {
		return Normalize(err)
	}
	db.store.runAfterCommit(ctx, after)
	return nil
}

// attempt runs fn once in a new transaction and returns the callbacks it
// registered if it committed.
func (db *DB) attempt(ctx context.Context, iso Isolation, fn func(tx *Tx) error) (after []func(), err error) {
	sqlTx, err := db.write.BeginTx(ctx, db.store.backend.txOptions(iso))
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: sqlTx, db: db}
	tx.ctx = context.WithValue(ctx, txKey{db.store}, tx)
	done := false
	defer func() {
		if !done {
			_ = sqlTx.Rollback() // fn panicked: roll back, let the panic go on
		}
	}()
	err = fn(tx)
	done = true
	if err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			db.store.log.DebugContext(ctx, "store: rollback failed", "err", rbErr)
		}
		return nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	return tx.after, nil
}

// runAfterCommit runs the callbacks in order. A panicking callback is logged
// and the others still run: the transaction has committed.
func (s *Store) runAfterCommit(ctx context.Context, after []func()) {
	for _, f := range after {
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.log.ErrorContext(ctx, "store: after-commit callback panicked", "panic", fmt.Sprint(p))
				}
			}()
			f()
		}()
	}
}

// retry runs op until it succeeds, fails with a non-transient error, or has
// made maxAttempts attempts; it sleeps between attempts.
func (s *Store) retry(ctx context.Context, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryable(err) || attempt >= s.maxAttempts {
			return err
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("store: gave up after %d attempts (last: %w): %w", attempt, err, ctx.Err())
		case <-t.C:
		}
	}
}

// backoff is the pause after the given failed attempt (1-based).
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 16 {
		d = min(backoffBase<<(attempt-1), backoffMax)
	}
	return d/2 + rand.N(d/2) //nolint:gosec // G404: jitter needs no cryptographic randomness
}

// Exec runs a statement in the transaction. Errors are normalized (see
// [Normalize]).
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.stmtCtx(ctx)
	query = tx.db.store.rebind(query)
	var res sql.Result
	var err error
	if st := tx.prepared(ctx, query); st != nil { //nolint:sqlclosecheck // the transaction closes it when it ends
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = tx.tx.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return nil, Normalize(fmt.Errorf("store: exec: %w", err))
	}
	return res, nil
}

// Query runs a query in the transaction; it sees the transaction's writes.
// Errors are normalized (see [Normalize]).
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.stmtCtx(ctx)
	query = tx.db.store.rebind(query)
	var rows *sql.Rows
	var err error
	if st := tx.prepared(ctx, query); st != nil { //nolint:sqlclosecheck // the transaction closes it when it ends
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = tx.tx.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, Normalize(fmt.Errorf("store: query: %w", err))
	}
	return rows, nil
}

// QueryRow runs a query expected to return at most one row in the
// transaction; writes with RETURNING belong here. Its error is reported by
// Scan and is not normalized: pass it to [NotFound] or [Normalize].
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.stmtCtx(ctx)
	query = tx.db.store.rebind(query)
	if st := tx.prepared(ctx, query); st != nil { //nolint:sqlclosecheck // the transaction closes it when it ends
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// AfterCommit registers f to run after the transaction commits, in
// registration order, on the goroutine that called InTx, before InTx returns.
// f never runs if the transaction rolls back, and callbacks registered by an
// attempt that is retried are dropped (the next attempt registers its own).
// A panic in f is logged and does not stop the other callbacks.
func (tx *Tx) AfterCommit(f func()) {
	tx.after = append(tx.after, f)
}

// Engine reports the engine the transaction runs on.
func (tx *Tx) Engine() Engine { return tx.db.store.engine }

// Context returns the context InTx was called with, marked as carrying this
// transaction: a DB.InTx or DB.Exec of the same store called with it fails at
// once with fault.Internal instead of deadlocking.
func (tx *Tx) Context() context.Context { return tx.ctx }

// SQL returns the underlying transaction, for platform packages that must
// enqueue into the same transaction through another library (the job queue).
// Statements run on it are neither rebound nor normalized: write them in the
// engine's own dialect. Apps use Exec, Query and QueryRow.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }
