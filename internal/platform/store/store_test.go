package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// The conformance suite: every test here runs on SQLite and, when
// TESSERA_TEST_POSTGRES_URL is set, on Postgres.

func testSets() []store.MigrationSet {
	return []store.MigrationSet{
		{Schema: "alpha", FS: os.DirFS("testdata/alpha")},
		{Schema: "beta", FS: os.DirFS("testdata/beta")},
	}
}

func migrate(t *testing.T, s *store.Store) {
	t.Helper()
	if err := s.Migrate(t.Context(), testSets()...); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

func count(t *testing.T, q store.Querier, query string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		// Two concurrent runs on a fresh database: the lock serializes them.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = s.Migrate(ctx, testSets()...) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Migrate: %v", err)
			}
		}
		migrate(t, s) // and once more: nothing to do

		alpha, beta := s.App("alpha"), s.App("beta")
		// One version table per schema, each version recorded once.
		if n := count(t, alpha, "SELECT count(*) FROM alpha_migrations WHERE version_id > 0"); n != 2 {
			t.Errorf("alpha_migrations has %d applied versions, want 2", n)
		}
		if n := count(t, beta, "SELECT count(*) FROM beta_migrations WHERE version_id > 0"); n != 1 {
			t.Errorf("beta_migrations has %d applied versions, want 1", n)
		}
		if n := count(t, beta, "SELECT count(*) FROM beta_things"); n != 1 {
			t.Errorf("beta's seed row applied %d times, want 1", n)
		}
		// The engine's variant of version 2 ran.
		var name string
		if err := alpha.QueryRow(ctx, "SELECT name FROM alpha_engine").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != string(s.Engine()) {
			t.Errorf("alpha_engine = %q, want the %s variant", name, s.Engine())
		}
	})
}

func TestMigrateRejectsBadSets(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EngineSQLite)
	up := []byte("-- +goose Up\nSELECT 1;\n")
	cases := map[string][]store.MigrationSet{
		"bad schema name": {{Schema: "Alpha-1", FS: fstest.MapFS{}}},
		"reserved name":   {{Schema: "admin", FS: fstest.MapFS{}}},
		"nil FS":          {{Schema: "alpha"}},
		"schema twice":    {{Schema: "alpha", FS: fstest.MapFS{}}, {Schema: "alpha", FS: fstest.MapFS{}}},
		"duplicate version": {{Schema: "dup", FS: fstest.MapFS{
			"0001_a.sql": {Data: up}, "1_b.sqlite.sql": {Data: up},
		}}},
		"no version": {{Schema: "nover", FS: fstest.MapFS{"init.sql": {Data: up}}}},
	}
	for name, sets := range cases {
		if err := s.Migrate(t.Context(), sets...); err == nil {
			t.Errorf("%s: Migrate succeeded, want an error", name)
		}
	}
	// A version for the other engine only is fine, and an empty set too.
	ok := []store.MigrationSet{
		{Schema: "pgonly", FS: fstest.MapFS{"0001_grants.postgres.sql": {Data: up}}},
		{Schema: "empty", FS: fstest.MapFS{}},
	}
	if err := s.Migrate(t.Context(), ok...); err != nil {
		t.Errorf("Migrate(postgres-only and empty sets) on SQLite: %v", err)
	}
}

func TestInTx(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")

		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 1, "one"); err != nil {
				return err
			}
			// The transaction sees its own writes.
			if n := count(t, tx, "SELECT count(*) FROM alpha_things WHERE id = ?", 1); n != 1 {
				t.Errorf("inside the tx: %d rows, want 1", n)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		if n := count(t, db, "SELECT count(*) FROM alpha_things WHERE id = ?", 1); n != 1 {
			t.Fatalf("after commit: %d rows, want 1", n)
		}

		errBoom := errors.New("boom")
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 2, "two"); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("rollback: InTx = %v, want errBoom", err)
		}
		if n := count(t, db, "SELECT count(*) FROM alpha_things WHERE id = ?", 2); n != 0 {
			t.Fatalf("after rollback: %d rows, want 0", n)
		}

		func() {
			defer func() {
				if p := recover(); p != "panic in fn" {
					t.Errorf("recovered %v, want the panic to go on", p)
				}
			}()
			_ = db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 3, "three"); err != nil {
					return err
				}
				panic("panic in fn")
			})
		}()
		if n := count(t, db, "SELECT count(*) FROM alpha_things WHERE id = ?", 3); n != 0 {
			t.Fatalf("after panic: %d rows, want 0", n)
		}
		// The connection came back: writes still work.
		if _, err := db.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 4, "four"); err != nil {
			t.Fatalf("Exec after a panicking tx: %v", err)
		}
		if db.Engine() != s.Engine() {
			t.Errorf("DB.Engine = %s, want %s", db.Engine(), s.Engine())
		}
	})
}

