package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/servicetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The bounds the restart tests hold the cluster to. They are generous (a
// shared, noisy 2-core machine under -race): they tell an answer from a
// hang and a recovery from none, they measure nothing.
const (
	// requestBound: while a service is down or coming back, every request
	// is answered (a success, or 503) within this.
	requestBound = 30 * time.Second
	// recoveryBound: once the service is back, each node is ready
	// (/readyz 200) and takes new writes within this, without a restart.
	recoveryBound = time.Minute
	// outage is how long the service stays down.
	outage = 2 * time.Second
)

// TestPostgresRestartUnderLoad: two nodes on a Postgres server of the
// test's own, which is stopped (pg_ctl stop -m fast) for two seconds and
// started again while clients write records and scheduling events through
// both nodes, with an Idempotency-Key per create, and read lists.
//
// While it is down every request is answered within requestBound, never
// with a 500: a create or a read gets 503 with Retry-After and an RFC 9457
// problem, and /readyz on both nodes is 503 naming the database. Once it is
// back, both nodes are ready and take writes again within recoveryBound,
// the same processes; every acknowledged create is stored exactly once
// (creates retried with their key are never doubled, a retried key replays
// the first answer); and durable handlers run again: a sign-up's
// confirmation mail, an event's mail to its attendee and a records export
// job, all started after the restart, complete.
//
// A create cut by the stop after its Idempotency-Key was claimed keeps
// getting 409 with Retry-After when retried, after Postgres is back, until
// the claim is taken over a minute after it was made (the claim of the
// failed request could not be dropped while Postgres was down; see
// internal/platform/idempotency): the test then runs about 70 s instead of
// 15. The retry is then served and creates the item once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	pg := servicetest.StartPostgres(t)
	// The suite's cluster with its nodes on the private server (the later
	// TESSERA_DATABASE wins); the checks here go through the apps.
	c := newCluster(t, 2, "TESSERA_DATABASE="+pg.DSN())
	a, b := c.nodes[0], c.nodes[1]
	owner := signUp(t, a, "owner@pg-restart.example", "")
	newOrg(t, a, &owner, "Postgres restart")
	guest := signUp(t, b, "guest@pg-restart.example", "")
	join(t, a, owner, &guest, "member")
	var bay scheduling.Resource
	mustJSON(t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, a.URL+"/scheduling/resources", `{"name":"Bay"}`, owner.as()...), &bay)

	l := &restartLoad{c: c, owner: owner, bay: bay.ID, day: time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1),
		obs: &observer{counts: map[string]int{}}, acked: map[string]string{}}
	stopLoad := l.start(t)
	l.awaitAcks(t, "before the restart", 3)

	// Down: each node answers every kind of request with a 503 problem.
	down := time.Now()
	pg.Stop()
	stopped := time.Since(down)
	probes := make([][]pgWrite, len(c.nodes)) // by node
	for i, n := range c.nodes {
		for _, app := range l.apps() {
			w := l.newWrite(app, fmt.Sprintf("probe-%s-%d", app, i))
			probes[i] = append(probes[i], w)
			l.expect503(t, n, "create "+w.title, func(ctx context.Context, base string) (answer, error) { return l.send(ctx, base, w) })
		}
		l.expect503(t, n, "list contracts", l.readContracts)
		l.expect503(t, n, "list events", l.readEvents)
		l.expect503(t, n, "/readyz", func(ctx context.Context, base string) (answer, error) {
			return l.obs.do(ctx, http.MethodGet, base+"/readyz", "")
		}, "checks.database")
	}
	time.Sleep(time.Until(down.Add(outage)))
	pg.Start()
	up := time.Now()

	// Back: each node is ready and takes the probes' creates, retried
	// with their keys, within recoveryBound.
	for i, n := range c.nodes {
		ready := awaitReady(t, n, recoveryBound)
		ctx, cancel := context.WithTimeout(context.Background(), recoveryBound)
		cl := &client{c: c, node: i}
		for _, w := range probes[i] {
			if err := l.write(ctx, cl, w); err != nil {
				t.Fatalf("node %d: %s not accepted within %s of Postgres being back: %v", i, w.title, recoveryBound, err)
			}
		}
		cancel()
		t.Logf("node %d: ready %v and writing %v after Postgres was back", i, ready.Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	}
	l.awaitAcks(t, "after the restart", 3)
	stopLoad()

	// Durable handlers run after the restart: the outbox mails a sign-up's
	// code (signUp waits for it), scheduling mails an attendee, records
	// runs an export.
	signUp(t, b, "late@pg-restart.example", "")
	var ev scheduling.Booking
	mustJSON(t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, b.URL+"/scheduling/events",
		l.booking("after the restart", 0, guest.id), owner.as()...), &ev)
	l.mu.Lock()
	l.acked["after the restart"] = ev.ID
	l.mu.Unlock()
	mailtest.Wait(t, a.Config.MailDir(), guest.email, "after the restart")
	l.awaitExport(t, a)

	// Every acknowledged create is there once; a retried key replays.
	l.expectExactlyOnce(t, b)
	l.expectReplay(t, a)
	if problems := l.obs.failures(); len(problems) > 0 {
		t.Errorf("%d answers broke the contract while Postgres restarted; the first ones:\n%s", len(problems), strings.Join(problems[:min(len(problems), 10)], "\n"))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("Postgres down %v (stop took %v); answers by class %v, the slowest in %v; %d creates acknowledged, %d after retries, the slowest in %v (%d attempts)",
		up.Sub(down).Round(time.Millisecond), stopped.Round(time.Millisecond), l.obs.snapshot(), l.obs.slowestAnswer().Round(time.Millisecond),
		len(l.acked), l.retried, l.slowest.Round(time.Millisecond), l.slowestAttempts)
}

