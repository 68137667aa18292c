package faults_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/servicetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The cluster suite's clients. A cluster is node processes of the test
// binary on one fresh Postgres database, the Redis of
// TESSERA_TEST_REDIS_URL, one fresh S3 bucket and one mail sink. Clients
// come in two kinds:
//
//   - fatal helpers for setup and the flows (expect, signUp, newOrg, join),
//     used from the test goroutine;
//   - fault-tolerant ones for load (call, client.retry, feed): they return
//     errors instead of failing the test, move to the next node when theirs
//     stops answering, and are safe to run in goroutines.

// password is every test user's password.
const password = "correct horse battery staple"

// chatSecret is the nodes' messaging.jwt_secret: chat members carry
// seed-style HS256 tokens signed with it (chatToken).
const chatSecret = "faults-chat-secret"

// publicURL is the nodes' public_url (nothing is served there: blobs are
// on S3, whose signed URLs name the bucket).
const publicURL = "http://tessera.cluster.test"

// envRedis names the Redis of the suite; S3 comes from blobtest, Postgres
// from servicetest (a server of each cluster's own).
const envRedis = "TESSERA_TEST_REDIS_URL"

// cluster is one test's nodes and what they share.
type cluster struct {
	// nodes are the node processes; nodes[i].Proc.Kill kills one with
	// SIGKILL. Each node's Config carries only its DataDir (for the mail
	// sink: see newCluster).
	nodes []*nodetest.Node
	// bucket is the blob store every node writes to (inspect it with
	// bucket.Client).
	bucket blobtest.Bucket
	// db is the test's own connection to the nodes' database (the last
	// TESSERA_DATABASE of newCluster's environ, else a private server's), for
	// checks (db.Admin() reads every app's tables); log is its event log:
	// what was committed, in commit order.
	db  *store.Store
	log *events.Log
}

// newCluster spawns size nodes of every app on a private Postgres server
// (servicetest; or the TESSERA_DATABASE of environ), Redis and a fresh S3
// bucket, with environ added to each node's environment. It skips the test
// when TESSERA_TEST_REDIS_URL or TESSERA_TEST_S3_URL is unset (.ci/run sets
// them all), or when the Postgres server binaries are missing.
//
// Redis carries only the realtime hub's wake-ups, on one channel for the
// whole server (pub/sub ignores the database number): tests sharing a
// Redis wake each other's tailers, which costs a read of the log and
// changes nothing delivered, so no test needs a Redis of its own.
//
// Mail: each node writes its mails to <data_dir>/mail, and any node may
// deliver any mail (the outbox is a durable job), so every node's mail
// directory links to one sink: nodes[i].SignUp reads a confirmation code
// whichever node mailed it.
func newCluster(t *testing.T, size int, environ ...string) *cluster {
	t.Helper()
	redisURL := os.Getenv(envRedis)
	if redisURL == "" {
		t.Skip("set " + envRedis + " and TESSERA_TEST_S3_URL to run the cluster suite (.ci/run sets them)")
	}
	blobtest.Env(t) // skips without S3, before a database is made
	// A Postgres server of the cluster's own (unless the test brings one):
	// nodes hold tens of connections each, which the shared test server
	// cannot spare while other packages' tests run.
	dsn := ""
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "TESSERA_DATABASE="); ok {
			dsn = v
		}
	}
	if dsn == "" {
		dsn = servicetest.StartPostgres(t).DSN()
	}
	c := &cluster{bucket: blobtest.NewBucket(t)}
	sink := t.TempDir()
	env := slices.Concat([]string{
		"TESSERA_DATABASE=" + dsn, "TESSERA_REDIS=" + redisURL,
		"TESSERA_BLOBS=" + c.bucket.URL.String(), "TESSERA_S3_ACCESS_KEY=" + c.bucket.Access, "TESSERA_S3_SECRET_KEY=" + c.bucket.Secret,
		"TESSERA_MESSAGING_JWT_SECRET=" + chatSecret,
		// One public URL, as behind a load balancer: it is the issuer of
		// the platform's tokens, so every node must share it.
		"TESSERA_PUBLIC_URL=" + publicURL,
		// The cheapest password hashes config allows: sign-ups are setup here.
		"TESSERA_AUTH_ARGON2_TIME=1", "TESSERA_AUTH_ARGON2_MEMORY=8192",
	}, environ)
	for range size {
		dir := t.TempDir()
		if err := os.Symlink(sink, filepath.Join(dir, "mail")); err != nil {
			t.Fatal(err)
		}
		p := nodetest.Spawn(t, append(slices.Clip(env), "TESSERA_DATA_DIR="+dir)...)
		c.nodes = append(c.nodes, &nodetest.Node{URL: p.URL, Proc: p, Config: &config.Config{DataDir: dir}})
	}
	db, err := store.Open(context.Background(), dsn, store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c.db, c.log = db, events.New(db, events.Options{})
	return c
}

