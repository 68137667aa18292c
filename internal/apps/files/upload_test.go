package files_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The upload tests' helpers are prefixed "up".

// upEverywhere is everywhere (both engines on the filesystem, SQLite on
// S3) with environ added to every node's environment.
func upEverywhere(t *testing.T, environ []string, fn func(t *testing.T, n *nodetest.Node)) {
	t.Helper()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine, environ...))
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		fn(t, start(t, store.EngineSQLite, append(s3Env(t), environ...)...))
	})
}

// upEngines runs fn on both engines with the filesystem blob store: for
// what does not depend on the blob backend.
func upEngines(t *testing.T, fn func(t *testing.T, n *nodetest.Node)) {
	t.Helper()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine))
	})
}

// upOwner signs ann up and gives her an org.
func upOwner(t *testing.T, n *nodetest.Node) user {
	t.Helper()
	ann := signUp(t, n, "ann@example.com")
	newOrg(t, n, &ann, "Acme")
	return ann
}

// upProblem is the part of an RFC 9457 problem the tests read.
type upProblem struct {
	Status int          `json:"status"`
	Reason string       `json:"reason"`
	Detail string       `json:"detail"`
	Errors []upFieldErr `json:"errors"`
}

// upFieldErr is one of a problem's errors.
type upFieldErr struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func upProblemOf(t testing.TB, r testhttp.Response) upProblem {
	t.Helper()
	var p upProblem
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		t.Fatalf("answer %d is not a problem: %q", r.Status, r.Body)
	}
	return p
}

// upExpectProblem requires status, and, when set, the reason and a field
// error at location.
func upExpectProblem(t testing.TB, what string, r testhttp.Response, status int, reason, location string) upProblem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
	p := upProblemOf(t, r)
	if reason != "" && p.Reason != reason {
		t.Fatalf("%s: reason %q, want %q (%s)", what, p.Reason, reason, r.Body)
	}
	if location != "" && !slices.ContainsFunc(p.Errors, func(e upFieldErr) bool { return e.Location == location }) {
		t.Fatalf("%s: no error at %s: %s", what, location, r.Body)
	}
	return p
}

// upList is u's org's files (one page).
func upList(t testing.TB, n *nodetest.Node, u user) []files.File {
	t.Helper()
	var l struct {
		Items []files.File `json:"items"`
	}
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files?limit=500", "", u.as()...), &l)
	return l.Items
}

// upSettings is u's org's files settings.
func upSettings(t testing.TB, n *nodetest.Node, u user) files.Settings {
	t.Helper()
	var s files.Settings
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/settings", "", u.as()...), &s)
	return s
}

// upNames is the names of fs.
func upNames(fs []files.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	slices.Sort(out)
	return out
}

// upExpectStored requires u's org to list exactly names (sorted), to use
// used bytes, and no blob to be left that no row names.
func upExpectStored(t testing.TB, n *nodetest.Node, u user, used int64, names ...string) {
	t.Helper()
	slices.Sort(names)
	if got := upNames(upList(t, n, u)); !slices.Equal(got, names) {
		t.Fatalf("files listed: %q, want %q", got, names)
	}
	if s := upSettings(t, n, u); s.UsedBytes != used {
		t.Fatalf("used_bytes %d, want %d", s.UsedBytes, used)
	}
	if o := upOrphans(t, n); len(o) > 0 {
		t.Fatalf("blobs no version or upload names: %q", o)
	}
}

