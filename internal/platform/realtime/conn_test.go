package realtime

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestSlowClientClosedFastClientUnaffected(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	h := startHub(t, log, nil) // default queue: 256 frames
	srv := serveSmallBuffers(t, h)

	slow := dialSmallBuffers(t, srv)
	slow.subscribe(action{ID: "s", Topics: []string{"room:1"}})
	fast := dial(t, srv, "")
	fast.subscribe(action{ID: "f", Topics: []string{"room:1"}})

	// The fast client reads everything concurrently; the slow one never reads
	// until the hub has given up on it.
	const n = 1000
	pad := strings.Repeat("x", 1024)
	got := make(chan []int, 1)
	go func() {
		var ns []int
		for len(ns) < n {
			f, err := fast.next(10 * time.Second)
			if err != nil {
				t.Logf("fast client: %v", err)
				break
			}
			ns = append(ns, data(t, f).N)
		}
		got <- ns
	}()
	for i := 1; i <= n; i++ {
		log.Append("chat", "o1", "1", fmt.Sprintf(`{"n":%d,"pad":%q}`, i, pad))
		if i%10 == 0 { // commits arrive at a pace a reading client sustains
			h.Notify()
			time.Sleep(10 * time.Millisecond)
		}
		if i == n/2 {
			eventually(t, 10*time.Second, func() bool { return value(t, h.metrics.slowCloses) >= 1 }, "a slow-client close")
			if code := slow.closeStatus(10 * time.Second); code != websocket.StatusTryAgainLater {
				t.Fatalf("slow client closed with %d, want 1013", code)
			}
		}
	}
	h.Notify()
	ns := <-got
	if len(ns) != n {
		t.Fatalf("fast client got %d events, want %d", len(ns), n)
	}
	for i, v := range ns {
		if v != i+1 {
			t.Fatalf("fast client: event %d is n=%d", i, v)
		}
	}
	if v := value(t, h.metrics.slowCloses); v != 1 {
		t.Fatalf("slow closes = %v, want 1", v)
	}
}

func TestOversizeFrameCloses1009(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, func(o *Options) { o.ReadLimit = 1024 })
	srv := serve(t, h)
	c := dial(t, srv, "")
	c.send(map[string]string{"action": "ping", "pad": strings.Repeat("a", 900)}) // under the limit
	if f := c.mustNext(); f.Type != "echo" {
		t.Fatalf("got %+v", f)
	}
	c.send(map[string]string{"action": "ping", "pad": strings.Repeat("a", 2000)})
	if code := c.closeStatus(5 * time.Second); code != websocket.StatusMessageTooBig {
		t.Fatalf("closed with %d, want 1009", code)
	}
}

func TestMalformedJSONKeepsConnectionOpen(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, nil)
	srv := serve(t, h)
	c := dial(t, srv, "")
	for _, bad := range []string{"not json", `{"action":`, ""} {
		c.sendRaw(bad)
		f := c.mustNext()
		var p Problem
		if err := json.Unmarshal(f.Data, &p); err != nil || f.Type != "error" || p.Status != 400 || p.Title != "Bad Request" {
			t.Fatalf("%q: got %+v %s", bad, f, f.Data)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if f := c.mustNext(); f.Type != "error" {
		t.Fatalf("binary frame: got %+v", f)
	}
	c.sync() // still open
}

func TestMalformedHookReplaces(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, nil)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = h.Accept(w, r, AcceptOptions{OnMalformed: func(c *Conn, _ []byte) {
			_ = c.Send(map[string]string{"type": "status", "data": "BADJSON"})
		}})
	})
	c := dial(t, srv, "")
	c.sendRaw("{oops")
	if f := c.mustNext(); f.Type != "status" || string(f.Data) != `"BADJSON"` {
		t.Fatalf("got %+v", f)
	}
}

func TestFloodClosed1008(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, func(o *Options) { o.InboundRate = 5; o.InboundBurst = 5 })
	srv := serve(t, h)
	c := dial(t, srv, "")
	for i := 0; i < 50; i++ {
		if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(`{"action":"x"}`)); err != nil {
			break // closed under us: fine
		}
	}
	sawError := false
	for {
		f, err := c.next(5 * time.Second)
		if err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
				t.Fatalf("closed with %d (%v), want 1008", code, err)
			}
			break
		}
		if f.Type == "error" {
			var p Problem
			_ = json.Unmarshal(f.Data, &p)
			sawError = p.Status == 429
		}
	}
	if !sawError {
		t.Fatal("no 429 error frame before the close")
	}
}

func TestIdleClientDropped(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, func(o *Options) {
		o.PingInterval = 20 * time.Millisecond
		o.IdleTimeout = 150 * time.Millisecond
	})
	srv := serve(t, h)
	live := dial(t, srv, "")
	go func() { // a reading client answers pings and stays
		for {
			if _, _, err := live.ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	idle := dial(t, srv, "") // never reads: no pongs
	_ = idle
	eventually(t, 5*time.Second, func() bool { return value(t, h.metrics.idleCloses) == 1 }, "the idle drop")
	time.Sleep(300 * time.Millisecond)
	if v := value(t, h.metrics.connections); v != 1 {
		t.Fatalf("connections = %v, want 1 (the live one)", v)
	}
}

func TestShutdownCloses1001(t *testing.T) {
	t.Parallel()
	h, err := New(Options{Source: &fakeLog{}, Compare: compareCursor})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, h)
	a := dial(t, srv, "")
	b := dial(t, srv, "")
	a.sync()
	b.sync()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Shutdown(ctx) }()
	for _, c := range []*client{a, b} {
		if code := c.closeStatus(5 * time.Second); code != websocket.StatusGoingAway {
			t.Fatalf("closed with %d, want 1001", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Refused afterwards.
	resp, err := http.Get(srv.URL) //nolint:noctx // test
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %d, want 503", resp.StatusCode)
	}
}

func TestOriginCheck(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, func(o *Options) { o.AllowedOrigins = []string{"https://console.example.com"} })
	srv := serve(t, h)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for origin, ok := range map[string]bool{
		"":                            true, // not a browser
		srv.URL:                       true, // same host
		"https://console.example.com": true,
		"https://evil.example.com":    false,
		"null":                        false,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
		cancel()
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if ok != (err == nil) {
			t.Errorf("origin %q: err %v", origin, err)
		}
		if err == nil {
			_ = ws.CloseNow()
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: response %v, want 403", origin, resp)
		}
	}
}

