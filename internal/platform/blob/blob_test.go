package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/measure"
)

var testSigningKey = bytes.Repeat([]byte("k"), 32)

// harness is one backend under test.
type harness struct {
	store Store
	// created records OnCreated calls.
	mu      sync.Mutex
	created []Object
	// base is the public URL (fs: an httptest server running Handler).
	base string
	// leftovers lists what interrupted writes left behind (temp files,
	// temporary objects, incomplete uploads).
	leftovers func(t *testing.T) []string
}

func (h *harness) onCreated(_ context.Context, o Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.created = append(h.created, o)
}

func (h *harness) createdKeys() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var keys []string
	for _, o := range h.created {
		keys = append(keys, o.Key)
	}
	return keys
}

func newFS(t *testing.T) *harness {
	t.Helper()
	h := &harness{}
	dir := t.TempDir()
	srv := httptest.NewUnstartedServer(nil)
	h.base = "http://" + srv.Listener.Addr().String()
	st, err := Open(t.Context(), "file://"+filepath.ToSlash(dir), Options{
		PublicURL: h.base, SigningKey: testSigningKey, OnCreated: h.onCreated,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.store = st
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, Handler(st))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	h.leftovers = func(t *testing.T) []string {
		t.Helper()
		entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	return h
}

func newS3(t testing.TB) *harness {
	t.Helper()
	b := blobtest.NewBucket(t)
	c, bucket, ctx := b.Client, b.Name, context.Background()
	h := &harness{}
	st, err := Open(ctx, b.URL.String(), Options{AccessKey: b.Access, SecretKey: b.Secret, OnCreated: h.onCreated})
	if err != nil {
		t.Fatal(err)
	}
	h.store = st
	h.leftovers = func(t *testing.T) []string {
		t.Helper()
		var names []string
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: tmpPrefix, Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			names = append(names, o.Key)
		}
		for up := range c.ListIncompleteUploads(ctx, bucket, "", true) {
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			names = append(names, "upload:"+up.Key)
		}
		return names
	}
	return h
}

// eachBackend runs fn as a subtest per backend: fs always, S3 when
// configured (skipped with the reason otherwise).
func eachBackend(t *testing.T, fn func(t *testing.T, h *harness)) {
	t.Helper()
	t.Run("fs", func(t *testing.T) {
		t.Parallel()
		fn(t, newFS(t))
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		fn(t, newS3(t))
	})
}

// gen is a reader of n deterministic pseudo-random bytes that holds no
// buffer beyond one 64 KiB block (repeated with a shifting phase): a stand-in
// for a large upload, cheap even under -race.
type gen struct {
	n, off int64
	block  []byte
}

const genBlock = 64<<10 + 13 // prime-ish, so parts and blocks do not line up

func newGen(n int64, seed uint64) *gen {
	x := seed*0x9e3779b97f4a7c15 | 1
	block := make([]byte, genBlock)
	for i := range block {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		block[i] = byte(x)
	}
	return &gen{n: n, block: block}
}

func (g *gen) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if rest := g.n - g.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], g.block[(g.off+int64(n))%genBlock:])
	}
	g.off += int64(n)
	return n, nil
}