// upBlobs opens n's blob store (a second handle on the same directory or
// bucket).
func upBlobs(t testing.TB, n *nodetest.Node) blob.Store {
	t.Helper()
	s, err := blob.Open(context.Background(), n.Config.Blobs, blob.Options{AccessKey: n.Config.S3.AccessKey, SecretKey: n.Config.S3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// upKeys is the keys of n's blob store under prefix.
func upKeys(t testing.TB, n *nodetest.Node, prefix string) []string {
	t.Helper()
	var keys []string
	err := upBlobs(t, n).List(context.Background(), prefix, func(o blob.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// upNamed is the blob keys the app's rows name: versions and uploads.
func upNamed(t testing.TB, n *nodetest.Node) map[string]bool {
	t.Helper()
	named := map[string]bool{}
	db := n.Store().App("files")
	// An upload's row names its signed URL's key and the key its bytes
	// settle at (files/uploaded/<id>), until the file's version does.
	for _, q := range []string{`SELECT blob_key FROM files_versions`, `SELECT blob_key FROM files_uploads`,
		`SELECT 'files/uploaded/' || id FROM files_uploads`} {
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			named[k] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return named
}

// upOrphans is the app's blobs (under files/) that no row names (a
// thumbnail counts as named with its version).
func upOrphans(t testing.TB, n *nodetest.Node) []string {
	t.Helper()
	named := upNamed(t, n)
	var out []string
	for _, k := range upKeys(t, n, "files/") {
		if !named[strings.TrimSuffix(k, ".thumb.jpg")] {
			out = append(out, k)
		}
	}
	return out
}

// upS3 is a plain client of n's bucket, and the bucket's name.
func upS3(t testing.TB, n *nodetest.Node) (*minio.Client, string) {
	t.Helper()
	u, err := url.Parse(n.Config.Blobs)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(ep.Host, &minio.Options{
		Creds: credentials.NewStaticV4(n.Config.S3.AccessKey, n.Config.S3.SecretKey, ""), Secure: ep.Scheme == "https",
		Region: u.Query().Get("region"), BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, u.Host
}

// upIsS3 reports whether n stores blobs on S3.
func upIsS3(n *nodetest.Node) bool { return strings.HasPrefix(n.Config.Blobs, "s3://") }

// upLeftovers is what interrupted writes left in the blob store outside
// keys: temp files on the filesystem (DIR/tmp), temporary objects and
// incomplete multipart uploads on S3.
func upLeftovers(t testing.TB, n *nodetest.Node) []string {
	t.Helper()
	var out []string
	if upIsS3(n) {
		c, bucket := upS3(t, n)
		ctx := context.Background()
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "~tmp/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out = append(out, o.Key)
		}
		for up := range c.ListIncompleteUploads(ctx, bucket, "", true) {
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			out = append(out, "incomplete upload of "+up.Key)
		}
		return out
	}
	dir := filepath.Join(strings.TrimPrefix(n.Config.Blobs, "file://"), "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

// upSweep runs the app's orphan sweeper with age 0 (the scheduled
// "files.blobs.sweep" uses 24 h and only enqueues a run) on a service of
// n's database and blob store, and returns how many blobs it removed.
func upSweep(n *nodetest.Node, blobs blob.Store) (int, error) {
	svc := files.NewService(n.Store().App("files"), n.Identity().Events, blobs, n.Identity().Mail, nil, files.Options{MaxUpload: 1 << 30})
	return svc.Sweep(context.Background(), 0)
}

// upInFlight waits until ok accepts the number of requests n serves (the
// tessera_http_requests_in_flight gauge of /metrics, which counts the
// request asking).
func upInFlight(t testing.TB, n *nodetest.Node, what string, ok func(int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := testhttp.Expect(t, 200, "GET", n.URL+"/metrics", "")
		_, rest, found := strings.Cut(body, "\ntessera_http_requests_in_flight ")
		v, _, _ := strings.Cut(rest, "\n")
		if c, err := strconv.Atoi(v); found && err == nil && ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s (in flight: %q)", what, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upQuiet waits until n serves no request but the one asking: a handler
// whose client went away has then returned and cleaned up.
func upQuiet(t testing.TB, n *nodetest.Node) {
	t.Helper()
	upInFlight(t, n, "requests done", func(c int) bool { return c == 1 })
}

// upBusy waits until n serves a request besides the one asking: the
// upload a test is about to cut has reached its handler.
func upBusy(t testing.TB, n *nodetest.Node) {
	t.Helper()
	upInFlight(t, n, "the upload being served", func(c int) bool { return c >= 2 })
}

// upNoOrphan checks, once n is quiet, that nothing is left behind: no
// temp file, temporary object or incomplete upload, and no blob under
// files/ that no row names (what the app's sweeper would remove).
func upNoOrphan(t testing.TB, n *nodetest.Node) {
	t.Helper()
	upQuiet(t, n)
	if l := upLeftovers(t, n); len(l) > 0 {
		t.Fatalf("leftovers of interrupted writes: %q", l)
	}
	if o := upOrphans(t, n); len(o) > 0 {
		t.Fatalf("blobs no version or upload names: %q", o)
	}
}

// upPart is a part of a multipart body: a field, or a file when filename
// is set.
type upPart struct {
	field, filename, contentType, body string
}

// upMultipart encodes parts and returns the body and its Content-Type.
func upMultipart(t testing.TB, parts ...upPart) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.field)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(pw, p.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// upDial opens a raw connection to n.
func upDial(t testing.TB, n *nodetest.Node) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(n.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// upHead is the head of a raw POST /files by u with extra header lines.
func upHead(u user, path string, lines ...string) string {
	var b strings.Builder
	b.WriteString("POST " + path + " HTTP/1.1\r\nHost: tessera.test\r\nAuthorization: Bearer " + u.token + "\r\nX-Org-ID: " + u.org + "\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// upReadResponse reads an answer from c within 10 s: a server that waits
// for a body it will never get fails the test instead of hanging it.
func upReadResponse(t testing.TB, c net.Conn) testhttp.Response {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer while the body is incomplete (the server waits for it): %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return testhttp.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// upSHA is the lowercase hex SHA-256 of s.
func upSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// upB64 is the base64 SHA-256 of s (Digest headers).
func upB64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// upFile decodes an uploaded file.
func upFile(t testing.TB, r testhttp.Response) files.File {
	t.Helper()
	if r.Status != 201 && r.Status != 200 {
		t.Fatalf("want a file: %d %s", r.Status, r.Body)
	}
	var f files.File
	mustJSON(t, r.Body, &f)
	return f
}

// upContent downloads file id's bytes as u.
func upContent(t testing.TB, n *nodetest.Node, u user, id string) string {
	t.Helper()
	return testhttp.Expect(t, 200, "GET", n.URL+"/files/"+id+"/content", "", u.as()...)
}

// TestUploadRawAndMultipart proves both upload forms of POST /files: a raw
// body named by X-File-Name in X-Folder, and multipart with the fields
// folder and name before one file part; a second file part or no file part
// is 422 and stores nothing.
func TestUploadRawAndMultipart(t *testing.T) {
	t.Parallel()
	upEverywhere(t, nil, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)

		r := ann.upload(t, n, "report.txt", "text/plain", "raw body", header("X-Folder", "/docs/2024"))
		raw := upFile(t, r)
		if raw.Name != "report.txt" || raw.Folder != "/docs/2024" || raw.Size != 8 || raw.SHA256 != upSHA("raw body") ||
			raw.ContentType != "text/plain" || raw.Version != 1 || raw.OwnerID != ann.id || raw.OrgID != ann.org {
			t.Fatalf("raw upload: %+v", raw)
		}
		if r.Header.Get("Location") != "/files/"+raw.ID || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("raw upload headers: Location %q, ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
		}
		if got := upContent(t, n, ann, raw.ID); got != "raw body" {
			t.Fatalf("raw upload's content: %q", got)
		}

		enc := upFile(t, ann.upload(t, n, "r%C3%A9sum%C3%A9.pdf", "application/pdf", "%PDF-1.4\n%%EOF\n",
			header("X-Folder", "/r%C3%A9sum%C3%A9s")))
		if enc.Name != "résumé.pdf" || enc.Folder != "/résumés" || enc.ContentType != "application/pdf" {
			t.Fatalf("percent-encoded name and folder: %+v", enc)
		}
		upExpectProblem(t, "bad percent-encoding", ann.upload(t, n, "100%.txt", "text/plain", "x"), 422, "", "header.X-File-Name")
		upExpectProblem(t, "bad percent-encoding in X-Folder", ann.upload(t, n, "a.txt", "text/plain", "x", header("X-Folder", "/%zz")),
			422, "", "header.X-Folder")
		upExpectProblem(t, "raw body without a name", testhttp.Send(t, "POST", n.URL+"/files", "x", ann.as(header("Content-Type", "text/plain"))...),
			422, "", "header.X-File-Name")

		body, ct := upMultipart(t, upPart{field: "folder", body: "/mp"}, upPart{field: "name", body: "renamed.txt"},
			upPart{field: "file", filename: "orig.txt", contentType: "text/plain", body: "multipart body"})
		mp := upFile(t, testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...))
		if mp.Name != "renamed.txt" || mp.Folder != "/mp" || mp.Size != 14 || mp.SHA256 != upSHA("multipart body") || mp.ContentType != "text/plain" {
			t.Fatalf("multipart upload: %+v", mp)
		}
		if got := upContent(t, n, ann, mp.ID); got != "multipart body" {
			t.Fatalf("multipart upload's content: %q", got)
		}

		body, ct = upMultipart(t, upPart{field: "file", filename: "only.txt", contentType: "text/plain", body: "only a file"})
		only := upFile(t, testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...))
		if only.Name != "only.txt" || only.Folder != "/" {
			t.Fatalf("multipart upload named by its file part: %+v", only)
		}
		used := raw.Size + enc.Size + mp.Size + only.Size
		names := []string{"report.txt", "résumé.pdf", "renamed.txt", "only.txt"}
		upExpectStored(t, n, ann, used, names...)

		body, ct = upMultipart(t, upPart{field: "file", filename: "one.txt", contentType: "text/plain", body: "first file"},
			upPart{field: "file2", filename: "two.txt", contentType: "text/plain", body: "second file"})
		upExpectProblem(t, "two file parts", testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...), 422, "", "")
		body, ct = upMultipart(t, upPart{field: "folder", body: "/x"}, upPart{field: "name", body: "x.txt"})
		upExpectProblem(t, "no file part", testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...), 422, "", "body.file")
		upExpectProblem(t, "empty multipart body", testhttp.Send(t, "POST", n.URL+"/files", "--b--\r\n",
			ann.as(header("Content-Type", "multipart/form-data; boundary=b"))...), 422, "", "body.file")
		if r := testhttp.Send(t, "POST", n.URL+"/files", "not multipart at all", ann.as(header("Content-Type", "multipart/form-data"))...); r.Status != 400 {
			t.Fatalf("multipart without a boundary: %d %s, want 400", r.Status, r.Body)
		}
		upExpectStored(t, n, ann, used, names...)
		upNoOrphan(t, n)
	})
}

// TestUploadSniffing proves the stored type follows the bytes: a PNG
// declared text/html is stored (and served) as image/png, an HTML page
// declared image/png is not image/png, and types the bytes do not
// contradict (CSV, an unknown binary) are kept; raw, multipart and direct
// uploads alike.
func TestUploadSniffing(t *testing.T) {
	t.Parallel()
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
	html := "<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(document.cookie)</script></body></html>"
	upEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		for i, tc := range []struct {
			name, declared, body, want, notWant string
		}{
			{name: "png-as-html.html", declared: "text/html", body: png, want: "image/png"},
			{name: "html-as-png.png", declared: "image/png", body: html, notWant: "image/png"},
			{name: "data.csv", declared: "text/csv", body: "name,age\nann,31\nbob,42\n", want: "text/csv"},
			{name: "blob.foo", declared: "application/x-foo", body: "\x00\x01\x02\x03\xfe\xff\x10\x20\x00\x00\x7f\x80", want: "application/x-foo"},
		} {
			for _, form := range []string{"raw", "multipart", "direct"} {
				var r testhttp.Response
				name := form + "-" + tc.name
				switch form {
				case "raw":
					r = ann.upload(t, n, name, tc.declared, tc.body)
				case "multipart":
					body, ct := upMultipart(t, upPart{field: "file", filename: name, contentType: tc.declared, body: tc.body})
					r = testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...)
				case "direct":
					in, _ := json.Marshal(files.UploadInput{Name: name, Size: int64(len(tc.body)), ContentType: tc.declared})
					up := upStart(t, n, ann, string(in))
					if p := upPut(t, n, up, tc.body); p.Status/100 != 2 {
						t.Fatalf("PUT %s: %d %s", name, p.Status, p.Body)
					}
					r = upComplete(t, n, ann, up.UploadID)
				}
				f := upFile(t, r)
				if (tc.want != "" && f.ContentType != tc.want) || (tc.notWant != "" && strings.HasPrefix(f.ContentType, tc.notWant)) {
					t.Fatalf("%d %s declared %s: stored as %q", i, name, tc.declared, f.ContentType)
				}
				d := testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content", "", ann.as()...)
				if d.Status != 200 || d.Body != tc.body || d.Header.Get("Content-Type") != f.ContentType || d.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Fatalf("%s: download %d, Content-Type %q (stored %q), nosniff %q", name, d.Status, d.Header.Get("Content-Type"), f.ContentType,
						d.Header.Get("X-Content-Type-Options"))
				}
			}
		}
	})
}

// TestUploadBadNames proves every name and folder files.md refuses is a
// 422 at header.X-File-Name (or header.X-Folder) that stores nothing, and
// that the edge cases that are fine (255 characters, NFD) are accepted,
// the NFD one stored as NFC.
func TestUploadBadNames(t *testing.T) {
	t.Parallel()
	upEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		pct := url.PathEscape
		for _, tc := range []struct {
			what, wire string // wire: the X-File-Name value as sent
		}{
			{"slash", "a/b"},
			{"encoded slash", "a%2Fb"},
			{"backslash", `a\b`},
			{"dot dot", ".."},
			{"dot", "."},
			{"encoded dot dot", "%2E%2E"},
			{"NUL", "a%00b"},
			{"control 0x01", "%01"},
			{"DEL", "a%7F"},
			{"newline", "a%0D%0Ab"},
			{"256 runes", strings.Repeat("a", 256)},
			{"256 two-byte runes", pct(strings.Repeat("é", 256))},
			{"leading space", "%20a.txt"},
			{"trailing space", "a.txt%20"},
			{"RTL override", pct("invoice\u202Efdp.exe")},
			{"RTL override, raw UTF-8", "invoice\u202Efdp.exe"},
			{"zero-width joiner", pct("a\u200Db")},
			{"fullwidth solidus", pct("a\uFF0Fb")},
			{"division slash", pct("a\u2215b")},
			{"invalid UTF-8, encoded", "a%FFb"},
			{"invalid UTF-8, raw bytes", "a\xffb"},
			{"bad percent-encoding", "a%zz"},
		} {
			r := ann.upload(t, n, tc.wire, "text/plain", "x")
			upExpectProblem(t, tc.what, r, 422, "", "header.X-File-Name")
		}
		for _, tc := range []struct{ what, folder string }{
			{"no leading slash", "docs"},
			{"double slash", "//"},
			{"dot dot", "/a/../b"},
			{"33 levels", strings.Repeat("/a", 33)},
			{"control", "/a%01"},
			{"RTL override", pct("/a\u202Eb")},
		} {
			r := ann.upload(t, n, "ok.txt", "text/plain", "x", header("X-Folder", tc.folder))
			upExpectProblem(t, "folder: "+tc.what, r, 422, "", "header.X-Folder")
		}
		upExpectStored(t, n, ann, 0)

		// A NUL the HTTP client will not put in a header: as a multipart
		// file name.
		body, ct := upMultipart(t, upPart{field: "file", filename: "a\x00b.txt", contentType: "text/plain", body: "x"})
		if r := testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...); r.Status != 422 {
			t.Fatalf("multipart file name with a NUL: %d %s, want 422", r.Status, r.Body)
		}
		// ... and as raw header bytes, which net/http refuses itself.
		c := upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: a\x00b", "Content-Type: text/plain", "Content-Length: 1")+"x"); err != nil {
			t.Fatal(err)
		}
		if r := upReadResponse(t, c); r.Status != 400 {
			t.Fatalf("raw NUL in X-File-Name: %d %s, want net/http's 400", r.Status, r.Body)
		}
		upExpectStored(t, n, ann, 0)

		long := upFile(t, ann.upload(t, n, pct(strings.Repeat("é", 255)), "text/plain", "x"))
		if long.Name != strings.Repeat("é", 255) {
			t.Fatalf("255 runes: %q", long.Name)
		}
		nfd := upFile(t, ann.upload(t, n, pct("re\u0301sume\u0301.txt"), "text/plain", "x", header("X-Folder", pct("/cafe\u0301"))))
		if nfd.Name != "résumé.txt" || nfd.Folder != "/café" {
			t.Fatalf("NFD name and folder: %q in %q, want NFC résumé.txt in /café", nfd.Name, nfd.Folder)
		}
		deep := upFile(t, ann.upload(t, n, "deep.txt", "text/plain", "x", header("X-Folder", strings.Repeat("/a", 32))))
		if deep.Folder != strings.Repeat("/a", 32) {
			t.Fatalf("32 levels: %q", deep.Folder)
		}
		upExpectStored(t, n, ann, 3, strings.Repeat("é", 255), "résumé.txt", "deep.txt")
	})
}

// TestUploadBadMultipartNameLocation proves a bad name sent in a multipart
// body is reported where it was sent (the body), not at an X-File-Name
// header the request does not have.
func TestUploadBadMultipartNameLocation(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	ann := upOwner(t, n)
	for _, parts := range [][]upPart{
		{{field: "name", body: "a/b"}, {field: "file", filename: "ok.txt", contentType: "text/plain", body: "x"}},
		{{field: "file", filename: "..", contentType: "text/plain", body: "x"}},
	} {
		body, ct := upMultipart(t, parts...)
		r := testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...)
		p := upExpectProblem(t, "bad multipart name", r, 422, "", "")
		if len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0].Location, "body.") {
			t.Errorf("a bad name in a multipart body is reported at %+v, want a body.* location (body.name or body.file): "+
				"content.go Create hard-codes header.X-File-Name", p.Errors)
		}
	}
}

