package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// DefaultGroupCommitMax is the batch bound NewGroupCommit uses when given
// max <= 0.
const DefaultGroupCommitMax = 256

// groupCommitTimeout bounds one batch, its retries included: the batch is
// not bound to any caller's context.
const groupCommitTimeout = 15 * time.Second

// savepoint names the savepoint each function of a batch runs in. The
// functions run one after the other, so one name serves them all (and its
// statements are parsed once per batch).
const savepoint = "tessera_group_commit"

// GroupCommit gathers transactions submitted concurrently into one database
// transaction, so that durability costs one commit (one fsync on SQLite,
// whose single writer otherwise caps a server at about 2,800 commits/s) per
// batch instead of one per transaction. It is safe for concurrent use; make
// one per kind of write (or per app) and keep it for the process's life.
//
// Each function given to [GroupCommit.Do] has InTx's contract: it may run
// more than once, so its effects stay in the transaction and the rest goes
// to [Tx.AfterCommit]. Its callbacks run only if its work committed, on the
// goroutine that called Do, before Do returns, with InTx's protection (a
// panicking callback is logged, the others run).
//
// A batch is one transaction at the GroupCommit's isolation level, and each
// function runs in it inside a savepoint, one after the other: a function
// sees the writes of those before it as if they had committed. Keep
// functions short (the batch waits for each), and never wait in one for
// another Do of the same GroupCommit (the committer would wait for itself).
// The outcomes:
//
//   - a function that returns an error that is not transient is rolled back
//     to its savepoint (its writes and callbacks dropped) and its caller
//     gets that error, normalized (see [Normalize]; a fault keeps its code);
//     the other functions go on. A constraint violation inside a function
//     thus fails that function only, on Postgres too;
//   - a transient error (busy, locked, serialization failure, deadlock),
//     whether a function returns it or a statement of the batch meets it,
//     fails the attempt: the whole batch is rolled back and run again, with
//     InTx's back-off and number of attempts; after the last one every
//     caller of the batch gets fault.Unavailable;
//   - a function that panics is recovered: the attempt is rolled back, that
//     caller gets fault.Internal (the panic is logged with its stack) and
//     the other functions run again at once in a new attempt;
//   - if the commit fails, every function of the batch gets its error
//     (after the retries, if transient), even one that had failed on its own.
//
// Batches: a committer goroutine exists only while calls are queued; it
// takes every queued call (at most maxBatch) while the previous batch
// commits, and runs each batch under its own deadline (15 s), whatever the
// callers' contexts. A Do whose ctx ends while its call is still queued leaves the
// queue and returns ctx's error: nothing was written. Once its batch has
// started, Do waits for the outcome until ctx ends; if ctx ends first, Do
// returns ctx's error while the write may still commit (its callbacks then
// run on the committer goroutine).
//
// In a batch, statements a function runs through tx (Exec, Query, QueryRow)
// run under [Tx.Context] whatever context they are given: it carries the
// caller's values, but the batch's deadline instead of the caller's
// cancellation, so that one caller leaving cannot interrupt the transaction
// the batch shares.
// Use tx.Context() for statements run on [Tx.SQL].
//
// Calling Do with a context that carries a transaction of the same store
// (from tx.Context()) fails at once with fault.Internal, as a nested InTx
// does.
//
// Postgres already groups the WAL flushes of concurrent commits, and a
// batch there runs its functions one after the other on one connection,
// each paying two more round trips (SAVEPOINT, RELEASE; and past 64
// subtransactions in one transaction, every session's snapshots get
// slower). NewGroupCommit therefore batches on SQLite only: on Postgres Do
// runs fn in its own InTxIsolated transaction. BenchmarkGroupCommit (50
// goroutines, one row and its event per call, 2 CPUs, local server, noisy
// host): SQLite InTx 5.5k–10k rows/s, batched 100k–128k rows/s; Postgres
// InTx 8k–18k rows/s, batched 6.6k–11k rows/s, no gain within the noise
// (and a batch's round trips are serial, so network latency would cost it).
type GroupCommit struct {
	// Batch makes Do batch calls; when false, Do runs fn in its own
	// InTxIsolated transaction, with InTx's semantics (ctx bounds it), except
	// that a panic in fn becomes fault.Internal as in a batch.
	// NewGroupCommit sets it on SQLite only; change it before the first Do,
	// never after (it is read without a lock).
	Batch bool

	db  *DB
	iso Isolation
	max int // bound on the calls of one batch

	mu      sync.Mutex
	queue   []*gcCall // calls waiting for a batch; guarded by mu
	running bool      // a committer goroutine is on; guarded by mu
}

