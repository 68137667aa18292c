package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	res, body := call(t, srv, "GET", "/healthz", nil, "")
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := Check{Name: "database", Check: func(context.Context) error { return nil }}
	down := Check{Name: "redis", Check: func(context.Context) error { return errors.New("dial tcp 10.1.2.3:6379: refused") }}
	slow := Check{Name: "blobs", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	stuck := Check{Name: "stuck", Check: func(context.Context) error { select {} }}
	panics := Check{Name: "panics", Check: func(context.Context) error { panic("check bug") }}

	tests := []struct {
		name   string
		checks []Check
		status int
		failed []string
	}{
		{"no checks", nil, 200, nil},
		{"all pass", []Check{ok}, 200, nil},
		{"one fails", []Check{ok, down}, 503, []string{"redis"}},
		{"timeout", []Check{ok, slow}, 503, []string{"blobs"}},
		{"ignores its context", []Check{stuck}, 503, []string{"stuck"}},
		{"panics", []Check{panics, ok}, 503, []string{"panics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, logs := newTestServer(t, Options{Checks: tt.checks})
			srv := httptest.NewServer(s.Handler())
			t.Cleanup(srv.Close)
			res, body := call(t, srv, "GET", "/readyz", nil, "")
			if tt.status == 200 {
				var got struct {
					Status string            `json:"status"`
					Checks map[string]string `json:"checks"`
				}
				if res.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got.Status != "ok" || len(got.Checks) != len(tt.checks) {
					t.Fatalf("%d %s", res.StatusCode, body)
				}
				for _, c := range tt.checks {
					if got.Checks[c.Name] != "ok" {
						t.Fatalf("check %s = %q", c.Name, got.Checks[c.Name])
					}
				}
				return
			}
			p := checkProblem(t, res, body, 503)
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			for _, name := range tt.failed {
				if !strings.Contains(p.Detail, name) || !hasLocation(p, "checks."+name) {
					t.Fatalf("failed check %s not named: %s", name, body)
				}
				if !strings.Contains(logs.String(), `"check":"`+name+`"`) {
					t.Fatalf("failure of %s not logged", name)
				}
			}
			if strings.Contains(string(body), "10.1.2.3") || strings.Contains(string(body), "database") {
				t.Fatalf("body shows error text or passing checks: %s", body)
			}
		})
	}
}
