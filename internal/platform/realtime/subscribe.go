package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
)

// Subscription describes what a connection wants to receive.
type Subscription struct {
	// ID names the subscription in push frames (subscription_id) and in
	// Unsubscribe; unique per connection. Empty for the one implied
	// subscription of an endpoint (the push then has no subscription_id).
	ID string
	// App and OrgID select the events' app and org; Topics are the routing
	// keys the app's RouteFunc yields ("room:42", "resource:<id>", "org").
	// An event reaches the subscription when one of its topics is in Topics.
	App    string
	OrgID  string
	Topics []string
	// Match, when set, is evaluated on the events the index yields (never
	// on others), with the Value of the event's Route; false drops the
	// event. Keep it fast and pure: it runs on the tailer goroutine.
	Match func(ev events.Event, v any) bool
	// Since, when not empty, first replays every matching event after it
	// from the log, in order, then continues live with no gap and no
	// duplicate. A cursor older than the retention gets a resync-required
	// error frame (with subscription_id) and the subscription is dropped;
	// the connection stays open. Empty: live events only.
	Since events.Cursor
	// Encode, when set, builds the frame pushed for an event (messaging's
	// own vocabulary). Default: the README push frame.
	Encode func(events.Event) ([]byte, error)
	// Ack, when set, is the frame (any JSON value, e.g. the subscribe
	// action's result) queued once the subscription is registered and
	// before any of its events: a client that received it gets every event
	// committed after that point.
	Ack any
	// Authorize, when set, is re-run by Hub.Recheck (and every
	// Options.RecheckInterval): an error drops the subscription and pushes
	// an error frame for it (ProblemOf(err), e.g. 403 for fault.Forbidden).
	Authorize func(ctx context.Context) error
}

// ErrDuplicateSubscription is returned when a connection already has a
// subscription with that ID.
var ErrDuplicateSubscription = errors.New("realtime: a subscription with this id is already open")

// subscription is a Subscription's live state. mu guards last, replaying and
// pending; it is taken after the hub's lock and before the connection's.
type subscription struct {
	Subscription
	conn *Conn
	hub  *Hub

	gone atomic.Bool // unsubscribed or its connection closed

	mu        sync.Mutex
	last      events.Cursor // the last event delivered (or Since)
	replaying bool
	pending   []routed // live events that arrived during the replay
}

// Subscribe opens a subscription on the connection: the Ack frame first,
// then (with Since) the replayed events, then live ones. It returns
// ErrDuplicateSubscription or ErrClosed.
func (c *Conn) Subscribe(sub Subscription) error {
	h := c.hub
	s := &subscription{Subscription: sub, conn: c, hub: h, last: sub.Since}
	s.Topics = slices.Clone(sub.Topics)
	var ack []byte
	if sub.Ack != nil {
		b, err := json.Marshal(sub.Ack)
		if err != nil {
			return fmt.Errorf("realtime: encode ack: %w", err)
		}
		ack = b
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if _, dup := c.subs[sub.ID]; dup {
		c.mu.Unlock()
		return ErrDuplicateSubscription
	}
	if c.subs == nil {
		c.subs = map[string]*subscription{}
	}
	c.subs[sub.ID] = s
	c.mu.Unlock()

	h.mu.Lock()
	if _, open := h.conns[c]; !open { // detached meanwhile
		h.mu.Unlock()
		return ErrClosed
	}
	upto := h.cursor // every event after it will be dispatched to s
	s.replaying = sub.Since != "" && upto != "" && h.cmp(sub.Since, upto) < 0
	for _, t := range s.Topics {
		k := key{s.App, s.OrgID, t}
		set := h.index[k]
		if set == nil {
			set = map[*subscription]struct{}{}
			h.index[k] = set
		}
		set[s] = struct{}{}
	}
	if ack != nil {
		c.enqueue(ack) // before any event: dispatch needs h.mu
	}
	h.mu.Unlock()
	h.metrics.subscriptions.Inc()
	if s.replaying {
		go s.replay(upto)
	}
	return nil
}

// Unsubscribe closes the subscription with that ID; false if there is none.
func (c *Conn) Unsubscribe(id string) bool {
	c.mu.Lock()
	s, ok := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if !ok {
		return false
	}
	c.hub.mu.Lock()
	c.hub.unindex(s)
	c.hub.mu.Unlock()
	c.hub.metrics.subscriptions.Dec()
	return true
}

// dropSubscription removes s and pushes an error frame for it.
func (c *Conn) dropSubscription(s *subscription, p Problem) {
	c.mu.Lock()
	cur, ok := c.subs[s.ID]
	c.mu.Unlock()
	if !ok || cur != s {
		return
	}
	if c.Unsubscribe(s.ID) {
		c.enqueue(encodeError("", s.ID, p))
	}
}

// unindex removes s from the index; the caller holds h.mu.
func (h *Hub) unindex(s *subscription) {
	s.gone.Store(true)
	for _, t := range s.Topics {
		k := key{s.App, s.OrgID, t}
		if set := h.index[k]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(h.index, k)
			}
		}
	}
}

