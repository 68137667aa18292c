package httpapi

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestDocs(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	res, body := call(t, srv, "GET", "/docs", nil, "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	page := string(body)
	if !strings.Contains(page, "/openapi.json") || !strings.Contains(page, "tessera-init.js") {
		t.Fatal("/docs does not load the document")
	}
	if strings.Contains(page, "://") {
		t.Fatal("/docs refers to another origin: it must work offline")
	}
	for _, asset := range []struct{ path, ctype string }{
		{"/docs/assets/swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
		{"/docs/assets/swagger-ui.css", "text/css; charset=utf-8"},
		{"/docs/assets/tessera-init.js", "text/javascript; charset=utf-8"},
		{"/docs/assets/LICENSE", "text/plain; charset=utf-8"},
	} {
		res, body := call(t, srv, "GET", asset.path, nil, "")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != asset.ctype || len(body) == 0 {
			t.Fatalf("%s: %d %q", asset.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		etag := res.Header.Get("ETag")
		res, body = call(t, srv, "GET", asset.path, map[string]string{"If-None-Match": etag}, "")
		if res.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("%s revalidation: %d", asset.path, res.StatusCode)
		}
	}
	res, body = call(t, srv, "GET", "/docs/assets/..%2fdocs.go", nil, "")
	checkProblem(t, res, body, 404)
}

// TestDocsRendersInChromium loads /docs in headless Chromium, offline (no
// network but the test server), under the server's Content-Security-Policy,
// and checks that Swagger UI rendered the test API's operations. Skipped
// when chromium is not installed (apt-get install -y chromium).
func TestDocsRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--user-data-dir="+t.TempDir(),
		// Any host but the test server's resolves nowhere: a CDN load fails.
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--virtual-time-budget=10000", "--dump-dom", srv.URL+"/docs")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{"swagger-ui", "Test API", "/test/shelves/{shelf}/widgets", "Create a widget", "opblock"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered /docs lacks %q", want)
		}
	}
}
