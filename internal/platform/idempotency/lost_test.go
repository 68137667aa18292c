package idempotency

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// thingsApp is an app schema whose role writes the things: on Postgres the
// commit hook then runs as an app's role, which proves the grants.
var thingsApp = store.MigrationSet{Schema: "things", FS: fstest.MapFS{
	"0001_init.sql": {Data: []byte("-- +goose Up\nCREATE TABLE things_items (name TEXT PRIMARY KEY);\n")},
}}

// TestWorkCommittedAnswerLost: a node that dies after the request's
// transaction committed but before its answer was stored leaves a claim
// marked committed: once abandoned, a retry is refused with 409 (and no
// Retry-After) instead of applying the work twice. A node that died before
// committing leaves an unmarked claim, which a retry takes over. The mark
// is written in the app's own transaction, plain or group-committed.
func TestWorkCommittedAnswerLost(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, Migrations(), thingsApp); err != nil {
			t.Fatal(err)
		}
		k := New(s, nil)
		clock := &testClock{start: time.Now()}
		k.now = clock.now
		db := s.App("things")
		group := store.NewGroupCommit(db, store.Serializable, 8)
		// The handler inserts the thing named by the body, in a plain or a
		// group-committed transaction, then "dies" (before or after the
		// commit) when the path says so: the middleware then never stores
		// an answer, as when the node is killed.
		create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body strings.Builder
			buf := make([]byte, 64)
			n, _ := r.Body.Read(buf)
			body.Write(buf[:n])
			if r.Header.Get("X-Die") == "before" {
				panic(http.ErrAbortHandler)
			}
			insert := func(tx *store.Tx) error {
				_, err := tx.Exec(tx.Context(), "INSERT INTO things_items (name) VALUES (?)", body.String())
				return err
			}
			var err error
			if r.URL.Path == "/group" {
				err = group.Do(r.Context(), insert)
			} else {
				err = db.InTx(r.Context(), insert)
			}
			if err != nil {
				t.Errorf("insert: %v", err)
			}
			if r.Header.Get("X-Die") == "after" {
				panic(http.ErrAbortHandler)
			}
			w.WriteHeader(http.StatusCreated)
		})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(authz.WithPrincipal(r.Context(), authz.Principal{UserID: "u1", Via: authz.ViaPlatform}))
			k.Middleware(create).ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		post := func(path, key, body string) testhttp.Response {
			t.Helper()
			return testhttp.Send(t, http.MethodPost, srv.URL+path, body, func(r *http.Request) { r.Header.Set(Header, key) })
		}
		// die sends a request whose handler dies (when: before or after
		// committing): the connection is cut. net/http retries a request
		// carrying Idempotency-Key once on a cut connection; that retry
		// meets the dead request's claim (409).
		die := func(path, key, body, when string) {
			t.Helper()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(Header, key)
			req.Header.Set("X-Die", when)
			req.Header.Set("Content-Type", "application/json") // as Send: the same fingerprint
			if res, err := http.DefaultClient.Do(req); err == nil {
				_ = res.Body.Close()
				if res.StatusCode != http.StatusConflict {
					t.Fatalf("%s answered %d; the handler was to die", path, res.StatusCode)
				}
			}
		}
		count := func(name string) int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, "SELECT count(*) FROM things_items WHERE name = ?", name).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		for _, mode := range []string{"plain", "group"} {
			a, b := mode+"-a", mode+"-b"
			die("/"+mode, "key-"+a, a, "after") // committed, then died
			die("/"+mode, "key-"+b, b, "before")
			clock.advance(2 * abandonAfter)

			res := post("/"+mode, "key-"+a, a)
			if res.Status != http.StatusConflict || res.Header.Get("Retry-After") != "" || !strings.Contains(res.Body, "answer was lost") {
				t.Errorf("%s: retry after a committed, unanswered request: %d %v %s; want 409 without Retry-After", mode, res.Status, res.Header, res.Body)
			}
			if n := count(a); n != 1 {
				t.Errorf("%s: the work is stored %d times, want once", mode, n)
			}
			res = post("/"+mode, "key-"+b, b)
			if res.Status != http.StatusCreated {
				t.Errorf("%s: retry after a request that died before committing: %d %s; want it run (201)", mode, res.Status, res.Body)
			}
			if n := count(b); n != 1 {
				t.Errorf("%s: the retried work is stored %d times, want once", mode, n)
			}
		}
	})
}

// testClock is a clock the test moves forward while servers read it.
type testClock struct {
	start  time.Time
	offset atomic.Int64 // nanoseconds
}

func (c *testClock) now() time.Time          { return c.start.Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
