package files_test

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The download tests' helpers are prefixed "dl".

// dlGet downloads file id as u with extra headers.
func dlGet(t testing.TB, n *nodetest.Node, u user, path string, extra ...func(*http.Request)) testhttp.Response {
	t.Helper()
	return testhttp.Send(t, "GET", n.URL+"/files/"+path, "", u.as(extra...)...)
}

// dlAnon GETs url without credentials.
func dlAnon(t testing.TB, url string, extra ...func(*http.Request)) testhttp.Response {
	t.Helper()
	return testhttp.Send(t, "GET", url, "", extra...)
}

// dlDisposition parses a Content-Disposition: its type and file name.
func dlDisposition(t testing.TB, h http.Header) (string, string) {
	t.Helper()
	cd := h.Get("Content-Disposition")
	for i := 0; i < len(cd); i++ {
		if cd[i] < 0x20 || cd[i] > 0x7e {
			t.Fatalf("Content-Disposition has byte %#x: %q", cd[i], cd)
		}
	}
	typ, params, err := mime.ParseMediaType(cd)
	if err != nil {
		t.Fatalf("Content-Disposition %q: %v", cd, err)
	}
	return typ, params["filename"]
}

// dlReference is what net/http's ServeContent answers a GET of content
// with the Range header rng: the status the download must match.
func dlReference(content, rng string) int {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Range", rng)
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "", time.Time{}, strings.NewReader(content))
	return rec.Code
}

// TestDownloadHeaders proves GET /files/{id}/content's headers: ETag (the
// revision), Content-Length, the stored Content-Type, and an attachment
// Content-Disposition whose file name parses back to the file's name,
// however odd (quotes, semicolons, percent signs, non-ASCII), as printable
// ASCII only; If-None-Match with the ETag is 304; no access is 404.
func TestDownloadHeaders(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann, eve := upOwner(t, n), signUp(t, n, "eve@example.com")
		newOrg(t, n, &eve, "Evil")
		const body = "col1,col2\n1,2\n"
		name := `a "quoted"; filename=evil.exe %0D%0A é 日本.csv`
		f := upFile(t, ann.upload(t, n, url.PathEscape(name), "text/csv", body))
		if f.Name != name {
			t.Fatalf("stored name %q, want %q", f.Name, name)
		}
		r := dlGet(t, n, ann, f.ID+"/content")
		if r.Status != 200 || r.Body != body {
			t.Fatalf("download: %d %q", r.Status, r.Body)
		}
		if r.Header.Get("ETag") != `"1"` || r.Header.Get("Content-Length") != strconv.Itoa(len(body)) ||
			r.Header.Get("Content-Type") != "text/csv" || r.Header.Get("Accept-Ranges") != "bytes" || r.Header.Get("Last-Modified") == "" {
			t.Fatalf("download headers: %v", r.Header)
		}
		typ, fn := dlDisposition(t, r.Header)
		if typ != "attachment" || fn != name {
			t.Fatalf("Content-Disposition %q: %s %q, want attachment %q", r.Header.Get("Content-Disposition"), typ, fn, name)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("no nosniff: %v", r.Header)
		}

		for _, inm := range []string{`"1"`, `W/"1"`, `"0", "1"`, `*`} {
			if r := dlGet(t, n, ann, f.ID+"/content", header("If-None-Match", inm)); r.Status != 304 || r.Body != "" {
				t.Fatalf("If-None-Match %s: %d %q, want 304", inm, r.Status, r.Body)
			}
		}
		if r := dlGet(t, n, ann, f.ID+"/content", header("If-None-Match", `"2"`)); r.Status != 200 || r.Body != body {
			t.Fatalf("If-None-Match of another revision: %d", r.Status)
		}

		// The ETag follows the revision: a new version is "2".
		testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+f.ID+"/content", "a,b\n", ann.as(header("Content-Type", "text/csv"))...)
		if r := dlGet(t, n, ann, f.ID+"/content", header("If-None-Match", `"1"`)); r.Status != 200 || r.Body != "a,b\n" || r.Header.Get("ETag") != `"2"` {
			t.Fatalf("after a new version, If-None-Match \"1\": %d %q ETag %s", r.Status, r.Body, r.Header.Get("ETag"))
		}

		if r := dlGet(t, n, eve, f.ID+"/content"); r.Status != 404 {
			t.Fatalf("another org's user downloads: %d %s, want 404", r.Status, r.Body)
		}
		if r := dlAnon(t, n.URL+"/files/"+f.ID+"/content"); r.Status != 401 {
			t.Fatalf("anonymous download: %d %s, want 401", r.Status, r.Body)
		}
		if r := dlGet(t, n, ann, "0190a0a0-0000-7000-8000-000000000000/content"); r.Status != 404 {
			t.Fatalf("no such file: %d %s", r.Status, r.Body)
		}
	})
}

