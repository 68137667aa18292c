package realtime

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// redisURL returns the test Redis or skips.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TESSERA_TEST_REDIS_URL")
	if u == "" {
		t.Skip("TESSERA_TEST_REDIS_URL is not set: skipping the Redis test (e.g. redis://127.0.0.1:6379/0)")
	}
	return u
}

// twoNodes starts two hubs on one log, as two nodes of a cluster.
func twoNodes(t *testing.T, log *fakeLog, mod func(*Options)) (a, b *Hub) {
	t.Helper()
	channel := "tessera:test:" + uuid.NewString()
	opts := func(o *Options) {
		o.RedisChannel = channel
		mod(o)
	}
	return startHub(t, log, opts), startHub(t, log, opts)
}

func TestRedisWakesOtherNodes(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	log := &fakeLog{}
	// No poll to speak of: only the Redis wake-up can deliver in time.
	a, b := twoNodes(t, log, func(o *Options) { o.RedisURL = url; o.PollInterval = time.Hour })
	srv := serve(t, a)
	c := dial(t, srv, "")
	c.subscribe(action{ID: "x", Topics: []string{"room:1"}})

	for i := 1; i <= 20; i++ {
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d}`, i)) // committed through node B
		start := time.Now()
		b.Notify()
		f, err := c.next(2 * time.Second)
		if err != nil {
			t.Fatalf("event %d did not cross nodes: %v", i, err)
		}
		if n := data(t, f).N; n != i {
			t.Fatalf("got n=%d, want %d", n, i)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("event %d took %v across nodes", i, d)
		}
	}
}

func TestRedisSharedClient(t *testing.T) {
	t.Parallel()
	u := redisURL(t)
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(o)
	t.Cleanup(func() { _ = rc.Close() })
	log := &fakeLog{}
	a, b := twoNodes(t, log, func(o *Options) { o.Redis = rc })
	srv := serve(t, a)
	c := dial(t, srv, "")
	c.subscribe(action{ID: "x", Topics: []string{"org"}})
	log.Append("chat", "o1", "5", `{"n":1}`)
	b.Notify()
	if f := c.mustNext(); data(t, f).N != 1 {
		t.Fatalf("got %+v", f)
	}
	// The hub does not close a client it was given.
	_ = c.ws.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Fatalf("client closed by the hub: %v", err)
	}
}

func TestRedisDownPollStillDelivers(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	// Nothing listens on port 1: publishes and the subscription fail.
	a, b := twoNodes(t, log, func(o *Options) {
		o.RedisURL = "redis://127.0.0.1:1/0"
		o.PollInterval = 100 * time.Millisecond
	})
	srv := serve(t, a)
	c := dial(t, srv, "")
	c.subscribe(action{ID: "x", Topics: []string{"room:1"}})
	for i := 1; i <= 3; i++ {
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d}`, i))
		b.Notify()
	}
	for i := 1; i <= 3; i++ {
		f, err := c.next(2 * time.Second)
		if err != nil {
			t.Fatalf("event %d not delivered by the poll: %v", i, err)
		}
		if n := data(t, f).N; n != i {
			t.Fatalf("got n=%d, want %d", n, i)
		}
	}
}

func TestNoRedisTwoNodesByPoll(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	a := startHub(t, log, func(o *Options) { o.PollInterval = 50 * time.Millisecond })
	b := startHub(t, log, func(o *Options) { o.PollInterval = 50 * time.Millisecond })
	srv := serve(t, a)
	c := dial(t, srv, "")
	c.subscribe(action{ID: "x", Topics: []string{"room:1"}})
	log.Append("chat", "o1", "1", `{"n":1}`)
	b.Notify() // in-process only: node A learns by polling
	if f := c.mustNext(); data(t, f).N != 1 {
		t.Fatalf("got %+v", f)
	}
}