func TestAfterCommit(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")

		var ran []string
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if tx.Engine() != s.Engine() {
				t.Errorf("Tx.Engine = %s, want %s", tx.Engine(), s.Engine())
			}
			tx.AfterCommit(func() {
				// Runs after the commit: another connection sees the row.
				n := count(t, db, "SELECT count(*) FROM alpha_things WHERE id = ?", 10)
				ran = append(ran, fmt.Sprintf("first:%d", n))
			})
			tx.AfterCommit(func() { panic("a bad callback") })
			tx.AfterCommit(func() { ran = append(ran, "third") })
			_, err := tx.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 10, "ten")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ran) != "[first:1 third]" {
			t.Errorf("after commit ran %v, want [first:1 third]", ran)
		}

		ran = nil
		_ = db.InTx(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "rolled back") })
			return errors.New("no")
		})
		if ran != nil {
			t.Errorf("callbacks of a rolled back tx ran: %v", ran)
		}

		// A retried attempt's callbacks are dropped.
		attempts, runs := 0, 0
		err = db.InTx(ctx, func(tx *store.Tx) error {
			attempts++
			tx.AfterCommit(func() { runs++ })
			if attempts < 3 {
				return fmt.Errorf("simulated: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
			}
			return nil
		})
		if err != nil || attempts != 3 || runs != 1 {
			t.Errorf("retried tx: err %v, %d attempts, %d callback runs; want nil, 3, 1", err, attempts, runs)
		}
	})
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			s, err := store.Open(t.Context(), storetest.DSN(t, engine), store.Options{MaxRetries: 3})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			migrate(t, s)
			attempts := 0
			err = s.App("alpha").InTx(t.Context(), func(tx *store.Tx) error {
				attempts++
				return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
			})
			f := fault.As(err)
			if f == nil || f.Code != fault.Unavailable || f.RetryAfter != 1 {
				t.Fatalf("InTx = %v, want unavailable with RetryAfter 1", err)
			}
			if attempts != 3 {
				t.Errorf("%d attempts, want 3", attempts)
			}

			// Retrying stops when the context ends.
			ctx, cancel := context.WithCancel(t.Context())
			err = s.App("alpha").InTx(ctx, func(tx *store.Tx) error {
				cancel()
				return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("InTx after cancel = %v, want context.Canceled", err)
			}
		})
	}
}

