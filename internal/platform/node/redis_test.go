package node

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/servicetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestRedisOutage: two nodes on one Postgres and a Redis that goes down and
// comes back. With the fallback poll set to an hour, only Redis carries
// wake-ups between nodes. While Redis is down a node keeps serving its own
// subscribers and /readyz says Redis failed; when Redis is back, cross-node
// fan-out resumes and the subscriber gets what it missed, in order.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts and stops a redis-server")
	}
	redis := servicetest.StartRedis(t)
	dsn := storetest.DSN(t, store.EnginePostgres)
	cfg := func() *config.Config {
		c, err := config.Load(config.Sources{KnownApps: []string{"notes"}, Environ: []string{
			"TESSERA_DATA_DIR=" + t.TempDir(), "TESSERA_DATABASE=" + dsn, "TESSERA_REDIS=" + redis.URL()}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	opts := Options{HubPollInterval: time.Hour}
	a := openNodeWith(t, cfg(), opts, notesApp())
	b := openNodeWith(t, cfg(), opts, notesApp())
	f := dialFeed(t, a.URL, "")

	// Node A subscribes to Redis in the background: write through B until a
	// wake-up gets through.
	postUntilPushed(t, b.URL, f, "b-before", "")

	redis.Stop()
	post(t, a.URL, "a-during") // a single node keeps working
	f.expect("a-during")
	if status, body := testhttp.Do(t, "GET", a.URL+"/readyz", ""); status != http.StatusServiceUnavailable || !strings.Contains(body, "redis") {
		t.Errorf("readyz with Redis down: %d %s", status, body)
	}
	post(t, b.URL, "b-during") // committed, but node A is not woken

	redis.Start()
	waitFor(t, "readyz after Redis restart", func() bool {
		status, _ := testhttp.Do(t, "GET", a.URL+"/readyz", "")
		return status == http.StatusOK
	})
	// B's next wake-up reaches A once both are resubscribed; A then reads
	// everything after its cursor: the missed write first.
	postUntilPushed(t, b.URL, f, "b-after", "b-during")
}

// postUntilPushed writes notes "<prefix>-0", "<prefix>-1", … through base
// until the feed gets a push, which must be first (when not empty), then
// each written note in order.
func postUntilPushed(t *testing.T, base string, f *feed, prefix, first string) {
	t.Helper()
	type result struct {
		p   push
		err error
	}
	got := make(chan result, 1)
	go func() {
		p, err := f.read()
		got <- result{p, err}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		post(t, base, fmt.Sprintf("%s-%d", prefix, i))
		select {
		case r := <-got:
			if r.err != nil {
				t.Fatal(r.err)
			}
			p := r.p
			want := first
			if want == "" {
				want = prefix + "-0"
			}
			if p.Data.Body != want {
				t.Fatalf("first push %+v, want %q", p, want)
			}
			var rest []string
			for k := 0; k <= i; k++ {
				if body := fmt.Sprintf("%s-%d", prefix, k); body != want {
					rest = append(rest, body)
				}
			}
			f.expect(rest...)
			return
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no cross-node push within 60s")
		}
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestWakeChannelNamesTheDatabase: a node on Redis database 3 publishes its
// wake-ups on tessera:3:realtime:wake (pub/sub ignores database numbers, so
// deployments sharing a Redis would otherwise wake each other).
func TestWakeChannelNamesTheDatabase(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a redis-server")
	}
	srv := servicetest.StartRedis(t)
	url := strings.TrimSuffix(srv.URL(), "/0") + "/3"
	c, err := config.Load(config.Sources{KnownApps: []string{"notes"}, Environ: []string{
		"TESSERA_DATA_DIR=" + t.TempDir(), "TESSERA_REDIS=" + url}})
	if err != nil {
		t.Fatal(err)
	}
	n := openNodeWith(t, c, Options{}, notesApp())
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	sub := client.PSubscribe(t.Context(), "tessera:*")
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(t.Context()); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	post(t, n.URL, "woken")
	select {
	case m := <-sub.Channel():
		if m.Channel != WakeChannel(3) || m.Channel != "tessera:3:realtime:wake" {
			t.Errorf("wake-up on %q, want tessera:3:realtime:wake", m.Channel)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up published within 10 s")
	}
}
