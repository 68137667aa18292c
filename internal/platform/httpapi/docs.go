package httpapi

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// docsFS holds the /docs reference: Swagger UI 5.35.0 (swagger-ui-dist from
// the npm registry, Apache-2.0, OpenAPI 3.1 support), embedded so the page
// works offline, which Huma's CDN-loaded renderers do not. About 1.9 MB:
// swagger-ui-bundle.js (1.7 MB), swagger-ui.css (188 KB), licenses, an icon;
// plus our index.html and tessera-init.js.
//
// To refresh, from this directory:
//
//	npm pack swagger-ui-dist@5 && tar xzf swagger-ui-dist-*.tgz && \
//	  cp package/{swagger-ui-bundle.js,swagger-ui.css,LICENSE,NOTICE,swagger-ui-bundle.js.LICENSE.txt,favicon-32x32.png} docsui/ && \
//	  rm -r package swagger-ui-dist-*.tgz
//
// then update the version above and check /docs in a browser (see
// TestDocsRendersInChromium).
//
//go:embed docsui
var docsFS embed.FS

// docsAsset is one embedded file, served with a strong ETag.
type docsAsset struct {
	body        []byte
	contentType string
	etag        string
}

// registerDocs registers GET /docs and GET /docs/assets/{file}. The assets
// are read and hashed once here; the map is read-only afterwards.
func registerDocs(mux *http.ServeMux) {
	assets := map[string]docsAsset{}
	entries, err := fs.ReadDir(docsFS, "docsui")
	if err != nil {
		panic("httpapi: embedded docs: " + err.Error()) // the embed directive guarantees it
	}
	for _, e := range entries {
		body, err := fs.ReadFile(docsFS, "docsui/"+e.Name())
		if err != nil {
			panic("httpapi: embedded docs: " + err.Error())
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if ct == "" || strings.HasSuffix(e.Name(), ".txt") || e.Name() == "LICENSE" || e.Name() == "NOTICE" {
			ct = "text/plain; charset=utf-8"
		}
		assets[e.Name()] = docsAsset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	index := assets["index.html"]
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		serveAsset(w, r, index)
	})
	mux.HandleFunc("GET /docs/assets/{file}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("file")]
		if !ok {
			writeProblem(w, r, newProblem(http.StatusNotFound, "no such docs asset"))
			return
		}
		serveAsset(w, r, a)
	})
}

// serveAsset writes a, or 304 when the client's copy is current. Assets are
// not content-addressed, so clients revalidate (no-cache) on each load.
func serveAsset(w http.ResponseWriter, r *http.Request, a docsAsset) {
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// etagMatches implements If-None-Match's weak comparison for one strong tag.
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