func TestErrorsNormalized(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")
		insert := "INSERT INTO alpha_things (id, name) VALUES (?, ?)"
		if _, err := db.Exec(ctx, insert, 1, "taken"); err != nil {
			t.Fatal(err)
		}

		_, err := db.Exec(ctx, insert, 2, "taken")
		wantCode(t, "unique via DB.Exec", err, fault.Conflict)
		_, err = db.Exec(ctx, insert, 1, "other")
		wantCode(t, "primary key via DB.Exec", err, fault.Conflict)

		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, insert, 3, "taken")
			wantCode(t, "unique via Tx.Exec", err, fault.Conflict)
			return err
		})
		wantCode(t, "unique via InTx", err, fault.Conflict)

		// A raw Scan error returned by fn is normalized by InTx.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			var id int
			return tx.QueryRow(ctx, insert+" RETURNING id", 4, "taken").Scan(&id)
		})
		wantCode(t, "unique via QueryRow … RETURNING in InTx", err, fault.Conflict)

		_, err = db.Exec(ctx, "INSERT INTO alpha_children (id, thing_id) VALUES (?, ?)", 1, 999)
		wantCode(t, "foreign key", err, fault.Conflict)
		_, err = db.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, NULL)", 5)
		wantCode(t, "not null", err, fault.Invalid)

		// Only the message is client-safe; the driver error is the cause.
		if f := fault.As(err); f == nil || f.Err == nil {
			t.Errorf("normalized fault lost its cause: %#v", f)
		}
		if store.Normalize(nil) != nil {
			t.Error("Normalize(nil) != nil")
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		var name string
		err := s.App("alpha").QueryRow(t.Context(), "SELECT name FROM alpha_things WHERE id = ?", 42).Scan(&name)
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("QueryRow left %v, want sql.ErrNoRows for the caller", err)
		}
		err = store.NotFound(err, "thing")
		f := fault.As(err)
		if f == nil || f.Code != fault.NotFound || f.Message != "thing not found" {
			t.Errorf("NotFound = %v, want not_found: thing not found", err)
		}
		other := errors.New("other")
		if got := store.NotFound(other, "thing"); !errors.Is(got, other) {
			t.Errorf("NotFound(other) = %v, want it unchanged", got)
		}
		if store.NotFound(nil, "thing") != nil {
			t.Error("NotFound(nil) != nil")
		}
	})
}

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")
		const note = "what? it's a '?'"
		_, err := db.Exec(ctx, "INSERT INTO alpha_things (id, name, note) VALUES (?, ?, 'what? it''s a ''?''')", 7, "seven")
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.QueryRow(ctx, `SELECT note FROM alpha_things WHERE note = 'what? it''s a ''?''' AND id = ? AND name = ? -- any ?`, 7, "seven").Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != note {
			t.Errorf("note = %q, want %q", got, note)
		}
		rows, err := db.Query(ctx, "SELECT id FROM alpha_things WHERE id IN (?, ?, ?) /* ? */ ORDER BY id", 1, 7, 9)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []int
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil || fmt.Sprint(ids) != "[7]" {
			t.Errorf("ids %v (err %v), want [7]", ids, err)
		}
	})
}

func TestConcurrentIncrements(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")
		if _, err := db.Exec(ctx, "INSERT INTO alpha_counters (id, n) VALUES (1, 0)"); err != nil {
			t.Fatal(err)
		}
		const workers, each = 20, 5
		var wg sync.WaitGroup
		var failures, maxAttempts atomic.Int64
		for range workers {
			wg.Go(func() {
				for range each {
					// Read, then write: a lost update unless serializable.
					var attempts int64
					err := db.InTx(ctx, func(tx *store.Tx) error {
						attempts++
						var n int
						if err := tx.QueryRow(ctx, "SELECT n FROM alpha_counters WHERE id = 1").Scan(&n); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, "UPDATE alpha_counters SET n = ? WHERE id = 1", n+1)
						return err
					})
					if err != nil {
						failures.Add(1)
						t.Errorf("increment: %v", err)
					}
					for m := maxAttempts.Load(); attempts > m && !maxAttempts.CompareAndSwap(m, attempts); m = maxAttempts.Load() {
					}
				}
			})
		}
		wg.Wait()
		t.Logf("at most %d attempts per increment", maxAttempts.Load())
		if n := count(t, db, "SELECT n FROM alpha_counters WHERE id = 1"); n != workers*each {
			t.Errorf("counter = %d, want %d (%d failed)", n, workers*each, failures.Load())
		}
	})
}

func TestNestedInTx(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		db := s.App("alpha")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			err := s.App("beta").InTx(tx.Context(), func(*store.Tx) error { return nil })
			wantCode(t, "nested InTx", err, fault.Internal)
			_, err = db.Exec(tx.Context(), "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 1, "x")
			wantCode(t, "DB.Exec inside InTx", err, fault.Internal)
			// Reads outside the tx are allowed (they see committed data).
			if n := count(t, db, "SELECT count(*) FROM alpha_things"); n != 0 {
				t.Errorf("read: %d rows", n)
			}
			_, err = tx.Exec(tx.Context(), "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 2, "y")
			return err
		})
		if err != nil {
			t.Fatalf("outer InTx: %v", err)
		}
		// Another store's transactions are not nested ones.
		other := storetest.Open(t, s.Engine())
		migrate(t, other)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			return other.App("alpha").InTx(tx.Context(), func(*store.Tx) error { return nil })
		})
		if err != nil {
			t.Errorf("InTx of another store inside InTx: %v", err)
		}
	})
}

