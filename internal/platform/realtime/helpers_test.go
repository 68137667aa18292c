package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// fakeLog is an in-memory Source: cursors are zero-padded sequence numbers,
// so they compare as strings; events up to trimmed are gone (retention).
type fakeLog struct {
	mu      sync.Mutex
	evs     []events.Event
	trimmed int
	readErr error
}

func cursorOf(seq int) events.Cursor { return events.Cursor(fmt.Sprintf("%012d", seq)) }

func seqOf(c events.Cursor) int {
	n, _ := strconv.Atoi(string(c))
	return n
}

func compareCursor(a, b events.Cursor) int { return strings.Compare(string(a), string(b)) }

// Append commits one event and returns it with its cursor.
func (l *fakeLog) Append(app, org, subject string, payload string) events.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := len(l.evs) + 1
	ev := events.Event{
		Cursor: cursorOf(seq), ID: strconv.Itoa(seq), App: app, Type: app + ".message.created",
		OrgID: org, Subject: subject, Payload: json.RawMessage(payload), Time: time.Now(),
	}
	l.evs = append(l.evs, ev)
	return ev
}

func (l *fakeLog) Trim(upto int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trimmed = upto
}

func (l *fakeLog) Read(ctx context.Context, after events.Cursor, f events.Filter, limit int) ([]events.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readErr != nil {
		return nil, l.readErr
	}
	start := 0
	if after != "" {
		start = seqOf(after)
	}
	if start < l.trimmed {
		return nil, events.ErrResyncRequired
	}
	var out []events.Event
	for _, ev := range l.evs[start:] {
		if (f.App != "" && ev.App != f.App) || (f.OrgID != "" && ev.OrgID != f.OrgID) {
			continue
		}
		out = append(out, ev)
		if len(out) == limit {
			break
		}
	}
	return out, ctx.Err()
}

func (l *fakeLog) Latest(context.Context) (events.Cursor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.evs) == 0 {
		return "", nil
	}
	return cursorOf(len(l.evs)), nil
}

// route maps a test event to "room:<subject>" and "org".
func route(ev events.Event) Route {
	return Route{Topics: []string{"room:" + ev.Subject, "org"}}
}

// startHub starts a hub on src with test-friendly options.
func startHub(t testing.TB, src Source, mod func(*Options)) *Hub {
	t.Helper()
	opts := Options{Source: src, Compare: compareCursor, PollInterval: time.Hour, InboundRate: 1000, InboundBurst: 1000}
	if mod != nil {
		mod(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.Route("chat", route)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

// action is the test endpoint's client frame.
type action struct {
	Action string        `json:"action"`
	ID     string        `json:"id,omitempty"`
	Org    string        `json:"org,omitempty"`
	Topics []string      `json:"topics,omitempty"`
	Since  events.Cursor `json:"since,omitempty"`
	Deny   bool          `json:"deny,omitempty"`
}

// denied holds the subscription ids whose Authorize fails.
var denied sync.Map

// serve exposes the hub on a test endpoint speaking a small envelope:
// subscribe, unsubscribe, and anything else echoed back.
func serve(t testing.TB, h *Hub) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(testHandler(h))
	t.Cleanup(srv.Close)
	return srv
}

// serveSmallBuffers is serve with tiny kernel send buffers, so that a client
// that stops reading backs up into the hub's queue after a few frames.
func serveSmallBuffers(t testing.TB, h *Hub) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(testHandler(h))
	srv.Listener = smallBufferListener{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}

func testHandler(h *Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = h.Accept(w, r, AcceptOptions{Value: r.URL.Query().Get("user"), OnMessage: onTestMessage})
	})
}

// onTestMessage serves the test envelope.
func onTestMessage(c *Conn, msg []byte) {
	var a action
	if err := json.Unmarshal(msg, &a); err != nil {
		_ = c.SendError("", fault.New(fault.Malformed, "bad action"))
		return
	}
	switch a.Action {
	case "subscribe":
		org := a.Org
		if org == "" {
			org = "o1"
		}
		id := a.ID
		err := c.Subscribe(Subscription{ID: id, App: "chat", OrgID: org, Topics: a.Topics, Since: a.Since,
			Ack: map[string]any{"type": "result", "data": map[string]string{"subscription_id": id}},
			Authorize: func(context.Context) error {
				if _, no := denied.Load(id); no {
					return fault.New(fault.Forbidden, "not allowed any more")
				}
				return nil
			}})
		if err != nil {
			_ = c.SendError("", err)
		}
	case "unsubscribe":
		c.Unsubscribe(a.ID)
		_ = c.Send(map[string]any{"type": "result", "data": map[string]string{"unsubscribed": a.ID}})
	case "panic":
		panic("test: OnMessage panics")
	default:
		_ = c.Send(map[string]any{"type": "echo", "data": json.RawMessage(msg)})
	}
}

type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func dial(t testing.TB, srv *httptest.Server, query string) *client {
	t.Helper()
	return dialWith(t, srv, query, nil)
}

// dialSmallBuffers dials with a tiny kernel receive buffer.
func dialSmallBuffers(t testing.TB, srv *httptest.Server) *client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return dialWith(t, srv, "", &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
}

func dialWith(t testing.TB, srv *httptest.Server, query string, opts *websocket.DialOptions) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?"+query, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &client{t: t, ws: ws}
}

// frame is any server frame.
type frame struct {
	Type           string          `json:"type"`
	RequestID      string          `json:"request_id"`
	SubscriptionID string          `json:"subscription_id"`
	Cursor         events.Cursor   `json:"cursor"`
	Data           json.RawMessage `json:"data"`
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	c.sendRaw(string(b))
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads one frame within d.
func (c *client) next(d time.Duration) (frame, error) {
	var f frame
	err := testhttp.ReadJSON(c.ws, d, &f)
	return f, err
}

func (c *client) mustNext() frame {
	c.t.Helper()
	f, err := c.next(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// subscribe opens a subscription and consumes its result frame.
func (c *client) subscribe(a action) {
	c.t.Helper()
	a.Action = "subscribe"
	c.send(a)
	if f := c.mustNext(); f.Type != "result" {
		c.t.Fatalf("subscribe: got %+v", f)
	}
}

// sync round-trips an echo: every frame queued before it has been read.
func (c *client) sync() []frame {
	c.t.Helper()
	c.send(map[string]string{"action": "ping"})
	var got []frame
	for {
		f := c.mustNext()
		if f.Type == "echo" {
			return got
		}
		got = append(got, f)
	}
}

// closeStatus reads until the connection ends and returns its close code.
func (c *client) closeStatus(d time.Duration) websocket.StatusCode {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_, err := c.next(time.Until(deadline))
		if err != nil {
			if websocket.CloseStatus(err) == -1 {
				c.t.Logf("connection ended without a close frame: %v", err)
			}
			return websocket.CloseStatus(err)
		}
	}
	return -2
}

func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	total := 0.0
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		switch {
		case d.Counter != nil:
			total += d.Counter.GetValue()
		case d.Gauge != nil:
			total += d.Gauge.GetValue()
		}
	}
	return total
}

func eventually(t testing.TB, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// httptestServe serves the hub with a handler that runs setup on each
// connection, sends a "ready" frame and returns: the clients only listen.
func httptestServe(t testing.TB, h *Hub, setup func(*Conn)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.Accept(w, r, AcceptOptions{})
		if err != nil {
			return
		}
		if setup != nil {
			setup(c)
		}
		_ = c.Send(map[string]string{"type": "ready"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newServer(t testing.TB, fn http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(fn)
	t.Cleanup(srv.Close)
	return srv
}
