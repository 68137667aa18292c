package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
)

// pushData is the data of a push frame.
type pushData struct {
	Event   string `json:"event"`
	Subject string `json:"subject"`
	N       int    `json:"n"`
}

func data(t testing.TB, f frame) pushData {
	t.Helper()
	var d pushData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("push data %s: %v", f.Data, err)
	}
	return d
}

func TestDeliversOnlyMatchingEvents(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	h := startHub(t, log, nil)
	srv := serve(t, h)

	a := dial(t, srv, "")
	a.subscribe(action{ID: "s1", Topics: []string{"room:1"}})
	a.subscribe(action{ID: "s2", Topics: []string{"room:2", "room:1"}})
	b := dial(t, srv, "")
	b.subscribe(action{ID: "org", Topics: []string{"org"}})

	log.Append("chat", "o1", "1", `{"n":1}`)
	log.Append("chat", "o1", "3", `{"n":2}`)
	log.Append("chat", "o2", "1", `{"n":3}`)  // another org
	log.Append("other", "o1", "1", `{"n":4}`) // another app (no route)
	log.Append("chat", "o1", "2", `{"n":5}`)
	h.Notify()

	var got []string
	eventually(t, 5*time.Second, func() bool {
		for _, f := range a.syncFrames() {
			got = append(got, fmt.Sprintf("%s:%d:%s", f.SubscriptionID, data(t, f).N, f.Cursor))
		}
		return len(got) >= 3
	}, "a's events")
	want := []string{"s1:1:" + string(cursorOf(1)), "s2:1:" + string(cursorOf(1)), "s2:5:" + string(cursorOf(5))}
	if !sameSet(got, want) {
		t.Fatalf("a got %v, want %v", got, want)
	}
	var bgot []int
	eventually(t, 5*time.Second, func() bool {
		for _, f := range b.syncFrames() {
			bgot = append(bgot, data(t, f).N)
		}
		return len(bgot) >= 3
	}, "b's events")
	if fmt.Sprint(bgot) != "[1 2 5]" {
		t.Fatalf("b got %v, want [1 2 5]", bgot)
	}

	// Unsubscribe stops deliveries on that subscription only.
	a.send(action{Action: "unsubscribe", ID: "s1"})
	if f := a.mustNext(); f.Type != "result" {
		t.Fatalf("unsubscribe: %+v", f)
	}
	log.Append("chat", "o1", "1", `{"n":6}`)
	h.Notify()
	f := a.mustNext()
	if f.SubscriptionID != "s2" || data(t, f).N != 6 || len(a.sync()) != 0 {
		t.Fatalf("after unsubscribe: %+v", f)
	}
}

