package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequest drives the whole edge (middleware, mux, Huma decoding and
// validation, fault mapping) with arbitrary methods, paths, queries,
// headers, content types and bodies against the test API. However malformed
// the request: no panic escapes, no 5xx, every error is a problem+json
// whose status member matches the response, and every response has a
// request id. Seeds: f.Add below and testdata/fuzz/FuzzRequest/.
//
//	go test -fuzz=FuzzRequest -fuzztime=5m ./internal/platform/httpapi
func FuzzRequest(f *testing.F) {
	s := New(Options{
		Title: "Fuzz", Version: "1",
		Logger:      slog.New(slog.DiscardHandler),
		CORSOrigins: []string{"https://app.example.com"},
	})
	registerTestAPI(s, false)
	h := s.Handler()

	const create = "/test/shelves/1/widgets"
	f.Add("POST", create, "limit=10&active=true&sort=name&color=r&color=g", "application/json", `"v1"`, "5", "", "", []byte(validWidget))
	f.Add("POST", create, "", "application/json", "", "", "", "id-1", []byte(`{"name":"w","kind":"small","nested":{"level":1},"extra":true}`))
	f.Add("POST", create, "", "text/plain", "", "", "", "", []byte(`{"name":"w"}`))
	f.Add("POST", "/test/shelves/x/widgets", "limit=-1", "", "", "abc", "", "", []byte(`{"name":`))
	f.Add("GET", "/test/widgets/0190a6e4-7c5a-7b3e-8f00-000000000001", "", "", "", "", "", "", []byte(nil))
	f.Add("POST", create, "", "application/json", "", "", "", "", []byte(`{"name":"conflict","kind":"large","nested":{"level":5}}`))
	f.Add("GET", "/test/raw/ok", "", "", "", "", "", "", []byte(nil))
	f.Add("OPTIONS", create, "", "", "", "", "https://app.example.com", "", []byte(nil))
	f.Add("PATCH", "/healthz", "", "application/merge-patch+json", "", "", "https://evil.example", "", []byte("{}"))
	f.Add("GET", "/test/../docs", "", "", "", "", "", "", []byte(nil))

	f.Fuzz(func(t *testing.T, method, path, query, contentType, ifMatch, xCount, origin, requestID string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u, err := url.Parse("http://example.com" + path)
		if err != nil || u.Host != "example.com" {
			return
		}
		u.RawQuery = query
		req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return // not a request a server could parse
		}
		req.RequestURI = req.URL.RequestURI()
		req.RemoteAddr = "192.0.2.1:1234"
		for k, v := range map[string]string{
			"Content-Type": contentType, "If-Match": ifMatch, "X-Count": xCount,
			"Origin": origin, "X-Request-Id": requestID,
		} {
			if v != "" && validHeaderValue(v) {
				req.Header.Set(k, v)
			}
		}
		if method == http.MethodOptions && origin != "" {
			req.Header.Set("Access-Control-Request-Method", "POST")
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()

		if res.StatusCode >= 500 {
			t.Fatalf("%s %s?%s: %d %s", method, path, query, res.StatusCode, rec.Body.Bytes())
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Fatal("no X-Request-Id")
		}
		switch {
		case res.StatusCode < 300, res.StatusCode == http.StatusNotModified:
		case res.StatusCode < 400:
			if res.Header.Get("Location") == "" {
				t.Fatalf("redirect %d without Location", res.StatusCode)
			}
		default:
			parseProblem(t, res.Header.Get("Content-Type"), rec.Body.Bytes(), res.StatusCode)
		}
	})
}

// validHeaderValue reports whether v could arrive as a header value
// (RFC 9110: visible characters, spaces and tabs, obs-text).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(v) == v
}
