package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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

// gcSet is the schema of the group commit tests: rows, and an event per row
// as an app would record.
var gcSet = store.MigrationSet{Schema: "gcommit", FS: fstest.MapFS{"0001_init.sql": {Data: []byte(`-- +goose Up
CREATE TABLE gcommit_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE gcommit_events (id INTEGER PRIMARY KEY, row_id INTEGER NOT NULL, payload TEXT NOT NULL);
`)}}}

// gcDB migrates the group commit schema and returns its handle.
func gcDB(t testing.TB, s *store.Store) *store.DB {
	t.Helper()
	if err := s.Migrate(context.Background(), gcSet); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s.App("gcommit")
}

// batched returns a group commit that batches on both engines (NewGroupCommit
// batches on SQLite only), so that the batch semantics are tested on both.
func batched(db *store.DB) *store.GroupCommit {
	g := store.NewGroupCommit(db, store.Serializable, 0)
	g.Batch = true
	return g
}

func insertRow(tx *store.Tx, id int) error {
	_, err := tx.Exec(tx.Context(), "INSERT INTO gcommit_rows (id, body) VALUES (?, ?)", id, fmt.Sprint("row ", id))
	return err
}

// rowIDs returns the ids of gcommit_rows, ascending.
func rowIDs(t *testing.T, db *store.DB) []int {
	t.Helper()
	ids, err := store.Collect(t.Context(), db, store.ScanOne[int], "SELECT id FROM gcommit_rows ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// inOneBatch runs g.Do(ctx, fn) for each of fns concurrently and returns
// their errors. The calls queue behind a call that holds the committer, so
// that when g batches they form one batch (the queue fills in the pause).
func inOneBatch(t *testing.T, g *store.GroupCommit, fns ...func(tx *store.Tx) error) []error {
	t.Helper()
	ctx := t.Context()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	var holdErr error
	wg.Go(func() {
		holdErr = g.Do(ctx, func(*store.Tx) error {
			once.Do(func() { close(started) })
			<-release
			return nil
		})
	})
	<-started
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Go(func() { errs[i] = g.Do(ctx, fn) })
	}
	time.Sleep(100 * time.Millisecond) // the calls queue
	close(release)
	wg.Wait()
	if holdErr != nil {
		t.Fatalf("holding call: %v", holdErr)
	}
	return errs
}

// TestGroupCommitConcurrent: 200 concurrent calls all commit, their
// callbacks run once, and on SQLite they share few transactions.
func TestGroupCommitConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		g := store.NewGroupCommit(db, store.Serializable, 0)
		if want := s.Engine() == store.EngineSQLite; g.Batch != want {
			t.Errorf("NewGroupCommit on %s: Batch = %v, want %v", s.Engine(), g.Batch, want)
		}
		const calls = 200
		var mu sync.Mutex
		txs := map[any]bool{} // the distinct database transactions of the calls
		var callbacks atomic.Int64
		fns := make([]func(*store.Tx) error, calls)
		for i := range fns {
			fns[i] = func(tx *store.Tx) error {
				mu.Lock()
				txs[tx.SQL()] = true
				mu.Unlock()
				tx.AfterCommit(func() { callbacks.Add(1) })
				return insertRow(tx, i+1)
			}
		}
		for i, err := range inOneBatch(t, g, fns...) {
			if err != nil {
				t.Errorf("Do #%d: %v", i+1, err)
			}
		}
		if ids := rowIDs(t, db); len(ids) != calls {
			t.Errorf("%d rows, want %d", len(ids), calls)
		}
		if n := callbacks.Load(); n != calls {
			t.Errorf("%d callbacks ran, want %d", n, calls)
		}
		t.Logf("%d calls in %d transactions", calls, len(txs))
		if s.Engine() == store.EngineSQLite && len(txs) > calls/20 {
			t.Errorf("%d calls took %d transactions, want batches", calls, len(txs))
		}
	})
}

