package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// spyStore wraps a Store for Serve's tests: it records the ranges Get is
// asked for, counts the bytes read from Get's readers and the readers left
// open, and can run a hook before Get, fail Get, or fail its readers after
// some bytes.
type spyStore struct {
	Store
	beforeGet func()
	getErr    error
	failAfter int64 // > 0: each reader fails after this many bytes

	mu     sync.Mutex
	ranges []Range
	read   int64
	open   int
}

var errReset = errors.New("connection reset by peer")

func (s *spyStore) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Object, error) {
	if s.beforeGet != nil {
		s.beforeGet()
	}
	s.mu.Lock()
	s.ranges = append(s.ranges, *rng)
	s.mu.Unlock()
	if s.getErr != nil {
		return nil, Object{}, s.getErr
	}
	rc, obj, err := s.Store.Get(ctx, key, rng)
	if err != nil {
		return nil, Object{}, err
	}
	s.mu.Lock()
	s.open++
	s.mu.Unlock()
	return &spyReader{rc: rc, s: s}, obj, nil
}

// stats are the ranges asked for, the bytes read and the readers open.
func (s *spyStore) stats() ([]Range, int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Range(nil), s.ranges...), s.read, s.open
}

type spyReader struct {
	rc io.ReadCloser
	s  *spyStore
	n  int64
}

func (r *spyReader) Read(p []byte) (int, error) {
	if f := r.s.failAfter; f > 0 {
		if r.n >= f {
			return 0, errReset
		}
		p = p[:min(int64(len(p)), f-r.n)]
	}
	n, err := r.rc.Read(p)
	r.n += int64(n)
	r.s.mu.Lock()
	r.s.read += int64(n)
	r.s.mu.Unlock()
	return n, err
}

func (r *spyReader) Close() error {
	r.s.mu.Lock()
	r.s.open--
	r.s.mu.Unlock()
	return r.rc.Close()
}

// serveServer serves s's keys at /<key> through Serve with opts.
func serveServer(t *testing.T, s Store, opts ServeOptions) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Serve(w, r, s, strings.TrimPrefix(r.URL.Path, "/"), opts)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// serveDirect calls Serve and returns what it answered once it returned.
func serveDirect(t *testing.T, s Store, key string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/"+key, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Serve(rec, req, s, key, ServeOptions{})
	return rec
}

