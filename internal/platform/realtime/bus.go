package realtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// bus carries wake-ups between nodes over Redis pub/sub. A message only says
// "read the log": losing one (Redis down, a reconnect) costs latency until
// the next poll, never an event.
type bus struct {
	h       *Hub
	client  redis.UniversalClient
	own     bool
	channel string
	pub     chan struct{}
	ps      *redis.PubSub
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

func newBus(h *Hub) (*bus, error) {
	b := &bus{h: h, client: h.opts.Redis, channel: h.opts.RedisChannel, pub: make(chan struct{}, 1)}
	if b.client == nil {
		o, err := redis.ParseURL(h.opts.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("realtime: redis url: %w", err)
		}
		b.client = redis.NewClient(o)
		b.own = true
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

func (b *bus) start(ctx context.Context) {
	b.ps = b.client.Subscribe(b.ctx, b.channel)
	// Wait briefly for the subscription so that wake-ups published right
	// after Start are seen; when Redis is down, go on: the poll delivers and
	// the client resubscribes when Redis is back.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := b.ps.Receive(wctx); err != nil {
		b.h.log.Warn("realtime: redis subscribe failed; delivery falls back to polling", "error", err)
	}
	cancel()
	ch := b.ps.Channel(redis.WithChannelHealthCheckInterval(5 * time.Second))
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		for msg := range ch {
			if msg.Payload != b.h.node { // our own wake-ups are already local
				b.h.metrics.wakeups.WithLabelValues("received").Inc()
				b.h.wakeLocal()
			}
		}
	}()
	go b.publishLoop()
}

// publish asks for one wake-up to be published; calls coalesce while one is
// pending, so a burst of commits costs at most two publishes in flight.
func (b *bus) publish() {
	select {
	case b.pub <- struct{}{}:
	default:
	}
}

func (b *bus) publishLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.pub:
		}
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		err := b.client.Publish(ctx, b.channel, b.h.node).Err()
		cancel()
		if err != nil {
			b.h.metrics.wakeups.WithLabelValues("publish_failed").Inc()
			continue // the other nodes' poll delivers
		}
		b.h.metrics.wakeups.WithLabelValues("published").Inc()
	}
}

func (b *bus) close() {
	b.cancel()
	_ = b.ps.Close()
	b.wg.Wait()
	if b.own {
		_ = b.client.Close()
	}
}
