package jobs_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// The child process of TestKill9WhileHandlerRuns reads these.
const (
	envChildDSN    = "TESSERA_JOBS_CHILD_DSN"
	envChildMarker = "TESSERA_JOBS_CHILD_MARKER"
)

// TestKill9WhileHandlerRuns: a node (a child process) starts a handler that
// blocks and is killed with SIGKILL; a new node on the same database runs the
// handler to completion (River's rescuer, once the dead node's leadership
// and the job's RescueAfter have expired: about 20 s).
func TestKill9WhileHandlerRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits for the dead node's leadership to expire")
	}
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			dsn := storetest.DSN(t, engine)
			ctx := context.Background()
			s, err := store.Open(ctx, dsn, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			migrate(t, s)

			opts := fastOptions()
			opts.JobTimeout = time.Second
			opts.RescueAfter = 2 * time.Second
			opts.ID = "survivor"
			l, r := newRunner(t, s, opts)
			finished := make(chan events.Event, 1)
			err = r.Register(jobs.Handler{Name: "test.block", EventType: "testapp.item.created",
				Handle: func(_ context.Context, e events.Event) error {
					finished <- e
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			emit(t, s, l, "testapp.item.created", false)

			marker := filepath.Join(t.TempDir(), "started")
			cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.v") //nolint:gosec // G204: the test binary itself
			cmd.Env = append(os.Environ(), envChildDSN+"="+dsn, envChildMarker+"="+marker)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			})
			waitFor(t, 30*time.Second, "the child to start the handler", func() bool {
				_, err := os.Stat(marker)
				return err == nil
			})
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			killed = true
			if js, err := r.List(ctx, jobs.StateRunning, 10); err != nil || len(js) != 1 {
				t.Fatalf("after the kill, running jobs = %+v, %v; want the abandoned one", js, err)
			}

			killedAt := time.Now()
			start(t, r)
			select {
			case e := <-finished:
				t.Logf("handler of %s completed on the survivor %s after the kill", e.ID, time.Since(killedAt).Round(time.Millisecond))
			case <-time.After(60 * time.Second):
				t.Fatal("the abandoned handler never ran again")
			}
		})
	}
}

// TestKill9Child is the node that gets killed; it only runs as the child of
// TestKill9WhileHandlerRuns.
func TestKill9Child(t *testing.T) {
	dsn := os.Getenv(envChildDSN)
	if dsn == "" {
		t.Skip("runs only as the child of TestKill9WhileHandlerRuns")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions()
	opts.JobTimeout = -1
	opts.ID = "doomed"
	r, err := jobs.New(s, events.New(s, events.Options{}), opts)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Register(jobs.Handler{Name: "test.block", EventType: "testapp.item.created",
		Handle: func(ctx context.Context, _ events.Event) error {
			if err := os.WriteFile(os.Getenv(envChildMarker), nil, 0o600); err != nil {
				return err
			}
			<-ctx.Done() // blocks until killed
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Minute) // killed long before
}