// TestUploadSizeLimit proves files.max_upload: exactly the limit passes;
// over it is 413 — with a Content-Length, before the body is read (the
// server answers a 100 MiB announcement of which it got 4 bytes); without
// one (chunked, multipart), once the limit is passed — and nothing is
// stored.
func TestUploadSizeLimit(t *testing.T) {
	t.Parallel()
	upEverywhere(t, []string{"TESSERA_FILES_MAX_UPLOAD=1KiB"}, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		full := strings.Repeat("k", 1024)
		upFile(t, ann.upload(t, n, "full.bin", "application/octet-stream", full))

		upExpectProblem(t, "1025 bytes with Content-Length", ann.upload(t, n, "over.bin", "application/octet-stream", full+"k"), 413, "", "")

		c := upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: big.bin", "Content-Type: application/octet-stream",
			"Content-Length: 104857600")+"tiny"); err != nil {
			t.Fatal(err)
		}
		r := upReadResponse(t, c)
		upExpectProblem(t, "100 MiB announced", r, 413, "", "")
		_ = c.Close()

		r = testhttp.Stream(t, "POST", n.URL+"/files", io.MultiReader(strings.NewReader(strings.Repeat("c", 4096))),
			ann.as(header("X-File-Name", "chunked.bin"), header("Content-Type", "application/octet-stream"))...)
		upExpectProblem(t, "4 KiB chunked", r, 413, "", "")

		body, ct := upMultipart(t, upPart{field: "file", filename: "mp.bin", contentType: "application/octet-stream", body: strings.Repeat("m", 4096)})
		upExpectProblem(t, "4 KiB in a multipart file part", testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...), 413, "", "")

		c = upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "Content-Type: multipart/form-data; boundary=b", "Content-Length: 104857600")+
			"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nab"); err != nil {
			t.Fatal(err)
		}
		upExpectProblem(t, "100 MiB multipart announced", upReadResponse(t, c), 413, "", "")
		_ = c.Close()

		// A new version is held to the same limit.
		f := upList(t, n, ann)[0]
		upExpectProblem(t, "new version over the limit", testhttp.Send(t, "PUT", n.URL+"/files/"+f.ID+"/content", full+"v",
			ann.as(header("Content-Type", "application/octet-stream"))...), 413, "", "")
		upExpectProblem(t, "chunked new version over the limit", testhttp.Stream(t, "PUT", n.URL+"/files/"+f.ID+"/content",
			io.MultiReader(strings.NewReader(full+"v")), ann.as(header("Content-Type", "application/octet-stream"))...), 413, "", "")

		upExpectStored(t, n, ann, 1024, "full.bin")
		upNoOrphan(t, n)
	})
}