// TestDownloadRanges proves Range requests: one range (206 with
// Content-Range), a suffix range, an open range, several ranges
// (multipart/byteranges), a range past the end (416 with "bytes */size"),
// malformed ranges (exactly what net/http answers), and If-Range.
func TestDownloadRanges(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		const body = "0123456789abcdef"
		f := ann.mustUpload(t, n, "range.txt", body)
		for _, tc := range []struct {
			rng, want, contentRange string
		}{
			{"bytes=0-4", "01234", "bytes 0-4/16"},
			{"bytes=-5", "bcdef", "bytes 11-15/16"},
			{"bytes=10-", "abcdef", "bytes 10-15/16"},
			{"bytes=15-15", "f", "bytes 15-15/16"},
			{"bytes=12-100", "cdef", "bytes 12-15/16"},
			{"bytes=-100", body, "bytes 0-15/16"},
		} {
			r := dlGet(t, n, ann, f.ID+"/content", header("Range", tc.rng))
			if r.Status != 206 || r.Body != tc.want || r.Header.Get("Content-Range") != tc.contentRange ||
				r.Header.Get("Content-Length") != strconv.Itoa(len(tc.want)) {
				t.Fatalf("Range %s: %d %q Content-Range %q Content-Length %q; want 206 %q %q", tc.rng, r.Status, r.Body,
					r.Header.Get("Content-Range"), r.Header.Get("Content-Length"), tc.want, tc.contentRange)
			}
		}

		r := dlGet(t, n, ann, f.ID+"/content", header("Range", "bytes=0-1,4-5,-2"))
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Status != 206 || err != nil || mt != "multipart/byteranges" {
			t.Fatalf("several ranges: %d Content-Type %q", r.Status, r.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(strings.NewReader(r.Body), params["boundary"])
		var got []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			got = append(got, p.Header.Get("Content-Range")+"="+string(b))
		}
		if want := "bytes 0-1/16=01|bytes 4-5/16=45|bytes 14-15/16=ef"; strings.Join(got, "|") != want {
			t.Fatalf("several ranges: %q, want %q", strings.Join(got, "|"), want)
		}

		r = dlGet(t, n, ann, f.ID+"/content", header("Range", "bytes=100-200"))
		if r.Status != 416 || r.Header.Get("Content-Range") != "bytes */16" {
			t.Fatalf("range past the end: %d Content-Range %q, want 416 bytes */16", r.Status, r.Header.Get("Content-Range"))
		}
		for _, rng := range []string{"bytes=abc", "bytes=5-2", "bytes=", "items=0-1", "bytes=0-1,,", "bytes=--1", "bytes=1-2-3", "bytes=16-"} {
			want := dlReference(body, rng)
			if r := dlGet(t, n, ann, f.ID+"/content", header("Range", rng)); r.Status != want {
				t.Fatalf("malformed Range %q: %d %q, net/http answers %d", rng, r.Status, r.Body, want)
			}
		}

		if r := dlGet(t, n, ann, f.ID+"/content", header("Range", "bytes=0-1"), header("If-Range", `"1"`)); r.Status != 206 || r.Body != "01" {
			t.Fatalf("If-Range of the current ETag: %d %q, want 206", r.Status, r.Body)
		}
		if r := dlGet(t, n, ann, f.ID+"/content", header("Range", "bytes=0-1"), header("If-Range", `"7"`)); r.Status != 200 || r.Body != body {
			t.Fatalf("If-Range of another ETag: %d %q, want the whole file", r.Status, r.Body)
		}
	})
}