// committed returns the events after cursor that f selects, in commit
// order: what every subscriber of them must receive, in that order.
func (c *cluster) committed(t testing.TB, after events.Cursor, f events.Filter) []events.Event {
	t.Helper()
	var out []events.Event
	for {
		evs, err := c.log.Read(context.Background(), after, f, events.MaxReadLimit)
		if err != nil {
			t.Fatalf("read the event log: %v", err)
		}
		out = append(out, evs...)
		if len(evs) < events.MaxReadLimit {
			return out
		}
		after = evs[len(evs)-1].Cursor
	}
}

// head is the cursor of the newest readable event: a subscription from it
// receives exactly what committed(head, …) returns later.
func (c *cluster) head(t testing.TB) events.Cursor {
	t.Helper()
	evs := c.committed(t, "", events.Filter{})
	if len(evs) == 0 {
		return ""
	}
	return evs[len(evs)-1].Cursor
}

// user is a signed-up user of the pool, acting in org when it is set.
type user struct {
	id, email, token, org string
}

// signUp signs email up through node n with clientID ("" for none),
// confirms it with the mailed code and signs in there.
func signUp(t testing.TB, n *nodetest.Node, email, clientID string) user {
	t.Helper()
	id, token := n.SignUp(t, email, password, email, clientID)
	return user{id: id, email: email, token: token}
}