// TestUploadQuota proves the per-org quota: uploads up to it pass, the one
// past it is 413 quota_exceeded — refused before any byte is stored when
// its size is known, rolled back when it is not — trashed files still
// count, deleting for good frees the space, and used_bytes follows.
func TestUploadQuota(t *testing.T) {
	t.Parallel()
	upEverywhere(t, []string{"TESSERA_FILES_QUOTA=2KiB"}, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		if s := upSettings(t, n, ann); s.QuotaBytes != 2048 || s.UsedBytes != 0 {
			t.Fatalf("settings before: %+v", s)
		}
		octet := header("Content-Type", "application/octet-stream")
		a := upFile(t, ann.upload(t, n, "a.bin", "application/octet-stream", strings.Repeat("a", 1024)))
		b := upFile(t, ann.upload(t, n, "b.bin", "application/octet-stream", strings.Repeat("b", 1000)))
		upExpectStored(t, n, ann, 2024, "a.bin", "b.bin")

		upExpectProblem(t, "100 bytes known, 24 left", ann.upload(t, n, "c.bin", "application/octet-stream", strings.Repeat("c", 100)),
			413, files.ReasonQuota, "")
		upExpectProblem(t, "100 bytes chunked, 24 left", testhttp.Stream(t, "POST", n.URL+"/files", io.MultiReader(strings.NewReader(strings.Repeat("c", 100))),
			ann.as(header("X-File-Name", "c.bin"), octet)...), 413, files.ReasonQuota, "")
		body, ct := upMultipart(t, upPart{field: "file", filename: "c.bin", contentType: "application/octet-stream", body: strings.Repeat("c", 100)})
		upExpectProblem(t, "100 bytes multipart, 24 left", testhttp.Send(t, "POST", n.URL+"/files", body, ann.as(header("Content-Type", ct))...),
			413, files.ReasonQuota, "")
		upExpectProblem(t, "new version of 100 bytes, 24 left", testhttp.Send(t, "PUT", n.URL+"/files/"+a.ID+"/content", strings.Repeat("v", 100),
			ann.as(octet)...), 413, files.ReasonQuota, "")
		// Known size over what is left: refused before the body is read (an
		// announced 1 MiB of which 4 bytes come), and before a direct
		// upload's URL is handed out.
		c := upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: c.bin", "Content-Type: application/octet-stream",
			"Content-Length: 1048576")+"tiny"); err != nil {
			t.Fatal(err)
		}
		upExpectProblem(t, "1 MiB announced, 24 bytes left", upReadResponse(t, c), 413, files.ReasonQuota, "")
		_ = c.Close()
		upExpectProblem(t, "direct upload of 100 bytes, 24 left", testhttp.Send(t, "POST", n.URL+"/files/uploads", `{"name":"c.bin","size":100}`,
			ann.as()...), 413, files.ReasonQuota, "")
		upExpectStored(t, n, ann, 2024, "a.bin", "b.bin")

		upFile(t, testhttp.Stream(t, "POST", n.URL+"/files", io.MultiReader(strings.NewReader(strings.Repeat("c", 24))),
			ann.as(header("X-File-Name", "c.bin"), octet)...))
		upExpectStored(t, n, ann, 2048, "a.bin", "b.bin", "c.bin")
		upExpectProblem(t, "1 byte known, quota full", ann.upload(t, n, "d.bin", "application/octet-stream", "d"), 413, files.ReasonQuota, "")
		upExpectProblem(t, "1 byte chunked, quota full", testhttp.Stream(t, "POST", n.URL+"/files", io.MultiReader(strings.NewReader("d")),
			ann.as(header("X-File-Name", "d.bin"), octet)...), 413, files.ReasonQuota, "")

		// The trash still counts; deleting for good frees the space.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+b.ID, "", ann.as()...)
		if s := upSettings(t, n, ann); s.UsedBytes != 2048 {
			t.Fatalf("used_bytes after trashing b: %d, want 2048 (the trash counts)", s.UsedBytes)
		}
		upExpectProblem(t, "1 byte with b in the trash", ann.upload(t, n, "d.bin", "application/octet-stream", "d"), 413, files.ReasonQuota, "")
		testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+b.ID+"?permanent=true", "", ann.as()...)
		if s := upSettings(t, n, ann); s.UsedBytes != 1048 {
			t.Fatalf("used_bytes after deleting b: %d, want 1048", s.UsedBytes)
		}
		upFile(t, ann.upload(t, n, "d.bin", "application/octet-stream", strings.Repeat("d", 1000)))
		upExpectStored(t, n, ann, 2048, "a.bin", "c.bin", "d.bin")
		upNoOrphan(t, n)
	})
}

