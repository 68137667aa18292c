package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

func TestRequestDecodingErrors(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	const create = "/test/shelves/1/widgets"
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name     string
		method   string
		path     string
		header   map[string]string
		body     string
		status   int
		location string // an errors[].location expected in the problem
	}{
		{"valid", "POST", create, nil, validWidget, 201, ""},
		{"valid with params", "POST", create + "?limit=10&active=true&sort=name&label=x&color=r&color=g",
			map[string]string{"If-Match": `"v1"`, "X-Count": "5"}, validWidget, 201, ""},
		{"content type with charset", "POST", create, map[string]string{"Content-Type": "application/json; charset=utf-8"}, validWidget, 201, ""},
		{"unknown field", "POST", create, nil, `{"name":"w","kind":"small","nested":{"level":1},"colour":"red"}`, 400, "body.colour"},
		{"unknown nested field", "POST", create, nil, `{"name":"w","kind":"small","nested":{"level":1,"x":1}}`, 400, "body.nested.x"},
		{"field in the wrong case", "POST", create, nil, `{"Name":"w","kind":"small","nested":{"level":1}}`, 400, "body.Name"},
		{"unknown and invalid field", "POST", create, nil, `{"name":"w","kind":"huge","nested":{"level":1},"x":1}`, 400, "body.x"},
		{"malformed JSON", "POST", create, nil, `{"name":`, 400, "body"},
		{"not an object", "POST", create, nil, `[1,2]`, 422, "body"},
		{"trailing garbage", "POST", create, nil, validWidget + `}`, 400, "body"},
		{"empty body", "POST", create, nil, "", 400, ""},
		{"wrong content type", "POST", create, map[string]string{"Content-Type": "text/plain"}, validWidget, 415, ""},
		{"xml content type", "POST", create, map[string]string{"Content-Type": "application/xml"}, `<a/>`, 415, ""},
		{"body too large", "POST", create, nil, big, 413, ""},
		{"int above maximum", "POST", create, nil, `{"name":"w","count":5000,"kind":"small","nested":{"level":1}}`, 422, "body.count"},
		{"int as string", "POST", create, nil, `{"name":"w","count":"5","kind":"small","nested":{"level":1}}`, 422, "body.count"},
		{"float for int", "POST", create, nil, `{"name":"w","count":1.5,"kind":"small","nested":{"level":1}}`, 422, "body.count"},
		{"enum", "POST", create, nil, `{"name":"w","kind":"huge","nested":{"level":1}}`, 422, "body.kind"},
		{"string too long", "POST", create, nil, `{"name":"` + strings.Repeat("n", 21) + `","kind":"small","nested":{"level":1}}`, 422, "body.name"},
		{"missing required", "POST", create, nil, `{"kind":"small","nested":{"level":1}}`, 422, "body"},
		{"nested min", "POST", create, nil, `{"name":"w","kind":"small","nested":{"level":0}}`, 422, "body.nested.level"},
		{"array too long", "POST", create, nil, `{"name":"w","kind":"small","nested":{"level":1},"tags":["a","b","c","d","e","f"]}`, 422, "body.tags"},
		{"array item pattern", "POST", create, nil, `{"name":"w","kind":"small","nested":{"level":1},"parts":[{"id":"x","quantity":1}]}`, 422, "body.parts[0].id"},
		{"query int not a number", "POST", create + "?limit=abc", nil, validWidget, 422, "query.limit"},
		{"query int out of range", "POST", create + "?limit=0", nil, validWidget, 422, "query.limit"},
		{"query bool", "POST", create + "?active=maybe", nil, validWidget, 422, "query.active"},
		{"query enum", "POST", create + "?sort=up", nil, validWidget, 422, "query.sort"},
		{"query string too long", "POST", create + "?label=" + strings.Repeat("l", 11), nil, validWidget, 422, "query.label"},
		{"query array too long", "POST", create + "?color=a&color=b&color=c&color=d", nil, validWidget, 422, "query.color"},
		{"path int", "POST", "/test/shelves/abc/widgets", nil, validWidget, 422, "path.shelf"},
		{"path int out of range", "POST", "/test/shelves/0/widgets", nil, validWidget, 422, "path.shelf"},
		{"header int", "POST", create, map[string]string{"X-Count": "many"}, validWidget, 422, "header.X-Count"},
		{"path uuid", "GET", "/test/widgets/not-a-uuid", nil, "", 422, "path.id"},
		{"fault from handler", "GET", "/test/widgets/0190a6e4-7c5a-7b3e-8f00-000000000001", nil, "", 404, ""},
		{"conflict from handler", "POST", create, nil, `{"name":"conflict","kind":"small","nested":{"level":1}}`, 409, ""},
		{"unknown route", "GET", "/nowhere", nil, "", 404, ""},
		{"unknown route under an app", "GET", "/test/nowhere", nil, "", 404, ""},
		{"wrong method", "DELETE", create, nil, "", 405, ""},
		{"wrong method on raw route", "POST", "/test/raw/ok", nil, "", 405, ""},
		{"unknown docs asset", "GET", "/docs/assets/nope.js", nil, "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := call(t, srv, tt.method, tt.path, tt.header, tt.body)
			if tt.status < 400 {
				if res.StatusCode != tt.status {
					t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.status, body)
				}
				return
			}
			p := checkProblem(t, res, body, tt.status)
			if tt.location != "" && !hasLocation(p, tt.location) {
				t.Fatalf("no error at %q in %s", tt.location, body)
			}
			if tt.status == 405 && res.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
			if len(body) > 4096 {
				t.Fatalf("problem is %d bytes: values must be bounded", len(body))
			}
		})
	}
}