// pgWrite is one create a load client makes: the same request with the
// same Idempotency-Key (its title) until it is acknowledged.
type pgWrite struct {
	app, path, title, body string
}

// restartLoad is the Postgres restart's clients: writers creating records
// and scheduling events through both nodes, readers listing them, and
// what they saw.
type restartLoad struct {
	c     *cluster
	owner user
	bay   string
	day   time.Time
	obs   *observer
	slot  atomic.Int64 // the last hour of the day's calendar booked

	mu     sync.Mutex        // guards the fields below
	acked  map[string]string // title → id of every acknowledged create
	counts []int             // acknowledged creates per writer
	// retried counts the creates that needed more than one attempt;
	// slowest is the longest a create took to be acknowledged, in
	// slowestAttempts attempts.
	retried, slowestAttempts int
	slowest                  time.Duration
}

// apps are the apps the load writes to.
func (l *restartLoad) apps() []string { return []string{"records", "scheduling"} }

// newWrite is a create of app titled title.
func (l *restartLoad) newWrite(app, title string) pgWrite {
	if app == "records" {
		return pgWrite{app: app, path: "/records/contracts", title: title, body: fmt.Sprintf(`{"fields":{"title":%q}}`, title)}
	}
	return pgWrite{app: app, path: "/scheduling/events", title: title, body: l.booking(title, l.slot.Add(1), "")}
}

