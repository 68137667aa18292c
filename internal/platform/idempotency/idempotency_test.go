package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/idempotency"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// server serves a counting create behind the middleware. The caller is the
// X-Test-User header (none: anonymous); a body "fail" answers 422, and a
// body "wait" signals started, then blocks until release is closed; a body
// "secret" answers 201 marked Cache-Control: no-store.
func server(t *testing.T, s *store.Store, started, release chan struct{}) (url string, creates *atomic.Int64) {
	t.Helper()
	if err := s.Migrate(context.Background(), idempotency.Migrations()); err != nil {
		t.Fatal(err)
	}
	keys := idempotency.New(s, slog.New(slog.DiscardHandler))
	creates = &atomic.Int64{}
	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch string(b) {
		case `"fail"`:
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		case `"wait"`:
			started <- struct{}{}
			<-release
		}
		n := creates.Add(1)
		if string(b) == `"secret"` {
			w.Header().Set("Cache-Control", "private, no-store")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", fmt.Sprintf("/things/%d", n))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d}`, n)
	})
	authn := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := r.Header.Get("X-Test-User"); u != "" {
				r = r.WithContext(authz.WithPrincipal(r.Context(), authz.Principal{UserID: u, Via: authz.ViaPlatform}))
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(authn(keys.Middleware(create)))
	t.Cleanup(srv.Close)
	return srv.URL, creates
}

func as(user, key string) func(*http.Request) {
	return func(r *http.Request) {
		if user != "" {
			r.Header.Set("X-Test-User", user)
		}
		if key != "" {
			r.Header.Set(idempotency.Header, key)
		}
	}
}

func TestRetriedCreateIsAnsweredOnce(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		url, creates := server(t, s, nil, nil)

		first := testhttp.Send(t, "POST", url, `{"name":"a"}`, as("u1", "k1"))
		again := testhttp.Send(t, "POST", url, `{"name":"a"}`, as("u1", "k1"))
		if first.Status != 201 || again.Status != 201 || again.Body != first.Body ||
			again.Header.Get("Location") != first.Header.Get("Location") || again.Header.Get(idempotency.ReplayedHeader) != "true" {
			t.Fatalf("first %+v\nagain %+v", first, again)
		}
		if first.Header.Get(idempotency.ReplayedHeader) != "" || creates.Load() != 1 {
			t.Fatalf("created %d times; first replayed header %q", creates.Load(), first.Header.Get(idempotency.ReplayedHeader))
		}

		// The same key for another request: 422, nothing created.
		if r := testhttp.Send(t, "POST", url, `{"name":"b"}`, as("u1", "k1")); r.Status != 422 {
			t.Fatalf("reused key: %+v", r)
		}
		if r := testhttp.Send(t, "POST", url+"?x=1", `{"name":"a"}`, as("u1", "k1")); r.Status != 422 {
			t.Fatalf("reused key on another URL: %+v", r)
		}
		// Another caller's key space is its own.
		if r := testhttp.Send(t, "POST", url, `{"name":"a"}`, as("u2", "k1")); r.Status != 201 || r.Header.Get(idempotency.ReplayedHeader) != "" {
			t.Fatalf("another caller: %+v", r)
		}
		// Anonymous requests and requests without a key are not remembered.
		testhttp.Send(t, "POST", url, `{"name":"a"}`, as("", "k1"))
		testhttp.Send(t, "POST", url, `{"name":"a"}`, as("", "k1"))
		testhttp.Send(t, "POST", url, `{"name":"a"}`, as("u1", ""))
		if n := creates.Load(); n != 5 {
			t.Fatalf("created %d times, want 5", n)
		}
		// A failed create drops its claim: the retry runs.
		if r := testhttp.Send(t, "POST", url, `"fail"`, as("u1", "k2")); r.Status != 422 {
			t.Fatalf("failing create: %+v", r)
		}
		if r := testhttp.Send(t, "POST", url, `"fail"`, as("u1", "k2")); r.Status != 422 || r.Header.Get(idempotency.ReplayedHeader) != "" {
			t.Fatalf("retried failing create was replayed: %+v", r)
		}
		// A malformed key is refused.
		if r := testhttp.Send(t, "POST", url, `{}`, as("u1", "has space")); r.Status != 400 {
			t.Fatalf("malformed key: %+v", r)
		}
	})
}

// TestConcurrentDuplicateWaits: while the first request with a key runs, a
// duplicate gets 409 with Retry-After; after it, the answer is replayed.
// TestSecretAnswerIsNotKept: a success marked no-store (a new admin key's
// secret) is not stored: a retry gets 409 and runs nothing again.
func TestSecretAnswerIsNotKept(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		url, creates := server(t, s, nil, nil)
		first := testhttp.Send(t, "POST", url, `"secret"`, as("u1", "k1"))
		again := testhttp.Send(t, "POST", url, `"secret"`, as("u1", "k1"))
		if first.Status != http.StatusCreated || first.Body != `{"id":1}` || again.Status != http.StatusConflict || creates.Load() != 1 {
			t.Fatalf("first %+v\nagain %+v\ncreates %d", first, again, creates.Load())
		}
		var stored int
		if err := s.Admin().QueryRow(context.Background(),
			`SELECT COUNT(*) FROM idempotency_keys WHERE body IS NOT NULL OR location != ''`).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("kept answers: %d, %v", stored, err)
		}
	})
}

func TestConcurrentDuplicateWaits(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		started, release := make(chan struct{}, 1), make(chan struct{})
		url, creates := server(t, s, started, release)
		releaseOnce := sync.OnceFunc(func() { close(release) })
		defer releaseOnce() // a failed check must not leave the first request blocked
		done := make(chan testhttp.Response)
		go func() { done <- testhttp.Send(t, "POST", url, `"wait"`, as("u1", "slow")) }()
		<-started // the first request holds the key
		r := testhttp.Send(t, "POST", url, `"wait"`, as("u1", "slow"))
		if r.Status != http.StatusConflict || r.Header.Get("Retry-After") == "" {
			t.Fatalf("duplicate while in progress: %+v", r)
		}
		releaseOnce()
		first := <-done
		again := testhttp.Send(t, "POST", url, `"wait"`, as("u1", "slow"))
		if first.Status != 201 || again.Body != first.Body || creates.Load() != 1 {
			t.Fatalf("first %+v, again %+v, %d creates", first, again, creates.Load())
		}
	})
}