// newOrg creates an org through n, owned by owner, who then acts in it.
func newOrg(t testing.TB, n *nodetest.Node, owner *user, name string) {
	t.Helper()
	var o struct {
		ID string `json:"id"`
	}
	mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"`+name+`"}`, testhttp.Bearer(owner.token)).body, &o)
	owner.org = o.ID
}

// join makes u a member of owner's org with role, through n.
func join(t testing.TB, n *nodetest.Node, owner user, u *user, role string) {
	t.Helper()
	expect(t, http.StatusCreated, http.MethodPut, n.URL+"/orgs/"+owner.org+"/members/"+u.id,
		`{"role":"`+role+`","level":0}`, testhttp.Bearer(owner.token))
	u.org = owner.org
}

// as is the credentials of u's requests: its token and, when set, its org.
func (u user) as(extra ...func(*http.Request)) []func(*http.Request) {
	prep := []func(*http.Request){testhttp.Bearer(u.token)}
	if u.org != "" {
		prep = append(prep, header("X-Org-ID", u.org))
	}
	return append(prep, extra...)
}

// header sets a request header.
func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// chatToken is a seed-style messaging token of user (a fresh UUID) of
// entity at level, valid an hour.
func chatToken(t testing.TB, user, entity string, level int) string {
	t.Helper()
	tok, err := authz.SignShared(chatSecret, authz.SharedClaims{UserUUID: user, EntityUUID: entity, Level: level, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// httpClient bounds every fault-tolerant request: a node that hangs
// instead of dying must not hang the test.
var httpClient = &http.Client{Timeout: 3 * time.Minute}

// call sends a request (body may be nil; a JSON body needs
// header("Content-Type", "application/json")) and reads the whole answer.
// Unlike testhttp it returns transport errors, such as those of a node
// killed mid-request, instead of failing the test.
func call(ctx context.Context, method, url string, body io.Reader, prepare ...func(*http.Request)) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return answer{}, err
	}
	for _, p := range prepare {
		p(req)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

// expect sends a request (body JSON, "" for none) from the test
// goroutine and requires the status want, failing the test otherwise; it
// returns the answer. A 503 with Retry-After (the platform's "try again":
// the database was busy, or out of connections on a shared server) is
// sent again to the same node after Retry-After, for up to a minute.
func expect(t testing.TB, want int, method, url, body string, prepare ...func(*http.Request)) answer {
	t.Helper()
	if body != "" {
		prepare = append([]func(*http.Request){jsonBody}, prepare...)
	}
	return expectFrom(t, want, method, url, func() io.Reader {
		if body == "" {
			return nil
		}
		return strings.NewReader(body)
	}, prepare...)
}

// expectFrom is expect with a body made afresh for each attempt (nil for
// none).
func expectFrom(t testing.TB, want int, method, url string, body func() io.Reader, prepare ...func(*http.Request)) answer {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		a, err := call(context.Background(), method, url, body(), prepare...)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		if a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") != "" && time.Now().Before(deadline) {
			secs, _ := strconv.Atoi(a.header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		if a.status != want {
			t.Fatalf("%s %s: %d %s, want %d", method, url, a.status, a.body, want)
		}
		return a
	}
}

// jsonBody is the Content-Type of a JSON request body.
var jsonBody = header("Content-Type", "application/json")

// client is a client of the cluster that moves to the next node when its
// node stops answering, as a client behind a load balancer would. One
// goroutine uses it.
type client struct {
	c    *cluster
	node int
}

// base is the URL of the client's node.
func (cl *client) base() string { return cl.c.nodes[cl.node].URL }

// failover moves the client to the next node.
func (cl *client) failover() { cl.node = (cl.node + 1) % len(cl.c.nodes) }

// retry sends req to the client's node until the answer is not "try
// again": a transport error moves to the next node; 503, and 409 with
// Retry-After (the first request of an Idempotency-Key still running: on a
// killed node, until its claim is taken over a minute later), wait
// Retry-After and repeat. It returns the answer and the number of failed
// attempts before it; an error only when ctx ends first.
func (cl *client) retry(ctx context.Context, req func(base string) (answer, error)) (answer, int, error) {
	failed := 0
	for {
		a, err := req(cl.base())
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return answer{}, failed, fmt.Errorf("%w (last: %w)", ctx.Err(), err)
			}
			failed++
			cl.failover()
			if failed%len(cl.c.nodes) == 0 { // every node refused: not up yet
				sleep(ctx, 100*time.Millisecond)
			}
		case a.status == http.StatusServiceUnavailable || (a.status == http.StatusConflict && a.header.Get("Retry-After") != ""):
			failed++
			secs, _ := strconv.Atoi(a.header.Get("Retry-After"))
			sleep(ctx, time.Duration(max(secs, 1))*time.Second)
		default:
			return a, failed, nil
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// dialWS opens a websocket to base (http://…) + path with prepare applied
// to the handshake's headers, returning errors instead of failing the
// test.
func dialWS(ctx context.Context, base, path string, prepare ...func(*http.Request)) (*websocket.Conn, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range prepare {
		p(req)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: req.Header})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	conn.SetReadLimit(1 << 20)
	return conn, nil
}

// writeJSON sends v as one text frame within 10 s.
func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}

// errBusy is what a feed's parse returns for a frame refusing a request
// for now (a chat error frame with status 503: the database was busy or
// unreachable): the feed counts it in refused, and the client sends the
// request again.
var errBusy = errors.New("refused for now (503)")

// delivery is one push a feed received.
type delivery struct {
	// Key identifies it for comparison with the log: a chat message's id,
	// or "<cursor> <event type> <subject>" (logKey).
	Key string
	// Since is the position to resume after it (a message id or a cursor).
	Since string
	// Text is a chat message's content ("" otherwise).
	Text string
	// Conn is the number of times the feed had resumed when it arrived:
	// the deliveries of one connection share it.
	Conn int
}

// logKey is the Key of a push of event e: what a delivery must match.
func logKey(e events.Event) string { return string(e.Cursor) + " " + e.Type + " " + e.Subject }

// A feed is one realtime subscriber that outlives its node: it reads
// pushes in a goroutine, and when its connection drops it connects to the
// next node that answers and subscribes again from the last position it
// received (since), as a client must. chatFeed, boardFeed and
// calendarFeed make one; start runs it.
type feed struct {
	name string
	c    *cluster
	// open dials base and subscribes from since; it returns once the
	// subscription is in place.
	open func(ctx context.Context, base, since string) (*websocket.Conn, error)
	// parse reads a server frame: a push (ok), something to skip (!ok), or
	// a failure (err, such as an error frame).
	parse func(frame []byte) (d delivery, ok bool, err error)

	mu         sync.Mutex // guards the fields below
	node       int
	since      string
	conn       *websocket.Conn
	got        []delivery
	reconnects int
	refused    int           // frames that refused a request for now (errBusy)
	err        error         // the first failure (a bad frame, or no node would take the feed)
	changed    chan struct{} // signalled after each delivery, reconnect and failure
}

// newFeed is a feed on node from since (see feed).
func (c *cluster) newFeed(name string, node int, since string,
	open func(ctx context.Context, base, since string) (*websocket.Conn, error),
	parse func([]byte) (delivery, bool, error)) *feed {
	return &feed{name: name, c: c, open: open, parse: parse, node: node, since: since, changed: make(chan struct{}, 1)}
}

// start subscribes (failing the test if its node will not take it) and
// reads in a goroutine until the test ends.
func (f *feed) start(t testing.TB) *feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := f.open(ctx, f.c.nodes[f.node].URL, f.since)
	if err != nil {
		cancel()
		t.Fatalf("feed %s: %v", f.name, err)
	}
	f.conn = conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.run(ctx, conn)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f
}

// run reads pushes and resumes on another node when the connection drops.
func (f *feed) run(ctx context.Context, conn *websocket.Conn) {
	for {
		f.read(ctx, conn)
		_ = conn.CloseNow()
		if ctx.Err() != nil {
			return
		}
		if conn = f.reopen(ctx); conn == nil {
			return
		}
	}
}

// read records conn's pushes until it fails.
func (f *feed) read(ctx context.Context, conn *websocket.Conn) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		d, ok, err := f.parse(b)
		if errors.Is(err, errBusy) {
			f.mu.Lock()
			f.refused++
			f.mu.Unlock()
			f.signal()
			continue
		}
		if err != nil {
			f.fail(fmt.Errorf("%w (frame %s)", err, b))
			continue
		}
		if ok {
			f.mu.Lock()
			d.Conn = f.reconnects
			f.got = append(f.got, d)
			f.since = d.Since
			f.mu.Unlock()
			f.signal()
		}
	}
}

// reopen subscribes again from the last position, on the next node that
// takes it; nil when ctx ends or no node would for a minute.
func (f *feed) reopen(ctx context.Context) *websocket.Conn {
	f.mu.Lock()
	node, since := f.node, f.since
	f.mu.Unlock()
	var lastErr error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		node = (node + 1) % len(f.c.nodes)
		conn, err := f.open(ctx, f.c.nodes[node].URL, since)
		if err == nil {
			f.mu.Lock()
			f.node, f.conn = node, conn
			f.reconnects++
			f.mu.Unlock()
			f.signal()
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		lastErr = err
		sleep(ctx, 50*time.Millisecond)
	}
	f.fail(fmt.Errorf("no node would resume the feed from %q for a minute: %w", since, lastErr))
	return nil
}

func (f *feed) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = fmt.Errorf("feed %s: %w", f.name, err)
	}
	f.mu.Unlock()
	f.signal()
}

func (f *feed) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// await waits up to d until cond, called under the feed's lock with what
// was received and the number of reconnects so far, holds; it reports
// whether it did. cond may read the feed's other fields (refused). A
// change wakes one waiter; others look again within 50 ms.
func (f *feed) await(d time.Duration, cond func(got []delivery, reconnects int) bool) bool {
	deadline := time.After(d)
	for {
		f.mu.Lock()
		ok := cond(f.got, f.reconnects)
		f.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-f.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			return false
		}
	}
}

// awaitKey waits up to 30 s for a delivery whose Key contains s, failing
// the test otherwise.
func (f *feed) awaitKey(t testing.TB, s string) {
	t.Helper()
	if !f.await(30*time.Second, func(got []delivery, _ int) bool {
		return slices.ContainsFunc(got, func(d delivery) bool { return strings.Contains(d.Key, s) })
	}) {
		t.Fatalf("feed %s: nothing about %s within 30 s; got %v (err %v)", f.name, s, f.received(), f.failure())
	}
}

// received is a copy of what the feed received, in order.
func (f *feed) received() []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// keys are the Keys of what the feed received, in order.
func (f *feed) keys() []string {
	var out []string
	for _, d := range f.received() {
		out = append(out, d.Key)
	}
	return out
}

// resumed is the number of times the feed resumed on another node.
func (f *feed) resumed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reconnects
}

// at is the node the feed is on.
func (f *feed) at() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.node
}

// failure is the feed's first failure, if any.
func (f *feed) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// send writes v on the feed's current connection.
func (f *feed) send(ctx context.Context, v any) error {
	f.mu.Lock()
	conn := f.conn
	f.mu.Unlock()
	return writeJSON(ctx, conn, v)
}

// expectSame checks that the feed received exactly want (Keys from the
// log, in commit order), waiting up to a minute for it to catch up.
func (f *feed) expectSame(t testing.TB, want []string) {
	t.Helper()
	f.await(time.Minute, func(got []delivery, _ int) bool { return len(got) >= len(want) })
	if err := f.failure(); err != nil {
		t.Error(err)
	}
	got := f.keys()
	if !slices.Equal(got, want) {
		t.Errorf("feed %s (resumed %d times) received %d pushes, not the %d committed in commit order; first difference: %s",
			f.name, f.resumed(), len(got), len(want), firstDifference(got, want))
	}
}

// settled calls read until two reads 200 ms apart agree (at most 30 s)
// and returns the last: the log's view once every transaction older than
// its newest event has ended (Read returns an event only then), for
// comparing with what subscribers received.
func settled(read func() []string) []string {
	last := read()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		next := read()
		if slices.Equal(next, last) {
			break
		}
		last = next
	}
	return last
}

// firstDifference describes where got and want part.
func firstDifference(got, want []string) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("at %d missing %q (gap)", i, want[i])
		case i >= len(want):
			return fmt.Sprintf("at %d extra %q (duplicate or stray)", i, got[i])
		case got[i] != want[i]:
			return fmt.Sprintf("at %d got %q, want %q", i, got[i], want[i])
		}
	}
	return "none"
}

// frame is any server frame of the apps' websockets.
type frame struct {
	Type           string          `json:"type"`
	RequestID      string          `json:"request_id"`
	SubscriptionID string          `json:"subscription_id"`
	Cursor         string          `json:"cursor"`
	Data           json.RawMessage `json:"data"`
}

// readFrame reads one frame within 30 s.
func readFrame(ctx context.Context, conn *websocket.Conn) (frame, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var f frame
	_, b, err := conn.Read(ctx)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("frame %s: %w", b, err)
	}
	return f, nil
}

// expectText reads a chat query or status frame saying text.
func expectText(ctx context.Context, conn *websocket.Conn, typ, text string) error {
	f, err := readFrame(ctx, conn)
	if err != nil {
		return err
	}
	var s string
	if f.Type != typ || json.Unmarshal(f.Data, &s) != nil || s != text {
		return fmt.Errorf("chat frame %s %s, want %s %q", f.Type, f.Data, typ, text)
	}
	return nil
}

// chatFeed is a chat member (token) in room on node, receiving every
// message after message id since (resumed with the last id it received).
// Its say method sends a message on the current connection; a message
// refused for now (503) counts in refused (errBusy).
func (c *cluster) chatFeed(name string, node int, token string, room, since int64) *feed {
	open := func(ctx context.Context, base, since string) (*websocket.Conn, error) {
		conn, err := dialWS(ctx, base, "/messaging/chat")
		if err != nil {
			return nil, err
		}
		after, _ := strconv.ParseInt(since, 10, 64)
		err = expectText(ctx, conn, "query", "START?")
		if err == nil {
			err = writeJSON(ctx, conn, map[string]string{"type": "token", "content": token})
		}
		if err == nil {
			err = expectText(ctx, conn, "status", "READY")
		}
		if err == nil {
			err = writeJSON(ctx, conn, map[string]any{"type": "select_room", "room_id": room, "since": after})
		}
		if err == nil {
			err = expectText(ctx, conn, "status", "CONNECTED")
		}
		if err != nil {
			_ = conn.CloseNow()
			return nil, err
		}
		return conn, nil
	}
	parse := func(b []byte) (delivery, bool, error) {
		var f struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		var m struct {
			ID      int64  `json:"id"`
			Content string `json:"content"`
			Status  int    `json:"status"` // of an error frame's problem
		}
		if json.Unmarshal(b, &f) != nil || json.Unmarshal(f.Data, &m) != nil {
			return delivery{}, false, errors.New("not a chat frame")
		}
		if f.Type == "error" && m.Status == http.StatusServiceUnavailable {
			return delivery{}, false, errBusy
		}
		if f.Type != "message" || m.ID == 0 {
			return delivery{}, false, errors.New("not a chat message")
		}
		id := strconv.FormatInt(m.ID, 10)
		return delivery{Key: id, Since: id, Text: m.Content}, true, nil
	}
	return c.newFeed(name, node, strconv.FormatInt(since, 10), open, parse)
}

// say sends a chat message on a chat feed's connection.
func (f *feed) say(ctx context.Context, content string) error {
	return f.send(ctx, map[string]string{"type": "message", "content": content})
}

// pushParse reads the platform's push frames ({"type":"event","cursor",
// "data":{"event","subject",…}}): pushes are deliveries, result frames are
// skipped, anything else is a failure.
func pushParse(b []byte) (delivery, bool, error) {
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return delivery{}, false, err
	}
	switch f.Type {
	case "event":
		var d struct {
			Event   string `json:"event"`
			Subject string `json:"subject"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil || f.Cursor == "" {
			return delivery{}, false, errors.New("push without cursor, event or subject")
		}
		return delivery{Key: f.Cursor + " " + d.Event + " " + d.Subject, Since: f.Cursor}, true, nil
	case "result":
		return delivery{}, false, nil
	}
	return delivery{}, false, errors.New("unexpected frame")
}

