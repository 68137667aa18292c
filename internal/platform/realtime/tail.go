package realtime

import (
	"context"
	"errors"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
)

// Settling: after a wake-up the tailer reads again after settleFirst, then
// at doubling intervals up to settleLast. An event the wake-up announced may
// not be readable at once: on Postgres the log returns an event only when
// every older transaction on the server has ended (events.Log.Read), so the
// first read can come too early; without these re-reads it would wait for
// the next wake-up or poll.
const (
	settleFirst = 20 * time.Millisecond
	settleLast  = 1280 * time.Millisecond
)

// tail is the node's one tailer: it reads the log from the hub's cursor
// whenever woken (Notify, Redis, poll, and the settling re-reads after a
// wake-up) and dispatches each event in order.
func (h *Hub) tail() {
	defer h.wg.Done()
	poll := time.NewTicker(h.opts.PollInterval)
	defer poll.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	var next time.Duration // the next settling pause; 0 when not settling
	for {
		select {
		case <-h.ctx.Done():
			settle.Stop()
			return
		case <-h.wake:
			next = settleFirst
		case <-settle.C:
			next *= 2
		case <-poll.C:
		}
		h.drain(h.ctx)
		if next > 0 && next <= settleLast {
			settle.Reset(next)
		} else {
			next = 0
		}
	}
}

// routed is an event with its route, computed outside the hub's lock.
type routed struct {
	ev events.Event
	Route
}

// drain reads and dispatches every event after the cursor, in batches.
func (h *Hub) drain(ctx context.Context) {
	for ctx.Err() == nil {
		h.mu.Lock()
		after := h.cursor
		h.mu.Unlock()
		evs, err := h.opts.Source.Read(ctx, after, events.Filter{}, h.opts.BatchSize)
		if errors.Is(err, events.ErrResyncRequired) {
			h.lostPosition(ctx)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("realtime: read the event log", "error", err)
				h.metrics.readErrors.Inc()
			}
			return // the next wake-up or poll retries
		}
		if len(evs) == 0 {
			return
		}
		batch := make([]routed, len(evs))
		for i, ev := range evs {
			batch[i] = h.routeOf(ev)
		}
		h.mu.Lock()
		for _, r := range batch {
			h.dispatch(r)
			h.cursor = r.ev.Cursor
		}
		h.mu.Unlock()
		h.metrics.eventsRead.Add(float64(len(evs)))
		for _, r := range batch {
			h.watch(r.ev)
		}
		if len(evs) < h.opts.BatchSize {
			return
		}
	}
}

func (h *Hub) routeOf(ev events.Event) routed {
	h.mu.Lock()
	fn := h.routes[ev.App]
	h.mu.Unlock()
	if fn == nil {
		return routed{ev: ev}
	}
	return routed{ev: ev, Route: fn(ev)}
}

// dispatch offers one event to the subscriptions under its keys. The caller
// holds h.mu. Enqueueing never blocks; a subscription reached through two of
// the event's keys gets it once (its last cursor drops the repeat).
func (h *Hub) dispatch(r routed) {
	var frame eventData
	for _, t := range r.Topics {
		for s := range h.index[key{r.ev.App, r.ev.OrgID, t}] {
			s.offer(r, &frame)
		}
	}
}

func (h *Hub) watch(ev events.Event) {
	h.mu.Lock()
	ws := h.watchers[ev.App]
	h.mu.Unlock()
	for _, fn := range ws {
		fn(ev)
	}
}

// lostPosition handles the tailer's own cursor falling out of retention (the
// node was stalled for longer than the retention): every subscription is told
// to resync and the tailer restarts from the latest event.
func (h *Hub) lostPosition(ctx context.Context) {
	latest, err := h.opts.Source.Latest(ctx)
	if err != nil {
		h.log.Warn("realtime: read the log's latest cursor", "error", err)
		return
	}
	h.log.Error("realtime: the tailer fell behind the log's retention; every subscriber must resync")
	h.mu.Lock()
	var subs []*subscription
	for _, set := range h.index {
		for s := range set {
			subs = append(subs, s)
		}
	}
	h.cursor = latest
	h.mu.Unlock()
	for _, s := range subs {
		s.conn.dropSubscription(s, resyncProblem())
	}
}