// TestGroupCommitFnError: a call that fails leaves no trace and does not
// fail the others of its batch; its caller gets its error unchanged.
func TestGroupCommitFnError(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		g := batched(db)
		refused := fault.New(fault.Conflict, "refused")
		type key struct{}
		var mu sync.Mutex
		var ran []int
		fns := make([]func(*store.Tx) error, 5)
		for i := range fns {
			id := i + 1
			fns[i] = func(tx *store.Tx) error {
				if v := tx.Context().Value(key{}); v != nil {
					t.Errorf("call %d sees a value it was not given: %v", id, v)
				}
				tx.AfterCommit(func() {
					mu.Lock()
					ran = append(ran, id)
					mu.Unlock()
				})
				if err := insertRow(tx, id); err != nil {
					return err
				}
				if id == 3 {
					return refused
				}
				return nil
			}
		}
		errs := inOneBatch(t, g, fns...)
		for i, err := range errs {
			switch {
			case i == 2:
				if err != refused { //nolint:errorlint // the very error fn returned, unwrapped
					t.Errorf("failing call: Do = %v, want its own error unchanged", err)
				}
			case err != nil:
				t.Errorf("Do #%d = %v, want nil", i+1, err)
			}
		}
		if ids := rowIDs(t, db); fmt.Sprint(ids) != "[1 2 4 5]" {
			t.Errorf("rows %v, want [1 2 4 5]", ids)
		}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(slices.Sorted(slices.Values(ran))) != "[1 2 4 5]" {
			t.Errorf("callbacks of %v ran, want [1 2 4 5]", ran)
		}

		// The caller's values reach fn through tx.Context().
		ctx := context.WithValue(t.Context(), key{}, "v")
		err := g.Do(ctx, func(tx *store.Tx) error {
			if v := tx.Context().Value(key{}); v != "v" {
				t.Errorf("tx.Context() carries %v, want the caller's value", v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestGroupCommitUniqueViolation: a duplicate key fails its call only (on
// Postgres the error would abort the whole transaction without the
// savepoint), and so does an error fn swallows.
func TestGroupCommitUniqueViolation(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		if _, err := db.Exec(t.Context(), "INSERT INTO gcommit_rows (id, body) VALUES (100, 'taken')"); err != nil {
			t.Fatal(err)
		}
		g := batched(db)
		errs := inOneBatch(t, g,
			func(tx *store.Tx) error { return insertRow(tx, 1) },
			func(tx *store.Tx) error {
				if err := insertRow(tx, 2); err != nil {
					return err
				}
				return insertRow(tx, 100)
			},
			func(tx *store.Tx) error { return insertRow(tx, 3) },
			func(tx *store.Tx) error {
				if err := insertRow(tx, 4); err != nil {
					return err
				}
				_ = insertRow(tx, 100) // swallowed: Postgres then refuses the release
				return nil
			},
			func(tx *store.Tx) error { return insertRow(tx, 5) },
		)
		wantCode(t, "duplicate key", errs[1], fault.Conflict)
		for _, i := range []int{0, 2, 4} {
			if errs[i] != nil {
				t.Errorf("Do #%d = %v, want nil", i+1, errs[i])
			}
		}
		want := "[1 3 4 5 100]"
		if s.Engine() == store.EnginePostgres {
			// The swallowed error left the transaction aborted: that call
			// fails, alone.
			want = "[1 3 5 100]"
			if errs[3] == nil {
				t.Error("Do #4 = nil, want the error of the aborted transaction")
			}
		} else if errs[3] != nil {
			t.Errorf("Do #4 = %v, want nil (SQLite goes on after a failed statement)", errs[3])
		}
		if ids := rowIDs(t, db); fmt.Sprint(ids) != want {
			t.Errorf("rows %v, want %s", ids, want)
		}
	})
}

// TestGroupCommitTransient: a transient error retries the whole batch; each
// call's effects and callbacks are then present exactly once.
func TestGroupCommitTransient(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		g := batched(db)
		var runs, callbacks [4]atomic.Int64
		fns := make([]func(*store.Tx) error, 4)
		for i := range fns {
			fns[i] = func(tx *store.Tx) error {
				n := runs[i].Add(1)
				tx.AfterCommit(func() { callbacks[i].Add(1) })
				if err := insertRow(tx, i+1); err != nil {
					return err
				}
				_, err := tx.Exec(tx.Context(), "INSERT INTO gcommit_events (id, row_id, payload) VALUES (?, ?, 'created')", i+1, i+1)
				if err == nil && i == 1 && n == 1 {
					err = fmt.Errorf("simulated: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
				}
				return err
			}
		}
		for i, err := range inOneBatch(t, g, fns...) {
			if err != nil {
				t.Errorf("Do #%d: %v", i+1, err)
			}
		}
		if n := runs[1].Load(); n != 2 {
			t.Errorf("the failing call ran %d times, want 2", n)
		}
		for i := range fns {
			if n := callbacks[i].Load(); n != 1 {
				t.Errorf("call %d: %d callback runs, want 1", i+1, n)
			}
		}
		if ids := rowIDs(t, db); fmt.Sprint(ids) != "[1 2 3 4]" {
			t.Errorf("rows %v, want [1 2 3 4]", ids)
		}
		if n := count(t, db, "SELECT count(*) FROM gcommit_events"); n != 4 {
			t.Errorf("%d events, want 4", n)
		}
	})
}

// TestGroupCommitContext: a call whose context ends while it is queued
// writes nothing; one whose context ends once its batch started returns
// while its write still commits; the committer is not bound to a caller.
func TestGroupCommitContext(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		g := batched(db)

		// Already cancelled.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := g.Do(ctx, func(tx *store.Tx) error { return insertRow(tx, 1) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do with a cancelled context = %v, want context.Canceled", err)
		}

		// Cancelled while queued behind a batch.
		started, release := make(chan struct{}), make(chan struct{})
		holdErr := make(chan error, 1)
		go func() {
			holdErr <- g.Do(t.Context(), func(tx *store.Tx) error {
				close(started)
				<-release
				return insertRow(tx, 10)
			})
		}()
		<-started
		ctx, cancel = context.WithCancel(t.Context())
		queued := make(chan error, 1)
		var ranQueued atomic.Bool
		go func() {
			queued <- g.Do(ctx, func(tx *store.Tx) error {
				ranQueued.Store(true)
				return insertRow(tx, 2)
			})
		}()
		time.Sleep(50 * time.Millisecond) // it queues
		cancel()
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Errorf("Do cancelled while queued = %v, want context.Canceled", err)
		}
		close(release)
		if err := <-holdErr; err != nil {
			t.Fatal(err)
		}
		if ranQueued.Load() {
			t.Error("the function of a call cancelled while queued ran")
		}

		// Cancelled once its batch started: the write goes on, even with
		// the caller's context given to the statement, and its callback runs.
		ctx, cancel = context.WithCancel(t.Context())
		inFn, cont, called := make(chan struct{}), make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- g.Do(ctx, func(tx *store.Tx) error {
				close(inFn)
				<-cont
				tx.AfterCommit(func() { close(called) })
				_, err := tx.Exec(ctx, "INSERT INTO gcommit_rows (id, body) VALUES (?, ?)", 3, "three")
				return err
			})
		}()
		<-inFn
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Do cancelled in its batch = %v, want context.Canceled", err)
		}
		close(cont)
		select {
		case <-called:
		case <-time.After(10 * time.Second):
			t.Fatal("the callback of a call whose caller left did not run")
		}
		if ids := rowIDs(t, db); fmt.Sprint(ids) != "[3 10]" {
			t.Errorf("rows %v, want [3 10]", ids)
		}
	})
}