func hasLocation(p problemBody, loc string) bool {
	for _, e := range p.Errors {
		if e.Location == loc {
			return true
		}
	}
	return false
}

// TestFaultMapping checks every fault code, through a Huma operation and
// through a raw handler's WriteProblem: one mapping for both.
func TestFaultMapping(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		code    string
		status  int
		detail  string
		headers map[string]string
	}{
		{"invalid", 422, "widget is invalid", nil},
		{"malformed", 400, "failed with malformed", nil},
		{"unauthorized", 401, "failed with unauthorized", map[string]string{"WWW-Authenticate": "Bearer"}},
		{"forbidden", 403, "failed with forbidden", nil},
		{"not_found", 404, "failed with not_found", nil},
		{"conflict", 409, "failed with conflict", nil},
		{"precondition", 412, "failed with precondition", nil},
		{"too_large", 413, "failed with too_large", nil},
		{"unsupported", 415, "failed with unsupported", nil},
		{"rate_limited", 429, "slow down", map[string]string{"Retry-After": "7"}},
		{"unavailable", 503, "try again later", map[string]string{"Retry-After": "5"}},
		{"internal", 500, "", nil},
		{"plain", 500, "", nil},
		{"bogus", 500, "", nil},
		{"wrapped", 404, "room 7 not found", nil},
	}
	for _, prefix := range []string{"/test/fail/", "/test/raw/fail/"} {
		for _, tt := range tests {
			t.Run(prefix+tt.code, func(t *testing.T) {
				t.Parallel()
				id := "req-" + strings.ReplaceAll(strings.Trim(prefix, "/"), "/", "-") + "-" + tt.code
				res, body := call(t, srv, "GET", prefix+tt.code, map[string]string{"X-Request-Id": id}, "")
				p := checkProblem(t, res, body, tt.status)
				if tt.status == 500 {
					if !strings.Contains(p.Detail, id) {
						t.Errorf("500 detail %q lacks the request id %q", p.Detail, id)
					}
					if strings.Contains(string(body), "secret") {
						t.Errorf("500 leaks its cause: %s", body)
					}
					if !strings.Contains(logs.String(), id) {
						t.Errorf("cause not logged with request id %s", id)
					}
				} else if p.Detail != tt.detail {
					t.Errorf("detail = %q, want %q", p.Detail, tt.detail)
				}
				for k, v := range tt.headers {
					if got := res.Header.Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if tt.code == "invalid" && (len(p.Errors) != 1 || p.Errors[0].Location != "body.name" || p.Errors[0].Value != "bob") {
					t.Errorf("invalid errors = %+v", p.Errors)
				}
			})
		}
	}
	t.Run("cause of a non-internal fault is logged, not shown", func(t *testing.T) {
		res, body := call(t, srv, "GET", "/test/fail/unavailable", map[string]string{"X-Request-Id": "unavail-cause"}, "")
		checkProblem(t, res, body, 503)
		if strings.Contains(string(body), "redis") {
			t.Errorf("cause shown: %s", body)
		}
		if !strings.Contains(logs.String(), "secret: redis down") {
			t.Error("cause not logged")
		}
	})
}