func TestServe(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		data := genBytes(10_000, 5)
		mustPut(t, h.store, "s/obj.txt", data, PutOptions{ContentType: "text/plain"})
		o, err := h.store.Stat(t.Context(), "s/obj.txt")
		if err != nil {
			t.Fatal(err)
		}
		etag := `"` + o.SHA256 + `"`
		lastMod := o.Modified.UTC().Format(http.TimeFormat)
		base := serveServer(t, h.store, ServeOptions{})
		absent := ""
		for _, c := range []struct {
			name   string
			method string
			hdr    map[string]string
			status int
			body   []byte // checked for 200, 206 and 304
			want   map[string]string
		}{
			{"get", http.MethodGet, nil, 200, data, map[string]string{
				"ETag": etag, "Content-Length": "10000", "Content-Type": "text/plain", "Last-Modified": lastMod,
				"Cache-Control": "private, max-age=0", "Content-Security-Policy": "sandbox; default-src 'none'",
				"X-Content-Type-Options": "nosniff", "Accept-Ranges": "bytes", "Content-Disposition": absent,
			}},
			{"head", http.MethodHead, nil, 200, nil, map[string]string{"ETag": etag, "Content-Length": "10000"}},
			{"range", http.MethodGet, map[string]string{"Range": "bytes=100-199"}, 206, data[100:200],
				map[string]string{"Content-Range": "bytes 100-199/10000", "Content-Length": "100", "ETag": etag}},
			{"suffix range", http.MethodGet, map[string]string{"Range": "bytes=-500"}, 206, data[9500:],
				map[string]string{"Content-Range": "bytes 9500-9999/10000"}},
			{"open range", http.MethodGet, map[string]string{"Range": "bytes=9990-"}, 206, data[9990:],
				map[string]string{"Content-Range": "bytes 9990-9999/10000"}},
			{"range past the end", http.MethodGet, map[string]string{"Range": "bytes=9000-20000"}, 206, data[9000:],
				map[string]string{"Content-Range": "bytes 9000-9999/10000"}},
			{"unsatisfiable range", http.MethodGet, map[string]string{"Range": "bytes=20000-"}, 416, nil,
				map[string]string{"Content-Range": "bytes */10000"}},
			// net/http answers a malformed Range with 416 (no Content-Range)...
			{"malformed range", http.MethodGet, map[string]string{"Range": "bytes=abc"}, 416, nil,
				map[string]string{"Content-Range": absent}},
			{"reversed range", http.MethodGet, map[string]string{"Range": "bytes=5-1"}, 416, nil, nil},
			{"other unit", http.MethodGet, map[string]string{"Range": "items=0-1"}, 416, nil, nil},
			// ...and ignores ranges that add up to more than the object.
			{"ranges over the size", http.MethodGet, map[string]string{"Range": "bytes=0-,0-"}, 200, data, nil},
			{"if-none-match", http.MethodGet, map[string]string{"If-None-Match": etag}, 304, nil, map[string]string{"ETag": etag}},
			{"if-none-match other", http.MethodGet, map[string]string{"If-None-Match": `"other"`}, 200, data, nil},
			{"if-match other", http.MethodGet, map[string]string{"If-Match": `"other"`}, 412, nil, nil},
			{"if-modified-since", http.MethodGet, map[string]string{"If-Modified-Since": lastMod}, 304, nil, nil},
			{"if-range stale", http.MethodGet, map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`}, 200, data,
				map[string]string{"Content-Range": absent}},
			{"if-range current", http.MethodGet, map[string]string{"Range": "bytes=0-9", "If-Range": etag}, 206, data[:10],
				map[string]string{"Content-Range": "bytes 0-9/10000"}},
			{"post", http.MethodPost, nil, 405, nil, map[string]string{"Allow": "GET, HEAD"}},
		} {
			resp, body := do(t, c.method, base+"s/obj.txt", nil, c.hdr)
			if resp.StatusCode != c.status {
				t.Fatalf("%s: status %d, want %d: %.200s", c.name, resp.StatusCode, c.status, body)
			}
			if (c.status == 200 || c.status == 206 || c.status == 304) && !bytes.Equal(body, c.body) {
				t.Fatalf("%s: body of %d bytes, want %d", c.name, len(body), len(c.body))
			}
			for k, v := range c.want {
				if got := resp.Header.Get(k); got != v {
					t.Fatalf("%s: %s is %q, want %q", c.name, k, got, v)
				}
			}
			if c.status >= 400 {
				wantProblem(t, resp, body, c.status) // ServeContent's refusals too
			}
		}

		resp, body := do(t, http.MethodGet, base+"s/missing", nil, nil)
		wantProblem(t, resp, body, http.StatusNotFound)
	})
}

func TestServeMultipleRanges(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		data := genBytes(10_000, 6)
		mustPut(t, h.store, "s/multi", data, PutOptions{ContentType: "text/csv"})
		spy := &spyStore{Store: h.store}
		rec := serveDirect(t, spy, "s/multi", map[string]string{"Range": "bytes=0-9, 5000-5099,-10"})
		if rec.Code != http.StatusPartialContent {
			t.Fatalf("status %d", rec.Code)
		}
		mt, params, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" {
			t.Fatalf("content type %q: %v", rec.Header().Get("Content-Type"), err)
		}
		mr := multipart.NewReader(rec.Body, params["boundary"])
		for _, want := range []struct {
			rng  string
			body []byte
		}{{"bytes 0-9/10000", data[:10]}, {"bytes 5000-5099/10000", data[5000:5100]}, {"bytes 9990-9999/10000", data[9990:]}} {
			part, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(part)
			if err != nil || part.Header.Get("Content-Range") != want.rng || part.Header.Get("Content-Type") != "text/csv" || !bytes.Equal(got, want.body) {
				t.Fatalf("part %v: %d bytes, %v", part.Header, len(got), err)
			}
		}
		if _, err := mr.NextPart(); !errors.Is(err, io.EOF) {
			t.Fatalf("more parts than ranges: %v", err)
		}
		if _, _, open := spy.stats(); open != 0 {
			t.Fatalf("%d streams left open", open)
		}
	})
}

// TestServeRangeOfLargeObject: a range costs what it selects. The object is
// 64 MiB; a 10-byte range must fetch 10 bytes, from one ranged Get.
func TestServeRangeOfLargeObject(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		const size = 64 << 20
		sum := sha256.New()
		if _, err := io.Copy(sum, newGen(size, 8)); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.Put(t.Context(), "s/large", newGen(size, 8), PutOptions{SHA256: hex.EncodeToString(sum.Sum(nil))}); err != nil {
			t.Fatal(err)
		}
		spy := &spyStore{Store: h.store}
		rec := serveDirect(t, spy, "s/large", map[string]string{"Range": "bytes=0-9"})
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), genBytes(10, 8)) {
			t.Fatalf("status %d, body %x", rec.Code, rec.Body.Bytes())
		}
		ranges, read, open := spy.stats()
		if read > 64<<10 || len(ranges) != 1 || ranges[0] != (Range{Offset: 0, Length: 10}) || open != 0 {
			t.Fatalf("read %d bytes with Gets of %v, %d left open", read, ranges, open)
		}
	})
}

func TestServeOptions(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		mustPut(t, h.store, "s/doc", []byte("%PDF-1.7"), PutOptions{ContentType: "text/plain"})
		mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		base := serveServer(t, h.store, ServeOptions{ETag: `"v7"`, ContentType: "application/pdf", Filename: "résumé 2024.pdf", Modified: mod})
		resp, body := do(t, http.MethodGet, base+"s/doc", nil, nil)
		if resp.StatusCode != 200 || string(body) != "%PDF-1.7" || resp.Header.Get("ETag") != `"v7"` ||
			resp.Header.Get("Content-Type") != "application/pdf" || resp.Header.Get("Last-Modified") != mod.Format(http.TimeFormat) {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || params["filename"] != "résumé 2024.pdf" {
			t.Fatalf("Content-Disposition %q: %v %v", resp.Header.Get("Content-Disposition"), params, err)
		}
		if resp, _ := do(t, http.MethodGet, base+"s/doc", nil, map[string]string{"If-None-Match": `"v7"`}); resp.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match the given ETag: %d", resp.StatusCode)
		}
	})
}

// TestServeFailures: a failure before the first byte is a problem; after
// it, the body stops short of its Content-Length.
func TestServeFailures(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		data := genBytes(10_000, 9)
		mustPut(t, h.store, "s/f", data, PutOptions{})

		down := &spyStore{Store: h.store, getErr: unavailable(errReset, "blob store unavailable")}
		rec := serveDirect(t, down, "s/f", nil)
		wantRecordedProblem(t, rec, http.StatusServiceUnavailable)

		var once sync.Once
		replaced := &spyStore{Store: h.store, beforeGet: func() {
			once.Do(func() { mustPut(t, h.store, "s/f", genBytes(10_000, 10), PutOptions{}) })
		}}
		rec = serveDirect(t, replaced, "s/f", map[string]string{"Range": "bytes=10-19"})
		wantRecordedProblem(t, rec, http.StatusServiceUnavailable)

		cut := &spyStore{Store: h.store, failAfter: 4096}
		rec = serveDirect(t, cut, "s/f", nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Length") != "10000" || rec.Body.Len() != 4096 {
			t.Fatalf("failure mid-body: %d, %d bytes, %v", rec.Code, rec.Body.Len(), rec.Header())
		}
		if _, _, open := cut.stats(); open != 0 {
			t.Fatalf("%d streams left open", open)
		}
	})
}

func wantRecordedProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	resp := &reply{rec.Code, rec.Header(), int64(rec.Body.Len())}
	wantProblem(t, resp, rec.Body.Bytes(), status)
	for _, k := range []string{"Content-Range", "ETag", "Accept-Ranges"} {
		if v := rec.Header().Get(k); v != "" {
			t.Fatalf("problem with %s: %s", k, v)
		}
	}
}

func TestServeSeeksAndReopens(t *testing.T) {
	t.Parallel()
	h := newFS(t)
	data := genBytes(1000, 12)
	mustPut(t, h.store, "s/seek", data, PutOptions{})
	spy := &spyStore{Store: h.store}
	obj, err := h.store.Stat(t.Context(), "s/seek")
	if err != nil {
		t.Fatal(err)
	}
	c := &content{ctx: t.Context(), s: spy, key: "s/seek", obj: obj}
	c.window("bytes 100-199/1000")
	read := func(off int64, n int) []byte {
		t.Helper()
		if _, err := c.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatalf("read %d at %d: %v", n, off, err)
		}
		return b
	}
	// Reads past the window go on from where it ends; a seek back reopens.
	if got := read(100, 150); !bytes.Equal(got, data[100:250]) {
		t.Fatal("read across the window's end")
	}
	if got := read(0, 10); !bytes.Equal(got, data[:10]) {
		t.Fatal("read after a seek back")
	}
	if got := read(10, 10); !bytes.Equal(got, data[10:20]) {
		t.Fatal("read on from the same stream")
	}
	if n, err := c.Seek(0, io.SeekEnd); n != 1000 || err != nil {
		t.Fatalf("seek to the end: %d %v", n, err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read at the end: %d %v", n, err)
	}
	if _, err := c.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek before the start accepted")
	}
	want := []Range{{100, 100}, {200, 0}, {0, 0}}
	if ranges, _, _ := spy.stats(); len(ranges) != len(want) || ranges[0] != want[0] || ranges[1] != want[1] || ranges[2] != want[2] {
		t.Fatalf("Gets %v, want %v", ranges, want)
	}
	c.Close()
	if _, _, open := spy.stats(); open != 0 {
		t.Fatalf("%d streams left open", open)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after Close")
	}
}

func TestContentDisposition(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 300) + ".pdf"
	longUTF8 := strings.Repeat("é", 200) + ".pdf"
	for _, c := range []struct{ name, ascii, utf8 string }{
		{"report.pdf", "report.pdf", "report.pdf"},
		{`a/b\c.txt`, "a_b_c.txt", "a_b_c.txt"},
		{"../../etc/passwd", ".._.._etc_passwd", ".._.._etc_passwd"},
		{"..", "..", ".."},
		{"x\r\nSet-Cookie: a=b", "x__Set-Cookie: a=b", "x__Set-Cookie: a=b"},
		{"nul\x00tab\tdel\x7f", "nul_tab_del_", "nul_tab_del_"},
		{`q"uote%20`, "q_uote_20", `q"uote%20`},
		{`"; filename=evil.exe`, `_; filename=evil.exe`, `"; filename=evil.exe`},
		{"caf\u00e9.txt", "cafe.txt", "caf\u00e9.txt"},  // NFC
		{"cafe\u0301.txt", "cafe.txt", "caf\u00e9.txt"}, // NFD
		{"invoice\u202Efdp.exe", "invoice_fdp.exe", "invoice_fdp.exe"},
		{"日本語.pdf", "___.pdf", "日本語.pdf"},
		{"\xff\xfe.txt", "_.txt", "_.txt"},
		{long, strings.Repeat("a", 251) + ".pdf", strings.Repeat("a", 251) + ".pdf"},
		{longUTF8, strings.Repeat("e", 125) + ".pdf", strings.Repeat("é", 125) + ".pdf"},
		{strings.Repeat("x", 400), strings.Repeat("x", 255), strings.Repeat("x", 255)},
	} {
		h := contentDisposition(c.name)
		ascii, utf8Name := checkDisposition(t, h)
		if ascii != c.ascii || utf8Name != c.utf8 {
			t.Errorf("%q: %s gives %q and %q, want %q and %q", c.name, h, ascii, utf8Name, c.ascii, c.utf8)
		}
	}
}

// checkDisposition checks that h is a valid, printable ASCII attachment
// header and returns its two names: the fallback and the UTF-8 form.
func checkDisposition(t *testing.T, h string) (ascii, utf8Name string) {
	t.Helper()
	for i := 0; i < len(h); i++ {
		if h[i] < 0x20 || h[i] > 0x7e {
			t.Fatalf("%q: byte %#x", h, h[i])
		}
	}
	disp, params, err := mime.ParseMediaType(h)
	if err != nil || disp != "attachment" {
		t.Fatalf("%q: %q %v", h, disp, err)
	}
	fallback, _, ok := strings.Cut(h, "; filename*=")
	if !ok {
		t.Fatalf("%q: no filename*", h)
	}
	_, fparams, err := mime.ParseMediaType(fallback)
	if err != nil {
		t.Fatalf("%q: fallback: %v", h, err)
	}
	name := params["filename"]
	if !utf8.ValidString(name) || len(name) > maxFilename || strings.ContainsAny(name, "/\\\u202e") {
		t.Fatalf("%q: unsafe name %q", h, name)
	}
	return fparams["filename"], name
}

func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"a.txt", "\x00\r\n", "\u202e", "\u0301", "é/..\\", strings.Repeat("€", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		checkDisposition(t, contentDisposition(name))
	})
}
