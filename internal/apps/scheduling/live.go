package scheduling

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// Live subscriptions. Event changes route to one topic per resource they
// concern (now or before the change), so matching a change costs the
// subscriptions of its resources only (the hub's index), then a window
// test on the span the route decoded once. Catalog and user changes route
// to the org topic.

const orgTopic = "org"

func resourceTopic(id string) string { return "resource:" + id }

// span is what a subscription window needs of an event change: its range
// and resources, now and (for updates) before.
type span struct {
	start, end time.Time
	resources  []string
	prev       *span
}

// routePayload is the part of a change payload the route reads.
type routePayload struct {
	Change   string          `json:"change"`
	Kind     string          `json:"kind"`
	Item     json.RawMessage `json:"item"`
	Previous *struct {
		Start       time.Time `json:"start"`
		End         time.Time `json:"end"`
		ResourceIDs []string  `json:"resource_ids"`
	} `json:"previous"`
}

// pushData is the data of a push frame: the event's type and subject, the
// change and the item (and the kind for org items).
type pushData struct {
	Event   string          `json:"event"`
	Subject string          `json:"subject"`
	Change  string          `json:"change"`
	Kind    string          `json:"kind,omitempty"`
	Item    json.RawMessage `json:"item"`
}

// Route maps the app's events to the hub: event changes to their
// resources' topics ("resource:<id>") with their span, the rest to the org
// topic ("org"), each with its push data rendered once. Exported for the
// benchmarks, which drive a hub with it.
func Route(ev events.Event) realtime.Route {
	var p routePayload
	if json.Unmarshal(ev.Payload, &p) != nil {
		return realtime.Route{}
	}
	data, err := json.Marshal(pushData{Event: ev.Type, Subject: ev.Subject, Change: p.Change, Kind: p.Kind, Item: p.Item})
	if err != nil {
		return realtime.Route{}
	}
	if !strings.HasPrefix(ev.Type, "scheduling.event.") {
		return realtime.Route{Topics: []string{orgTopic}, Data: data}
	}
	var item struct {
		Start       time.Time `json:"start"`
		End         time.Time `json:"end"`
		ResourceIDs []string  `json:"resource_ids"`
	}
	if json.Unmarshal(p.Item, &item) != nil {
		return realtime.Route{}
	}
	sp := &span{start: item.Start, end: item.End, resources: item.ResourceIDs}
	topics := make([]string, 0, len(item.ResourceIDs))
	for _, r := range item.ResourceIDs {
		topics = append(topics, resourceTopic(r))
	}
	if p.Previous != nil {
		sp.prev = &span{start: p.Previous.Start, end: p.Previous.End, resources: p.Previous.ResourceIDs}
		for _, r := range p.Previous.ResourceIDs {
			if t := resourceTopic(r); !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	return realtime.Route{Topics: topics, Value: sp, Data: data}
}

// window is a subscribe.events subscription's filter.
type window struct {
	from, to  time.Time
	resources map[string]struct{}
}

// sees reports whether a span is in the window: its range overlaps
// [from, to) and one of its resources is watched.
func (w window) sees(sp *span) bool {
	if !sp.start.Before(w.to) || !sp.end.After(w.from) {
		return false
	}
	for _, r := range sp.resources {
		if _, ok := w.resources[r]; ok {
			return true
		}
	}
	return false
}

// match is the subscription's predicate: the event is in the window now,
// or was before this change (the move-out rule: it arrives once, as
// updated, with its new values).
func (w window) match(_ events.Event, v any) bool {
	sp, ok := v.(*span)
	if !ok {
		return false
	}
	return w.sees(sp) || sp.prev != nil && w.sees(sp.prev)
}

// WindowMatch returns the Subscription.Match of a subscribe.events window
// [from, to) on resourceIDs (with Route's values). Exported for the
// benchmarks.
func WindowMatch(from, to time.Time, resourceIDs []string) func(events.Event, any) bool {
	w := window{from: from, to: to, resources: map[string]struct{}{}}
	for _, id := range resourceIDs {
		w.resources[id] = struct{}{}
	}
	return w.match
}

// subscribeEventsInput is the data of subscribe.events.
type subscribeEventsInput struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	ResourceIDs []string  `json:"resource_ids"`
	Since       string    `json:"since,omitempty"`
}

// subscribeResult answers a subscribe action.
type subscribeResult struct {
	SubscriptionID string `json:"subscription_id"`
}

// subscribeEvents opens a window subscription on the connection; its result
// is the subscription's Ack, so it precedes every push.
func (s *Service) subscribeEvents(ctx context.Context, c Caller, req realtime.Request) (any, error) {
	var in subscribeEventsInput
	if err := realtime.DecodeData(req.Data, &in); err != nil {
		return nil, err
	}
	var ch checker
	ids := ch.ids("resource_ids", in.ResourceIDs, MaxIDs)
	if len(in.ResourceIDs) == 0 {
		ch.add("resource_ids", "at least one resource", nil)
	}
	checkRange(&ch, "to", in.From, in.To, MaxRange, "1 year")
	since := checkSince(&ch, in.Since)
	if err := ch.err(); err != nil {
		return nil, err
	}
	if err := s.ownResources(ctx, c.OrgID, ids); err != nil {
		return nil, err
	}
	topics := make([]string, 0, len(ids))
	for _, id := range ids {
		topics = append(topics, resourceTopic(id))
	}
	id := uuid.NewString()
	err := req.Conn.Subscribe(realtime.Subscription{ID: id, App: appName, OrgID: c.OrgID, Topics: topics, Since: since,
		Match: WindowMatch(in.From.UTC(), in.To.UTC(), ids), Ack: req.Result(subscribeResult{SubscriptionID: id})})
	if err != nil {
		return nil, err
	}
	return realtime.NoReply, nil
}

// subscribeOrg opens the org subscription: projects, resources, layouts
// and users.
func (s *Service) subscribeOrg(_ context.Context, c Caller, req realtime.Request) (any, error) {
	var in struct {
		Since string `json:"since,omitempty"`
	}
	if err := realtime.DecodeData(req.Data, &in); err != nil {
		return nil, err
	}
	var ch checker
	since := checkSince(&ch, in.Since)
	if err := ch.err(); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	err := req.Conn.Subscribe(realtime.Subscription{ID: id, App: appName, OrgID: c.OrgID, Topics: []string{orgTopic}, Since: since,
		Ack: req.Result(subscribeResult{SubscriptionID: id})})
	if err != nil {
		return nil, err
	}
	return realtime.NoReply, nil
}

func checkSince(ch *checker, since string) events.Cursor {
	c := events.Cursor(since)
	if since != "" && !events.ValidCursor(c) {
		ch.add("since", "not a cursor of a pushed event", since)
		return ""
	}
	return c
}

// unsubscribe closes one of the connection's subscriptions.
func unsubscribe(req realtime.Request) (any, error) {
	var in struct {
		SubscriptionID string `json:"subscription_id"`
	}
	if err := realtime.DecodeData(req.Data, &in); err != nil {
		return nil, err
	}
	if !req.Conn.Unsubscribe(in.SubscriptionID) {
		return nil, fault.New(fault.NotFound, "no such subscription on this connection")
	}
	return struct{}{}, nil
}
