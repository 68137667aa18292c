package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// testApp is an app schema: on Postgres, events and jobs are enqueued as an
// app's role, which proves the platform's grants.
var testApp = store.MigrationSet{Schema: "testapp", FS: fstest.MapFS{
	"0001_init.sql": {Data: []byte("-- +goose Up\nCREATE TABLE testapp_items (id TEXT PRIMARY KEY);\n")},
}}

// fastOptions make tests quick: short polls and back-off.
func fastOptions() jobs.Options {
	return jobs.Options{
		MaxAttempts:  3,
		Backoff:      func(int) time.Duration { return 20 * time.Millisecond },
		PollInterval: 20 * time.Millisecond,
		NoPurge:      true,
	}
}

func migrate(t testing.TB, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, s, nil); err != nil {
		t.Fatalf("jobs.Migrate: %v", err)
	}
	if err := s.Migrate(ctx, testApp); err != nil {
		t.Fatalf("migrate app: %v", err)
	}
}

// newRunner returns a migrated store's log and an unstarted runner, stopped
// at cleanup.
func newRunner(t testing.TB, s *store.Store, opts jobs.Options) (*events.Log, *jobs.Runner) {
	t.Helper()
	l := events.New(s, events.Options{})
	r, err := jobs.New(s, l, opts)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return l, r
}

func start(t testing.TB, r *jobs.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
}

