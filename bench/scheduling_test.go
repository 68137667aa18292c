package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The scheduling workload of the issue: one org with 200 resources and
// 100,000 events over a year, subscribers watching one week of 10
// resources each.
const (
	schedResources     = 200
	schedPerResource   = 500 // seeded events per resource: 100,000 in all
	schedWeeks         = 52
	schedWeek          = 7 * 24 * time.Hour
	schedSpacing       = schedWeeks * schedWeek / schedPerResource // 17.47 h between two seeded events of a resource
	schedPerSubscriber = 10                                        // resources per subscription or list
	schedWatchedWeek   = 26                                        // the week the fanout's subscribers watch
)

// schedNode is a node with the scheduling app, an org owned by the signed-in
// owner, its resources and the seeded events.
type schedNode struct {
	n         *nodetest.Node
	token     string // the owner's access token
	userID    string
	org       string
	resources []string
	base      time.Time // a Monday 00:00 UTC: the start of the seeded year
	db        *store.DB // the app's tables through a second store handle (the seed, the service)
}

// startScheduling starts a node on engine with the scheduling app, signs the
// owner up, creates the org and 200 resources over REST, and seeds
// 100,000 events straight into the app's tables (see seed).
func startScheduling(b *testing.B, engine store.Engine) *schedNode {
	b.Helper()
	ctx := context.Background()
	apps := []app.App{scheduling.App()}
	n := nodetest.Start(b, nodetest.Config(b, engine, apps), apps...)
	sn := &schedNode{n: n}
	sn.userID, sn.token = n.SignUp(b, "owner@scheduling.example", "correct horse battery staple", "Owner", scheduling.ClientID)
	var org struct {
		ID string `json:"id"`
	}
	schedDecode(b, testhttp.Expect(b, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Bench workshop"}`, testhttp.Bearer(sn.token)), &org)
	sn.org = org.ID
	inOrg := func(r *http.Request) { r.Header.Set("X-Org-ID", sn.org) }
	for i := range schedResources {
		var r scheduling.Resource
		body := fmt.Sprintf(`{"name":"Resource %d","kind":"room"}`, i)
		schedDecode(b, testhttp.Expect(b, http.StatusCreated, http.MethodPost, n.URL+"/scheduling/resources", body, testhttp.Bearer(sn.token), inOrg), &r)
		sn.resources = append(sn.resources, r.ID)
	}
	sn.base = time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for sn.base.Weekday() != time.Monday {
		sn.base = sn.base.Add(24 * time.Hour)
	}
	st, err := store.Open(ctx, n.Config.Database, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	sn.db = st.App("scheduling")
	sn.seed(b)
	return sn
}

func schedDecode(b *testing.B, s string, v any) {
	b.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		b.Fatalf("decode %s: %v", s, err)
	}
}

// seeded is the k-th seeded event of resource r: one every schedSpacing
// from base, shifted by 5 minutes per resource, lasting 30 to 120 minutes
// (so a resource's events never overlap).
func (sn *schedNode) seeded(r, k int) (start, end time.Time) {
	start = sn.base.Add(time.Duration(k)*schedSpacing + time.Duration(r)*5*time.Minute)
	return start, start.Add(time.Duration(30+30*((k*7+r)%4)) * time.Minute)
}

// seededIn counts the seeded events of resource r overlapping [from, to).
func (sn *schedNode) seededIn(r int, from, to time.Time) int {
	n := 0
	for k := range schedPerResource {
		if s, e := sn.seeded(r, k); s.Before(to) && e.After(from) {
			n++
		}
	}
	return n
}

// seededOverlap returns the end of a seeded event of resource r that
// overlaps [from, to), if any.
func (sn *schedNode) seededOverlap(r int, from, to time.Time) (time.Time, bool) {
	k0 := int(from.Sub(sn.base.Add(time.Duration(r)*5*time.Minute)) / schedSpacing)
	for k := k0 - 1; k <= k0+1; k++ {
		if k < 0 || k >= schedPerResource {
			continue
		}
		if s, e := sn.seeded(r, k); s.Before(to) && e.After(from) {
			return e, true
		}
	}
	return time.Time{}, false
}

// seed inserts the 100,000 events (schedPerResource per resource, see
// seeded) with their booking rows, as the app writes them (confirmed,
// version 1, no attendees), in transactions of 10,000 events made of
// 512-row INSERTs, in time order across resources; then, on Postgres,
// ANALYZEs both tables as autovacuum would after such a load. Through
// the app's CreateEvent (one transaction, one log event and its handler
// jobs each) the seed alone would take minutes; these rows are history, not
// changes anyone watches.
func (sn *schedNode) seed(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	const total, perTx, eventCols, bookingCols = schedResources * schedPerResource, 10_000, 15, 6
	now := time.Now().UnixMicro()
	for first := 0; first < total; first += perTx {
		err := sn.db.InTx(ctx, func(tx *store.Tx) error {
			j := first
			for _, size := range store.Chunks(perTx, 512) {
				evs := make([]any, 0, size*eventCols)
				bks := make([]any, 0, size*bookingCols)
				for range size {
					r, k := j%schedResources, j/schedResources
					start, end := sn.seeded(r, k)
					id := uuid.Must(uuid.NewV7()).String()
					evs = append(evs, id, sn.org, "", fmt.Sprintf("Seeded %d.%d", r, k), "", start.UnixMicro(), end.UnixMicro(), 0,
						`["`+sn.resources[r]+`"]`, "[]", scheduling.StatusConfirmed, 1, sn.userID, now, now)
					bks = append(bks, sn.resources[r], id, sn.org, start.UnixMicro(), end.UnixMicro(), 1)
					j++
				}
				if _, err := tx.Exec(tx.Context(), `INSERT INTO scheduling_events (id, org_id, project_id, title, notes, start_at, end_at,
					all_day, resource_ids, attendee_ids, status, version, created_by, created_at, updated_at) VALUES `+store.Values(size, eventCols), evs...); err != nil {
					return err
				}
				if _, err := tx.Exec(tx.Context(), `INSERT INTO scheduling_bookings (resource_id, event_id, org_id, start_at, end_at, active)
					VALUES `+store.Values(size, bookingCols), bks...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if sn.db.Engine() == store.EnginePostgres {
		for _, table := range []string{"scheduling_events", "scheduling_bookings"} {
			if _, err := sn.db.Exec(ctx, "ANALYZE "+table); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// dial opens /scheduling/ws as the owner in the org (closed when the
// benchmark ends), reading frames of up to 4 MiB (a week's list).
func (sn *schedNode) dial(b *testing.B) *websocket.Conn {
	b.Helper()
	c := testhttp.Dial(b, sn.n.URL, "/scheduling/ws?org_id="+sn.org, testhttp.Bearer(sn.token))
	c.SetReadLimit(4 << 20)
	return c
}

// schedFrame is a server frame of the scheduling socket.
type schedFrame struct {
	Type      string          `json:"type"`
	RequestID string          `json:"request_id"`
	Data      json.RawMessage `json:"data"`
}

// schedMessage encodes an action envelope.
func schedMessage(action, requestID string, data any) []byte {
	msg, err := json.Marshal(map[string]any{"action": action, "request_id": requestID, "data": data})
	if err != nil {
		panic(err) // maps of strings, times and string slices always marshal
	}
	return msg
}

// schedCall sends msg on c, a connection without subscriptions (so the next
// frame is the answer), and returns the answer's bytes and the time from
// just before the write to its arrival.
func schedCall(ctx context.Context, c *websocket.Conn, msg []byte) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, 0, err
	}
	_, answer, err := c.Read(ctx)
	return answer, time.Since(start), err
}

// schedAnswer decodes an answer to request id: its result data, or an error.
func schedAnswer(answer []byte, id string) (json.RawMessage, error) {
	var f schedFrame
	if err := json.Unmarshal(answer, &f); err != nil {
		return nil, fmt.Errorf("answer %s: %w", answer, err)
	}
	if f.Type != "result" || f.RequestID != id {
		return nil, fmt.Errorf("answer to %s: %s", id, answer)
	}
	return f.Data, nil
}

// schedListWeek is events.list for a random week of schedPerSubscriber
// random resources (one page of up to 500: the whole week), with the
// number of seeded events it must return.
func (sn *schedNode) schedListWeek(rng *rand.Rand, requestID string) (msg []byte, want int) {
	from := sn.base.Add(time.Duration(rng.IntN(schedWeeks)) * schedWeek)
	to := from.Add(schedWeek)
	ids := make([]string, 0, schedPerSubscriber)
	for _, r := range rng.Perm(schedResources)[:schedPerSubscriber] {
		ids = append(ids, sn.resources[r])
		want += sn.seededIn(r, from, to)
	}
	return schedMessage("events.list", requestID, map[string]any{"from": from, "to": to, "resource_ids": ids, "limit": scheduling.MaxPageSize}), want
}

// schedListed checks an events.list answer: want items, no next page.
func schedListed(answer []byte, id string, want int) error {
	data, err := schedAnswer(answer, id)
	if err != nil {
		return err
	}
	var page struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"next_cursor"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		return err
	}
	if len(page.Items) != want || page.NextCursor != "" {
		return fmt.Errorf("events.list %s: %d items (next %q), want %d in one page", id, len(page.Items), page.NextCursor, want)
	}
	return nil
}

// schedUnavailable reports whether answer is a 503 error frame (the
// database busy: a Postgres serialization failure after the store's
// retries), and its retry_after.
func schedUnavailable(answer []byte) (time.Duration, bool) {
	var f struct {
		Type string `json:"type"`
		Data struct {
			Status     int `json:"status"`
			RetryAfter int `json:"retry_after"`
		} `json:"data"`
	}
	if json.Unmarshal(answer, &f) != nil || f.Type != "error" || f.Data.Status != http.StatusServiceUnavailable {
		return 0, false
	}
	return time.Duration(max(f.Data.RetryAfter, 1)) * time.Second, true
}

// percentileMS returns the q-quantile (0 < q < 1) of sorted durations in ms.
func percentileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(float64(len(sorted))*q)]) / float64(time.Millisecond)
}

// schedChange is one planned create of the fanout: a free 10-minute slot
// of resource r in the watched week.
type schedChange struct {
	r          int
	start, end time.Time
}

// schedSlots hands out free 10-minute slots of each resource in [from, to),
// around the seeded events (resources refuse double bookings).
type schedSlots struct {
	sn       *schedNode
	from, to time.Time
	next     [schedResources]time.Time
}

func (a *schedSlots) take(r int) (schedChange, bool) {
	t := a.next[r]
	if t.IsZero() {
		t = a.from
	}
	for {
		end := t.Add(10 * time.Minute)
		if end.After(a.to) {
			return schedChange{}, false
		}
		if busy, ok := a.sn.seededOverlap(r, t, end); ok {
			t = busy
			continue
		}
		a.next[r] = end
		return schedChange{r: r, start: t, end: end}, true
	}
}

// schedRun is one fanout run's plan and what the subscribers received.
type schedRun struct {
	first  int // the global number of the run's first change ("sb-<n>" titles)
	plan   []schedChange
	t0     time.Time
	sentAt []atomic.Int64 // per change: ns after t0 just before its create was written
	got    [][]bool       // per subscriber, per change: received
	lat    [][]time.Duration
	// Counted by the subscribers' readers.
	received      atomic.Int64 // pushes of a watched change, first receipt
	unwatched     atomic.Int64 // pushes of a change on a resource the subscriber does not watch
	duplicates    atomic.Int64
	foreign       atomic.Int64 // event frames of no change of this run
	otherFrames   atomic.Int64 // anything but an event frame (an error, a resync)
	lastReceiptNS atomic.Int64
}

var schedTitle = []byte(`"title":"sb-`)

// receive records one frame read by subscriber i.
func (run *schedRun) receive(i int, watches *[schedResources]bool, msg []byte, at time.Duration) {
	if !bytes.HasPrefix(msg, []byte(`{"type":"event"`)) {
		run.otherFrames.Add(1)
		return
	}
	p := bytes.Index(msg, schedTitle)
	if p < 0 {
		run.foreign.Add(1)
		return
	}
	rest := msg[p+len(schedTitle):]
	q := bytes.IndexByte(rest, '"')
	n, err := strconv.Atoi(string(rest[:max(q, 0)]))
	c := n - run.first
	if q < 0 || err != nil || c < 0 || c >= len(run.plan) {
		run.foreign.Add(1)
		return
	}
	switch {
	case !watches[run.plan[c].r]:
		run.unwatched.Add(1)
	case run.got[i][c]:
		run.duplicates.Add(1)
	default:
		run.got[i][c] = true
		run.lat[i] = append(run.lat[i], at-time.Duration(run.sentAt[c].Load()))
		for {
			last := run.lastReceiptNS.Load()
			if int64(at) <= last || run.lastReceiptNS.CompareAndSwap(last, int64(at)) {
				break
			}
		}
		run.received.Add(1)
	}
}

// BenchmarkSchedulingFanout is the live-subscription scenario on one
// node, per engine: 200 resources, 100,000 seeded events over a year, and
// 2,000 websocket subscribers (clients in this process), each with
// subscribe.events on the same week of 10 random resources (about 100
// subscribers per resource, so every change of the week reaches about
// 100). One op: 30 s of events.create at 200/s, paced from 40 sockets
// (5/s each, under the socket's inbound limit of 20/s; a socket waits for
// each answer, and a create that falls behind its schedule is sent at
// once), each on a random resource in a free 10-minute slot of the watched
// week. Latency is from just before a create is written to the arrival of
// its push at each subscriber that watches its resource; every such
// subscriber must receive it exactly once and no other may, or the op
// fails. deliveries/s is the pushes over the time from the first create to
// the last push, changes/s the creates over the time until the last
// answer; cpu-ms/change is the CPU time of the whole process (the
// node, SQLite, the 2,040 clients; not the Postgres server) over the op
// divided by the changes. A create answered 503 (the database busy) is
// sent again after its retry_after, as a client would (create-503s counts
// them; the latency still runs from the first attempt).
func BenchmarkSchedulingFanout(b *testing.B) {
	const (
		subscribers = 2000
		rate        = 200
		loadFor     = 30 * time.Second
		creators    = 40
	)
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			sn := startScheduling(b, engine)
			rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a reproducible workload
			week := sn.base.Add(schedWatchedWeek * schedWeek)
			ctx, cancel := context.WithCancel(context.Background())
			var readers sync.WaitGroup
			b.Cleanup(func() { cancel(); readers.Wait() })

			var cur atomic.Pointer[schedRun]
			watchers := make([]int, schedResources) // subscribers per resource
			for i := range subscribers {
				conn := sn.dial(b)
				var watches [schedResources]bool
				ids := make([]string, 0, schedPerSubscriber)
				for _, r := range rng.Perm(schedResources)[:schedPerSubscriber] {
					watches[r] = true
					watchers[r]++
					ids = append(ids, sn.resources[r])
				}
				id := "s" + strconv.Itoa(i)
				answer, _, err := schedCall(ctx, conn, schedMessage("subscribe.events", id,
					map[string]any{"from": week, "to": week.Add(schedWeek), "resource_ids": ids}))
				if err == nil {
					_, err = schedAnswer(answer, id)
				}
				if err != nil {
					b.Fatalf("subscriber %d: %v", i, err)
				}
				readers.Go(func() {
					for {
						_, msg, err := conn.Read(ctx)
						if err != nil {
							return
						}
						if run := cur.Load(); run != nil {
							run.receive(i, &watches, msg, time.Since(run.t0))
						}
					}
				})
			}
			creatorConns := make([]*websocket.Conn, creators)
			for i := range creatorConns {
				creatorConns[i] = sn.dial(b)
			}
			slots := &schedSlots{sn: sn, from: week, to: week.Add(schedWeek)}
			next := 0

			var all, creates []time.Duration
			var changes, expected, received, retried int64
			var cpu, receiving, creating time.Duration
			for b.Loop() {
				run := &schedRun{first: next, plan: make([]schedChange, rate*int(loadFor/time.Second))}
				for c := range run.plan {
					ch, ok := slots.take(rng.IntN(schedResources))
					if !ok {
						b.Fatal("the watched week is full: run fewer ops")
					}
					run.plan[c] = ch
				}
				next += len(run.plan)
				run.sentAt = make([]atomic.Int64, len(run.plan))
				run.got = make([][]bool, subscribers)
				run.lat = make([][]time.Duration, subscribers)
				for i := range run.got {
					run.got[i] = make([]bool, len(run.plan))
				}
				want := int64(0)
				for _, ch := range run.plan {
					want += int64(watchers[ch.r])
				}
				expected += want

				var wg sync.WaitGroup
				var failed atomic.Pointer[error]
				var unavailable atomic.Int64
				fail := func(err error) { failed.CompareAndSwap(nil, &err) }
				createLat := make([][]time.Duration, creators)
				cpu0 := processCPU()
				run.t0 = time.Now()
				cur.Store(run)
				for w, conn := range creatorConns {
					wg.Go(func() {
						for c := w; c < len(run.plan); c += creators {
							ch := run.plan[c]
							id := "c" + strconv.Itoa(run.first+c)
							msg := schedMessage("events.create", id, map[string]any{"title": "sb-" + strconv.Itoa(run.first+c),
								"start": ch.start, "end": ch.end, "resource_ids": []string{sn.resources[ch.r]}})
							time.Sleep(time.Until(run.t0.Add(time.Duration(c) * time.Second / rate)))
							run.sentAt[c].Store(int64(time.Since(run.t0)))
							start := time.Now()
							for attempt := 1; ; attempt++ {
								answer, _, err := schedCall(ctx, conn, msg)
								if err == nil {
									_, err = schedAnswer(answer, id)
								}
								if after, ok := schedUnavailable(answer); ok && attempt < 5 {
									unavailable.Add(1) // as a client would: again after retry_after
									time.Sleep(after)
									continue
								}
								if err != nil {
									fail(err)
									return
								}
								break
							}
							createLat[w] = append(createLat[w], time.Since(start))
						}
					})
				}
				wg.Wait()
				createdIn := time.Since(run.t0)
				for deadline := time.Now().Add(30 * time.Second); run.received.Load() < want && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				cpu += processCPU() - cpu0
				cur.Store(nil)
				if err := failed.Load(); err != nil {
					b.Fatalf("a client failed: %v", *err)
				}
				got := run.received.Load()
				if got != want || run.unwatched.Load()+run.duplicates.Load()+run.foreign.Load()+run.otherFrames.Load() > 0 || got == 0 {
					b.Fatalf("deliveries: %d of %d expected within 30 s of the last create; %d to subscribers not watching, %d duplicates, %d foreign, %d other frames",
						got, want, run.unwatched.Load(), run.duplicates.Load(), run.foreign.Load(), run.otherFrames.Load())
				}
				b.Logf("%d changes created in %v (%.1f/s), %d deliveries", len(run.plan), createdIn.Round(time.Millisecond),
					float64(len(run.plan))/createdIn.Seconds(), got)
				changes += int64(len(run.plan))
				creating += createdIn
				retried += unavailable.Load()
				received += got
				receiving += time.Duration(run.lastReceiptNS.Load()) - time.Duration(run.sentAt[0].Load())
				all = append(all, slices.Concat(run.lat...)...)
				creates = append(creates, slices.Concat(createLat...)...)
			}
			b.StopTimer()
			measure.ReportLatencies(b, all, time.Millisecond)
			b.ReportMetric(float64(changes)/creating.Seconds(), "changes/s")
			b.ReportMetric(float64(received)/receiving.Seconds(), "deliveries/s")
			b.ReportMetric(float64(expected)/float64(changes), "recipients/change")
			b.ReportMetric(float64(retried), "create-503s")
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(changes), "cpu-ms/change")
			slices.Sort(creates)
			b.ReportMetric(percentileMS(creates, 0.5), "create-p50-ms")
			b.ReportMetric(percentileMS(creates, 0.99), "create-p99-ms")
		})
	}
}