func genBytes(n int64, seed uint64) []byte {
	b, _ := io.ReadAll(newGen(n, seed))
	return b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// failing yields n bytes then fails.
type failing struct {
	r   io.Reader
	err error
}

func failAfter(n int64) *failing {
	return &failing{r: io.LimitReader(newGen(1<<40, 7), n), err: errors.New("connection reset by peer")}
}

func (f *failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

func mustPut(t *testing.T, s Store, key string, b []byte, opts PutOptions) Object {
	t.Helper()
	o, err := s.Put(t.Context(), key, bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return o
}

func mustRead(t *testing.T, s Store, key string, rng *Range) ([]byte, Object) {
	t.Helper()
	rc, o, err := s.Get(t.Context(), key, rng)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b, o
}

func wantCode(t *testing.T, err error, code fault.Code) {
	t.Helper()
	if !fault.Is(err, code) {
		t.Fatalf("want fault %s, got %v", code, err)
	}
}

func wantAbsent(t *testing.T, s Store, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	wantCode(t, err, fault.NotFound)
}

func wantNoLeftovers(t *testing.T, h *harness) {
	t.Helper()
	if l := h.leftovers(t); len(l) > 0 {
		t.Fatalf("interrupted writes left %v", l)
	}
}

func TestPutGetStatDeleteList(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		data := genBytes(3<<20+17, 1)
		o := mustPut(t, s, "docs/a.bin", data, PutOptions{ContentType: "application/pdf"})
		if o.Key != "docs/a.bin" || o.Size != int64(len(data)) || o.SHA256 != hexSHA(data) || o.ContentType != "application/pdf" || o.Modified.IsZero() {
			t.Fatalf("put returned %+v", o)
		}
		got, g := mustRead(t, s, "docs/a.bin", nil)
		if !bytes.Equal(got, data) || g.SHA256 != o.SHA256 || g.Size != o.Size || g.ContentType != "application/pdf" {
			t.Fatalf("get: %d bytes, %+v", len(got), g)
		}
		st, err := s.Stat(ctx, "docs/a.bin")
		if err != nil || st.SHA256 != o.SHA256 || st.Size != o.Size || st.ContentType != "application/pdf" {
			t.Fatalf("stat: %+v %v", st, err)
		}
		empty := mustPut(t, s, "docs/empty", nil, PutOptions{})
		if empty.Size != 0 || empty.SHA256 != hexSHA(nil) || empty.ContentType != DefaultContentType {
			t.Fatalf("empty: %+v", empty)
		}
		if b, _ := mustRead(t, s, "docs/empty", nil); len(b) != 0 {
			t.Fatalf("empty read %d bytes", len(b))
		}
		mustPut(t, s, "docs/sub/b", []byte("b"), PutOptions{})
		mustPut(t, s, "docsx", []byte("x"), PutOptions{})
		mustPut(t, s, "other/c", []byte("c"), PutOptions{})
		// Overwrite replaces.
		mustPut(t, s, "other/c", []byte("cc"), PutOptions{})
		if b, _ := mustRead(t, s, "other/c", nil); string(b) != "cc" {
			t.Fatalf("overwrite: %q", b)
		}

		list := func(prefix string) map[string]int64 {
			t.Helper()
			m := map[string]int64{}
			if err := s.List(ctx, prefix, func(o Object) error { m[o.Key] = o.Size; return nil }); err != nil {
				t.Fatalf("list %q: %v", prefix, err)
			}
			return m
		}
		if m := list("docs/"); len(m) != 3 || m["docs/a.bin"] != int64(len(data)) || m["docs/sub/b"] != 1 {
			t.Fatalf("list docs/: %v", m)
		}
		if m := list("docs"); len(m) != 4 {
			t.Fatalf("list docs: %v", m)
		}
		if m := list(""); len(m) != 5 {
			t.Fatalf("list all: %v", m)
		}
		if m := list("docs/s"); len(m) != 1 {
			t.Fatalf("list docs/s: %v", m)
		}
		if m := list("nothing/"); len(m) != 0 {
			t.Fatalf("list nothing/: %v", m)
		}
		stop := errors.New("stop")
		n := 0
		if err := s.List(ctx, "", func(Object) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Fatalf("list stop: %v after %d", err, n)
		}

		if err := s.Delete(ctx, "docs/a.bin"); err != nil {
			t.Fatal(err)
		}
		wantAbsent(t, s, "docs/a.bin")
		_, _, err = s.Get(ctx, "docs/a.bin", nil)
		wantCode(t, err, fault.NotFound)
		if err := s.Delete(ctx, "docs/a.bin"); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if err := s.Delete(ctx, "never/was"); err != nil {
			t.Fatalf("deleting a missing key: %v", err)
		}
		if err := s.Delete(ctx, "docs/sub/b"); err != nil {
			t.Fatal(err)
		}
		if m := list("docs/"); len(m) != 1 {
			t.Fatalf("after deletes: %v", m)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		wantNoLeftovers(t, h)
	})
}

func TestRangeReads(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s := h.store
		data := genBytes(100_000, 2)
		mustPut(t, s, "r", data, PutOptions{})
		for _, c := range []struct {
			rng       Range
			from, end int
		}{
			{Range{0, 10}, 0, 10},
			{Range{99_990, 10}, 99_990, 100_000},
			{Range{99_990, 1000}, 99_990, 100_000},
			{Range{5000, 0}, 5000, 100_000},
			{Range{5000, -1}, 5000, 100_000},
			{Range{12345, 1}, 12345, 12346},
		} {
			got, o := mustRead(t, s, "r", &c.rng)
			if !bytes.Equal(got, data[c.from:c.end]) || o.Size != int64(len(data)) {
				t.Fatalf("range %+v: %d bytes (size %d)", c.rng, len(got), o.Size)
			}
		}
		for _, r := range []Range{{100_000, 1}, {-1, 1}} {
			_, _, err := s.Get(t.Context(), "r", &r)
			wantCode(t, err, fault.Invalid)
		}
		mustPut(t, s, "e", nil, PutOptions{})
		if got, _ := mustRead(t, s, "e", &Range{0, 10}); len(got) != 0 {
			t.Fatalf("range of empty object: %d bytes", len(got))
		}
	})
}

func TestDigestMismatchStoresNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		data := genBytes(PartSize+5, 3) // more than one S3 part
		wrong := hexSHA([]byte("something else"))
		_, err := s.Put(ctx, "d/new", newGen(int64(len(data)), 3), PutOptions{SHA256: wrong})
		wantCode(t, err, fault.Invalid)
		wantAbsent(t, s, "d/new")

		// An existing object survives a failed overwrite.
		mustPut(t, s, "d/old", []byte("old"), PutOptions{})
		_, err = s.Put(ctx, "d/old", bytes.NewReader(data), PutOptions{SHA256: wrong})
		wantCode(t, err, fault.Invalid)
		if b, _ := mustRead(t, s, "d/old", nil); string(b) != "old" {
			t.Fatalf("old object changed: %q", b)
		}

		// The right digest (any case) is accepted and kept.
		o, err := s.Put(ctx, "d/ok", bytes.NewReader(data), PutOptions{SHA256: strings.ToUpper(hexSHA(data))})
		if err != nil || o.SHA256 != hexSHA(data) {
			t.Fatalf("put with the right digest: %+v %v", o, err)
		}
		if st, err := s.Stat(ctx, "d/ok"); err != nil || st.SHA256 != hexSHA(data) {
			t.Fatalf("stat: %+v %v", st, err)
		}
		_, err = s.Put(ctx, "d/bad", bytes.NewReader(data), PutOptions{SHA256: "xyz"})
		wantCode(t, err, fault.Invalid)
		wantNoLeftovers(t, h)
	})
}

func TestSizeLimitStoresNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		_, err := s.Put(ctx, "big", newGen(PartSize+PartSize/2, 4), PutOptions{MaxBytes: PartSize + 1000})
		wantCode(t, err, fault.TooLarge)
		wantAbsent(t, s, "big")
		_, err = s.Put(ctx, "small", bytes.NewReader(make([]byte, 101)), PutOptions{MaxBytes: 100})
		wantCode(t, err, fault.TooLarge)
		wantAbsent(t, s, "small")
		if o, err := s.Put(ctx, "exact", bytes.NewReader(make([]byte, 100)), PutOptions{MaxBytes: 100}); err != nil || o.Size != 100 {
			t.Fatalf("exactly at the limit: %+v %v", o, err)
		}
		wantNoLeftovers(t, h)
	})
}

func TestFailingReaderStoresNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		for _, n := range []int64{0, 1000, PartSize + 1000} {
			key := fmt.Sprintf("fail/%d", n)
			_, err := s.Put(ctx, key, failAfter(n), PutOptions{})
			if err == nil || !strings.Contains(err.Error(), "connection reset") {
				t.Fatalf("after %d bytes: %v", n, err)
			}
			wantCode(t, err, fault.Malformed)
			wantAbsent(t, s, key)
			// Same with a known digest (the S3 direct path).
			_, err = s.Put(ctx, key, failAfter(n), PutOptions{SHA256: hexSHA(nil)})
			wantCode(t, err, fault.Malformed)
			wantAbsent(t, s, key)
		}
		// A cancelled context stops the put.
		cctx, cancel := context.WithCancel(ctx)
		r := &cancelAfter{r: newGen(1<<30, 5), n: 2 << 20, cancel: cancel}
		if _, err := s.Put(cctx, "fail/cancel", r, PutOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled put: %v", err)
		}
		wantAbsent(t, s, "fail/cancel")
		wantNoLeftovers(t, h)
	})
}

// cancelAfter cancels its context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	read   int64
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.n {
		c.cancel()
	}
	return n, err
}

func TestConcurrentPutsOfOneKey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s := h.store
		const writers = 6
		sums := map[string]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			size := int64(1<<20 + i*333_333)
			data := genBytes(size, uint64(100+i))
			sums[hexSHA(data)] = true
			wg.Go(func() {
				_, err := s.Put(t.Context(), "same/key", newGen(size, uint64(100+i)), PutOptions{})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, o := mustRead(t, s, "same/key", nil)
		if !sums[hexSHA(got)] || o.SHA256 != hexSHA(got) || o.Size != int64(len(got)) {
			t.Fatalf("the key holds %d bytes with sha %s, described as %+v", len(got), hexSHA(got), o)
		}
		wantNoLeftovers(t, h)
	})
}

func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		for _, key := range []string{
			"", "/abs", "a/../b", "..", "a/..", "a//b", "a/", "./a", "a b", "a\x00b", "é", "a?b", "~tmp/x",
			"a\\b", strings.Repeat("a", MaxKeyLen+1),
		} {
			_, err := s.Put(ctx, key, strings.NewReader("x"), PutOptions{})
			wantCode(t, err, fault.Invalid)
			_, _, err = s.Get(ctx, key, nil)
			wantCode(t, err, fault.Invalid)
			_, err = s.Stat(ctx, key)
			wantCode(t, err, fault.Invalid)
			wantCode(t, s.Delete(ctx, key), fault.Invalid)
			_, err = s.SignedPutURL(key, time.Minute, PutOptions{})
			wantCode(t, err, fault.Invalid)
			_, err = s.SignedGetURL(key, time.Minute, "")
			wantCode(t, err, fault.Invalid)
		}
		for _, key := range []string{"a", "A-Z_0.9/x.y", "..a", "a..", strings.Repeat("b", MaxKeyLen)} {
			if !ValidKey(key) {
				t.Fatalf("%q should be valid", key)
			}
		}
		_, err := s.Put(ctx, "ct", strings.NewReader("x"), PutOptions{ContentType: "text/plain\r\nX-Evil: 1"})
		wantCode(t, err, fault.Invalid)
	})
}