// syncFrames returns the event frames received up to an echo round trip.
func (c *client) syncFrames() []frame {
	var out []frame
	for _, f := range c.sync() {
		if f.Type == "event" {
			out = append(out, f)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestPushFrameFormat(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	h := startHub(t, log, nil)
	srv := serve(t, h)
	c := dial(t, srv, "")
	c.subscribe(action{Topics: []string{"room:7"}}) // the implied subscription: no id
	log.Append("chat", "o1", "7", `{"n":1,"text":"hi"}`)
	h.Notify()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"event","cursor":"000000000001","data":{"event":"chat.message.created","subject":"7","n":1,"text":"hi"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestRenderData(t *testing.T) {
	t.Parallel()
	for payload, want := range map[string]string{
		``:              `{"event":"a.b.c","subject":"s"}`,
		`null`:          `{"event":"a.b.c","subject":"s"}`,
		`{}`:            `{"event":"a.b.c","subject":"s"}`,
		` { } `:         `{"event":"a.b.c","subject":"s"}`,
		`{"x":[1,2]}`:   `{"event":"a.b.c","subject":"s","x":[1,2]}`,
		`[1]`:           `{"event":"a.b.c","subject":"s","payload":[1]}`,
		`"q\"uote"`:     `{"event":"a.b.c","subject":"s","payload":"q\"uote"}`,
		"{\"y\":1}\n  ": `{"event":"a.b.c","subject":"s","y":1}`,
	} {
		got := string(renderData(events.Event{Type: "a.b.c", Subject: "s", Payload: json.RawMessage(payload)}))
		if got != want || !json.Valid([]byte(got)) {
			t.Errorf("payload %q: got %s, want %s", payload, got, want)
		}
	}
}

func TestMatchPredicateRunsOnCandidates(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	h := startHub(t, log, nil)
	srv := httptestServe(t, h, func(c *Conn) {
		_ = c.Subscribe(Subscription{ID: "even", App: "chat", OrgID: "o1", Topics: []string{"org"},
			Match: func(ev events.Event, _ any) bool { return strings.Contains(string(ev.Payload), "even") }})
	})
	c := dial(t, srv, "")
	c.mustNextType("ready")
	for i := 1; i <= 6; i++ {
		kind := "odd"
		if i%2 == 0 {
			kind = "even"
		}
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d,"kind":%q}`, i, kind))
	}
	h.Notify()
	for _, want := range []int{2, 4, 6} {
		if f := c.mustNext(); data(t, f).N != want {
			t.Fatalf("got %s, want n=%d", f.Data, want)
		}
	}
}

func TestResumeReplaysThenLiveWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	// A queue far smaller than the replay: the replay is paced by the client.
	h := startHub(t, log, func(o *Options) { o.BatchSize = 7; o.SendQueue = 32 })
	srv := serve(t, h)

	appendOne := func(i int) {
		room := "1"
		if i%3 == 0 {
			room = "2" // not subscribed: must be skipped
		}
		log.Append("chat", "o1", room, fmt.Sprintf(`{"n":%d}`, i))
	}
	for i := 1; i <= 300; i++ {
		appendOne(i)
	}
	h.Notify()
	since := cursorOf(40)

	// Appends keep committing while the client resumes.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 301; i <= 500; i++ {
			appendOne(i)
			h.Notify()
			if i%5 == 0 { // live traffic a reading client sustains
				time.Sleep(time.Millisecond)
			}
		}
	}()
	c := dial(t, srv, "")
	c.subscribe(action{ID: "r", Topics: []string{"room:1"}, Since: since})
	wg.Wait()
	h.Notify()

	var want []int
	for i := 41; i <= 500; i++ {
		if i%3 != 0 {
			want = append(want, i)
		}
	}
	var got []int
	last := since
	for len(got) < len(want) {
		f := c.mustNext()
		if f.Type != "event" {
			t.Fatalf("unexpected frame %+v", f)
		}
		if compareCursor(f.Cursor, last) <= 0 {
			t.Fatalf("cursor %s not after %s", f.Cursor, last)
		}
		last = f.Cursor
		got = append(got, data(t, f).N)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if extra := c.syncFrames(); len(extra) != 0 {
		t.Fatalf("duplicates after the end: %+v", extra)
	}
}

func TestResumeFromCursorAheadOfTailer(t *testing.T) {
	t.Parallel()
	// A client resumes on a node whose tailer has not yet read the cursor it
	// got from another node: nothing up to that cursor is delivered again.
	log := &fakeLog{}
	h := startHub(t, log, nil)
	srv := serve(t, h)
	for i := 1; i <= 5; i++ {
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d}`, i))
	}
	c := dial(t, srv, "")
	c.subscribe(action{ID: "r", Topics: []string{"room:1"}, Since: cursorOf(3)})
	h.Notify()
	var got []int
	eventually(t, 5*time.Second, func() bool {
		for _, f := range c.syncFrames() {
			got = append(got, data(t, f).N)
		}
		return len(got) >= 2
	}, "events 4 and 5")
	if fmt.Sprint(got) != "[4 5]" {
		t.Fatalf("got %v, want [4 5]", got)
	}
}

func TestResyncRequired(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	for i := 1; i <= 20; i++ {
		log.Append("chat", "o1", "1", `{}`)
	}
	log.Trim(10)
	h := startHub(t, log, nil)
	srv := serve(t, h)
	c := dial(t, srv, "")
	c.subscribe(action{ID: "old", Topics: []string{"room:1"}, Since: cursorOf(5)})
	f := c.mustNext()
	var p Problem
	_ = json.Unmarshal(f.Data, &p)
	if f.Type != "error" || f.SubscriptionID != "old" || p.Type != "resync-required" {
		t.Fatalf("got %+v %s", f, f.Data)
	}
	// The connection stays usable and the subscription is gone.
	c.subscribe(action{ID: "old", Topics: []string{"room:1"}})
	log.Append("chat", "o1", "1", `{"n":21}`)
	h.Notify()
	if f := c.mustNext(); f.SubscriptionID != "old" || data(t, f).N != 21 {
		t.Fatalf("after resubscribe: %+v", f)
	}
}

func TestRecheckDropsRevokedSubscription(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	h := startHub(t, log, nil)
	srv := serve(t, h)
	c := dial(t, srv, "")
	id := t.Name() + "-sub"
	c.subscribe(action{ID: id, Topics: []string{"room:9"}})
	c.subscribe(action{ID: "keep", Topics: []string{"room:9"}})
	denied.Store(id, true)
	t.Cleanup(func() { denied.Delete(id) })
	h.Recheck("chat", "o1", "room:9")
	f := c.mustNext()
	var p Problem
	_ = json.Unmarshal(f.Data, &p)
	if f.Type != "error" || f.SubscriptionID != id || p.Status != 403 {
		t.Fatalf("got %+v %s", f, f.Data)
	}
	log.Append("chat", "o1", "9", `{"n":1}`)
	h.Notify()
	if f := c.mustNext(); f.SubscriptionID != "keep" {
		t.Fatalf("revoked subscription still delivered: %+v", f)
	}
	if extra := c.syncFrames(); len(extra) != 0 {
		t.Fatalf("unexpected frames %+v", extra)
	}
}

func TestRecheckFromWatchHook(t *testing.T) {
	t.Parallel()
	// A permission change committed anywhere reaches every node's tailer;
	// the app's Watch hook rechecks the room there.
	log := &fakeLog{}
	h := startHub(t, log, func(o *Options) { o.PollInterval = 20 * time.Millisecond })
	h.Watch("chat", func(ev events.Event) {
		if strings.Contains(string(ev.Payload), "banned") {
			h.Recheck("chat", ev.OrgID, "room:"+ev.Subject)
		}
	})
	srv := serve(t, h)
	c := dial(t, srv, "")
	id := t.Name() + "-sub"
	c.subscribe(action{ID: id, Topics: []string{"room:3"}})
	denied.Store(id, true)
	t.Cleanup(func() { denied.Delete(id) })
	log.Append("other", "o1", "3", `{"banned":"u1"}`) // no route: reaches no one
	h.Watch("other", func(ev events.Event) { h.Recheck("chat", ev.OrgID, "room:"+ev.Subject) })
	log.Append("other", "o1", "3", `{"banned":"u1"}`)
	// No Notify: the poll picks it up within the second.
	start := time.Now()
	f := c.mustNext()
	if f.Type != "error" || f.SubscriptionID != id || time.Since(start) > time.Second {
		t.Fatalf("got %+v after %v", f, time.Since(start))
	}
}

func TestCloseWhere(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, nil)
	srv := serve(t, h)
	u1 := dial(t, srv, "user=u1")
	u2 := dial(t, srv, "user=u2")
	u1.sync()
	u2.sync()
	n := h.CloseWhere(func(c *Conn) bool { return c.Value() == "u1" }, 4003, "removed from the org")
	if n != 1 {
		t.Fatalf("closed %d connections, want 1", n)
	}
	if code := u1.closeStatus(5 * time.Second); code != 4003 {
		t.Fatalf("u1 closed with %d, want 4003", code)
	}
	u2.sync() // still open
}

func (c *client) mustNextType(typ string) frame {
	c.t.Helper()
	f := c.mustNext()
	if f.Type != typ {
		c.t.Fatalf("got %+v, want a %s frame", f, typ)
	}
	return f
}

func TestTailerBehindRetentionTellsEveryoneToResync(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	h := startHub(t, log, nil) // at the start of an empty log
	srv := serve(t, h)
	c := dial(t, srv, "")
	c.subscribe(action{ID: "a", Topics: []string{"room:1", "org"}})
	for i := 1; i <= 5; i++ {
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d}`, i))
	}
	log.Trim(3) // gone before this node read them
	h.Notify()
	f := c.mustNext()
	var p Problem
	_ = json.Unmarshal(f.Data, &p)
	if f.Type != "error" || f.SubscriptionID != "a" || p.Type != "resync-required" {
		t.Fatalf("got %+v %s", f, f.Data)
	}
	// The tailer continues from the latest event.
	c.subscribe(action{ID: "b", Topics: []string{"room:1"}})
	log.Append("chat", "o1", "1", `{"n":6}`)
	h.Notify()
	if f := c.mustNext(); f.SubscriptionID != "b" || data(t, f).N != 6 {
		t.Fatalf("got %+v", f)
	}
}