// TestUploadQuotaFullStopsReading proves that with the quota used up, an
// upload of unknown size is refused without reading the body (a blob
// limit of 0 would mean none): the server answers 413 quota_exceeded while
// the client is still sending a body that never ends.
func TestUploadQuotaFullStopsReading(t *testing.T) {
	t.Parallel()
	upEverywhere(t, []string{"TESSERA_FILES_QUOTA=1KiB"}, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		upFile(t, ann.upload(t, n, "full.bin", "application/octet-stream", strings.Repeat("f", 1024)))
		c := upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: more.bin", "Content-Type: application/octet-stream",
			"Transfer-Encoding: chunked")); err != nil {
			t.Fatal(err)
		}
		// 512 KiB, then the body stays open: net/http itself discards up to
		// 256 KiB of an unread chunked body before it answers (and then
		// closes the connection), so the answer comes only if the app
		// stopped reading.
		go func() {
			chunk := strings.Repeat("m", 512<<10)
			_, _ = fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk)
		}()
		r := upReadResponse(t, c)
		upExpectProblem(t, "chunked upload with the quota full", r, 413, files.ReasonQuota, "")
		_ = c.Close()
		upExpectStored(t, n, ann, 1024, "full.bin")
		upNoOrphan(t, n)
	})
}

// TestUploadInterrupted proves an upload that never completes leaves
// nothing: a Content-Length of 1000 with 10 bytes sent, a client gone
// after 1 MiB of a 2 MiB body, a multipart body cut inside its file part.
// No file is listed, no byte counted, no temp file, temporary object or
// incomplete multipart upload is left, no blob under files/ lacks a row,
// and the app's sweeper at age 0 finds nothing to remove.
func TestUploadInterrupted(t *testing.T) {
	t.Parallel()
	upEverywhere(t, nil, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)

		// A body shorter than its Content-Length: the client stops sending
		// (half-close) and reads the answer.
		c := upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: lie.bin", "Content-Type: application/octet-stream",
			"Content-Length: 1000")+"0123456789"); err != nil {
			t.Fatal(err)
		}
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if r := upReadResponse(t, c); r.Status != 400 {
			t.Errorf("a body shorter than its Content-Length: %d %s, want 400", r.Status, r.Body)
		}
		_ = c.Close()
		upExpectStored(t, n, ann, 0)
		upNoOrphan(t, n)

		// The same, the client closing the connection.
		c = upDial(t, n)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: lie.bin", "Content-Type: application/octet-stream",
			"Content-Length: 1000")+"0123456789"); err != nil {
			t.Fatal(err)
		}
		upBusy(t, n)
		_ = c.Close()
		upNoOrphan(t, n)
		upExpectStored(t, n, ann, 0)

		// A client gone mid-body.
		c = upDial(t, n)
		half := bytes.Repeat([]byte("h"), 1<<20)
		if _, err := io.WriteString(c, upHead(ann, "/files", "X-File-Name: half.bin", "Content-Type: application/octet-stream",
			"Content-Length: "+strconv.Itoa(2<<20))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(half); err != nil {
			t.Fatal(err)
		}
		upBusy(t, n)
		_ = c.Close()
		upNoOrphan(t, n)
		upExpectStored(t, n, ann, 0)

		// A multipart body cut inside its file part.
		c = upDial(t, n)
		mpHead := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
		if _, err := io.WriteString(c, upHead(ann, "/files", "Content-Type: multipart/form-data; boundary=b",
			"Content-Length: "+strconv.Itoa(len(mpHead)+(2<<20)+8))+mpHead); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(half); err != nil {
			t.Fatal(err)
		}
		upBusy(t, n)
		_ = c.Close()
		upNoOrphan(t, n)
		upExpectStored(t, n, ann, 0)

		// A new version cut short leaves the file as it was.
		f := ann.mustUpload(t, n, "kept.txt", "kept")
		c = upDial(t, n)
		head := strings.Replace(upHead(ann, "/files/"+f.ID+"/content", "Content-Type: text/plain", "Content-Length: 1000"), "POST", "PUT", 1)
		if _, err := io.WriteString(c, head+"0123456789"); err != nil {
			t.Fatal(err)
		}
		upBusy(t, n)
		_ = c.Close()
		upNoOrphan(t, n)
		upExpectStored(t, n, ann, 4, "kept.txt")
		if got := upContent(t, n, ann, f.ID); got != "kept" {
			t.Fatalf("content after a cut new version: %q", got)
		}

		// The sweepers find nothing to remove either.
		if err := n.Jobs().RunSchedule(context.Background(), "platform.blobs.sweep"); err != nil {
			t.Fatal(err)
		}
		if removed, err := upSweep(n, upBlobs(t, n)); err != nil || removed != 0 {
			t.Fatalf("the app's sweeper at age 0: removed %d, %v; want 0 removed, no error", removed, err)
		}
	})
}

