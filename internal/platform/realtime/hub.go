// Package realtime is the platform's websocket hub: it delivers committed
// events from the event log to matching websocket subscribers, with resume by
// cursor, on one node or many.
//
// The log is the single source of truth for delivery order. Each node runs one
// tailer goroutine that reads the log (Source.Read) from its last cursor and
// dispatches every event, in log order, to the local subscriptions that match
// it. Wake-ups only trigger a read: an in-process Notify after a commit, a
// Redis pub/sub wake-up published by any node's Notify (when Redis is
// configured), and a fallback poll (PollInterval), so every node delivers
// every event in order, with no gap and no duplicate, and a Redis outage only
// adds latency.
//
// Routing goes through an index: each app maps an event to its topics
// (Hub.Route), each subscription registers (app, org, topic) keys, and only
// the subscriptions under an event's keys are considered; an optional
// per-subscription predicate is evaluated on those candidates only.
//
// Connections (Hub.Accept) check the origin, limit frame size (1009), bound
// their send queue (overflow closes with 1013 and never blocks the tailer or
// other connections), ping and drop silent peers, rate-limit inbound frames
// (a flood is answered with an error frame then 1008) and answer malformed
// JSON with an error frame while staying open. The framing is generic: apps
// receive raw JSON messages (AcceptOptions.OnMessage), write JSON values
// (Conn.Send) and open subscriptions on the connection (Conn.Subscribe).
//
// The hub owns each connection from the handshake on: Accept starts the
// connection's reader goroutine and returns, and the app's HTTP handler
// returns too, so that net/http's serving goroutine, request and buffers
// are freed; the connection keeps 512-byte read and write buffers. An idle
// subscribed connection costs one goroutine and about 10 KiB of server
// memory (bench/wsrss).
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/tessera-dev/tessera/internal/platform/events"
)

// Source is what the hub needs from the event log (events.Log implements it).
type Source interface {
	// Read returns up to limit events strictly after `after` in commit order,
	// each with its Cursor set, or events.ErrResyncRequired when `after` is
	// older than the log's retention.
	Read(ctx context.Context, after events.Cursor, f events.Filter, limit int) ([]events.Event, error)
	// Latest returns the cursor of the last committed event ("" for an empty log).
	Latest(ctx context.Context) (events.Cursor, error)
}

// CompareFunc orders two cursors in commit order: negative when a is before
// b, zero when equal, positive when after. The empty cursor is the start of
// the log. The lead wires events.CompareCursor.
type CompareFunc func(a, b events.Cursor) int

// Route is where an event goes: its routing topics ("room:42",
// "resource:<id>", "org") and, optionally, a Value the app decoded from the
// event once (its payload's fields), handed to the Match of every candidate
// subscription so that none decodes the event again. Data, when set, is
// the push frame's data for every subscriber whose subscription has no
// Encode (default: the event's type and subject with the payload's fields),
// for apps whose pushes show less than their events hold.
type Route struct {
	Topics []string
	Value  any
	Data   json.RawMessage
}

// RouteFunc maps an event of an app to its Route. It runs on the tailer
// goroutine for every event of its app (and for replayed ones), so it must be
// fast, pure and safe for concurrent use.
type RouteFunc func(events.Event) Route

// Options configure a Hub. Source and Compare are required; zero values
// elsewhere take the documented defaults.
type Options struct {
	Source  Source
	Compare CompareFunc
	Logger  *slog.Logger

	// Redis, when set, carries cross-node wake-ups (the hub does not close
	// it). RedisURL is used to open a client the hub owns when Redis is nil.
	// Neither: single node, in-process wake-ups only.
	Redis    redis.UniversalClient
	RedisURL string
	// RedisChannel is the pub/sub channel (default "tessera:realtime:wake").
	RedisChannel string

	// PollInterval is the fallback read interval (default 1 s).
	PollInterval time.Duration
	// BatchSize is the number of events per Source.Read (default 256).
	BatchSize int

	// AllowedOrigins are the browser origins ("https://app.example.com")
	// allowed to connect besides the request's own host; "*" allows any.
	AllowedOrigins []string
	// ReadLimit is the largest inbound frame in bytes (default 64 KiB); a
	// bigger one closes the connection with 1009.
	ReadLimit int64
	// SendQueue bounds each connection's pending outbound frames (default
	// 256); overflow closes the connection with 1013.
	SendQueue int
	// ReplayBuffer bounds the live events a resuming subscription holds
	// while its replay catches up (default 1024); overflow closes with 1013
	// and the client resumes from the last cursor it received.
	ReplayBuffer int
	// PingInterval (default 30 s) and IdleTimeout (default 90 s): the server
	// pings every PingInterval and drops a peer silent for IdleTimeout.
	PingInterval time.Duration
	IdleTimeout  time.Duration
	// InboundRate and InboundBurst limit inbound frames per connection
	// (default 20/s, burst 40); a flood gets an error frame then 1008.
	InboundRate  rate.Limit
	InboundBurst int
	// RecheckInterval, when positive, re-runs every subscription's Authorize
	// at that interval (in addition to Hub.Recheck). Default 0: on demand only.
	RecheckInterval time.Duration
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RedisChannel == "" {
		o.RedisChannel = "tessera:realtime:wake"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 64 << 10
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 256
	}
	if o.ReplayBuffer <= 0 {
		o.ReplayBuffer = 1024
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 90 * time.Second
	}
	if o.InboundRate <= 0 {
		o.InboundRate = 20
	}
	if o.InboundBurst <= 0 {
		o.InboundBurst = 40
	}
}

