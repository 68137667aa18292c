package bench

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// BenchmarkSchedulingMatch is the hub's cost of matching one change to the
// scheduling subscriptions, with no storage and no socket traffic: the real
// realtime.Hub reads changes from an in-memory log, routes each with the
// scheduling app's scheduling.Route (decode the change, render the push
// data once, one topic per resource) and offers it to the subscriptions its
// index yields for those topics, whose predicate is the app's window test
// (scheduling.WindowMatch), wrapped to count its calls. Every subscription watches 10 resources over the same
// week; every change is a created event on one of the first 200 resources
// two weeks after it, so each candidate's predicate runs and declines, and
// nothing is sent: what is measured is routing and matching, not delivery
// (BenchmarkSchedulingFanout measures that).
//
// Cases: no subscription (reading and routing only); 2,000 subscriptions on
// the 200 resources (about 100 per resource); 20,000 where 18,000 more
// watch 1,800 other resources (still about 100 candidates per change); and
// 20,000 on the same 200 resources (about 1,000 candidates per change, what
// a change would cost if it met every subscription of the first case ten
// times over). One op is 50,000 changes appended at once and dispatched by
// the hub's tailer in its batches of 256; ns/change is the wall time until
// the hub's Watch callback saw the last one, cpu-ns/change the process's
// CPU time over it, match-calls/change the predicate's calls counted
// inside it.
func BenchmarkSchedulingMatch(b *testing.B) {
	const changesPerOp = 50_000
	cases := []struct {
		name string
		// watched subscriptions on the 200 changed resources, others on
		// otherResources more.
		watched, others, otherResources int
	}{
		{"subs=0", 0, 0, 0},
		{"subs=2000", 2000, 0, 0},
		{"subs=20000-other-resources", 2000, 18_000, 1800},
		{"subs=20000-same-resources", 20_000, 0, 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(6, 7)) //nolint:gosec // a reproducible workload
			org := uuid.NewString()
			resources := make([]string, schedResources+tc.otherResources)
			for i := range resources {
				resources[i] = uuid.NewString()
			}
			week := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

			log := &schedMemLog{}
			log.changes, log.changeResources = schedChanges(b, rng, org, resources[:schedResources], week.Add(2*schedWeek))
			hub, err := realtime.New(realtime.Options{Source: log, Compare: events.CompareCursor})
			if err != nil {
				b.Fatal(err)
			}
			hub.Route("scheduling", scheduling.Route)
			var target atomic.Int64
			done := make(chan struct{}, 1)
			hub.Watch("scheduling", func(ev events.Event) {
				if schedCursorIndex(ev.Cursor) == target.Load() {
					done <- struct{}{}
				}
			})
			if err := hub.Start(ctx); err != nil {
				b.Fatal(err)
			}
			accepted := make(chan *realtime.Conn)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c, err := hub.Accept(w, r, realtime.AcceptOptions{}); err == nil {
					accepted <- c
				}
			}))
			b.Cleanup(func() {
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				_ = hub.Shutdown(sctx)
				srv.Close()
			})

			// The subscriptions, 1,000 per connection (none receives
			// anything, so the connections stay idle).
			var calls int64 // the predicate's calls; the tailer's goroutine only
			watchers := make([]int, len(resources))
			var conn *realtime.Conn
			for j := range tc.watched + tc.others {
				if j%1000 == 0 {
					client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil) //nolint:bodyclose // closed by the websocket library on success
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = client.CloseNow() })
					client.CloseRead(ctx) // answers the pings
					conn = <-accepted
				}
				lo, n := 0, schedResources
				if j >= tc.watched {
					lo, n = schedResources, tc.otherResources
				}
				topics := make([]string, 0, schedPerSubscriber)
				ids := make([]string, 0, schedPerSubscriber)
				for _, r := range rng.Perm(n)[:schedPerSubscriber] {
					watchers[lo+r]++
					ids = append(ids, resources[lo+r])
					topics = append(topics, "resource:"+resources[lo+r])
				}
				match := scheduling.WindowMatch(week, week.Add(schedWeek), ids)
				counted := func(ev events.Event, v any) bool { calls++; return match(ev, v) } // on the tailer's goroutine
				if err := conn.Subscribe(realtime.Subscription{ID: strconv.Itoa(j), App: "scheduling", OrgID: org, Topics: topics, Match: counted}); err != nil {
					b.Fatal(err)
				}
			}
			candidates := 0
			for _, r := range log.changeResources {
				candidates += watchers[r]
			}

			dispatch := func(n int64) (wall, cpu time.Duration) {
				target.Store(log.n.Load() + n)
				cpu0, start := processCPU(), time.Now()
				log.n.Add(n)
				hub.Notify()
				<-done
				return time.Since(start), processCPU() - cpu0
			}
			dispatch(5000) // warm up
			var wall, cpu time.Duration
			var changes int64
			calls = 0
			for b.Loop() {
				w, c := dispatch(changesPerOp)
				wall += w
				cpu += c
				changes += changesPerOp
			}
			b.StopTimer()
			b.ReportMetric(float64(wall)/float64(changes), "ns/change")
			b.ReportMetric(float64(cpu)/float64(changes), "cpu-ns/change")
			b.ReportMetric(float64(calls)/float64(changes), "match-calls/change")
			b.ReportMetric(float64(candidates)/float64(len(log.changeResources)), "candidates/change")
		})
	}
}