// boardFeed is u's restaurants live board on node from cursor since.
func (c *cluster) boardFeed(name string, node int, u user, since events.Cursor) *feed {
	open := func(ctx context.Context, base, since string) (*websocket.Conn, error) {
		path := "/restaurants/ws"
		if since != "" {
			path += "?since=" + since
		}
		return dialWS(ctx, base, path, testhttp.Bearer(u.token))
	}
	return c.newFeed(name, node, string(since), open, pushParse)
}

// calendar is a scheduling events subscription's window: subscribe.events
// data without since.
type calendar struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	ResourceIDs []string  `json:"resource_ids"`
}

// calendarFeed is u's scheduling subscription to window (socket on node,
// in u's org) from cursor since.
func (c *cluster) calendarFeed(name string, node int, u user, window calendar, since events.Cursor) *feed {
	open := func(ctx context.Context, base, since string) (*websocket.Conn, error) {
		conn, err := dialWS(ctx, base, "/scheduling/ws?org_id="+u.org, testhttp.Bearer(u.token))
		if err != nil {
			return nil, err
		}
		data := map[string]any{"from": window.From, "to": window.To, "resource_ids": window.ResourceIDs}
		if since != "" {
			data["since"] = since
		}
		err = writeJSON(ctx, conn, map[string]any{"action": "subscribe.events", "request_id": "subscribe", "data": data})
		var f frame
		if err == nil {
			f, err = readFrame(ctx, conn) // the result comes before any push
		}
		if err == nil && (f.Type != "result" || f.RequestID != "subscribe") {
			err = fmt.Errorf("subscribe.events: %s %s", f.Type, f.Data)
		}
		if err != nil {
			_ = conn.CloseNow()
			return nil, err
		}
		return conn, nil
	}
	return c.newFeed(name, node, string(since), open, pushParse)
}