func TestLargeFramesWithSmallBuffers(t *testing.T) {
	t.Parallel()
	// Frames far larger than the connection's 512-byte buffers, both ways,
	// up to the default 64 KiB read limit.
	h := startHub(t, &fakeLog{}, nil)
	srv := serve(t, h)
	c := dial(t, srv, "")
	for _, size := range []int{connBufferSize - 40, connBufferSize + 1, 4 << 10, 60 << 10} {
		pad := strings.Repeat("p", size)
		c.send(map[string]string{"action": "ping", "pad": pad})
		f := c.mustNextType("echo")
		var got struct{ Pad string }
		if err := json.Unmarshal(f.Data, &got); err != nil || got.Pad != pad {
			t.Fatalf("%d-byte frame: echo of %d bytes (%v)", size, len(got.Pad), err)
		}
	}
	c.sendRaw(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`) // just over 64 KiB
	if code := c.closeStatus(5 * time.Second); code != websocket.StatusMessageTooBig {
		t.Fatalf("closed with %d, want 1009", code)
	}
}

func TestHubOwnsConnectionAfterHandlerReturns(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, nil)
	reqCtx := make(chan context.Context, 1)
	conns := make(chan *Conn, 1)
	ended := make(chan error, 1)
	var seq []int // OnMessage runs one message at a time: no lock
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := h.Accept(w, r, AcceptOptions{
			OnMessage: func(c *Conn, msg []byte) {
				var m struct{ N int }
				_ = json.Unmarshal(msg, &m)
				seq = append(seq, m.N)
				if m.N == 100 {
					_ = c.Send(map[string]any{"type": "seq", "data": seq})
				}
			},
			OnClose: func(c *Conn, err error) {
				if c.Context().Err() == nil {
					t.Error("OnClose before Conn.Context is cancelled")
				}
				ended <- err
			},
		})
		if err != nil {
			return
		}
		reqCtx <- r.Context()
		conns <- c
	})
	cl := dial(t, srv, "")
	c := <-conns
	select { // net/http is done with the request
	case <-(<-reqCtx).Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context is not cancelled: the handler did not return")
	}
	for i := 1; i <= 100; i++ {
		cl.send(map[string]int{"n": i})
	}
	f := cl.mustNextType("seq")
	var got []int
	if err := json.Unmarshal(f.Data, &got); err != nil || len(got) != 100 || got[0] != 1 || got[99] != 100 {
		t.Fatalf("messages out of order or lost: %s", f.Data)
	}
	if c.Context().Err() != nil {
		t.Fatal("Conn.Context cancelled on an open connection")
	}
	if err := cl.ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Fatalf("OnClose err = %v, want the peer's 1000", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called")
	}
	if v := value(t, h.metrics.connections); v != 0 {
		t.Fatalf("connections = %v after close", v)
	}
}

func TestOnMessagePanicCloses1011(t *testing.T) {
	t.Parallel()
	h := startHub(t, &fakeLog{}, nil)
	srv := serve(t, h)
	bad := dial(t, srv, "")
	good := dial(t, srv, "")
	bad.send(map[string]string{"action": "panic"})
	if code := bad.closeStatus(5 * time.Second); code != websocket.StatusInternalError {
		t.Fatalf("closed with %d, want 1011", code)
	}
	good.sync() // the node and the other connections live on
}

func TestEarlyFrameAfterHandshake(t *testing.T) {
	t.Parallel()
	// A client that sends its first frame in the same packet as its
	// handshake: net/http has buffered the frame before the hijack, and
	// the small buffers must keep it.
	h := startHub(t, &fakeLog{}, nil)
	srv := serve(t, h)
	addr := strings.TrimPrefix(srv.URL, "http://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	payload := []byte(`{"action":"ping","pad":"` + strings.Repeat("e", 2*connBufferSize) + `"}`)
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), maskedTextFrame(payload)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	msg := readServerFrame(t, br)
	var f frame
	if err := json.Unmarshal(msg, &f); err != nil || f.Type != "echo" || !strings.Contains(string(f.Data), strings.Repeat("e", 2*connBufferSize)) {
		t.Fatalf("got %.100s (%v)", msg, err)
	}
}

// maskedTextFrame encodes a client text frame (payload under 64 KiB).
func maskedTextFrame(p []byte) []byte {
	b := []byte{0x81}
	if len(p) < 126 {
		b = append(b, 0x80|byte(len(p)))
	} else {
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	}
	mask := []byte{1, 2, 3, 4}
	b = append(b, mask...)
	for i, c := range p {
		b = append(b, c^mask[i%4])
	}
	return b
}

// readServerFrame reads one unmasked, unfragmented server frame's payload.
func readServerFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		t.Fatal("unexpected 64-bit frame length")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return p
}