// emit commits one event (or rolls it back) through the test app's handle.
func emit(t testing.TB, s *store.Store, l *events.Log, typ string, rollback bool) {
	t.Helper()
	errRollback := errors.New("rollback")
	err := s.App("testapp").InTx(context.Background(), func(tx *store.Tx) error {
		if err := l.Emit(tx.Context(), tx, events.Event{Type: typ, Payload: json.RawMessage(`{"x":1}`)}); err != nil {
			return err
		}
		if rollback {
			return errRollback
		}
		return nil
	})
	if rollback && errors.Is(err, errRollback) {
		return
	}
	if err != nil {
		t.Fatalf("emit: %v", err)
	}
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHandlerRunsAfterCommitOnly(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		l, r := newRunner(t, s, fastOptions())
		type call struct {
			handler string
			e       events.Event
			at      time.Time
		}
		calls := make(chan call, 100)
		for _, name := range []string{"test.first", "test.second"} {
			err := r.Register(jobs.Handler{Name: name, EventType: "testapp.item.created",
				Handle: func(_ context.Context, e events.Event) error {
					calls <- call{name, e, time.Now()}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Register(jobs.Handler{Name: "test.first", EventType: "testapp.item.created",
			Handle: func(context.Context, events.Event) error { return nil }}); err == nil {
			t.Error("a second handler named test.first was accepted")
		}
		start(t, r)
		if err := r.Register(jobs.Handler{Name: "test.late", EventType: "testapp.item.created",
			Handle: func(context.Context, events.Event) error { return nil }}); !errors.Is(err, jobs.ErrStarted) {
			t.Errorf("Register after Start = %v, want ErrStarted", err)
		}

		emit(t, s, l, "testapp.item.created", true)  // rolled back: no job
		emit(t, s, l, "testapp.item.deleted", false) // no handler: no job
		committed := time.Now()
		emit(t, s, l, "testapp.item.created", false)

		got := map[string]call{}
		timeout := time.After(10 * time.Second)
		for len(got) < 2 {
			select {
			case c := <-calls:
				got[c.handler] = c
			case <-timeout:
				t.Fatalf("handlers ran: %v; want both", got)
			}
		}
		for name, c := range got {
			if c.e.Type != "testapp.item.created" || string(c.e.Payload) != `{"x":1}` || c.e.ID == "" || c.e.Cursor == "" {
				t.Errorf("%s got %+v", name, c.e)
			}
			// Timing is measured by the benchmark; here only a generous bound.
			if lat := c.at.Sub(committed); lat > 2*time.Second {
				t.Errorf("%s started %s after the emit", name, lat)
			} else {
				t.Logf("%s started %s after the emit", name, lat)
			}
		}
		select {
		case c := <-calls:
			t.Errorf("unexpected handler call %s for %+v (the rolled-back event?)", c.handler, c.e)
		case <-time.After(300 * time.Millisecond):
		}
		// A handler has returned before River records its job completed
		// (its completer writes in batches): wait for the record.
		ctx := context.Background()
		var js []jobs.Job
		var err error
		waitFor(t, 10*time.Second, "the two handler jobs completed", func() bool {
			js, err = r.List(ctx, jobs.StateCompleted, 10)
			return err != nil || len(js) >= 2
		})
		if err != nil || len(js) != 2 || js[0].Kind != "handler" || js[0].EventType != "testapp.item.created" {
			t.Errorf("List(completed) = %+v, %v; want the two handler jobs", js, err)
		}
	})
}

func TestFailingHandlerGoesDeadAndRetries(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		migrate(t, s)
		l, r := newRunner(t, s, fastOptions())
		var attempts, fixed, deaths atomic.Int32
		var done atomic.Bool
		err := r.Register(jobs.Handler{Name: "test.flaky", EventType: "testapp.item.created",
			Handle: func(context.Context, events.Event) error {
				attempts.Add(1)
				if fixed.Load() == 0 {
					return errors.New("smtp down")
				}
				done.Store(true)
				return nil
			},
			OnDead: func(_ context.Context, _ events.Event, err error) error {
				if err.Error() == "smtp down" && attempts.Load() == 3 {
					deaths.Add(1)
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		start(t, r)
		emit(t, s, l, "testapp.item.created", false)

		var dead []jobs.Job
		waitFor(t, 10*time.Second, "the job to be dead", func() bool {
			dead, err = r.List(ctx, jobs.StateDead, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(dead) == 1
		})
		j := dead[0]
		if attempts.Load() != 3 || j.Attempt != 3 || j.MaxAttempts != 3 || j.LastError != "smtp down" || j.Name != "test.flaky" {
			t.Errorf("dead job = %+v after %d attempts; want 3 attempts, last error smtp down", j, attempts.Load())
		}
		if n := deaths.Load(); n != 1 {
			t.Errorf("OnDead ran %d times after the third failed attempt, want once", n)
		}
		fixed.Store(1)
		if err := r.Retry(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the retried job to succeed", done.Load)
		waitFor(t, 10*time.Second, "the job to be completed", func() bool {
			got, err := r.Get(ctx, j.ID)
			return err == nil && got.State == jobs.StateCompleted
		})
		if err := r.Retry(ctx, 999999); !fault.Is(err, fault.NotFound) {
			t.Errorf("Retry(unknown) = %v, want not found", err)
		}
		if _, err := r.List(ctx, "bogus", 10); !fault.Is(err, fault.Invalid) {
			t.Errorf("List(bogus) = %v, want invalid", err)
		}
	})
}

func TestCancelPending(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		migrate(t, s)
		l, r := newRunner(t, s, fastOptions()) // never started: jobs stay pending
		if err := r.Register(jobs.Handler{Name: "test.never", EventType: "testapp.item.created",
			Handle: func(context.Context, events.Event) error { return nil }}); err != nil {
			t.Fatal(err)
		}
		emit(t, s, l, "testapp.item.created", false)
		pending, err := r.List(ctx, jobs.StatePending, 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("List(pending) = %+v, %v; want one job", pending, err)
		}
		if err := r.Cancel(ctx, pending[0].ID); err != nil {
			t.Fatal(err)
		}
		if js, err := r.List(ctx, jobs.StateCancelled, 10); err != nil || len(js) != 1 || js[0].ID != pending[0].ID {
			t.Errorf("List(cancelled) = %+v, %v", js, err)
		}
		if js, err := r.List(ctx, "", 10); err != nil || len(js) != 1 {
			t.Errorf("List(all) = %+v, %v", js, err)
		}
		if err := r.Cancel(ctx, 424242); !fault.Is(err, fault.NotFound) {
			t.Errorf("Cancel(unknown) = %v, want not found", err)
		}
	})
}

func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EngineSQLite)
	migrate(t, s)
	_, r := newRunner(t, s, fastOptions())
	run := func(context.Context) error { return nil }
	for _, bad := range []jobs.Schedule{
		{Name: "Bad Name", Cron: "@hourly", Run: run},
		{Name: "report.weekly", Cron: "0 6 * *", Run: run},
		{Name: "report.weekly", Cron: "0 6 * * MON", TimeZone: "Mars/Olympus", Run: run},
		{Name: "report.weekly", Cron: "0 6 * * MON"},
	} {
		if err := r.Schedule(bad); err == nil {
			t.Errorf("Schedule(%+v) accepted", bad)
		}
	}
	if err := r.Schedule(jobs.Schedule{Name: "report.weekly", Cron: "0 6 * * MON", TimeZone: "Europe/Paris", Run: run}); err != nil {
		t.Errorf("a valid schedule: %v", err)
	}
	if err := r.Schedule(jobs.Schedule{Name: "report.weekly", Cron: "@daily", Run: run}); err == nil {
		t.Error("a second schedule named report.weekly was accepted")
	}
}

// TestScheduleRunsOncePerTick runs two nodes (two stores and runners on one
// database) with a schedule firing every second: each tick runs once.
func TestScheduleRunsOncePerTick(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			dsn := storetest.DSN(t, engine)
			var mu sync.Mutex
			var runs []time.Time
			for i, node := range []string{"node-a", "node-b"} {
				s, err := store.Open(context.Background(), dsn, store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				if i == 0 {
					migrate(t, s)
				}
				opts := fastOptions()
				opts.ID = node
				_, r := newRunner(t, s, opts)
				err = r.Schedule(jobs.Schedule{Name: "test.tick", Cron: "* * * * * *", Run: func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					runs = append(runs, time.Now())
					return nil
				}})
				if err != nil {
					t.Fatal(err)
				}
				start(t, r)
			}
			// Leader election and River's staggered start take a moment.
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				return len(runs)
			}
			waitFor(t, 30*time.Second, "4 ticks", func() bool { return count() >= 4 })
			time.Sleep(1500 * time.Millisecond) // room for a duplicate of the last tick
			mu.Lock()
			defer mu.Unlock()
			// A duplicate of a tick would run at about the same time as the
			// original (on the other node), and add a run to the span.
			span := runs[len(runs)-1].Sub(runs[0])
			if len(runs) > int(span/time.Second)+2 {
				t.Errorf("%d runs in %s of a per-second schedule", len(runs), span)
			}
			for i := 1; i < len(runs); i++ {
				if d := runs[i].Sub(runs[i-1]); d < 200*time.Millisecond {
					t.Errorf("runs %d and %d only %s apart: one tick ran twice?", i-1, i, d)
				}
			}
		})
	}
}