// payload is the deterministic content of an upload named name (no
// spaces), size bytes (at least len(payloadHeader)): a header line naming
// it, then a ChaCha8 stream seeded by the name. Any copy of it (a
// download, an S3 object) can be checked whole with wholePayload without
// keeping the bytes.
func payload(name string, size int64) io.Reader {
	h := payloadHeader(name, size)
	return io.MultiReader(strings.NewReader(h), io.LimitReader(rand.NewChaCha8(sha256.Sum256([]byte(name))), size-int64(len(h))))
}

func payloadHeader(name string, size int64) string {
	return fmt.Sprintf("tessera-faults-payload %s %d\n", name, size)
}

// payloadSum is the SHA-256 of payload(name, size).
func payloadSum(name string, size int64) [32]byte {
	h := sha256.New()
	_, _ = io.Copy(h, payload(name, size))
	return [32]byte(h.Sum(nil))
}

// wholePayload reads r: when it starts as a payload does, it reports the
// payload's name and whether r is all of it, byte for byte (a truncated or
// altered copy is not); otherwise name is "".
func wholePayload(r io.Reader) (name string, whole bool, err error) {
	head := make([]byte, 128)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	line, _, found := strings.Cut(string(head[:n]), "\n")
	var size int64
	if _, serr := fmt.Sscanf(line, "tessera-faults-payload %s %d", &name, &size); !found || serr != nil {
		return "", false, nil
	}
	h := sha256.New()
	h.Write(head[:n])
	if _, err := io.Copy(h, r); err != nil {
		return name, false, err
	}
	return name, [32]byte(h.Sum(nil)) == payloadSum(name, size), nil
}
