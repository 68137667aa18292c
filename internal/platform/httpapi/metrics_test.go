package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	call(t, srv, "GET", "/test/widgets/0190a6e4-7c5a-7b3e-8f00-000000000001", nil, "")
	call(t, srv, "GET", "/test/widgets/0190a6e4-7c5a-7b3e-8f00-000000000002", nil, "")
	call(t, srv, "POST", "/test/shelves/1/widgets", nil, validWidget)
	call(t, srv, "GET", "/no/such/path/123", nil, "")
	call(t, srv, "GET", "/no/such/path/456", nil, "")
	call(t, srv, "BREW", "/healthz", nil, "")

	m := s.metrics
	tests := []struct {
		route, method, status string
		want                  float64
	}{
		{"/test/widgets/{id}", "GET", "404", 2},
		{"/test/shelves/{shelf}/widgets", "POST", "201", 1},
		{"unmatched", "GET", "404", 2},
		{"unmatched", "OTHER", "405", 1},
	}
	for _, tt := range tests {
		if got := counterValue(t, m.requests.WithLabelValues(tt.route, tt.method, tt.status)); got != tt.want {
			t.Errorf("requests{%s,%s,%s} = %v, want %v", tt.route, tt.method, tt.status, got, tt.want)
		}
	}

	res, body := call(t, srv, "GET", "/metrics", nil, "")
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		`tessera_http_requests_total{method="GET",route="/test/widgets/{id}",status="404"} 2`,
		`tessera_http_request_duration_seconds_bucket{method="POST",route="/test/shelves/{shelf}/widgets",le="+Inf"} 1`,
		`tessera_http_requests_in_flight 1`, // the /metrics request itself
		`go_goroutines`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, raw := range []string{"/no/such/path", "0190a6e4", "BREW"} {
		if strings.Contains(text, raw) {
			t.Errorf("/metrics has a raw path or method %q: unbounded cardinality", raw)
		}
	}
}

func TestMetricsSharedRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, _ := newTestServer(t, Options{Metrics: reg})
	b, _ := newTestServer(t, Options{Metrics: reg}) // must not panic
	if a.Metrics() != reg || b.Metrics() != reg || a.metrics.requests != b.metrics.requests {
		t.Fatal("servers on one registry must share its collectors")
	}
}

func TestRouteLabel(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		"":                     "unmatched",
		"GET /rooms/{id}":      "/rooms/{id}",
		"/docs/":               "/docs/",
		"POST example.com/x":   "example.com/x",
		"preflight":            "preflight",
		"DELETE  /double/{id}": "/double/{id}",
	} {
		if got := routeLabel(pattern); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