// TestGroupCommitPanic: a panicking function fails its call with
// fault.Internal; the others of its batch commit and the committer goes on.
func TestGroupCommitPanic(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		for k, g := range []*store.GroupCommit{batched(db), store.NewGroupCommit(db, store.Serializable, 0)} {
			base := 10 * k
			var callbacks atomic.Int64
			fns := make([]func(*store.Tx) error, 4)
			for i := range fns {
				fns[i] = func(tx *store.Tx) error {
					tx.AfterCommit(func() { callbacks.Add(1) })
					if err := insertRow(tx, base+i+1); err != nil {
						return err
					}
					if i == 1 {
						panic("boom")
					}
					return nil
				}
			}
			errs := inOneBatch(t, g, fns...)
			for i, err := range errs {
				if i == 1 {
					wantCode(t, "panicking call", err, fault.Internal)
				} else if err != nil {
					t.Errorf("Do #%d = %v, want nil", i+1, err)
				}
			}
			if n := callbacks.Load(); n != 3 {
				t.Errorf("Batch %v: %d callbacks ran, want 3", g.Batch, n)
			}
			if err := g.Do(t.Context(), func(tx *store.Tx) error { return insertRow(tx, base+5) }); err != nil {
				t.Errorf("Do after a panic: %v", err)
			}
		}
		if ids := rowIDs(t, db); fmt.Sprint(ids) != "[1 3 4 5 11 13 14 15]" {
			t.Errorf("rows %v, want [1 3 4 5 11 13 14 15]", ids)
		}
	})
}