func TestSignedURLRoundTrip(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		data := genBytes(2<<20+3, 6)
		opts := PutOptions{ContentType: "image/png", SHA256: hexSHA(data), MaxBytes: 3 << 20}
		put, err := s.SignedPutURL("up/file.png", 5*time.Minute, opts)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, put, bytes.NewReader(data))
		req.Header.Set("Content-Type", "image/png")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("signed PUT: %d %s", resp.StatusCode, body)
		}
		o, err := s.Confirm(ctx, "up/file.png", opts)
		if err != nil || o.SHA256 != hexSHA(data) || o.Size != int64(len(data)) || o.ContentType != "image/png" {
			t.Fatalf("confirm: %+v %v", o, err)
		}
		if keys := h.createdKeys(); len(keys) == 0 || keys[len(keys)-1] != "up/file.png" {
			t.Fatalf("OnCreated calls: %v", keys)
		}

		get, err := s.SignedGetURL("up/file.png", 5*time.Minute, "holiday photo.png")
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, get, nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("signed GET: %d, %d bytes", resp.StatusCode, len(body))
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "holiday photo.png") {
			t.Fatalf("Content-Disposition %q", cd)
		}

		// Confirm rejects, and removes, an object outside the constraints.
		mustPut(t, s, "up/big", make([]byte, 1000), PutOptions{})
		_, err = s.Confirm(ctx, "up/big", PutOptions{MaxBytes: 999})
		wantCode(t, err, fault.TooLarge)
		wantAbsent(t, s, "up/big")
		mustPut(t, s, "up/wrong", []byte("abc"), PutOptions{})
		_, err = s.Confirm(ctx, "up/wrong", PutOptions{SHA256: hexSHA([]byte("abd"))})
		wantCode(t, err, fault.Invalid)
		wantAbsent(t, s, "up/wrong")
		_, err = s.Confirm(ctx, "up/none", PutOptions{})
		wantCode(t, err, fault.NotFound)
	})
}

