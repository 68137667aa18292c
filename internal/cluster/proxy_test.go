package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/cluster"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// echoNode is a stand-in node: /healthz answers 200 unless sick is set;
// anything else answers its name and the headers the proxy set.
func echoNode(t *testing.T, name string, sick *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if sick != nil && sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"node": name, "host": r.Host, "method": r.Method,
			"xff": r.Header.Get("X-Forwarded-For"), "proto": r.Header.Get("X-Forwarded-Proto"), "xfh": r.Header.Get("X-Forwarded-Host"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// proxyOver serves a Proxy over the servers (no health checks unless run
// is set: then every 20 ms).
func proxyOver(t *testing.T, run bool, nodes ...*httptest.Server) *httptest.Server {
	t.Helper()
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL)
	}
	p, err := cluster.NewProxy(urls, cluster.ProxyOptions{Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.Close() })
	return srv
}

type echo struct {
	Node, Host, Method, XFF, Proto, XFH string
	// From is the proxy's NodeHeader.
	From string
}

// call sends method to the proxy and decodes the node's echo; a status
// other than 200 is returned with an empty echo.
func call(t *testing.T, method, url string) (int, echo, testhttp.Response) {
	t.Helper()
	r := testhttp.Send(t, method, url, "", func(r *http.Request) { r.Header.Set("X-Forwarded-For", "6.6.6.6") })
	var e struct{ Node, Host, Method, Xff, Proto, Xfh string }
	if r.Status != http.StatusOK {
		return r.Status, echo{}, r
	}
	if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
		t.Fatalf("%s %s: %v: %q", method, url, err, r.Body)
	}
	return r.Status, echo{Node: e.Node, Host: e.Host, Method: e.Method, XFF: e.Xff, Proto: e.Proto, XFH: e.Xfh, From: r.Header.Get(cluster.NodeHeader)}, r
}

// TestProxyRoundRobin: requests go to each node in turn, exactly evenly;
// the node sees the client's Host and X-Forwarded-* set by the proxy (a
// client's own X-Forwarded-For dropped), and the answer names the node.
func TestProxyRoundRobin(t *testing.T) {
	t.Parallel()
	nodes := []*httptest.Server{echoNode(t, "a", nil), echoNode(t, "b", nil), echoNode(t, "c", nil)}
	proxy := proxyOver(t, false, nodes...)
	host := strings.TrimPrefix(proxy.URL, "http://")
	count := map[string]int{}
	for i := range 30 {
		status, e, _ := call(t, http.MethodGet, proxy.URL+"/x")
		if status != http.StatusOK {
			t.Fatalf("request %d: %d", i, status)
		}
		count[e.Node]++
		if want := nodes[e.Node[0]-'a'].URL; e.From != want {
			t.Errorf("%s = %q, want %q", cluster.NodeHeader, e.From, want)
		}
		if e.Host != host || e.XFF != "127.0.0.1" || e.Proto != "http" || e.XFH != host {
			t.Fatalf("node saw Host %q, X-Forwarded-For %q, -Proto %q, -Host %q; want %s, 127.0.0.1, http, %s", e.Host, e.XFF, e.Proto, e.XFH, host, host)
		}
	}
	if count["a"] != 10 || count["b"] != 10 || count["c"] != 10 {
		t.Fatalf("requests per node: %v, want 10 each", count)
	}
}

