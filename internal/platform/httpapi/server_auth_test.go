package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// TestAuthenticateWrapsMatchedRoutes: the authenticate hook sees every
// matched route, and its problems carry the request id like any other.
func TestAuthenticateWrapsMatchedRoutes(t *testing.T) {
	t.Parallel()
	srv := New(Options{Authenticate: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer good" {
				WriteProblem(w, r, fault.New(fault.Unauthorized, "bad credentials"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, c := range []struct {
		auth   string
		status int
	}{{"", http.StatusUnauthorized}, {"Bearer good", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/healthz", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("auth %q: %d %s", c.auth, resp.StatusCode, body)
		}
		if c.status == http.StatusUnauthorized && (resp.Header.Get("X-Request-Id") == "" || !strings.Contains(string(body), `"status":401`)) {
			t.Errorf("401 must be a problem with a request id: %v %s", resp.Header, body)
		}
	}
}