func ExampleRunner_Register() {
	var r *jobs.Runner // from jobs.New
	if r == nil {
		fmt.Println("register before Start")
		return
	}
	_ = r.Register(jobs.Handler{Name: "mail.welcome", EventType: "auth.user.created",
		Handle: func(ctx context.Context, e events.Event) error {
			return nil // send the mail, keyed on e.ID so a second run sends nothing
		}})
	// Output: register before Start
}

func TestRunScheduleAndBuiltInPurge(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EngineSQLite)
	migrate(t, s)
	opts := fastOptions()
	opts.NoPurge = false
	_, r := newRunner(t, s, opts)
	ran := make(chan struct{}, 1)
	if err := r.Schedule(jobs.Schedule{Name: jobs.PurgeSchedule, Cron: "@daily", Run: func(context.Context) error { return nil }}); err == nil {
		t.Error("the built-in purge schedule is missing (a second one was accepted)")
	}
	if err := r.Schedule(jobs.Schedule{Name: "report.weekly", Cron: "0 6 * * MON", TimeZone: "Europe/Paris",
		Run: func(context.Context) error { ran <- struct{}{}; return nil }}); err != nil {
		t.Fatal(err)
	}
	start(t, r)
	ctx := context.Background()
	if err := r.RunSchedule(ctx, "report.weekly"); err != nil {
		t.Fatal(err)
	}
	if err := r.RunSchedule(ctx, "nope"); err == nil {
		t.Error("RunSchedule(unknown) succeeded")
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the schedule run now never ran")
	}
	if err := r.RunSchedule(ctx, jobs.PurgeSchedule); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the purge to complete", func() bool {
		js, err := r.List(ctx, jobs.StateCompleted, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			if j.Kind == "schedule" && j.Name == jobs.PurgeSchedule {
				return true
			}
		}
		return false
	})
}

// TestStopIsBounded: Stop waits for running jobs until its context ends,
// then cancels them; the cancelled job is retried later, not lost.
func TestStopIsBounded(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EngineSQLite)
	migrate(t, s)
	l, r := newRunner(t, s, fastOptions())
	running := make(chan struct{})
	if err := r.Register(jobs.Handler{Name: "test.slow", EventType: "testapp.item.created",
		Handle: func(ctx context.Context, _ events.Event) error {
			close(running)
			<-ctx.Done()
			return ctx.Err()
		}}); err != nil {
		t.Fatal(err)
	}
	start(t, r)
	emit(t, s, l, "testapp.item.created", false)
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if d := time.Since(t0); d > jobs.StopGrace+time.Second {
		t.Errorf("Stop took %s", d)
	}
	js, err := r.List(context.Background(), "", 10)
	if err != nil || len(js) != 1 || (js[0].State != jobs.StateFailed && js[0].State != jobs.StatePending) || js[0].LastError == "" {
		t.Errorf("after Stop, jobs = %+v, %v; want the cancelled one, to be retried", js, err)
	}
}
