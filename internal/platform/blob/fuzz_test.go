package blob

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSignedURL: no path or query, however odd, panics parseSigned or is
// accepted without the signature of exactly what it asks for.
func FuzzSignedURL(f *testing.F) {
	s := &fsStore{opts: Options{PublicURL: "http://x", SigningKey: testSigningKey}}
	good, _ := s.SignedPutURL("a/b", time.Hour, PutOptions{MaxBytes: 10, SHA256: strings.Repeat("a", 64)})
	u, _ := url.Parse(good)
	f.Add("PUT", u.Path, u.RawQuery)
	f.Add("GET", "/blobs/a/../b", "expires=1&sig=")
	f.Add("GET", "/blobs/%00", "sig=%zz")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		if !ValidKey(strings.TrimPrefix(path, PathPrefix)) && strings.HasPrefix(path, PathPrefix) {
			path = PathPrefix + "x"
		}
		req := httptest.NewRequest("GET", "http://x/", nil)
		req.Method = method
		req.URL.Path = path
		req.URL.RawQuery = query
		r, err := parseSigned(req, testSigningKey, time.Now())
		if err != nil {
			return
		}
		// Accepted: the URL must be the one the store would sign.
		again, _ := s.signURL(r, time.Hour)
		au, _ := url.Parse(again)
		if au.Query().Get(qSig) != req.URL.Query().Get(qSig) || !ValidKey(r.Key) {
			t.Fatalf("accepted %s %s?%s as %+v", method, path, query, r)
		}
	})
}