// gcCall is one Do waiting for its batch.
type gcCall struct {
	ctx  context.Context // the caller's: values for fn, and whether it still waits
	fn   func(tx *Tx) error
	done chan gcResult // buffered (1): the committer never blocks on it

	// Guarded by GroupCommit.mu.
	started bool // taken into a batch: it no longer leaves the queue
	left    bool // Do returned before the outcome: the committer runs the callbacks
}

// gcResult is the outcome of one call: its error, or its callbacks.
type gcResult struct {
	err   error
	after []func()
}

// NewGroupCommit returns a group commit on db at isolation iso; maxBatch
// bounds the functions of one batch (DefaultGroupCommitMax when <= 0). It
// batches on SQLite only (see [GroupCommit.Batch]).
func NewGroupCommit(db *DB, iso Isolation, maxBatch int) *GroupCommit {
	if maxBatch <= 0 {
		maxBatch = DefaultGroupCommitMax
	}
	return &GroupCommit{Batch: db.store.engine == EngineSQLite, db: db, iso: iso, max: maxBatch}
}

// Do runs fn in a transaction shared with other concurrent Do calls and
// returns once that transaction committed (nil) or with fn's own error,
// normalized. See [GroupCommit] for the semantics.
func (g *GroupCommit) Do(ctx context.Context, fn func(tx *Tx) error) error {
	if err := g.db.checkNotInTx(ctx); err != nil {
		return err
	}
	if !g.Batch {
		return g.inOwnTx(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: group commit: %w", err)
	}
	c := &gcCall{ctx: ctx, fn: withCommitHook(ctx, fn), done: make(chan gcResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		// Not bound to ctx: the batch carries other callers' calls.
		go g.commitLoop() //nolint:gosec // G118: the committer serves every queued call, not this one
	}

	select {
	case r := <-c.done:
		return g.finish(ctx, r)
	case <-ctx.Done():
	}
	g.mu.Lock()
	if !c.started {
		if i := slices.Index(g.queue, c); i >= 0 {
			g.queue = slices.Delete(g.queue, i, i+1)
		}
		g.mu.Unlock()
		return fmt.Errorf("store: group commit: %w", ctx.Err())
	}
	c.left = true
	g.mu.Unlock()
	select {
	case r := <-c.done: // delivered before c.left was set
		return g.finish(ctx, r)
	default:
	}
	return fmt.Errorf("store: group commit: stopped waiting, the write may still commit: %w", ctx.Err())
}

// inOwnTx runs fn in its own transaction, turning a panic into
// fault.Internal as a batch does.
func (g *GroupCommit) inOwnTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = g.panicked(ctx, &fnPanic{value: v, stack: debug.Stack()})
		}
	}()
	return g.db.InTxIsolated(ctx, g.iso, fn)
}

// panicked logs a function's panic and returns the caller's error.
func (g *GroupCommit) panicked(ctx context.Context, p *fnPanic) error {
	g.db.store.log.ErrorContext(ctx, "store: group commit function panicked",
		"panic", fmt.Sprint(p.value), "stack", string(p.stack))
	return fault.Wrap(p, fault.Internal, "internal error")
}

// finish runs a committed call's callbacks on the caller's goroutine.
func (g *GroupCommit) finish(ctx context.Context, r gcResult) error {
	if r.err != nil {
		return r.err
	}
	g.db.store.runAfterCommit(ctx, r.after)
	return nil
}

// commitLoop commits the queued calls, batch after batch, and exits when
// none is left.
func (g *GroupCommit) commitLoop() {
	for {
		batch, ok := g.take()
		if !ok {
			return
		}
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), groupCommitTimeout)
		res := g.commit(ctx, batch)
		cancel()
		for i, c := range batch {
			g.deliver(c, res[i])
		}
	}
}