// key is one routing key of the index.
type key struct{ app, org, topic string }

// Hub delivers events to websocket subscribers. Create it with New, start it
// with Start, stop it with Shutdown.
type Hub struct {
	opts    Options
	log     *slog.Logger
	cmp     CompareFunc
	node    string
	metrics *metrics
	wake    chan struct{}
	bus     *bus

	mu       sync.Mutex
	cursor   events.Cursor // the tailer's position; guarded by mu
	routes   map[string]RouteFunc
	watchers map[string][]func(events.Event)
	index    map[key]map[*subscription]struct{}
	conns    map[*Conn]struct{}
	started  bool
	closing  bool

	ctx    context.Context // the hub's lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup // the hub's own goroutines
	live   sync.WaitGroup // connections' reader goroutines: each ends after teardown and OnClose
}

// New returns a hub; it does nothing until Start.
func New(opts Options) (*Hub, error) {
	if opts.Source == nil {
		return nil, errors.New("realtime: Options.Source is required")
	}
	if opts.Compare == nil {
		return nil, errors.New("realtime: Options.Compare is required")
	}
	opts.defaults()
	h := &Hub{
		opts:     opts,
		log:      opts.Logger,
		cmp:      opts.Compare,
		node:     uuid.NewString(),
		metrics:  newMetrics(),
		wake:     make(chan struct{}, 1),
		routes:   map[string]RouteFunc{},
		watchers: map[string][]func(events.Event){},
		index:    map[key]map[*subscription]struct{}{},
		conns:    map[*Conn]struct{}{},
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Route registers the function that maps app's events to their topics.
// Events of an app without a route reach no subscription.
func (h *Hub) Route(app string, fn RouteFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[app] = fn
}

// Watch registers fn to be called, on every node, for each event of app after
// it has been dispatched. It runs on the tailer goroutine: keep it short and
// hand slow work to a goroutine. Apps use it to apply permission changes to
// open connections everywhere (Recheck, CloseWhere) since a change committed
// on one node reaches every node's tailer.
func (h *Hub) Watch(app string, fn func(events.Event)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers[app] = append(h.watchers[app], fn)
}

// Start positions the tailer at the log's latest event and starts the
// tailer, the poll and (with Redis configured) the cross-node wake-ups. A
// Redis outage at start is not an error: delivery falls back to the poll.
func (h *Hub) Start(ctx context.Context) error {
	latest, err := h.opts.Source.Latest(ctx)
	if err != nil {
		return fmt.Errorf("realtime: read the log's latest cursor: %w", err)
	}
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("realtime: hub already started")
	}
	h.started = true
	h.cursor = latest
	h.mu.Unlock()

	if h.opts.Redis != nil || h.opts.RedisURL != "" {
		b, err := newBus(h)
		if err != nil {
			return err
		}
		h.bus = b
		b.start(ctx)
	}
	h.wg.Add(2)
	go h.tail()
	go h.every(h.opts.PingInterval, h.keepalive)
	if h.opts.RecheckInterval > 0 {
		h.wg.Add(1)
		go h.every(h.opts.RecheckInterval, h.recheckAll)
	}
	return nil
}

// every runs fn each interval until the hub stops; the caller has added the
// goroutine to h.wg.
func (h *Hub) every(interval time.Duration, fn func()) {
	defer h.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// Notify tells the hub that events were committed: the local tailer reads the
// log now and, with Redis, every other node is woken up too (publishes are
// coalesced: at most one in flight plus one pending). The lead connects the
// event log's after-commit listener to it. It never blocks.
func (h *Hub) Notify() {
	h.wakeLocal()
	if h.bus != nil {
		h.bus.publish()
	}
}

func (h *Hub) wakeLocal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// CloseWhere closes, with code and reason, every open connection for which
// pred returns true (e.g. every connection of a removed user: 4003). pred
// runs under the hub's lock: keep it to reading Conn.Value.
func (h *Hub) CloseWhere(pred func(*Conn) bool, code StatusCode, reason string) int {
	h.mu.Lock()
	var hit []*Conn
	for c := range h.conns {
		if pred(c) {
			hit = append(hit, c)
		}
	}
	h.mu.Unlock()
	for _, c := range hit {
		c.closeWith(code, reason, closeNow)
	}
	return len(hit)
}

// Shutdown closes every connection with 1001 (going away) and stops the
// hub's goroutines, waiting for them until ctx is done. New connections are
// refused with 503 from the first call on. httpapi.Serve runs it as an
// onShutdown hook.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.closeWith(StatusGoingAway, "server shutting down", closeNow)
	}
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		h.live.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// Peers that do not answer the close handshake: cut them off.
		for _, c := range conns {
			_ = c.ws.CloseNow()
		}
		err = fmt.Errorf("realtime: shutdown: %w", ctx.Err())
	}
	if h.bus != nil {
		h.bus.close()
	}
	return err
}
