package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Options{})
	var seen string
	s.Handle("GET /test/raw/id", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
		slog.New(LogHandler(slog.NewJSONHandler(io.Discard, nil))).InfoContext(r.Context(), "x") // must not panic
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"kept", "abc-123_X.y", true},
		{"max length kept", strings.Repeat("a", 128), true},
		{"absent", "", false},
		{"too long", strings.Repeat("a", 129), false},
		{"bad characters", "abc def", false},
		{"log injection", `x","level":"ERROR`, false},
		{"unicode", "ïd", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.sent != "" {
				h["X-Request-Id"] = tt.sent
			}
			res, _ := call(t, srv, "GET", "/test/raw/id", h, "")
			got := res.Header.Get("X-Request-Id")
			if got != seen {
				t.Fatalf("header %q, context %q", got, seen)
			}
			if tt.kept {
				if got != tt.sent {
					t.Fatalf("request id %q, want %q", got, tt.sent)
				}
				return
			}
			u, err := uuid.Parse(got)
			if err != nil || u.Version() != 7 {
				t.Fatalf("request id %q is not a UUIDv7", got)
			}
		})
	}
	t.Run("on every response, errors included", func(t *testing.T) {
		for _, path := range []string{"/nowhere", "/test/fail/plain", "/test/raw/panic", "/healthz"} {
			res, _ := call(t, srv, "GET", path, nil, "")
			if res.Header.Get("X-Request-Id") == "" {
				t.Errorf("%s: no X-Request-Id", path)
			}
		}
	})
	t.Run("in the request log line", func(t *testing.T) {
		call(t, srv, "GET", "/test/raw/id", map[string]string{"X-Request-Id": "log-line-id"}, "")
		line := findLogLine(t, logs, func(m map[string]any) bool { return m["msg"] == "request" && m["request_id"] == "log-line-id" })
		for k, want := range map[string]any{"method": "GET", "route": "/test/raw/id", "path": "/test/raw/id", "status": float64(204), "bytes": float64(0)} {
			if line[k] != want {
				t.Errorf("log %s = %v, want %v", k, line[k], want)
			}
		}
		for _, k := range []string{"duration_ms", "remote", "time", "level"} {
			if _, ok := line[k]; !ok {
				t.Errorf("log line lacks %s: %v", k, line)
			}
		}
	})
}

// findLogLine returns the first JSON log line match accepts.
func findLogLine(t *testing.T, logs *logBuffer, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if match(m) {
			return m
		}
	}
	t.Fatalf("no matching log line in:\n%s", logs.String())
	return nil
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	want := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"X-Frame-Options":            "DENY",
		"Content-Security-Policy":    contentSecurityPolicy(nil),
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	check := func(t *testing.T, srv *httptest.Server, tls bool) {
		for _, path := range []string{"/healthz", "/nowhere", "/test/fail/plain", "/test/raw/panic", "/docs", "/openapi.json", "/metrics"} {
			res, _ := call(t, srv, "GET", path, nil, "")
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %s = %q, want %q", path, k, got, v)
				}
			}
			hsts := res.Header.Get("Strict-Transport-Security")
			if tls != (hsts != "") {
				t.Errorf("%s: TLS %v, HSTS %q", path, tls, hsts)
			}
		}
	}
	t.Run("plain HTTP: no HSTS", func(t *testing.T) {
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		check(t, srv, false)
	})
	t.Run("TLS: HSTS", func(t *testing.T) {
		srv := httptest.NewTLSServer(s.Handler())
		t.Cleanup(srv.Close)
		check(t, srv, true)
	})
}