func TestS3Unreachable(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := Open(t.Context(), "s3://bucket?endpoint=http://"+addr+"&region=us-east-1", Options{AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	check := func(what string, err error) {
		t.Helper()
		f := fault.As(err)
		if f == nil || f.Code != fault.Unavailable || f.RetryAfter <= 0 {
			t.Fatalf("%s: want unavailable with Retry-After, got %v", what, err)
		}
	}
	_, err = s.Put(ctx, "k", strings.NewReader("x"), PutOptions{})
	check("put", err)
	_, err = s.Put(ctx, "k", strings.NewReader("x"), PutOptions{SHA256: hexSHA([]byte("x"))})
	check("put with digest", err)
	_, _, err = s.Get(ctx, "k", nil)
	check("get", err)
	_, err = s.Stat(ctx, "k")
	check("stat", err)
	check("delete", s.Delete(ctx, "k"))
	check("list", s.List(ctx, "", func(Object) error { return nil }))
	check("ping", s.Ping(ctx))
	_, err = s.Confirm(ctx, "k", PutOptions{})
	check("confirm", err)
}

func TestS3MissingBucketUnavailable(t *testing.T) {
	t.Parallel()
	u, access, secret := blobtest.Env(t)
	bu := *u
	bu.Host = "tessera-no-such-bucket"
	s, err := Open(t.Context(), bu.String(), Options{AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Ping(t.Context()), fault.Unavailable)
	_, err = s.Put(t.Context(), "k", strings.NewReader("x"), PutOptions{})
	wantCode(t, err, fault.Unavailable)
}

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"ftp://x", "s3://", "s3://b?endpoint=ftp://x", "file://", "::"} {
		if _, err := Open(t.Context(), raw, Options{}); err == nil {
			t.Fatalf("Open(%q) should fail", raw)
		}
	}
	if _, err := Open(t.Context(), "file://"+t.TempDir(), Options{SigningKey: []byte("short")}); err == nil {
		t.Fatal("a short signing key should be refused")
	}
	s, err := Open(t.Context(), "file://"+filepath.ToSlash(t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignedGetURL("k", time.Minute, ""); err == nil {
		t.Fatal("signing without a key should fail")
	}
}

// TestLargePutKeepsMemoryFlat streams 256 MiB from a generating reader and
// checks the heap never grows by more than 64 MiB. Not parallel: it
// measures the process heap.
func TestLargePutKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const size = 256 << 20
	for _, name := range []string{"fs", "s3"} {
		t.Run(name, func(t *testing.T) {
			var h *harness
			if name == "fs" {
				h = newFS(t)
			} else {
				h = newS3(t)
			}
			var o Object
			var err error
			peak := measure.PeakDuring(5*time.Millisecond, func() {
				o, err = h.store.Put(t.Context(), "large", newGen(size, 9), PutOptions{})
			})
			if err != nil || o.Size != size {
				t.Fatalf("put: %+v %v", o, err)
			}
			t.Logf("%s: 256 MiB put, heap peak growth %.1f MiB", name, float64(peak.Heap)/(1<<20))
			if peak.Heap > 64<<20 {
				t.Fatalf("heap grew by %d MiB streaming 256 MiB", peak.Heap>>20)
			}
			rc, _, err := h.store.Get(t.Context(), "large", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			hs := sha256.New()
			var n int64
			peak = measure.PeakDuring(5*time.Millisecond, func() { n, err = io.Copy(hs, rc) })
			if err != nil || n != size || hex.EncodeToString(hs.Sum(nil)) != o.SHA256 {
				t.Fatalf("read back %d bytes: %v", n, err)
			}
			t.Logf("%s: 256 MiB get, heap peak growth %.1f MiB", name, float64(peak.Heap)/(1<<20))
			if peak.Heap > 64<<20 {
				t.Fatalf("heap grew by %d MiB reading 256 MiB", peak.Heap>>20)
			}
		})
	}
}

// TestMove gives an object another key, bytes and metadata kept, on both
// backends; the old key is gone, a missing source is not found, and a
// move onto itself changes nothing.
func TestMove(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s, ctx := h.store, t.Context()
		data := genBytes(3<<20, 7)
		put, err := s.Put(ctx, "m/up/1", bytes.NewReader(data), PutOptions{ContentType: "image/png"})
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, s, "m/final", []byte("replaced"), PutOptions{})
		moved, err := s.Move(ctx, "m/up/1", "m/final")
		if err != nil {
			t.Fatal(err)
		}
		if moved.Key != "m/final" || moved.Size != put.Size || moved.SHA256 != put.SHA256 || moved.ContentType != "image/png" {
			t.Fatalf("moved %+v, put %+v", moved, put)
		}
		if b, _ := mustRead(t, s, "m/final", nil); !bytes.Equal(b, data) {
			t.Fatal("moved bytes differ")
		}
		wantAbsent(t, s, "m/up/1")
		_, err = s.Move(ctx, "m/up/1", "m/other")
		wantCode(t, err, fault.NotFound)
		if o, err := s.Move(ctx, "m/final", "m/final"); err != nil || o.SHA256 != put.SHA256 {
			t.Fatalf("move onto itself: %+v %v", o, err)
		}
		_, err = s.Move(ctx, "m/final", "../x")
		wantCode(t, err, fault.Invalid)
		wantNoLeftovers(t, h)
	})
}

func TestSignedURLOrigin(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ raw, public, want string }{
		{"s3://bucket?endpoint=http://127.0.0.1:7070&region=us-east-1", "", "http://127.0.0.1:7070"},
		{"s3://bucket?endpoint=https://minio.example.com/some/path", "", "https://minio.example.com"},
		{"s3://bucket?region=eu-west-3", "", "https://s3.amazonaws.com"},
		{"file:///var/lib/tessera/blobs", "https://files.example.com/base", "https://files.example.com"},
		{"file:///var/lib/tessera/blobs", "", ""},
		{"s3://bucket?endpoint=ftp://x", "", ""},
		{"gs://bucket", "https://x.example", ""},
	} {
		if got := SignedURLOrigin(c.raw, Options{PublicURL: c.public}); got != c.want {
			t.Errorf("SignedURLOrigin(%q, %q) = %q, want %q", c.raw, c.public, got, c.want)
		}
	}
	// The origin is the one the store's signed URLs really have.
	s, err := Open(t.Context(), "s3://bucket?endpoint=http://127.0.0.1:7070&region=us-east-1", Options{AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.SignedGetURL("a/b", time.Minute, "")
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:7070/bucket/a/b?") {
		t.Fatalf("signed URL %q, %v", u, err)
	}
}
