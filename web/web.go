// Package web serves the web console: a single-page app of plain ES modules,
// HTML and CSS (no build step; Preact and htm vendored under
// assets/vendor), embedded in the binary. The index is served at / and the
// assets under /console/<version>/, where version is a hash of every asset:
// a new binary changes every asset URL, so assets are cached for good and
// the index is revalidated on each load. The console uses only the public
// HTTP API; see docs/console.md.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// PathPrefix is where the console's assets are served (the index is at /).
const PathPrefix = "/console/"

//go:embed assets
var assetsFS embed.FS

// contentTypes are the types of the console's files, by extension; a file
// of any other kind is refused at start (see load), so none goes out with
// a sniffed type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	"":      "text/plain; charset=utf-8", // the vendored libraries' LICENSE-* files
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// console holds the embedded files, read and hashed once by load;
// read-only afterwards, so safe for concurrent requests.
type console struct {
	version string           // hash of every asset: the path segment after PathPrefix
	index   asset            // index.html with the asset URLs filled in
	assets  map[string]asset // by path under assets/, e.g. "core/ui.js"
}

// Register mounts the console with handle (the edge's or a ServeMux's
// Handle): GET / serves the index and GET /console/ the assets.
func Register(handle func(pattern string, h http.Handler)) {
	c := load()
	handle("GET /{$}", http.HandlerFunc(c.serveIndex))
	handle("GET "+PathPrefix, http.HandlerFunc(c.serveAsset))
}

// load reads every embedded file. A broken embed (an unknown file kind, no
// index) is a programming error caught by the package's tests, so it
// panics.
func load() *console {
	c := &console{assets: map[string]asset{}}
	sum := sha256.New()
	err := fs.WalkDir(assetsFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(assetsFS, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			panic("web: no content type for embedded asset " + p)
		}
		name := strings.TrimPrefix(p, "assets/")
		c.assets[name] = asset{body: body, contentType: ct, etag: etag(body)}
		sum.Write([]byte(name))
		sum.Write([]byte{0})
		sum.Write(body)
		return nil
	})
	if err != nil {
		panic("web: embedded assets: " + err.Error())
	}
	c.version = hex.EncodeToString(sum.Sum(nil)[:6])
	index, ok := c.assets["index.html"]
	if !ok {
		panic("web: embedded assets: no index.html")
	}
	body := bytes.ReplaceAll(index.body, []byte("{{assets}}"), []byte(PathPrefix+c.version))
	c.index = asset{body: body, contentType: index.contentType, etag: etag(body)}
	return c
}

func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// serveIndex serves the page every console route starts from; it is
// revalidated on each load, so a new binary's assets are picked up at once.
func (c *console) serveIndex(w http.ResponseWriter, r *http.Request) {
	serve(w, r, c.index, "no-cache")
}

// serveAsset serves /console/<version>/<file>. Under the current version
// an asset never changes, so it is cached for a year; under another one (a
// page from an older or newer binary, during a rolling upgrade) it is
// served as it is here, uncached.
func (c *console) serveAsset(w http.ResponseWriter, r *http.Request) {
	version, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, PathPrefix), "/")
	a, ok := c.assets[name]
	if !ok || name == "index.html" {
		httpapi.WriteProblem(w, r, fault.New(fault.NotFound, "no such console asset"))
		return
	}
	cache := "public, max-age=31536000, immutable"
	if version != c.version {
		cache = "no-cache"
	}
	serve(w, r, a, cache)
}

// serve writes a with its ETag: http.ServeContent answers If-None-Match
// (304), HEAD and ranges.
func serve(w http.ResponseWriter, r *http.Request, a asset, cache string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", cache)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