// TestMediaOrigins: the blob store's origin joins connect-src and img-src;
// anything that is not exactly an http(s) origin never reaches the header.
func TestMediaOrigins(t *testing.T) {
	t.Parallel()
	s3 := originOf("https://bucket.s3.eu-west-3.amazonaws.com/key?X-Amz-Signature=abc")
	if s3 != "https://bucket.s3.eu-west-3.amazonaws.com" {
		t.Fatalf("MediaOrigin = %q", s3)
	}
	for _, bad := range []string{"", "ftp://x", "/relative", "http://"} {
		if got := originOf(bad); got != "" {
			t.Errorf("originOf(%q) = %q", bad, got)
		}
	}
	s, _ := newTestServer(t, Options{MediaOrigins: []string{s3, "http://127.0.0.1:7070", s3, "https://x.example/path", "'unsafe-eval'", ""}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	res, _ := call(t, srv, "GET", "/healthz", nil, "")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{
		"connect-src 'self' " + s3 + " http://127.0.0.1:7070;",
		"img-src 'self' data: " + s3 + " http://127.0.0.1:7070;",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "path") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q took an invalid origin", csp)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const allowed = "https://app.example.com"
	open, _ := newTestServer(t, Options{CORSOrigins: []string{allowed + "/", "http://localhost:3000"}})
	closed, _ := newTestServer(t, Options{})
	openSrv, closedSrv := httptest.NewServer(open.Handler()), httptest.NewServer(closed.Handler())
	t.Cleanup(openSrv.Close)
	t.Cleanup(closedSrv.Close)

	preflight := func(origin string) map[string]string {
		return map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "content-type, authorization, x-bad header, if-match",
		}
	}
	tests := []struct {
		name       string
		srv        *httptest.Server
		method     string
		header     map[string]string
		status     int
		allowed    bool
		allowHdrs  string
		preflights bool
	}{
		{"actual request, allowed origin", openSrv, "GET", map[string]string{"Origin": allowed}, 200, true, "", false},
		{"actual request, other origin", openSrv, "GET", map[string]string{"Origin": "https://evil.example.com"}, 200, false, "", false},
		{"actual request, no origin", openSrv, "GET", nil, 200, false, "", false},
		{"preflight, allowed origin", openSrv, "OPTIONS", preflight(allowed), 204, true, "content-type, authorization, if-match", true},
		{"preflight, other origin", openSrv, "OPTIONS", preflight("https://evil.example.com"), 403, false, "", true},
		{"preflight, origin differing in port", openSrv, "OPTIONS", preflight("http://localhost:3001"), 403, false, "", true},
		{"closed: actual request", closedSrv, "GET", map[string]string{"Origin": allowed}, 200, false, "", false},
		{"closed: preflight", closedSrv, "OPTIONS", preflight(allowed), 403, false, "", true},
		{"plain OPTIONS is not a preflight", openSrv, "OPTIONS", map[string]string{"Origin": allowed}, 405, true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := call(t, tt.srv, tt.method, "/healthz", tt.header, "")
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; %s", res.StatusCode, tt.status, body)
			}
			if res.StatusCode >= 400 {
				checkProblem(t, res, body, tt.status)
			}
			acao := res.Header.Get("Access-Control-Allow-Origin")
			if tt.allowed && acao != tt.header["Origin"] || !tt.allowed && acao != "" {
				t.Fatalf("Access-Control-Allow-Origin = %q", acao)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Fatalf("Vary = %q", res.Header.Values("Vary"))
			}
			if tt.preflights && tt.allowed {
				if got := res.Header.Get("Access-Control-Allow-Headers"); got != tt.allowHdrs {
					t.Fatalf("Allow-Headers = %q, want %q", got, tt.allowHdrs)
				}
				if !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
					t.Fatalf("Allow-Methods = %q", res.Header.Get("Access-Control-Allow-Methods"))
				}
			}
			if !tt.allowed && res.Header.Get("Access-Control-Allow-Methods") != "" {
				t.Fatal("CORS headers sent to a disallowed origin")
			}
		})
	}
}

func TestRecovery(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, method, path, body, leak string
	}{
		{"huma operation", "POST", "/test/shelves/1/widgets", `{"name":"panic","kind":"small","nested":{"level":1}}`, "secret panic value"},
		{"raw handler", "GET", "/test/raw/panic", "", "secret raw panic value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "rcv-" + strings.ReplaceAll(tt.name, " ", "-")
			res, body := call(t, srv, tt.method, tt.path, map[string]string{"X-Request-Id": id}, tt.body)
			p := checkProblem(t, res, body, 500)
			for _, leak := range []string{tt.leak, "goroutine", ".go:", "panic"} {
				if strings.Contains(string(body), leak) {
					t.Errorf("response leaks %q: %s", leak, body)
				}
			}
			if !strings.Contains(p.Detail, id) {
				t.Errorf("detail %q lacks the request id", p.Detail)
			}
			if res.Header.Get("ETag") != "" {
				t.Error("a panicking handler's headers survived")
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Request-Id") != id {
				t.Error("edge headers lost")
			}
			line := findLogLine(t, logs, func(m map[string]any) bool {
				return m["msg"] == "panic serving request" && m["request_id"] == id
			})
			if line["panic"] != tt.leak || !strings.Contains(line["stack"].(string), "goroutine") {
				t.Errorf("panic log line = %v", line)
			}
			findLogLine(t, logs, func(m map[string]any) bool {
				return m["msg"] == "request" && m["request_id"] == id && m["status"] == float64(500)
			})
		})
	}
	t.Run("after the head went out, the connection is cut", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/test/raw/panic-after-write", nil)
		res, err := srv.Client().Do(req)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if err == nil {
			t.Fatal("a response cut by a panic read as complete")
		}
	})
	t.Run("http.ErrAbortHandler is re-panicked", func(t *testing.T) {
		rec := httptest.NewRecorder()
		defer func() {
			if v := recover(); v != http.ErrAbortHandler { //nolint:errorlint // identity is the contract
				t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
			}
			if rec.Code != 200 || rec.Body.Len() != 0 {
				t.Fatal("an aborted handler got a response")
			}
		}()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/test/raw/abort", nil))
	})
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	h := LogHandler(slog.NewJSONHandler(logs, nil))
	if LogHandler(h) != h {
		t.Fatal("wrapping twice must be a no-op")
	}
	log := slog.New(h).With("app", "x")
	ctx := withReqInfo(context.Background(), &reqInfo{id: "ctx-id"})
	log.InfoContext(ctx, "with")
	log.Info("without")
	findLogLine(t, logs, func(m map[string]any) bool {
		return m["msg"] == "with" && m["request_id"] == "ctx-id" && m["app"] == "x"
	})
	line := findLogLine(t, logs, func(m map[string]any) bool { return m["msg"] == "without" })
	if _, ok := line["request_id"]; ok {
		t.Fatal("request_id outside a request")
	}
	if RequestID(context.Background()) != "" {
		t.Fatal("RequestID outside a request")
	}
}

func TestRequestedHeaders(t *testing.T) {
	t.Parallel()
	got := requestedHeaders([]string{"a, b c, , d", strings.Repeat("x", 2000), "e"})
	if got != "a, d" { // invalid names dropped, and the list stops at its bound
		t.Fatalf("got %q", got)
	}
}