// BenchmarkSchedulingListWeek: events.list for one week of 10 random
// resources (random week of the 52), limit 500 so that the week comes in
// one page (about 96 events), one call at a time, in the org holding
// 200 resources and the 100,000 seeded events; each answer is checked
// against the seed. "ws": the action over the socket, spread over 200
// sockets (10 calls each per op, within the socket's inbound burst),
// timed from the write to the answer's arrival; "service": Service.ListEvents
// on the node's database (the query and decoding, without the socket and
// the JSON). One op is 2,000 calls; p50/p99 are per call. No subscriber is
// connected and nothing else runs meanwhile.
func BenchmarkSchedulingListWeek(b *testing.B) {
	const calls, sockets = 2000, 200
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			sn := startScheduling(b, engine)
			b.Run("ws", func(b *testing.B) {
				ctx := context.Background()
				rng := rand.New(rand.NewPCG(4, 5)) //nolint:gosec // a reproducible workload
				conns := make([]*websocket.Conn, sockets)
				for i := range conns {
					conns[i] = sn.dial(b)
				}
				call := func(i int) time.Duration {
					id := "l" + strconv.Itoa(i)
					msg, want := sn.schedListWeek(rng, id)
					answer, d, err := schedCall(ctx, conns[i%sockets], msg)
					if err == nil {
						err = schedListed(answer, id, want)
					}
					if err != nil {
						b.Fatal(err)
					}
					return d
				}
				for i := range sockets { // warm up every socket, caches and statements
					call(i)
				}
				var lat []time.Duration
				for b.Loop() {
					for i := range calls {
						lat = append(lat, call(i))
					}
				}
				b.StopTimer()
				measure.ReportLatencies(b, lat, time.Millisecond)
			})
			b.Run("service", func(b *testing.B) {
				ctx := context.Background()
				rng := rand.New(rand.NewPCG(4, 5)) //nolint:gosec // a reproducible workload
				id := sn.n.Identity()
				svc := scheduling.NewService(sn.db, id.Events, id.Mail, nil, id.Users, id.Orgs, scheduling.Options{})
				caller := scheduling.Caller{OrgID: sn.org, UserID: sn.userID, Role: orgs.RoleOwner}
				call := func() time.Duration {
					from := sn.base.Add(time.Duration(rng.IntN(schedWeeks)) * schedWeek)
					to := from.Add(schedWeek)
					want := 0
					ids := make([]string, 0, schedPerSubscriber)
					for _, r := range rng.Perm(schedResources)[:schedPerSubscriber] {
						ids = append(ids, sn.resources[r])
						want += sn.seededIn(r, from, to)
					}
					start := time.Now()
					items, next, err := svc.ListEvents(ctx, caller, scheduling.EventFilter{From: from, To: to, ResourceIDs: ids,
						Page: scheduling.Page{Limit: scheduling.MaxPageSize}})
					d := time.Since(start)
					if err != nil || len(items) != want || next != "" {
						b.Fatalf("ListEvents: %d items (next %q), want %d: %v", len(items), next, want, err)
					}
					return d
				}
				for range 20 {
					call()
				}
				var lat []time.Duration
				for b.Loop() {
					for range calls {
						lat = append(lat, call())
					}
				}
				b.StopTimer()
				measure.ReportLatencies(b, lat, time.Millisecond)
			})
		})
	}
}