// TestDownloadVersions proves ?version=: an old version's bytes (with its
// own ETag, ranges included) after a new one, the current one for 0, 404
// for a version that does not exist, 422 for a negative one.
func TestDownloadVersions(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann := upOwner(t, n)
		f := ann.mustUpload(t, n, "v.txt", "version one")
		testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+f.ID+"/content", "version two!", ann.as(header("Content-Type", "text/plain"))...)
		r := dlGet(t, n, ann, f.ID+"/content?version=1")
		if r.Status != 200 || r.Body != "version one" || r.Header.Get("ETag") != `"`+upSHA("version one")+`"` {
			t.Fatalf("version 1: %d %q ETag %s", r.Status, r.Body, r.Header.Get("ETag"))
		}
		if r := dlGet(t, n, ann, f.ID+"/content?version=1", header("Range", "bytes=-3")); r.Status != 206 || r.Body != "one" {
			t.Fatalf("range of version 1: %d %q", r.Status, r.Body)
		}
		if r := dlGet(t, n, ann, f.ID+"/content?version=2"); r.Status != 200 || r.Body != "version two!" {
			t.Fatalf("version 2: %d %q", r.Status, r.Body)
		}
		if r := dlGet(t, n, ann, f.ID+"/content?version=0"); r.Status != 200 || r.Body != "version two!" || r.Header.Get("ETag") != `"2"` {
			t.Fatalf("version 0 (current): %d %q ETag %s", r.Status, r.Body, r.Header.Get("ETag"))
		}
		if r := dlGet(t, n, ann, f.ID+"/content?version=99"); r.Status != 404 {
			t.Fatalf("version 99: %d %s, want 404", r.Status, r.Body)
		}
		if r := dlGet(t, n, ann, f.ID+"/content?version=-1"); r.Status != 422 {
			t.Fatalf("version -1: %d %s, want 422", r.Status, r.Body)
		}
		var vs struct {
			Items []files.Version `json:"items"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/versions", "", ann.as()...), &vs)
		if len(vs.Items) != 2 || vs.Items[0].Version != 2 || vs.Items[1].SHA256 != upSHA("version one") {
			t.Fatalf("versions: %+v", vs.Items)
		}
	})
}

// TestDownloadSignedURL proves GET /files/{id}/url: a URL anyone can GET
// the bytes from without credentials (the server's signed one on the
// filesystem, S3's presigned one), valid at most 15 minutes (expires_at and
// the URL itself), that breaks when altered, for the current or a given
// version; a user without access gets 404.
func TestDownloadSignedURL(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann, eve := upOwner(t, n), signUp(t, n, "eve@example.com")
		newOrg(t, n, &eve, "Evil")
		f := ann.mustUpload(t, n, "signed.txt", "first bytes")
		testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+f.ID+"/content", "second bytes", ann.as(header("Content-Type", "text/plain"))...)

		var out struct {
			URL       string    `json:"url"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		before := time.Now()
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/url", "", ann.as()...), &out)
		if out.ExpiresAt.Before(before.Add(files.SignedURLTTL-time.Minute)) || out.ExpiresAt.After(time.Now().Add(files.SignedURLTTL)) {
			t.Fatalf("expires_at %v: not about 15 min from now", out.ExpiresAt)
		}
		u, err := url.Parse(out.URL)
		if err != nil {
			t.Fatal(err)
		}
		if upIsS3(n) {
			if s, err := strconv.Atoi(u.Query().Get("X-Amz-Expires")); err != nil || s <= 0 || s > 900 {
				t.Fatalf("presigned URL valid for %q s, want at most 900: %s", u.Query().Get("X-Amz-Expires"), out.URL)
			}
		} else {
			exp, err := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
			if err != nil || time.Unix(exp, 0).After(time.Now().Add(files.SignedURLTTL+time.Second)) {
				t.Fatalf("signed URL expires at %q, want within 15 min: %s", u.Query().Get("expires"), out.URL)
			}
		}
		signed := upPublic(n, out.URL)
		r := dlAnon(t, signed)
		if r.Status != 200 || r.Body != "second bytes" {
			t.Fatalf("GET of the signed URL: %d %q", r.Status, r.Body)
		}
		if typ, fn := dlDisposition(t, r.Header); typ != "attachment" || fn != "signed.txt" {
			t.Fatalf("signed URL's Content-Disposition: %q", r.Header.Get("Content-Disposition"))
		}
		if r := dlAnon(t, signed, header("Range", "bytes=0-5")); r.Status != 206 || r.Body != "second" {
			t.Fatalf("range of the signed URL: %d %q", r.Status, r.Body)
		}
		sig := "sig"
		if upIsS3(n) {
			sig = "X-Amz-Signature"
		}
		q := u.Query()
		s := []byte(q.Get(sig))
		if s[0] == 'A' {
			s[0] = 'B'
		} else {
			s[0] = 'A'
		}
		q.Set(sig, string(s))
		u.RawQuery = q.Encode()
		if r := dlAnon(t, upPublic(n, u.String())); r.Status != 403 {
			t.Fatalf("altered signature: %d %s, want 403", r.Status, r.Body)
		}

		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/url?version=1", "", ann.as()...), &out)
		if r := dlAnon(t, upPublic(n, out.URL)); r.Status != 200 || r.Body != "first bytes" {
			t.Fatalf("signed URL of version 1: %d %q", r.Status, r.Body)
		}
		if r := dlGet(t, n, eve, f.ID+"/url"); r.Status != 404 {
			t.Fatalf("another org's user asks for a URL: %d %s, want 404", r.Status, r.Body)
		}
		if r := dlGet(t, n, ann, f.ID+"/url?version=99"); r.Status != 404 {
			t.Fatalf("URL of version 99: %d %s, want 404", r.Status, r.Body)
		}
	})
}

