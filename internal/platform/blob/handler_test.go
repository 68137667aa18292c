package blob

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
)

// reply is what do got back, the body read and closed.
type reply struct {
	StatusCode    int
	Header        http.Header
	ContentLength int64
}

func do(t *testing.T, method, u string, body io.Reader, hdr map[string]string) (*reply, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &reply{resp.StatusCode, resp.Header, resp.ContentLength}, b
}

func wantProblem(t *testing.T, resp *reply, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("want a %d problem, got %d %q: %s", status, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var p struct{ Status int }
	if err := json.Unmarshal(body, &p); err != nil || p.Status != status {
		t.Fatalf("problem body %s", body)
	}
}

func TestHandlerRejectsBadSignatures(t *testing.T) {
	t.Parallel()
	h := newFS(t)
	s := h.store.(*fsStore)
	mustPut(t, s, "k/obj", []byte("secret"), PutOptions{})
	good, err := s.SignedGetURL("k/obj", time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, http.MethodGet, good, nil, nil); resp.StatusCode != 200 || string(body) != "secret" {
		t.Fatalf("good URL: %d %s", resp.StatusCode, body)
	}

	tamper := func(edit func(u *url.URL, q url.Values)) string {
		u, _ := url.Parse(good)
		q := u.Query()
		edit(u, q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	expired, err := s.signURL(signedRequest{Method: "GET", Key: "k/obj", Expires: time.Now().Add(-time.Second)}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{
		"expired":       expired,
		"later expiry":  tamper(func(_ *url.URL, q url.Values) { q.Set(qExpires, "99999999999") }),
		"other key":     tamper(func(u *url.URL, _ url.Values) { u.Path = "/blobs/k/other" }),
		"bad signature": tamper(func(_ *url.URL, q url.Values) { q.Set(qSig, "AAAA") }),
		"no signature":  tamper(func(_ *url.URL, q url.Values) { q.Del(qSig) }),
		"added name":    tamper(func(_ *url.URL, q url.Values) { q.Set(qFilename, "x.html") }),
	} {
		resp, body := do(t, http.MethodGet, u, nil, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
		wantProblem(t, resp, body, http.StatusForbidden)
	}
	// A GET signature does not allow a PUT.
	resp, body := do(t, http.MethodPut, good, strings.NewReader("overwrite"), nil)
	wantProblem(t, resp, body, http.StatusForbidden)
	if b, _ := mustRead(t, s, "k/obj", nil); string(b) != "secret" {
		t.Fatalf("object changed: %q", b)
	}

	// A PUT signature's constraints cannot be loosened.
	put, err := s.SignedPutURL("k/up", time.Minute, PutOptions{MaxBytes: 10, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(put)
	q := u.Query()
	q.Set(qMax, "1000000")
	u.RawQuery = q.Encode()
	resp, body = do(t, http.MethodPut, u.String(), strings.NewReader("0123456789abc"), nil)
	wantProblem(t, resp, body, http.StatusForbidden)
	q.Del(qMax)
	u.RawQuery = q.Encode()
	resp, body = do(t, http.MethodPut, u.String(), strings.NewReader("0123456789abc"), nil)
	wantProblem(t, resp, body, http.StatusForbidden)
	expiredPut, _ := s.signURL(signedRequest{Method: "PUT", Key: "k/up", Expires: time.Now().Add(-time.Second), Opts: PutOptions{ContentType: DefaultContentType}}, time.Minute)
	resp, body = do(t, http.MethodPut, expiredPut, strings.NewReader("x"), nil)
	wantProblem(t, resp, body, http.StatusForbidden)
	wantAbsent(t, s, "k/up")
	if len(h.createdKeys()) != 0 {
		t.Fatalf("OnCreated called for rejected uploads: %v", h.createdKeys())
	}

	// A key the store refuses, a method it does not serve.
	resp, body = do(t, http.MethodGet, h.base+"/blobs/a%20b", nil, nil)
	wantProblem(t, resp, body, http.StatusNotFound)
	resp, body = do(t, http.MethodDelete, good, nil, nil)
	wantProblem(t, resp, body, http.StatusMethodNotAllowed)
}

func TestHandlerPut(t *testing.T) {
	t.Parallel()
	h := newFS(t)
	s := h.store
	put, err := s.SignedPutURL("in/a.txt", time.Minute, PutOptions{MaxBytes: 1 << 20, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	// Over the limit, announced: refused before reading.
	resp, body := do(t, http.MethodPut, put, bytes.NewReader(make([]byte, 1<<20+1)), nil)
	wantProblem(t, resp, body, http.StatusRequestEntityTooLarge)
	// Over the limit, streamed without a length: refused while reading.
	resp, body = do(t, http.MethodPut, put, io.MultiReader(newGen(2<<20, 1)), nil)
	wantProblem(t, resp, body, http.StatusRequestEntityTooLarge)
	wantAbsent(t, s, "in/a.txt")

	resp, body = do(t, http.MethodPut, put, strings.NewReader("hello"), map[string]string{"Content-Type": "text/html"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put: %d %s", resp.StatusCode, body)
	}
	var o Object
	if err := json.Unmarshal(body, &o); err != nil || o.SHA256 != hexSHA([]byte("hello")) || o.ContentType != "text/plain" {
		t.Fatalf("put answered %s", body)
	}
	if resp.Header.Get("ETag") != `"`+o.SHA256+`"` {
		t.Fatalf("ETag %q", resp.Header.Get("ETag"))
	}
	if keys := h.createdKeys(); len(keys) != 1 || keys[0] != "in/a.txt" {
		t.Fatalf("OnCreated: %v", keys)
	}

	// A digest in the URL is enforced.
	put, _ = s.SignedPutURL("in/b", time.Minute, PutOptions{SHA256: hexSHA([]byte("right"))})
	resp, body = do(t, http.MethodPut, put, strings.NewReader("wrong"), nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity)
	wantAbsent(t, s, "in/b")
	resp, _ = do(t, http.MethodPut, put, strings.NewReader("right"), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put with the right digest: %d", resp.StatusCode)
	}
}

func TestHandlerGet(t *testing.T) {
	t.Parallel()
	h := newFS(t)
	s := h.store
	data := genBytes(10_000, 3)
	o := mustPut(t, s, "g/page.html", data, PutOptions{ContentType: "text/html"})
	get, err := s.SignedGetURL("g/page.html", time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, http.MethodGet, get, nil, map[string]string{"Range": "bytes=100-199"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100:200]) ||
		resp.Header.Get("Content-Range") != "bytes 100-199/10000" {
		t.Fatalf("range: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
	}
	resp, body = do(t, http.MethodGet, get, nil, map[string]string{"Range": "bytes=9990-"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[9990:]) {
		t.Fatalf("suffix range: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = do(t, http.MethodGet, get, nil, map[string]string{"Range": "bytes=20000-"})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("unsatisfiable range: %d", resp.StatusCode)
	}
	etag := `"` + o.SHA256 + `"`
	resp, body = do(t, http.MethodGet, get, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("ETag") != etag ||
		resp.Header.Get("Content-Type") != "text/html" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("get: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, http.MethodGet, get, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	resp, body = do(t, http.MethodHead, get, nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(data)) {
		t.Fatalf("head: %d %d", resp.StatusCode, resp.ContentLength)
	}
	gone, _ := s.SignedGetURL("g/missing", time.Minute, "")
	resp, body = do(t, http.MethodGet, gone, nil, nil)
	wantProblem(t, resp, body, http.StatusNotFound)
}

func TestHandlerOnS3StoreIsNotFound(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), "s3://b?endpoint=http://127.0.0.1:1&region=us-east-1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	Handler(s).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/blobs/x", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("%d", rec.Code)
	}
}

func TestFSSweepAndLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := Open(t.Context(), "file://"+filepath.ToSlash(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, st, "x/y", []byte("data"), PutOptions{})
	raw, err := os.ReadFile(filepath.Join(dir, "objects", "x", "y"))
	if err != nil || len(raw) != headerSize+4 || string(raw[headerSize:]) != "data" || !strings.HasPrefix(string(raw), headerMagic) {
		t.Fatalf("object file: %d bytes, %v", len(raw), err)
	}
	// A key cannot be both an object and a prefix of others on disk.
	_, err = st.Put(t.Context(), "x/y/z", strings.NewReader("z"), PutOptions{})
	wantCode(t, err, "conflict")
	_, err = st.Put(t.Context(), "x", strings.NewReader("z"), PutOptions{})
	wantCode(t, err, "conflict")
	if err := st.Delete(t.Context(), "x"); err != nil { // a directory, not an object
		t.Fatal(err)
	}
	// Deleting the last object of a directory removes it.
	if err := st.Delete(t.Context(), "x/y"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "objects", "x")); !os.IsNotExist(err) {
		t.Fatalf("empty directory kept: %v", err)
	}

	old := filepath.Join(dir, "tmp", "put-old")
	fresh := filepath.Join(dir, "tmp", "put-fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	if err := st.Sweep(t.Context(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("old temp file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh temp file removed")
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestS3Sweep(t *testing.T) {
	t.Parallel()
	h := newS3(t)
	s := h.store.(*s3Store)
	// A temporary object an interrupted put left behind.
	if _, err := s.client.PutObject(t.Context(), s.bucket, tmpPrefix+"orphan", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if l := h.leftovers(t); len(l) != 1 {
		t.Fatalf("leftovers %v", l)
	}
	list := 0
	if err := s.List(t.Context(), "", func(Object) error { list++; return nil }); err != nil || list != 0 {
		t.Fatalf("temporary objects must not be listed: %d %v", list, err)
	}
	if err := s.Sweep(t.Context(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if l := h.leftovers(t); len(l) != 1 {
		t.Fatalf("a fresh leftover was swept: %v", l)
	}
	if err := s.Sweep(t.Context(), -time.Minute); err != nil {
		t.Fatal(err)
	}
	wantNoLeftovers(t, h)
}

// TestS3MultipartCopy covers objects over the single-copy limit (5 GiB on
// S3, lowered here): publishing a put and Confirm's metadata rewrite.
func TestS3MultipartCopy(t *testing.T) {
	t.Parallel()
	h := newS3(t)
	s := h.store.(*s3Store)
	s.copyLimit = 8 << 20
	data := genBytes(12<<20+5, 11)
	o := mustPut(t, s, "mp/put", data, PutOptions{ContentType: "video/mp4"})
	st, err := s.Stat(t.Context(), "mp/put")
	if err != nil || st.SHA256 != hexSHA(data) || st.ContentType != "video/mp4" || st.Size != o.Size {
		t.Fatalf("stat after a multipart copy: %+v %v", st, err)
	}
	if got, _ := mustRead(t, s, "mp/put", nil); !bytes.Equal(got, data) {
		t.Fatal("content changed by the multipart copy")
	}
	// As a presigned PUT leaves it: no digest in the metadata.
	if _, err := s.client.PutObject(t.Context(), s.bucket, "mp/direct", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Confirm(t.Context(), "mp/direct", PutOptions{ContentType: "video/mp4", SHA256: hexSHA(data)})
	if err != nil || c.SHA256 != hexSHA(data) || c.ContentType != "video/mp4" {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	if got, _ := mustRead(t, s, "mp/direct", nil); !bytes.Equal(got, data) {
		t.Fatal("content changed by the confirm copy")
	}
	wantNoLeftovers(t, h)
}

// TestS3PublicEndpoint: with public_endpoint, signed URLs name the store as
// clients reach it (here the same versitygw under another host name) and
// work there; the nodes' own requests keep the endpoint. Without a region
// it is refused: presigning would ask the public endpoint for one.
func TestS3PublicEndpoint(t *testing.T) {
	t.Parallel()
	b := blobtest.NewBucket(t)
	q := b.URL.Query()
	internal, err := url.Parse(q.Get("endpoint"))
	if err != nil {
		t.Fatal(err)
	}
	public := "http://localhost:" + internal.Port()
	q.Set("public_endpoint", public)
	u := *b.URL
	u.RawQuery = q.Encode()
	st, err := Open(t.Context(), u.String(), Options{AccessKey: b.Access, SecretKey: b.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if got := SignedURLOrigin(u.String(), Options{}); got != public {
		t.Errorf("SignedURLOrigin = %q, want %q", got, public)
	}
	put, err := st.SignedPutURL("pub/a.txt", time.Minute, PutOptions{})
	if err != nil || !strings.HasPrefix(put, public+"/"+b.Name+"/pub/a.txt?") {
		t.Fatalf("signed PUT URL %q, %v", put, err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, put, strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT to the public URL: %s", res.Status)
	}
	if o, err := st.Stat(t.Context(), "pub/a.txt"); err != nil || o.Size != 5 { // through the endpoint
		t.Fatalf("stat: %+v %v", o, err)
	}
	get, err := st.SignedGetURL("pub/a.txt", time.Minute, "")
	if err != nil || !strings.HasPrefix(get, public+"/") {
		t.Fatalf("signed GET URL %q, %v", get, err)
	}
	got, err := http.Get(get)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || got.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Fatalf("GET from the public URL: %s %q %v", got.Status, body, err)
	}
	q.Del("region")
	u.RawQuery = q.Encode()
	if _, err := Open(t.Context(), u.String(), Options{AccessKey: b.Access, SecretKey: b.Secret}); err == nil || !strings.Contains(err.Error(), "public_endpoint needs region") {
		t.Errorf("public_endpoint without region: %v", err)
	}
}