// schedMemLog is an in-memory event log of n changes: change i (cursor i+1)
// is changes[i % len(changes)] under its own cursor.
type schedMemLog struct {
	changes         []events.Event
	changeResources []int // the resource index of each change
	n               atomic.Int64
}

func schedCursor(i int64) events.Cursor {
	s := strconv.FormatInt(i, 10)
	return events.Cursor(strings.Repeat("0", 16-len(s)) + s)
}

func schedCursorIndex(c events.Cursor) int64 {
	i, _ := strconv.ParseInt(string(c), 10, 64) // "" is 0, the start of the log
	return i
}

func (l *schedMemLog) Read(_ context.Context, after events.Cursor, _ events.Filter, limit int) ([]events.Event, error) {
	from := schedCursorIndex(after)
	to := min(from+int64(limit), l.n.Load())
	out := make([]events.Event, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		ev := l.changes[i%int64(len(l.changes))]
		ev.Cursor = schedCursor(i + 1)
		out = append(out, ev)
	}
	return out, nil
}

func (l *schedMemLog) Latest(context.Context) (events.Cursor, error) {
	if n := l.n.Load(); n > 0 {
		return schedCursor(n), nil
	}
	return "", nil
}

// schedChanges returns 4,096 scheduling.event.created changes, each booking
// one random resource of resources for an hour in the week from, with the
// app's payload ({change, item, actor}), and the index of each one's
// resource.
func schedChanges(b *testing.B, rng *rand.Rand, org string, resources []string, from time.Time) ([]events.Event, []int) {
	b.Helper()
	evs, idx := make([]events.Event, 4096), make([]int, 4096)
	for i := range evs {
		start := from.Add(time.Duration(rng.IntN(7*24*60-60)) * time.Minute)
		idx[i] = rng.IntN(len(resources))
		item := scheduling.Booking{ID: uuid.NewString(), OrgID: org, Title: "Change " + strconv.Itoa(i), Start: start, End: start.Add(time.Hour),
			ResourceIDs: []string{resources[idx[i]]}, AttendeeUserIDs: []string{}, Status: scheduling.StatusConfirmed,
			Version: 1, CreatedBy: org, CreatedAt: start, UpdatedAt: start}
		payload, err := json.Marshal(map[string]any{"change": "created", "item": item, "actor": org})
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = events.Event{ID: uuid.NewString(), App: "scheduling", Type: scheduling.EventEventCreated, OrgID: org, Subject: item.ID, Payload: payload}
	}
	return evs, idx
}

// What follows copies the scheduling app's route and window predicate
// (internal/apps/scheduling/live.go, unexported there); keep them in step.