func TestReadersNotBlockedByWriter(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")
		inserted, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 1, "held"); err != nil {
					return err
				}
				close(inserted)
				<-release
				return nil
			})
		}()
		select {
		case <-inserted:
		case err := <-done:
			t.Fatalf("writer: %v", err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if n := count(t, readerAt(rctx, db), "SELECT count(*) FROM alpha_things"); n != 0 {
			t.Errorf("reader saw %d uncommitted rows", n)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "SELECT count(*) FROM alpha_things"); n != 1 {
			t.Errorf("after commit: %d rows, want 1", n)
		}
	})
}

func TestPingAndOpenErrors(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
	ctx := t.Context()
	for _, dsn := range []string{"mysql://u:secret@host/db", "tessera.db", "sqlite://", "sqlite://x.db?mode=memory", "sqlite://:memory:"} {
		_, err := store.Open(ctx, dsn, store.Options{})
		wantCode(t, "Open("+dsn+")", err, fault.Invalid)
	}
	_, err := store.Open(ctx, "mysql://u:secret@host/db", store.Options{})
	if f := fault.As(err); f == nil || !strings.Contains(f.Message, `"mysql"`) || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open(mysql://…) = %v, want a message naming the scheme and not the password", err)
	}
	_, err = store.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", store.Options{})
	wantCode(t, "Open(unreachable postgres)", err, fault.Unavailable)
}

// readerAt binds a context to a Querier, so count can use a deadline.
func readerAt(ctx context.Context, q store.Querier) store.Querier { return ctxQuerier{ctx, q} }

type ctxQuerier struct {
	ctx context.Context
	q   store.Querier
}

func (c ctxQuerier) Exec(_ context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.Exec(c.ctx, query, args...)
}

func (c ctxQuerier) Query(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.Query(c.ctx, query, args...)
}

func (c ctxQuerier) QueryRow(_ context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRow(c.ctx, query, args...)
}

func wantCode(t *testing.T, what string, err error, code fault.Code) {
	t.Helper()
	if f := fault.As(err); f == nil || f.Code != code {
		t.Errorf("%s: error %v, want a %s fault", what, err, code)
	}
}

// TestInTxIsolated: InTx is serializable on Postgres, InTxIsolated with
// ReadCommitted is read committed; SQLite runs both (serially).
func TestInTxIsolated(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		db := s.App("alpha")
		level := func(run func(context.Context, func(*store.Tx) error) error) string {
			var got string
			err := run(t.Context(), func(tx *store.Tx) error {
				if tx.Engine() != store.EnginePostgres {
					got = "serial"
					return nil
				}
				return tx.QueryRow(tx.Context(), "SHOW transaction_isolation").Scan(&got)
			})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		serial, rc := level(db.InTx), level(func(ctx context.Context, fn func(*store.Tx) error) error {
			return db.InTxIsolated(ctx, store.ReadCommitted, fn)
		})
		want := map[store.Engine][2]string{store.EnginePostgres: {"serializable", "read committed"}, store.EngineSQLite: {"serial", "serial"}}[s.Engine()]
		if serial != want[0] || rc != want[1] {
			t.Fatalf("isolation: InTx %q, ReadCommitted %q; want %q", serial, rc, want)
		}
	})
}

// TestContainsFold: case-insensitive, wildcards in the text are literal,
// on both engines.
func TestContainsFold(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		db := s.App("alpha")
		for i, name := range []string{"Up 100%", "up 1000", "a_b", "axb"} {
			if _, err := db.Exec(t.Context(), "INSERT INTO alpha_things (id, name) VALUES (?, ?)", i+1, name); err != nil {
				t.Fatal(err)
			}
		}
		for text, want := range map[string]int{"UP 100": 2, "0%": 1, "a_b": 1, "!": 0} {
			cond, arg := store.ContainsFold("name", text)
			if n := count(t, db, "SELECT count(*) FROM alpha_things WHERE "+cond, arg); n != want {
				t.Errorf("%q: %d rows, want %d", text, n, want)
			}
		}
	})
}
