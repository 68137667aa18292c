package idempotency

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/servicetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// answered is a recorder that has written status and body.
func answered(status int, body string) *recorder {
	rec := &recorder{ResponseWriter: httptest.NewRecorder()}
	rec.WriteHeader(status)
	_, _ = rec.Write([]byte(body))
	return rec
}

// TestFinishOutlivesADatabaseRestart: when the database is unreachable as a
// request finishes, its answer (or the drop of its claim) is written once
// the database is back, not left as a claim that makes every retry 409 until
// it is abandoned; a late write never touches a newer claim of the key.
func TestFinishOutlivesADatabaseRestart(t *testing.T) {
	t.Parallel()
	pg := servicetest.StartPostgres(t)
	ctx := context.Background()
	s, err := store.Open(ctx, pg.DSN(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx, Migrations()); err != nil {
		t.Fatal(err)
	}
	k := New(s, nil)
	clock := &testClock{start: time.Now()}
	k.now = clock.now
	claim := func(key string) claimRef {
		t.Helper()
		_, at, claimed, err := k.claim(ctx, "u1", key, "fp")
		if err != nil || !claimed {
			t.Fatalf("claim %s: %v %v", key, claimed, err)
		}
		return claimRef{"u1", key, at}
	}
	created, failed := claim("created"), claim("failed")

	pg.Stop()
	k.finish(created, answered(http.StatusCreated, `{"id":"1"}`))
	k.finish(failed, answered(http.StatusServiceUnavailable, `{}`))
	pg.Start()

	deadline := time.Now().Add(30 * time.Second)
	for {
		a, found, err := get(ctx, k.db, "u1", "created")
		_, failedFound, err2 := get(ctx, k.db, "u1", "failed")
		if err == nil && err2 == nil && found && a.status == http.StatusCreated && string(a.body) == `{"id":"1"}` && !failedFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the database came back: created = %+v (found %v, %v); failed claim still there: %v (%v)",
				a, found, err, failedFound, err2)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A claim taken over (abandoned) is not touched by the old request's write.
	old := claim("taken")
	clock.advance(2 * abandonAfter)
	newer := claim("taken")
	k.finish(old, answered(http.StatusCreated, `{"id":"old"}`))
	a, found, err := get(ctx, k.db, "u1", "taken")
	if err != nil || !found || a.status != inProgress || a.createdAt != newer.createdAt {
		t.Fatalf("the newer claim was overwritten by the old request: %+v, %v, %v", a, found, err)
	}
}
