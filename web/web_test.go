package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

func newServer(t *testing.T) (*httptest.Server, *console) {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux.Handle)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, load()
}

// get sends GET url with the header pairs given (name, value, …).
func get(t *testing.T, url string, header ...string) testhttp.Response {
	t.Helper()
	return testhttp.Send(t, http.MethodGet, url, "", func(r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
	})
}

// TestIndex: / serves the index, revalidated on every load (ETag, 304),
// pointing at the assets of this binary's version, with no inline script
// or style (the edge's Content-Security-Policy allows neither script).
func TestIndex(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	res := get(t, srv.URL+"/")
	if res.Status != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("/: %d %q %q", res.Status, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	if !strings.Contains(res.Body, `src="`+PathPrefix+c.version+`/main.js"`) || strings.Contains(res.Body, "{{") {
		t.Fatalf("index does not load this version's main.js:\n%s", res.Body)
	}
	if regexp.MustCompile(`<script(?:[^>]*)>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(res.Body) {
		t.Fatalf("index has inline script or style:\n%s", res.Body)
	}
	if again := get(t, srv.URL+"/", "If-None-Match", res.Header.Get("ETag")); again.Status != http.StatusNotModified || again.Body != "" {
		t.Fatalf("revalidation: %d", again.Status)
	}
	if res := get(t, srv.URL+"/index.html"); res.Status != http.StatusNotFound {
		t.Fatalf("/index.html: %d", res.Status)
	}
}

// TestAssets: every embedded file is served under the current version with
// its type and a year of immutable caching; under another version (a page
// of an older or newer binary) without caching; unknown files are a 404
// problem.
func TestAssets(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	if len(c.assets) < 10 {
		t.Fatalf("only %d assets embedded", len(c.assets))
	}
	for name, a := range c.assets {
		if name == "index.html" {
			continue
		}
		res := get(t, srv.URL+PathPrefix+c.version+"/"+name)
		if res.Status != 200 || res.Header.Get("Content-Type") != a.contentType || res.Body != string(a.body) ||
			res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || res.Header.Get("ETag") != a.etag {
			t.Fatalf("%s: %d %q %q", name, res.Status, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}
	}
	if res := get(t, srv.URL+PathPrefix+"0ld/main.js"); res.Status != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("another version: %d %q", res.Status, res.Header.Get("Cache-Control"))
	}
	if res := get(t, srv.URL+PathPrefix+c.version+"/main.js", "If-None-Match", c.assets["main.js"].etag); res.Status != http.StatusNotModified {
		t.Fatalf("asset revalidation: %d", res.Status)
	}
	for _, p := range []string{"nope.js", "index.html", "../web.go", "core", ""} {
		res := get(t, srv.URL+PathPrefix+c.version+"/"+p)
		if res.Status != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%q: %d %q %s", p, res.Status, res.Header.Get("Content-Type"), res.Body)
		}
	}
}

var (
	importRE = regexp.MustCompile(`(?m)(?:^import|^export|\bfrom)\s*(?:[^'"]*?from\s*)?["']([^"']+)["']`)
	urlRE    = regexp.MustCompile(`\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
)

// TestModules: every relative import of every module names an embedded
// file (the browser would fail on a typo only at run time), no module
// imports a bare name (there is no import map: the CSP forbids the inline
// script it needs), and no asset refers to another host (everything is
// embedded; the vendored licences' texts and the SVG namespace aside).
func TestModules(t *testing.T) {
	t.Parallel()
	c := load()
	for name, a := range c.assets {
		if strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs") {
			for _, m := range importRE.FindAllStringSubmatch(string(a.body), -1) {
				spec := m[1]
				if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
					t.Errorf("%s imports %q: only relative imports resolve", name, spec)
					continue
				}
				if _, ok := c.assets[path.Join(path.Dir(name), spec)]; !ok {
					t.Errorf("%s imports %q: no such embedded file", name, spec)
				}
			}
		}
		if strings.Contains(name, "LICENSE") {
			continue
		}
		text := strings.ReplaceAll(string(a.body), "http://www.w3.org/", "")
		if u := urlRE.FindString(text); u != "" {
			t.Errorf("%s refers to %s: the console loads nothing from elsewhere", name, u)
		}
	}
	if _, err := fs.Stat(assetsFS, "assets/main.js"); err != nil {
		t.Fatal(err)
	}
}