func TestInternalErrorFromHandlerIsHidden(t *testing.T) {
	t.Parallel()
	s, logs := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	res, body := call(t, srv, "POST", "/test/shelves/1/widgets", map[string]string{"X-Request-Id": "boom-1"},
		`{"name":"boom","kind":"small","nested":{"level":1}}`)
	p := checkProblem(t, res, body, 500)
	if strings.Contains(string(body), "secret") || len(p.Errors) != 0 {
		t.Fatalf("500 leaks: %s", body)
	}
	if !strings.Contains(p.Detail, "boom-1") {
		t.Fatalf("detail %q lacks the request id", p.Detail)
	}
	var found bool
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "secret database password") && strings.Contains(line, `"request_id":"boom-1"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("cause not logged with the request id:\n%s", logs.String())
	}
}

func TestProblemFromError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"nil", nil, 500},
		{"plain", errors.New("x"), 500},
		{"fault", fault.New(fault.Conflict, "c"), 409},
		{"wrapped fault", fmt.Errorf("a: %w", fault.New(fault.Forbidden, "f")), 403},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413},
		{"problem", newProblem(418, "teapot"), 418},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := problemFromError(tt.err).Status; got != tt.status {
				t.Fatalf("status = %d, want %d", got, tt.status)
			}
		})
	}
}

func TestSafeValue(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100) // 200 bytes
	got, _ := safeValue(long).(string)
	if len(got) > maxValueLen+len("…") || !strings.HasSuffix(got, "…") {
		t.Fatalf("long string not cut: %d bytes", len(got))
	}
	if !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatal("cut inside a rune")
	}
	if safeValue(map[string]any{"a": 1}) != nil || safeValue([]any{1}) != nil {
		t.Fatal("composite values must be dropped")
	}
	if safeValue(3.5) != 3.5 || safeValue("x") != "x" || safeValue(true) != true {
		t.Fatal("scalars must be kept")
	}
}

// failingBody returns some bytes, then an error, as a broken connection or
// chunked encoding does.
type failingBody struct{ sent bool }

func (b *failingBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, errors.New("secret: connection reset")
	}
	b.sent = true
	return copy(p, `{"name":`), nil
}

func (b *failingBody) Close() error { return nil }

func TestBodyReadFailures(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	tests := []struct {
		name   string
		body   func() io.ReadCloser
		status int
	}{
		{"read error", func() io.ReadCloser { return &failingBody{} }, 400},
		{"max bytes reader", func() io.ReadCloser {
			return http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(validWidget)), 10)
		}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/test/shelves/1/widgets", nil)
			req.Body = tt.body()
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; %s", rec.Code, tt.status, rec.Body)
			}
			parseProblem(t, rec.Header().Get("Content-Type"), rec.Body.Bytes(), tt.status)
			if strings.Contains(rec.Body.String(), "secret") {
				t.Fatalf("leaks the read error: %s", rec.Body)
			}
		})
	}
}