// TestUploadSweeper proves the app's orphan sweeper (files.blobs.sweep, run
// here at age 0): it removes a blob no row names and keeps every blob a
// version or a pending upload names, so the files still download.
func TestUploadSweeper(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		f := ann.mustUpload(t, n, "kept.txt", "kept")
		up := upStart(t, n, ann, `{"name":"pending.txt","size":7}`)
		if r := upPut(t, n, up, "pending"); r.Status/100 != 2 {
			t.Fatalf("PUT: %d %s", r.Status, r.Body)
		}
		blobs := upBlobs(t, n)
		orphan := "files/" + f.ID + "/orphan"
		if _, err := blobs.Put(context.Background(), orphan, strings.NewReader("left behind"), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		removed, err := upSweep(n, blobs)
		if err != nil {
			t.Fatalf("the app's sweeper fails: %v (handlers.go sweepBatch: IN without parentheses?)", err)
		}
		if removed != 1 {
			t.Fatalf("the sweeper removed %d blobs, want the 1 orphan", removed)
		}
		if _, err := blobs.Stat(context.Background(), orphan); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("the orphan is still there: %v", err)
		}
		if got := upContent(t, n, ann, f.ID); got != "kept" {
			t.Fatalf("a named blob was swept: %q", got)
		}
		// The object-created hook may have completed the upload meanwhile,
		// moving its bytes to files/uploaded/<id>: either key holds them.
		_, errUp := blobs.Stat(context.Background(), "files/uploads/"+up.UploadID)
		_, errDone := blobs.Stat(context.Background(), "files/uploaded/"+up.UploadID)
		if errUp != nil && errDone != nil {
			t.Fatalf("an upload's object was swept: %v / %v", errUp, errDone)
		}
		if o := upOrphans(t, n); len(o) > 0 {
			t.Fatalf("orphans after the sweep: %q", o)
		}
	})
}