// dlLink creates a public link to file id as u with body in.
func dlLink(t testing.TB, n *nodetest.Node, u user, id, in string) files.Link {
	t.Helper()
	var l files.Link
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/files/"+id+"/links", in, u.as()...), &l)
	if l.ID == "" || l.URL == "" || l.FileID != id {
		t.Fatalf("link: %+v", l)
	}
	return l
}

// TestPublicLinks proves public links: the URL serves the file's current
// version to anyone, as an attachment; an expiry in the past is 422; a
// password is asked for (401 with a Basic challenge) and taken as
// ?password= or HTTP Basic with any user name; a deleted link, or a link
// to a trashed file, is 404; only managers create links.
func TestPublicLinks(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann, bob := upOwner(t, n), signUp(t, n, "bob@example.com")
		join(t, n, ann, &bob, "member")
		f := ann.mustUpload(t, n, "public.txt", "public v1")

		open := dlLink(t, n, ann, f.ID, `{}`)
		link := upPublic(n, open.URL)
		r := dlAnon(t, link)
		if r.Status != 200 || r.Body != "public v1" {
			t.Fatalf("GET of the link: %d %q", r.Status, r.Body)
		}
		if typ, fn := dlDisposition(t, r.Header); typ != "attachment" || fn != "public.txt" {
			t.Fatalf("link's Content-Disposition: %q", r.Header.Get("Content-Disposition"))
		}
		testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+f.ID+"/content", "public v2", ann.as(header("Content-Type", "text/plain"))...)
		if r := dlAnon(t, link); r.Status != 200 || r.Body != "public v2" {
			t.Fatalf("the link after a new version: %d %q, want the current version", r.Status, r.Body)
		}
		alt := "A"
		if strings.HasSuffix(link, alt) {
			alt = "B"
		}
		if r := dlAnon(t, link[:len(link)-1]+alt); r.Status != 404 {
			t.Fatalf("an altered token: %d %s, want 404", r.Status, r.Body)
		}

		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		r = testhttp.Send(t, "POST", n.URL+"/files/"+f.ID+"/links", `{"expires_at":"`+past+`"}`, ann.as()...)
		upExpectProblem(t, "a link expiring in the past", r, 422, "", "body.expires_at")
		future := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		timed := dlLink(t, n, ann, f.ID, `{"expires_at":"`+future.Format(time.RFC3339)+`"}`)
		if timed.ExpiresAt == nil || !timed.ExpiresAt.Equal(future) {
			t.Fatalf("link expires_at %v, want %v", timed.ExpiresAt, future)
		}
		if r := dlAnon(t, upPublic(n, timed.URL)); r.Status != 200 {
			t.Fatalf("a link expiring in an hour: %d %s", r.Status, r.Body)
		}

		locked := dlLink(t, n, ann, f.ID, `{"password":"s3cret pass"}`)
		if !locked.Password {
			t.Fatalf("link with a password: %+v", locked)
		}
		lurl := upPublic(n, locked.URL)
		r = dlAnon(t, lurl)
		if r.Status != 401 {
			t.Fatalf("no password: %d %s, want 401", r.Status, r.Body)
		}
		if c := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(strings.ToLower(c), "basic") {
			t.Errorf("no password: WWW-Authenticate %q, want a Basic challenge (the link takes HTTP Basic, not a bearer token)", c)
		}
		if r := dlAnon(t, lurl+"?password=wrong"); r.Status != 401 {
			t.Fatalf("wrong password: %d %s, want 401", r.Status, r.Body)
		}
		if r := dlAnon(t, lurl+"?password="+url.QueryEscape("s3cret pass")); r.Status != 200 || r.Body != "public v2" {
			t.Fatalf("right password: %d %q", r.Status, r.Body)
		}
		if r := dlAnon(t, lurl, testhttp.Basic("anyone", "s3cret pass")); r.Status != 200 || r.Body != "public v2" {
			t.Fatalf("HTTP Basic with the password: %d %q", r.Status, r.Body)
		}
		if r := dlAnon(t, lurl, testhttp.Basic("anyone", "wrong")); r.Status != 401 {
			t.Fatalf("HTTP Basic with a wrong password: %d %s, want 401", r.Status, r.Body)
		}

		var ls struct {
			Items []files.Link `json:"items"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/links", "", ann.as()...), &ls)
		if len(ls.Items) != 3 {
			t.Fatalf("links: %+v", ls.Items)
		}
		for _, l := range ls.Items {
			if l.URL != "" {
				t.Fatalf("a listed link shows its URL: %+v", l)
			}
		}

		testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+f.ID+"/links/"+open.ID, "", ann.as()...)
		if r := dlAnon(t, link); r.Status != 404 {
			t.Fatalf("a deleted link: %d %s, want 404", r.Status, r.Body)
		}

		// Only managers make links: bob may read, not manage.
		testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+f.ID+"/grants", `{"principal_type":"user","principal_id":"`+bob.id+`","access":"write"}`, ann.as()...)
		if r := testhttp.Send(t, "POST", n.URL+"/files/"+f.ID+"/links", `{}`, bob.as()...); r.Status != 403 {
			t.Fatalf("a writer makes a link: %d %s, want 403", r.Status, r.Body)
		}

		testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+f.ID, "", ann.as()...)
		if r := dlAnon(t, upPublic(n, timed.URL)); r.Status != 404 {
			t.Fatalf("a link to a trashed file: %d %s, want 404", r.Status, r.Body)
		}
		if r := dlAnon(t, lurl+"?password="+url.QueryEscape("s3cret pass")); r.Status != 404 {
			t.Fatalf("a password link to a trashed file: %d %s, want 404", r.Status, r.Body)
		}
	})
}