// take removes the next batch from the queue and marks its calls started;
// calls whose context already ended get its error instead. It reports
// false, and the committer stops, when the queue is empty.
func (g *GroupCommit) take() ([]*gcCall, bool) {
	g.mu.Lock()
	n := min(len(g.queue), g.max)
	if n == 0 {
		g.queue = nil
		g.running = false
		g.mu.Unlock()
		return nil, false
	}
	batch := make([]*gcCall, 0, n)
	var gone []*gcCall
	for _, c := range g.queue[:n] {
		c.started = true
		if c.ctx.Err() != nil {
			gone = append(gone, c)
		} else {
			batch = append(batch, c)
		}
	}
	g.queue = g.queue[n:]
	g.mu.Unlock()
	for _, c := range gone {
		g.deliver(c, gcResult{err: fmt.Errorf("store: group commit: %w", c.ctx.Err())})
	}
	return batch, true
}

// deliver hands r to c's caller, or runs r's callbacks itself when the
// caller has stopped waiting.
func (g *GroupCommit) deliver(c *gcCall, r gcResult) {
	g.mu.Lock()
	left := c.left
	if !left {
		c.done <- r
	}
	g.mu.Unlock()
	if left && r.err == nil {
		g.db.store.runAfterCommit(c.ctx, r.after)
	}
}

// fnPanic is the failure of an attempt in which the function batch[i]
// panicked.
type fnPanic struct {
	i     int
	value any
	stack []byte
}

// Error implements error.
func (p *fnPanic) Error() string {
	return fmt.Sprintf("store: group commit: function panicked: %v", p.value)
}

// commit runs batch in one transaction, retried like InTx's, and returns
// each call's outcome. A call whose function panics is taken out and the
// others run again.
func (g *GroupCommit) commit(ctx context.Context, batch []*gcCall) []gcResult {
	res := make([]gcResult, len(batch))
	pending := make([]int, len(batch)) // indices of the calls still in the batch
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		err := g.db.store.retry(ctx, func() error { return g.attempt(ctx, batch, pending, res) })
		var p *fnPanic
		if errors.As(err, &p) {
			res[p.i] = gcResult{err: g.panicked(batch[p.i].ctx, p)}
			pending = slices.DeleteFunc(pending, func(i int) bool { return i == p.i })
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				err = unavailable(err) // the batch's deadline, not the callers'
			}
			err = Normalize(err)
			for _, i := range pending {
				res[i] = gcResult{err: err}
			}
		}
		break
	}
	return res
}

// attempt runs the pending calls of batch once, each in a savepoint of one
// transaction, and commits it. It records each call's outcome in res; an
// error means the attempt failed as a whole.
func (g *GroupCommit) attempt(ctx context.Context, batch []*gcCall, pending []int, res []gcResult) error {
	for _, i := range pending {
		res[i] = gcResult{}
	}
	sqlTx, err := g.db.write.BeginTx(ctx, g.db.store.backend.txOptions(g.iso))
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	tx := &Tx{tx: sqlTx, db: g.db, shared: true, ctx: ctx}
	for _, i := range pending {
		c := batch[i]
		tx.ctx = ctx
		if _, err := tx.Exec(ctx, "SAVEPOINT "+savepoint); err != nil {
			return err
		}
		tx.ctx = context.WithValue(callerValues{ctx, c.ctx}, txKey{g.db.store}, tx)
		tx.after = nil
		ferr := runFn(tx, c.fn, i)
		tx.ctx = ctx
		var p *fnPanic
		switch {
		case errors.As(ferr, &p), ferr != nil && retryable(ferr):
			return ferr
		case ferr == nil:
			_, ferr = tx.Exec(ctx, "RELEASE SAVEPOINT "+savepoint)
			if ferr == nil {
				res[i].after = tx.after
				continue
			}
			if retryable(ferr) {
				return ferr
			}
		}
		// fn failed, or left the transaction unable to go on (Postgres,
		// after an error fn ignored): undo its work only.
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+savepoint); err != nil {
			return err
		}
		res[i] = gcResult{err: Normalize(ferr)}
	}
	tx.after = nil
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	committed = true
	return nil
}

// runFn calls fn, turning a panic into a *fnPanic for batch[i].
func runFn(tx *Tx, fn func(tx *Tx) error, i int) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &fnPanic{i: i, value: v, stack: debug.Stack()}
		}
	}()
	return fn(tx)
}

// callerValues is the context of a function in a batch: the batch's
// deadline and cancellation (the embedded Context) with the caller's values.
type callerValues struct {
	context.Context                 // the batch's
	values          context.Context // the caller's
}

// Value looks key up in the batch's context first, which holds only the
// context package's own keys (so that contexts derived from this one are
// cancelled with the batch), then in the caller's.
func (c callerValues) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.values.Value(key)
}