// TestUploadDigest proves the optional digest check: a right Digest or
// Content-Digest stores the file (sha256 as computed), a wrong one is 400
// digest_mismatch storing nothing, a malformed one is 400, and the two
// headers disagreeing is 400.
func TestUploadDigest(t *testing.T) {
	t.Parallel()
	upEverywhere(t, nil, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		const body = "checked bytes"
		f := upFile(t, ann.upload(t, n, "digest.txt", "text/plain", body, header("Digest", "sha-256="+upB64(body))))
		if f.SHA256 != upSHA(body) || f.Size != int64(len(body)) {
			t.Fatalf("with Digest: %+v", f)
		}
		g := upFile(t, ann.upload(t, n, "content-digest.txt", "text/plain", body, header("Content-Digest", "sha-256=:"+upB64(body)+":")))
		if g.SHA256 != upSHA(body) {
			t.Fatalf("with Content-Digest: %+v", g)
		}
		both := upFile(t, ann.upload(t, n, "both.txt", "text/plain", body, header("Digest", "sha-256="+upB64(body)),
			header("Content-Digest", "sha-256=:"+upB64(body)+":")))
		if both.SHA256 != upSHA(body) {
			t.Fatalf("with both: %+v", both)
		}
		used := 3 * int64(len(body))
		stored := []string{"digest.txt", "content-digest.txt", "both.txt"}

		upExpectProblem(t, "wrong Digest", ann.upload(t, n, "wrong.txt", "text/plain", body, header("Digest", "sha-256="+upB64("other"))),
			400, files.ReasonDigestMismatch, "")
		upExpectProblem(t, "wrong Content-Digest", ann.upload(t, n, "wrong.txt", "text/plain", body,
			header("Content-Digest", "sha-256=:"+upB64("other")+":")), 400, files.ReasonDigestMismatch, "")
		upExpectProblem(t, "wrong Digest, chunked", testhttp.Stream(t, "POST", n.URL+"/files", io.MultiReader(strings.NewReader(body)),
			ann.as(header("X-File-Name", "wrong.txt"), header("Content-Type", "text/plain"), header("Digest", "sha-256="+upB64("other")))...),
			400, files.ReasonDigestMismatch, "")
		mpBody, ct := upMultipart(t, upPart{field: "file", filename: "wrong.txt", contentType: "text/plain", body: body})
		upExpectProblem(t, "wrong Digest, multipart", testhttp.Send(t, "POST", n.URL+"/files", mpBody,
			ann.as(header("Content-Type", ct), header("Digest", "sha-256="+upB64("other")))...), 400, files.ReasonDigestMismatch, "")
		upExpectProblem(t, "wrong Digest on a new version", testhttp.Send(t, "PUT", n.URL+"/files/"+f.ID+"/content", "new bytes",
			ann.as(header("Content-Type", "text/plain"), header("Digest", "sha-256="+upB64("other")))...), 400, files.ReasonDigestMismatch, "")
		for _, bad := range []string{"sha-256=not base64!", "sha-256=" + upSHA(body), "sha-256=" + base64.StdEncoding.EncodeToString([]byte("short"))} {
			if r := ann.upload(t, n, "bad.txt", "text/plain", body, header("Digest", bad)); r.Status != 400 {
				t.Fatalf("malformed Digest %q: %d %s, want 400", bad, r.Status, r.Body)
			}
		}
		upExpectProblem(t, "Digest and Content-Digest disagree", ann.upload(t, n, "both.txt", "text/plain", body,
			header("Digest", "sha-256="+upB64(body)), header("Content-Digest", "sha-256=:"+upB64("other")+":")), 400, files.ReasonDigestMismatch, "")
		upExpectStored(t, n, ann, used, stored...)
		if got := upContent(t, n, ann, f.ID); got != body {
			t.Fatalf("content after a refused version: %q", got)
		}
		upNoOrphan(t, n)
	})
}

// upStart starts a direct upload as u and returns it.
func upStart(t testing.TB, n *nodetest.Node, u user, in string) files.Upload {
	t.Helper()
	var up files.Upload
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/files/uploads", in, u.as()...), &up)
	if up.UploadID == "" || up.URL == "" || up.Method != "PUT" || up.ExpiresAt.IsZero() {
		t.Fatalf("upload: %+v", up)
	}
	return up
}

// upPublic rewrites a URL the node made for its public URL to the test
// server's.
func upPublic(n *nodetest.Node, u string) string {
	if rest, ok := strings.CutPrefix(u, n.Config.PublicURL); ok {
		return n.URL + rest
	}
	return u
}

// upPut PUTs body to a direct upload's URL, without credentials.
func upPut(t testing.TB, n *nodetest.Node, up files.Upload, body string) testhttp.Response {
	t.Helper()
	prep := []func(*http.Request){}
	for k, v := range up.Headers {
		prep = append(prep, header(k, v))
	}
	return testhttp.Send(t, "PUT", upPublic(n, up.URL), body, prep...)
}

// upComplete completes upload id as u.
func upComplete(t testing.TB, n *nodetest.Node, u user, id string) testhttp.Response {
	t.Helper()
	return testhttp.Send(t, "POST", n.URL+"/files/uploads/"+id+"/complete", "", u.as()...)
}