// offer hands a live event to the subscription (under the hub's lock).
func (s *subscription) offer(r routed, data *eventData) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaying {
		if len(s.pending) >= s.hub.opts.ReplayBuffer {
			// The replay is slower than live traffic: same remedy as a slow client.
			s.conn.overflow()
			return
		}
		s.pending = append(s.pending, r)
		return
	}
	s.deliver(r, data)
}

// deliver queues ev unless it is at or before the last delivered cursor or
// the predicate refuses it. The caller holds s.mu.
func (s *subscription) deliver(r routed, data *eventData) {
	ev := r.ev
	if s.gone.Load() {
		return
	}
	if s.last != "" && s.hub.cmp(ev.Cursor, s.last) <= 0 {
		return
	}
	if s.Match != nil && !s.Match(ev, r.Value) {
		return
	}
	var frame []byte
	if s.Encode != nil {
		b, err := s.Encode(ev)
		if err != nil {
			s.hub.log.Warn("realtime: encode event", "error", err, "event", ev.ID)
			return
		}
		frame = b
	} else {
		frame = pushFrame(s.ID, ev.Cursor, data.get(r))
	}
	if s.conn.enqueue(frame) {
		s.last = ev.Cursor
		s.hub.metrics.delivered.Inc()
	}
}

// matches reports whether one of ev's topics is one of the subscription's
// keys (the index's test, for replayed events).
func (s *subscription) matches(ev events.Event, topics []string) bool {
	if ev.App != s.App || ev.OrgID != s.OrgID {
		return false
	}
	for _, t := range topics {
		if slices.Contains(s.Topics, t) {
			return true
		}
	}
	return false
}

// replay queues the matching events in (Since, upto], then the live events
// that arrived meanwhile, and switches the subscription to live.
func (s *subscription) replay(upto events.Cursor) {
	h := s.hub
	ctx := s.conn.ctx
	after := s.Since
	f := events.Filter{App: s.App, OrgID: s.OrgID}
	failures := 0
	for {
		evs, err := h.opts.Source.Read(ctx, after, f, h.opts.BatchSize)
		if errors.Is(err, events.ErrResyncRequired) {
			h.metrics.resyncs.Inc()
			s.conn.dropSubscription(s, resyncProblem())
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures >= 3 {
				h.log.Warn("realtime: replay", "error", err)
				s.conn.dropSubscription(s, NewProblem(http.StatusServiceUnavailable, "could not read missed events: subscribe again"))
				return
			}
			time.Sleep(time.Duration(failures) * 100 * time.Millisecond)
			continue
		}
		failures = 0
		done := len(evs) < h.opts.BatchSize
		for _, ev := range evs {
			if h.cmp(ev.Cursor, upto) > 0 {
				done = true
				break
			}
			after = ev.Cursor
			r := h.routeOf(ev)
			if !s.matches(ev, r.Topics) {
				continue
			}
			if !s.conn.waitRoom() || s.gone.Load() { // paced by the client, holding no lock
				return
			}
			var d eventData
			s.mu.Lock()
			s.deliver(r, &d)
			s.mu.Unlock()
		}
		if done || ctx.Err() != nil {
			break
		}
	}
	// Then the live events that arrived meanwhile, paced the same way; the
	// subscription goes live once none is left (more may arrive meanwhile).
	for {
		s.mu.Lock()
		pending := s.pending
		s.pending = nil
		if len(pending) == 0 {
			s.replaying = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, r := range pending {
			if !s.conn.waitRoom() {
				return
			}
			var d eventData
			s.mu.Lock()
			s.deliver(r, &d)
			s.mu.Unlock()
		}
	}
}

// Recheck re-runs Authorize, in the background, for every subscription
// registered under (app, org, topic); failures drop the subscription with an
// error frame. Apps call it (typically from a Hub.Watch hook, so that every
// node applies it) when permissions on that topic change.
func (h *Hub) Recheck(app, org, topic string) {
	h.mu.Lock()
	var subs []*subscription
	for s := range h.index[key{app, org, topic}] {
		if s.Authorize != nil {
			subs = append(subs, s)
		}
	}
	h.mu.Unlock()
	for _, s := range subs {
		go s.recheck()
	}
}

func (s *subscription) recheck() {
	ctx, cancel := context.WithTimeout(s.conn.ctx, 5*time.Second)
	defer cancel()
	if err := s.Authorize(ctx); err != nil {
		if s.conn.ctx.Err() != nil {
			return
		}
		s.hub.metrics.revoked.Inc()
		s.conn.dropSubscription(s, ProblemOf(err))
	}
}

// recheckAll re-runs every Authorize (each Options.RecheckInterval).
func (h *Hub) recheckAll() {
	h.mu.Lock()
	seen := map[*subscription]struct{}{}
	for _, set := range h.index {
		for s := range set {
			if s.Authorize != nil {
				seen[s] = struct{}{}
			}
		}
	}
	h.mu.Unlock()
	for s := range seen {
		s.recheck()
	}
}