// TestGroupCommitNested: Do inside a transaction of the same store fails at
// once, from InTx or from a batch.
func TestGroupCommitNested(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		db := gcDB(t, s)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		g := batched(db)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			err := g.Do(tx.Context(), func(tx *store.Tx) error { return insertRow(tx, 1) })
			wantCode(t, "Do inside InTx", err, fault.Internal)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = g.Do(ctx, func(tx *store.Tx) error {
			err := g.Do(tx.Context(), func(tx *store.Tx) error { return insertRow(tx, 2) })
			wantCode(t, "Do inside Do", err, fault.Internal)
			return insertRow(tx, 3)
		})
		if err != nil {
			t.Fatal(err)
		}
		if ids := rowIDs(t, db); fmt.Sprint(ids) != "[3]" {
			t.Errorf("rows %v, want [3]", ids)
		}
	})
}

// BenchmarkGroupCommit compares, on both engines, 50 goroutines each
// committing one row and its event per call with InTx, with NewGroupCommit's
// default, and (on Postgres) with a batching group commit.
//
//	go test -run '^$' -bench GroupCommit -benchtime 3s ./internal/platform/store/
func BenchmarkGroupCommit(b *testing.B) {
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		b.Run(string(engine), func(b *testing.B) {
			type way struct {
				name string
				do   func(db *store.DB) func(context.Context, func(*store.Tx) error) error
			}
			ways := []way{
				{"InTx", func(db *store.DB) func(context.Context, func(*store.Tx) error) error { return db.InTx }},
				{"GroupCommit", func(db *store.DB) func(context.Context, func(*store.Tx) error) error {
					return store.NewGroupCommit(db, store.Serializable, 0).Do
				}},
			}
			if engine == store.EnginePostgres {
				ways = append(ways, way{"GroupCommit-batched", func(db *store.DB) func(context.Context, func(*store.Tx) error) error {
					return batched(db).Do
				}})
			}
			for _, w := range ways {
				b.Run(w.name, func(b *testing.B) {
					db := gcDB(b, storetest.Open(b, engine))
					do := w.do(db)
					ctx := context.Background()
					var next atomic.Int64
					b.SetParallelism((50 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							id := next.Add(1)
							err := do(ctx, func(tx *store.Tx) error {
								if _, err := tx.Exec(tx.Context(), "INSERT INTO gcommit_rows (id, body) VALUES (?, ?)", id, "a small payload of some forty bytes...."); err != nil {
									return err
								}
								_, err := tx.Exec(tx.Context(), "INSERT INTO gcommit_events (id, row_id, payload) VALUES (?, ?, ?)", id, id, `{"type":"created"}`)
								return err
							})
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		})
	}
}