// upGone waits until key is no longer in n's blob store.
func upGone(t testing.TB, n *nodetest.Node, key string) {
	t.Helper()
	s := upBlobs(t, n)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Stat(context.Background(), key)
		if fault.CodeOf(err) == fault.NotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("blob %s still there after 10 s (%v)", key, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upWaitFile waits until u's org lists a file named name and returns it.
func upWaitFile(t testing.TB, n *nodetest.Node, u user, name string) files.File {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, f := range upList(t, n, u) {
			if f.Name == name {
				return f
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listed after 15 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDirectUpload proves POST /files/uploads: the bytes PUT to the signed
// URL (the server's on the filesystem, S3's presigned) become the file on
// complete (once: completing again answers the same file); complete before
// the PUT is 409; a size or SHA-256 other than announced is refused and the
// object deleted; the object-created hook (filesystem) or the confirm job
// (S3) completes an upload nobody completes; and only the uploader may
// complete it.
func TestDirectUpload(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann, bob := upOwner(t, n), signUp(t, n, "bob@example.com")
		join(t, n, ann, &bob, "member")
		const body = "name,age\nann,31\nbob,42\n"

		up := upStart(t, n, ann, `{"name":"direct.csv","size":`+strconv.Itoa(len(body))+`,"content_type":"text/csv","folder":"/in"}`)
		if d := time.Until(up.ExpiresAt); d <= 0 || d > files.UploadTTL+time.Minute {
			t.Fatalf("upload expires in %v", d)
		}
		if r := upComplete(t, n, ann, up.UploadID); r.Status != 409 {
			t.Fatalf("complete before the PUT: %d %s, want 409", r.Status, r.Body)
		}
		if r := upPut(t, n, up, body); r.Status/100 != 2 {
			t.Fatalf("PUT to the upload URL: %d %s", r.Status, r.Body)
		}
		if r := upComplete(t, n, bob, up.UploadID); r.Status != 404 {
			t.Fatalf("bob completes ann's upload: %d %s, want 404", r.Status, r.Body)
		}
		f := upFile(t, upComplete(t, n, ann, up.UploadID))
		if f.Name != "direct.csv" || f.Folder != "/in" || f.Size != int64(len(body)) || f.SHA256 != upSHA(body) || f.ContentType != "text/csv" ||
			f.OwnerID != ann.id || f.Version != 1 {
			t.Fatalf("completed: %+v", f)
		}
		again := upFile(t, upComplete(t, n, ann, up.UploadID))
		if again.ID != f.ID {
			t.Fatalf("completing twice: %s then %s", f.ID, again.ID)
		}
		if got := upContent(t, n, ann, f.ID); got != body {
			t.Fatalf("direct upload's content: %q", got)
		}
		if r := upComplete(t, n, ann, "0190a0a0-0000-7000-8000-000000000000"); r.Status != 404 {
			t.Fatalf("complete of no upload: %d %s, want 404", r.Status, r.Body)
		}

		// Fewer bytes than announced.
		short := upStart(t, n, ann, `{"name":"short.txt","size":100,"content_type":"text/plain"}`)
		if r := upPut(t, n, short, "only 20 bytes here.."); r.Status/100 != 2 {
			t.Fatalf("PUT of fewer bytes: %d %s", r.Status, r.Body)
		}
		upExpectProblem(t, "complete with fewer bytes than announced", upComplete(t, n, ann, short.UploadID), 422, "", "")
		upGone(t, n, "files/uploads/"+short.UploadID)

		// More bytes than announced: the filesystem's URL refuses them, S3's
		// are refused at complete.
		long := upStart(t, n, ann, `{"name":"long.txt","size":5,"content_type":"text/plain"}`)
		if r := upPut(t, n, long, "more than five bytes"); r.Status/100 == 2 {
			t.Logf("more bytes than announced: PUT %d, refused at complete", r.Status)
			upExpectProblem(t, "complete with more bytes than announced", upComplete(t, n, ann, long.UploadID), 422, "", "")
		} else if r.Status != 413 {
			t.Fatalf("PUT of more bytes than announced: %d %s, want 413 or a refusal at complete", r.Status, r.Body)
		}
		upGone(t, n, "files/uploads/"+long.UploadID)

		// A SHA-256 other than announced.
		bad := upStart(t, n, ann, `{"name":"bad.txt","size":5,"content_type":"text/plain","sha256":"`+upSHA("other")+`"}`)
		if r := upPut(t, n, bad, "hello"); r.Status/100 == 2 {
			t.Logf("another SHA-256: PUT %d, refused at complete", r.Status)
			upExpectProblem(t, "complete with another SHA-256", upComplete(t, n, ann, bad.UploadID), 422, "", "")
		} else if r.Status/100 != 4 {
			t.Fatalf("PUT of bytes of another SHA-256: %d %s, want a 4xx or a refusal at complete", r.Status, r.Body)
		} else if c := upComplete(t, n, ann, bad.UploadID); c.Status != 409 {
			t.Fatalf("complete after a refused PUT: %d %s, want 409 (nothing was uploaded)", c.Status, c.Body)
		} else {
			t.Logf("another SHA-256: PUT refused with %d, complete %d", r.Status, c.Status)
		}
		upGone(t, n, "files/uploads/"+bad.UploadID)

		// The right SHA-256 announced.
		good := upStart(t, n, ann, `{"name":"good.txt","size":5,"content_type":"text/plain","sha256":"`+upSHA("hello")+`"}`)
		if r := upPut(t, n, good, "hello"); r.Status/100 != 2 {
			t.Fatalf("PUT with the announced SHA-256: %d %s", r.Status, r.Body)
		}
		if g := upFile(t, upComplete(t, n, ann, good.UploadID)); g.SHA256 != upSHA("hello") || g.Size != 5 {
			t.Fatalf("completed with a SHA-256: %+v", g)
		}

		// Nobody completes: the object-created hook (filesystem) or the
		// confirm job (S3) does.
		auto := upStart(t, n, ann, `{"name":"auto.txt","size":4,"content_type":"text/plain"}`)
		if r := upPut(t, n, auto, "auto"); r.Status/100 != 2 {
			t.Fatalf("PUT: %d %s", r.Status, r.Body)
		}
		if upIsS3(n) {
			if err := n.Jobs().RunSchedule(context.Background(), "files.uploads.confirm"); err != nil {
				t.Fatal(err)
			}
		}
		a := upWaitFile(t, n, ann, "auto.txt")
		if a.Size != 4 || a.SHA256 != upSHA("auto") {
			t.Fatalf("completed by the hook: %+v", a)
		}
		if c := upFile(t, upComplete(t, n, ann, auto.UploadID)); c.ID != a.ID {
			t.Fatalf("complete after the hook: %s, the hook made %s", c.ID, a.ID)
		}

		upExpectStored(t, n, ann, int64(len(body))+5+4, "direct.csv", "good.txt", "auto.txt")
	})
}

// TestDirectUploadRefusals proves what POST /files/uploads refuses before
// handing out a URL: a bad name or folder (422 at body.name, body.folder),
// a size over files.max_upload (413), a malformed sha256 or a negative
// size (422), an unknown field (400), a user outside the org (403), and no
// org chosen (422).
func TestDirectUploadRefusals(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite, "TESSERA_FILES_MAX_UPLOAD=1KiB")
	ann, eve := upOwner(t, n), signUp(t, n, "eve@example.com")
	for _, tc := range []struct {
		in       string
		status   int
		location string
	}{
		{`{"name":"a/b","size":1}`, 422, "body.name"},
		{`{"name":"..","size":1}`, 422, "body.name"},
		{`{"name":"a\u202eb","size":1}`, 422, "body.name"},
		{`{"name":"ok","size":1,"folder":"//"}`, 422, "body.folder"},
		{`{"name":"ok","size":1025}`, 413, ""},
		{`{"name":"ok","size":1,"sha256":"xyz"}`, 422, ""},
		{`{"name":"ok","size":-1}`, 422, ""},
		{`{"name":"ok","size":1,"extra":true}`, 400, ""}, // unknown fields: 400 (conventions)
	} {
		r := testhttp.Send(t, "POST", n.URL+"/files/uploads", tc.in, ann.as()...)
		upExpectProblem(t, tc.in, r, tc.status, "", tc.location)
	}
	if r := testhttp.Send(t, "POST", n.URL+"/files/uploads", `{"name":"ok","size":1}`, eve.as(header("X-Org-ID", ann.org))...); r.Status != 403 {
		t.Fatalf("a non-member starts an upload in the org: %d %s, want 403", r.Status, r.Body)
	}
	if r := testhttp.Send(t, "POST", n.URL+"/files/uploads", `{"name":"ok","size":1}`, testhttp.Bearer(eve.token)); r.Status != 422 {
		t.Fatalf("no org chosen: %d %s, want 422", r.Status, r.Body)
	}
	upExpectStored(t, n, ann, 0)
}
