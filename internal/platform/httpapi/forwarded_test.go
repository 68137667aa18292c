package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/config"
)

func TestClientAddrBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	proxies, err := config.ParseTrustedProxies([]string{"10.0.0.0/8", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no header", "127.0.0.1:5000", nil, "127.0.0.1:5000"},
		{"untrusted peer's header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9:5000"},
		{"one proxy", "127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1:5000"},
		{"client-forged entries left of the real one", "127.0.0.1:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1:5000"},
		{"two trusted hops", "127.0.0.1:5000", []string{"198.51.100.1, 10.1.2.3"}, "198.51.100.1:5000"},
		{"header lines joined", "127.0.0.1:5000", []string{"198.51.100.1", "10.1.2.3"}, "198.51.100.1:5000"},
		{"garbage stops the walk", "127.0.0.1:5000", []string{"198.51.100.1, not-an-ip, 10.1.2.3"}, "10.1.2.3:5000"},
		{"only garbage", "127.0.0.1:5000", []string{"x"}, "127.0.0.1:5000"},
		{"IPv6 proxy and client", "[::1]:5000", []string{"2001:db8::7"}, "[2001:db8::7]:5000"},
		{"IPv4-mapped peer", "[::ffff:127.0.0.1]:5000", []string{"198.51.100.1"}, "198.51.100.1:5000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := trustedProxies(proxies).clientAddr(r); got != tc.want {
				t.Errorf("clientAddr = %q, want %q", got, tc.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := trustedProxies(nil).clientAddr(r); got != r.RemoteAddr {
		t.Errorf("with no trusted proxy, clientAddr = %q, want the peer", got)
	}
}

// TestTrustedProxyRewritesRemoteAddr: handlers (per-IP limits, logs) see
// the client's address; the caller's request is not modified.
func TestTrustedProxyRewritesRemoteAddr(t *testing.T) {
	t.Parallel()
	proxies, err := config.ParseTrustedProxies([]string{"127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newTestServer(t, Options{TrustedProxies: proxies})
	var seen string
	s.Handle("GET /test/raw/addr", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.RemoteAddr
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	res, _ := call(t, srv, "GET", "/test/raw/addr", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "")
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", res.StatusCode)
	}
	if want := "198.51.100.1:"; len(seen) < len(want) || seen[:len(want)] != want {
		t.Errorf("handler saw RemoteAddr %q, want the client 198.51.100.1", seen)
	}
}