// booking is an hour-long event on the bay starting hour hours into the
// day (the load books from hour 1; 0 is left to the test), with attendee
// when not "".
func (l *restartLoad) booking(title string, hour int64, attendee string) string {
	start := l.day.Add(time.Duration(hour) * time.Hour)
	ev := map[string]any{"title": title, "start": start, "end": start.Add(time.Hour), "resource_ids": []string{l.bay}}
	if attendee != "" {
		ev["attendee_user_ids"] = []string{attendee}
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// send makes one attempt of w through base, observed.
func (l *restartLoad) send(ctx context.Context, base string, w pgWrite) (answer, error) {
	return l.obs.do(ctx, http.MethodPost, base+w.path, w.body, append(l.owner.as(), jsonBody, header("Idempotency-Key", w.title))...)
}

// write sends w through cl until it is acknowledged (client.retry: 503 and
// 409 with Retry-After wait and repeat) and records it.
func (l *restartLoad) write(ctx context.Context, cl *client, w pgWrite) error {
	start := time.Now()
	ans, failed, err := cl.retry(ctx, func(base string) (answer, error) { return l.send(ctx, base, w) })
	took := time.Since(start)
	if err != nil {
		return err
	}
	if ans.status != http.StatusCreated {
		return fmt.Errorf("create %s: %d %s", w.title, ans.status, ans.body)
	}
	var item struct{ ID string }
	if err := json.Unmarshal([]byte(ans.body), &item); err != nil || item.ID == "" {
		return fmt.Errorf("create %s: answer without an id: %s", w.title, ans.body)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[w.title] = item.ID
	if failed > 0 {
		l.retried++
	}
	if took > l.slowest {
		l.slowest, l.slowestAttempts = took, failed+1
	}
	return nil
}

// readContracts lists the org's newest contracts through base, observed.
func (l *restartLoad) readContracts(ctx context.Context, base string) (answer, error) {
	return l.obs.do(ctx, http.MethodGet, base+"/records/contracts?limit=20", "", l.owner.as()...)
}

// readEvents lists the day's first events through base, observed.
func (l *restartLoad) readEvents(ctx context.Context, base string) (answer, error) {
	q := url.Values{"from": {l.day.Format(time.RFC3339)}, "to": {l.day.AddDate(0, 0, 300).Format(time.RFC3339)}, "limit": {"20"}}
	return l.obs.do(ctx, http.MethodGet, base+"/scheduling/events?"+q.Encode(), "", l.owner.as()...)
}

// start runs, until the returned function is called, one writer per app
// and node and one reader per node; that function waits for each writer
// to get its last create acknowledged (within five minutes of the start).
func (l *restartLoad) start(t *testing.T) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	halt := sync.OnceFunc(func() { close(done) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var wg sync.WaitGroup
	t.Cleanup(func() { // after a failure: give up at once
		halt()
		cancel()
		wg.Wait()
	})
	var errMu sync.Mutex // guards errs
	var errs []error
	for node := range l.c.nodes {
		for _, app := range l.apps() {
			writer := len(l.counts)
			l.counts = append(l.counts, 0)
			wg.Go(func() {
				cl := &client{c: l.c, node: node}
				for n := 0; ; n++ {
					select {
					case <-done:
						return
					default:
					}
					if err := l.write(ctx, cl, l.newWrite(app, fmt.Sprintf("%s-%d-%d", app, node, n))); err != nil {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
						return
					}
					l.mu.Lock()
					l.counts[writer]++
					l.mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
		wg.Go(func() {
			base := l.c.nodes[node].URL
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				_, _ = l.readContracts(ctx, base) // the observer judges the answers
				_, _ = l.readEvents(ctx, base)
			}
		})
	}
	return func() {
		t.Helper()
		halt()
		wg.Wait()
		for _, err := range errs {
			t.Errorf("writer: %v", err)
		}
	}
}

// awaitAcks waits up to two minutes until each writer has had n more
// creates acknowledged.
func (l *restartLoad) awaitAcks(t *testing.T, when string, n int) {
	t.Helper()
	l.mu.Lock()
	from := slices.Clone(l.counts)
	l.mu.Unlock()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		l.mu.Lock()
		ok := true
		for i := range l.counts {
			ok = ok && l.counts[i] >= from[i]+n
		}
		counts := slices.Clone(l.counts)
		l.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writers did not get %d creates each acknowledged %s within 2 minutes: %v acknowledged from %v", n, when, counts, from)
		}
	}
}

// expect503 sends one request through n (while Postgres is down) and
// requires 503; the observer checks its headers and body, and the body
// must contain each of mention.
func (l *restartLoad) expect503(t *testing.T, n *nodetest.Node, what string, req func(context.Context, string) (answer, error), mention ...string) {
	t.Helper()
	ans, err := req(t.Context(), n.URL)
	if err != nil {
		t.Fatalf("%s on %s with Postgres down: %v", what, n.URL, err)
	}
	if ans.status != http.StatusServiceUnavailable {
		t.Errorf("%s on %s with Postgres down: %d %s, want 503", what, n.URL, ans.status, ans.body)
	}
	for _, m := range mention {
		if !strings.Contains(ans.body, m) {
			t.Errorf("%s on %s with Postgres down: %s, want it to name %s", what, n.URL, ans.body, m)
		}
	}
}

// awaitExport runs a records export through n after the restart and waits
// until its durable handler has succeeded.
func (l *restartLoad) awaitExport(t *testing.T, n *nodetest.Node) {
	t.Helper()
	l.mu.Lock()
	id := l.acked["probe-records-0"]
	l.mu.Unlock()
	res := testhttp.Send(t, http.MethodPost, n.URL+"/records/contracts/"+id+"/actions/export", `{"format":"csv"}`, l.owner.as()...)
	if res.Status != http.StatusAccepted || res.Header.Get("Location") == "" {
		t.Fatalf("export after the restart: %d %s", res.Status, res.Body)
	}
	var job struct{ Status, Error string }
	for deadline := time.Now().Add(recoveryBound); ; time.Sleep(50 * time.Millisecond) {
		mustJSON(t, testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+res.Header.Get("Location"), "", l.owner.as()...), &job)
		switch {
		case job.Status == "succeeded":
			return
		case job.Status == "failed":
			t.Fatalf("export after the restart failed: %s", job.Error)
		case time.Now().After(deadline):
			t.Fatalf("export after the restart still %s after %s", job.Status, recoveryBound)
		}
	}
}

// expectExactlyOnce lists every contract and event through n: each
// acknowledged create is there once, with the id it was acknowledged
// with, and no title is stored twice.
func (l *restartLoad) expectExactlyOnce(t *testing.T, n *nodetest.Node) {
	t.Helper()
	q := url.Values{"from": {l.day.Format(time.RFC3339)}, "to": {l.day.AddDate(0, 0, 300).Format(time.RFC3339)}}
	stored := map[string][]string{} // title → ids
	for _, path := range []string{"/records/contracts?", "/scheduling/events?" + q.Encode() + "&"} {
		for id, title := range listAll(t, n.URL+path, l.owner) {
			stored[title] = append(stored[title], id)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for title, id := range l.acked {
		if ids := stored[title]; len(ids) != 1 || ids[0] != id {
			t.Errorf("acknowledged create %s (id %s) stored as %v, want once", title, id, ids)
		}
	}
	for title, ids := range stored {
		if len(ids) > 1 {
			t.Errorf("%s stored %d times: %v", title, len(ids), ids)
		}
	}
	t.Logf("%d creates acknowledged, %d titles stored", len(l.acked), len(stored))
}

// expectReplay sends the load's first records create again with its key:
// the first answer comes back, marked replayed, and nothing is created.
func (l *restartLoad) expectReplay(t *testing.T, n *nodetest.Node) {
	t.Helper()
	w := l.newWrite("records", "records-0-0")
	res := testhttp.Send(t, http.MethodPost, n.URL+w.path, w.body, l.owner.as(header("Idempotency-Key", w.title))...)
	var item struct{ ID string }
	mustJSON(t, res.Body, &item)
	l.mu.Lock()
	id := l.acked[w.title]
	l.mu.Unlock()
	if res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "true" || item.ID != id {
		t.Errorf("retried create %s: %d replayed=%q id %s, want 201 replayed=true id %s", w.title, res.Status, res.Header.Get("Idempotent-Replayed"), item.ID, id)
	}
}

// listAll reads every page of a list route (base ends with ? or &) as u
// and returns its items' titles (an event's title, a record's
// fields.title) by id.
func listAll(t *testing.T, base string, u user) map[string]string {
	t.Helper()
	out := map[string]string{}
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				ID     string `json:"id"`
				Title  string `json:"title"`
				Fields struct {
					Title string `json:"title"`
				} `json:"fields"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		mustJSON(t, testhttp.Expect(t, http.StatusOK, http.MethodGet, base+"limit=500&cursor="+url.QueryEscape(cursor), "", u.as()...), &page)
		for _, it := range page.Items {
			out[it.ID] = it.Title + it.Fields.Title
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// observer judges answers given while a service is down or coming back,
// from any goroutine: a success (2xx); 503 with a positive Retry-After and
// an RFC 9457 problem body of status 503; or 409 with Retry-After (an
// Idempotency-Key whose first request is still claimed), each within
// requestBound. Anything else (a 500, a transport error, a hang) is a
// failure.
type observer struct {
	mu       sync.Mutex     // guards the fields below
	counts   map[string]int // answers by status class ("2xx", "503", "409")
	slowest  time.Duration
	problems []string
}

// do sends a request (body "" for none) and judges its answer.
func (o *observer) do(ctx context.Context, method, url, body string, prepare ...func(*http.Request)) (answer, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(ctx, requestBound)
	defer cancel()
	start := time.Now()
	ans, err := call(ctx, method, url, r, prepare...)
	took := time.Since(start)
	what := method + " " + url
	o.mu.Lock()
	defer o.mu.Unlock()
	o.slowest = max(o.slowest, took)
	if err != nil {
		o.problems = append(o.problems, fmt.Sprintf("%s: no answer after %v: %v", what, took, err))
		return ans, err
	}
	class, problem := judge(ans)
	o.counts[class]++
	if problem != "" {
		o.problems = append(o.problems, fmt.Sprintf("%s: %s: %d %v %s", what, problem, ans.status, ans.header, ans.body))
	}
	return ans, nil
}

// judge classifies an answer and says what is wrong with it, if anything.
func judge(a answer) (class, problem string) {
	switch {
	case a.status >= 200 && a.status < 300:
		return "2xx", ""
	case a.status == http.StatusServiceUnavailable:
		if secs, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || secs <= 0 {
			return "503", "503 without a positive Retry-After"
		}
		if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != "application/problem+json" {
			return "503", "503 that is not application/problem+json"
		}
		var p struct {
			Title  string `json:"title"`
			Status int    `json:"status"`
		}
		if json.Unmarshal([]byte(a.body), &p) != nil || p.Status != http.StatusServiceUnavailable || p.Title == "" {
			return "503", "503 without a problem body"
		}
		return "503", ""
	case a.status == http.StatusConflict && a.header.Get("Retry-After") != "":
		return "409", ""
	}
	return strconv.Itoa(a.status), "not a success nor 503"
}

// failures are the answers that broke the contract.
func (o *observer) failures() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.problems)
}

// snapshot is the count of answers by class.
func (o *observer) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.counts))
	for k, v := range o.counts {
		out[k] = v
	}
	return out
}

func (o *observer) slowestAnswer() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.slowest
}

// awaitReady polls n's /readyz until it answers 200, failing the test
// after bound; it returns how long that took.
func awaitReady(t *testing.T, n *nodetest.Node, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last answer
	for deadline := start.Add(bound); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), requestBound)
		a, err := call(ctx, http.MethodGet, n.URL+"/readyz", nil)
		cancel()
		if err == nil && a.status == http.StatusOK {
			return time.Since(start)
		}
		last = a
	}
	t.Fatalf("%s not ready %s after the service was back: %d %s", n.URL, bound, last.status, last.body)
	return 0
}

// TestRedisRestartUnderLoad: two nodes on one Postgres database and a
// redis-server of the test's own, which is killed and started again on
// the same port while a writer books events through node A and two
// subscribers on node B watch the calendar.
//
// What docs/runtime.md promises: the database is the only source of order
// and Redis only makes delivery prompt, so while Redis is down writes
// through A still succeed and B's hub catches up on its own (its 1 s poll of
// the event log); the subscriber that stays connected gets every change
// committed during the outage without reconnecting. The other subscriber's
// connection is dropped during the outage and resumes with since on A:
// resume fills the gap too. /readyz on both nodes is 503 naming Redis while
// it is down and 200 within recoveryBound after; cross-node wake-ups flow
// again (B counts wake-ups received from Redis). Both subscribers end with
// exactly the log's scheduling changes, in commit order, no gap, no
// duplicate.
func TestRedisRestartUnderLoad(t *testing.T) {
	t.Parallel()
	rd := servicetest.StartRedis(t)
	c := newCluster(t, 2, "TESSERA_REDIS="+rd.URL())
	a, b := c.nodes[0], c.nodes[1]
	owner := signUp(t, a, "owner@redis-restart.example", "")
	newOrg(t, a, &owner, "Redis restart")
	var bay scheduling.Resource
	mustJSON(t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, a.URL+"/scheduling/resources", `{"name":"Bay"}`, owner.as()...), &bay)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	window := calendar{From: day, To: day.AddDate(0, 0, 300), ResourceIDs: []string{bay.ID}}
	from := c.head(t)
	live := c.calendarFeed("live on B", 1, owner, window, from).start(t)
	resumer := c.calendarFeed("resumer on B", 1, owner, window, from).start(t)

	// A writer books an hour after hour through A, every 50 ms.
	var hour atomic.Int64
	book := func(ctx context.Context) (string, error) {
		start := day.Add(time.Duration(hour.Add(1)) * time.Hour)
		body := fmt.Sprintf(`{"title":"booking","start":%q,"end":%q,"resource_ids":[%q]}`,
			start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339), bay.ID)
		ctx, cancel := context.WithTimeout(ctx, requestBound)
		defer cancel()
		ans, err := call(ctx, http.MethodPost, a.URL+"/scheduling/events", strings.NewReader(body), append(owner.as(), jsonBody)...)
		if err != nil {
			return "", err
		}
		var ev scheduling.Booking
		if ans.status != http.StatusCreated || json.Unmarshal([]byte(ans.body), &ev) != nil {
			return "", fmt.Errorf("booking through A: %d %s", ans.status, ans.body)
		}
		return ev.ID, nil
	}
	var mu sync.Mutex // guards booked and bookedAt
	var booked []string
	var bookedAt []time.Time // when each was acknowledged
	last := func() (string, time.Time) {
		mu.Lock()
		defer mu.Unlock()
		return booked[len(booked)-1], bookedAt[len(booked)-1]
	}
	done := make(chan struct{})
	halt := sync.OnceFunc(func() { close(done) })
	t.Cleanup(halt)
	writerErr := make(chan error, 1)
	go func() {
		defer close(writerErr)
		for {
			id, err := book(context.Background())
			if err != nil {
				writerErr <- err
				return
			}
			mu.Lock()
			booked, bookedAt = append(booked, id), append(bookedAt, time.Now())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	stopWriter := func() {
		halt()
		if err := <-writerErr; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	if !live.await(recoveryBound, func(got []delivery, _ int) bool { return len(got) > 0 }) {
		t.Fatalf("no booking through A reached B within %s", recoveryBound)
	}

	// Down: writes go on, B's subscribers still get them, /readyz says why.
	down := time.Now()
	rd.Stop()
	for _, n := range c.nodes {
		res := testhttp.Send(t, http.MethodGet, n.URL+"/readyz", "")
		if res.Status != http.StatusServiceUnavailable || !strings.Contains(res.Body, "checks.redis") || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s/readyz with Redis down: %d %v %s, want 503 naming checks.redis with Retry-After", n.URL, res.Status, res.Header, res.Body)
		}
	}
	time.Sleep(outage / 2)
	resumer.dropConnection()
	time.Sleep(time.Until(down.Add(outage)))
	lastDown, at := last()
	live.awaitKey(t, lastDown)
	t.Logf("with Redis down, a booking through A reached B's live subscriber within %v", time.Since(at).Round(time.Millisecond))
	rd.Start()
	up := time.Now()

	// Back: both nodes ready, and wake-ups from A reach B through Redis.
	for _, n := range c.nodes {
		t.Logf("%s ready %v after Redis was back", n.URL, awaitReady(t, n, recoveryBound).Round(time.Millisecond))
	}
	before := wakeupsReceived(t, b)
	for deadline := time.Now().Add(recoveryBound); wakeupsReceived(t, b) <= before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("B received no wake-up through Redis within %s of Redis being back", recoveryBound)
		}
	}
	t.Logf("B received wake-ups through Redis again %v after it was back (Redis down %v)",
		time.Since(up).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond))
	stopWriter()

	want := awaitLogged(t, c, from, owner.org, booked)
	live.expectSame(t, want)
	resumer.expectSame(t, want)
	if n := live.resumed(); n != 0 {
		t.Errorf("the live subscriber reconnected %d times, want 0: B should catch up on its own", n)
	}
	if n := resumer.resumed(); n != 1 {
		t.Errorf("the dropped subscriber resumed %d times, want 1", n)
	}
	during := 0
	for _, at := range bookedAt {
		if at.After(down) && at.Before(up) {
			during++
		}
	}
	t.Logf("%d bookings through A (%d while Redis was down), every one pushed once and in order to both subscribers on B", len(booked), during)
}

// awaitLogged waits until the event log after from holds the creation
// of each booking in booked (an event becomes readable once every older
// transaction on the server has ended: docs/runtime.md), once each, and
// returns the Keys of org's scheduling event changes there, in commit
// order: what a calendar subscriber must receive.
func awaitLogged(t *testing.T, c *cluster, from events.Cursor, org string, booked []string) []string {
	t.Helper()
	for deadline := time.Now().Add(recoveryBound); ; time.Sleep(50 * time.Millisecond) {
		var want []string
		created := map[string]int{}
		for _, e := range c.committed(t, from, events.Filter{App: "scheduling", OrgID: org}) {
			if strings.HasPrefix(e.Type, "scheduling.event.") {
				want = append(want, logKey(e))
			}
			if e.Type == scheduling.EventEventCreated {
				created[e.Subject]++
			}
		}
		missing := slices.DeleteFunc(slices.Clone(booked), func(id string) bool { return created[id] == 1 })
		if len(missing) == 0 && len(created) == len(booked) {
			return want
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bookings acknowledged; after %s the event log creates %d bookings, and not once each of %v",
				len(booked), recoveryBound, len(created), missing)
		}
	}
}

// dropConnection closes the feed's current connection, as a network
// failure would: the feed then resumes with since on the next node.
func (f *feed) dropConnection() {
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	_ = conn.CloseNow()
}

// wakeupsReceived is n's count of cross-node wake-ups received from Redis
// (tessera_realtime_wakeups_total{kind="received"} on /metrics).
func wakeupsReceived(t *testing.T, n *nodetest.Node) float64 {
	t.Helper()
	const series = `tessera_realtime_wakeups_total{kind="received"} `
	for line := range strings.Lines(testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/metrics", "")) {
		if v, ok := strings.CutPrefix(line, series); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metrics: %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}