// TestProxySkipsKilledNode: once a node is gone (its port refuses), no GET
// fails: the one sent to it is retried on the other node, which then gets
// every request. A POST is not retried: the one that met the dead node
// gets 502, exactly once, and the node is skipped from then on.
func TestProxySkipsKilledNode(t *testing.T) {
	t.Parallel()
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		a, b := echoNode(t, "a", nil), echoNode(t, "b", nil)
		proxy := proxyOver(t, false, a, b)
		b.Close()
		for i := range 10 {
			if status, e, r := call(t, http.MethodGet, proxy.URL+"/x"); status != http.StatusOK || e.Node != "a" {
				t.Fatalf("GET %d after b died: %d %q from %q", i, status, r.Body, e.Node)
			}
		}
	})
	t.Run("POST", func(t *testing.T) {
		t.Parallel()
		a, b := echoNode(t, "a", nil), echoNode(t, "b", nil)
		proxy := proxyOver(t, false, a, b)
		b.Close()
		failed := 0
		for i := range 10 {
			status, e, r := call(t, http.MethodPost, proxy.URL+"/x")
			switch {
			case status == http.StatusBadGateway:
				failed++
				if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(r.Body, `"status":502`) {
					t.Fatalf("502 answer: %q %s", ct, r.Body)
				}
			case status != http.StatusOK || e.Node != "a":
				t.Fatalf("POST %d after b died: %d %q from %q", i, status, r.Body, e.Node)
			}
		}
		if failed != 1 {
			t.Fatalf("%d POSTs failed with 502, want exactly 1 (the one that found b gone)", failed)
		}
	})
}

// TestProxyHealthChecks: a node whose /healthz fails gets no requests until
// it passes again.
func TestProxyHealthChecks(t *testing.T) {
	t.Parallel()
	var sick atomic.Bool
	proxy := proxyOver(t, true, echoNode(t, "a", nil), echoNode(t, "b", &sick))
	// seen waits until a run of 10 requests all reach only the nodes in want.
	seen := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			got := ""
			for range 10 {
				if status, e, r := call(t, http.MethodGet, proxy.URL+"/x"); status != http.StatusOK {
					t.Fatalf("GET: %d %s", status, r.Body)
				} else if !strings.Contains(got, e.Node) {
					got += e.Node
				}
			}
			if got == want || got == want[1:]+want[:1] {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("requests reached %q, want %q", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	seen("ab")
	sick.Store(true)
	seen("a")
	for range 20 { // and it stays so
		if _, e, _ := call(t, http.MethodGet, proxy.URL+"/x"); e.Node != "a" {
			t.Fatalf("a request reached %q while its /healthz fails", e.Node)
		}
	}
	sick.Store(false)
	seen("ab")
}

// TestProxyWebsocket: a websocket passes through the proxy, and the node's
// origin check (Origin against Host, as the realtime hub does) accepts a
// browser on the proxy's origin.
func TestProxyWebsocket(t *testing.T) {
	t.Parallel()
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil) // verifies Origin against r.Host
		if err != nil {
			return
		}
		defer func() { _ = conn.CloseNow() }()
		for {
			typ, msg, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(node.Close)
	proxy := proxyOver(t, false, node)
	conn := testhttp.Dial(t, proxy.URL, "/ws", func(r *http.Request) { r.Header.Set("Origin", proxy.URL) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		want := fmt.Sprintf("hello %d", i)
		if err := conn.Write(ctx, websocket.MessageText, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := conn.Read(ctx); err != nil || string(got) != "echo: "+want {
			t.Fatalf("read %q, %v; want %q", got, err, "echo: "+want)
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
}

// TestProxyAllDown: with no node up, the answer is a 503 problem with
// Retry-After: 1, for GET (after trying every node) and POST alike.
func TestProxyAllDown(t *testing.T) {
	t.Parallel()
	a, b := echoNode(t, "a", nil), echoNode(t, "b", nil)
	proxy := proxyOver(t, false, a, b)
	a.Close()
	b.Close()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		r := testhttp.Send(t, method, proxy.URL+"/x", "")
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatalf("%s: %v: %q", method, err, r.Body)
		}
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" ||
			r.Header.Get("Content-Type") != "application/problem+json" || p.Status != 503 || p.Title != "Service Unavailable" || p.Detail == "" {
			t.Fatalf("%s with every node down: %d Retry-After %q %q %s", method, r.Status, r.Header.Get("Retry-After"), r.Header.Get("Content-Type"), r.Body)
		}
	}
}
