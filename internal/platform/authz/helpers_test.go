package authz

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz/authztest"
	"github.com/tessera-dev/tessera/internal/platform/config"
)

const (
	platformURL = "https://tessera.example.com"
	auth0URL    = "https://tenant.example.com/"
	auth0Aud    = "https://api.example.com"
	otherURL    = "https://other.example.com/"
	sharedKey   = "a-shared-secret-of-enough-length-0123456789"
	orgClaim    = "https://example.com/org_id"
	levelClaim  = "https://example.com/level"
)

// fakeDir is an in-memory Directory.
type fakeDir struct {
	mu      sync.Mutex
	members map[[2]string]Membership // (org, user)
	extIDs  map[string]string        // external_id → org id
	orgs    map[string]bool
	calls   atomic.Int64
}

func newFakeDir() *fakeDir {
	return &fakeDir{members: map[[2]string]Membership{}, extIDs: map[string]string{}, orgs: map[string]bool{}}
}

func (d *fakeDir) set(org, user string, m Membership) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.orgs[org] = true
	d.members[[2]string{org, user}] = m
}

func (d *fakeDir) remove(org, user string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.members, [2]string{org, user})
}

func (d *fakeDir) Membership(_ context.Context, org, user string) (Membership, bool, error) {
	d.calls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.members[[2]string{org, user}]
	return m, ok, nil
}

func (d *fakeDir) ResolveOrg(_ context.Context, v string) (string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.orgs[v] {
		return v, true, nil
	}
	id, ok := d.extIDs[v]
	return id, ok, nil
}

// fakeKeys is an in-memory PlatformKeys.
type fakeKeys map[string]crypto.PublicKey

func (k fakeKeys) PublicKey(_ context.Context, kid string) (crypto.PublicKey, error) {
	return k[kid], nil
}

// fakeAdmin is an in-memory AdminKeyVerifier.
type fakeAdmin map[string]string

func (f fakeAdmin) Verify(_ context.Context, id, secret string) (bool, error) {
	s, ok := f[id]
	return ok && s == secret, nil
}

// sign makes a compact JWS of claims with alg and key (ed25519.PrivateKey,
// *rsa.PrivateKey or []byte for HS256); hdr adds header members.
func sign(t testing.TB, alg, kid string, key any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	return authztest.Sign(t, h, key, claims)
}

// world is a configured authorizer with one key of every kind.
type world struct {
	t        testing.TB
	a        *Authorizer
	dir      *fakeDir
	edKey    ed25519.PrivateKey
	rsaKey   *rsa.PrivateKey
	otherKey *rsa.PrivateKey
	jwks     *httptest.Server
	fetches  atomic.Int64
	jwksKeys atomic.Pointer[[]*rsa.PrivateKey]
	now      time.Time
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, dir: newFakeDir(), now: time.Unix(1_800_000_000, 0)}
	_, w.edKey, _ = ed25519.GenerateKey(rand.Reader)
	w.rsaKey = authztest.RSAKey(t)
	w.otherKey = authztest.RSAKey(t)
	keys := []*rsa.PrivateKey{w.rsaKey}
	w.jwksKeys.Store(&keys)
	w.jwks = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.fetches.Add(1)
		var out []map[string]string
		for i, k := range *w.jwksKeys.Load() {
			out = append(out, authztest.RSAJWK(kidOf(i), &k.PublicKey))
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"keys": out})
	}))
	t.Cleanup(w.jwks.Close)
	a, err := New(Options{
		PlatformIssuer: platformURL,
		PlatformKeys:   fakeKeys{"ed1": w.edKey.Public()},
		Issuers: []config.Issuer{{
			Name: "auth0", Issuer: auth0URL, Audience: auth0Aud, JWKSURL: w.jwks.URL,
			Algorithms: []string{"RS256"}, Apps: []string{"records"},
			Claims: map[string]string{"user": "sub", "org": orgClaim, "level": levelClaim, "scopes": "scope", "email": "email"},
		}, {
			Name: "other", Issuer: otherURL, Audience: auth0Aud, JWKSURL: w.jwks.URL,
			Algorithms: []string{"RS256"}, Apps: []string{"files"},
			Claims: map[string]string{"user": "sub"},
		}},
		SharedSecret: sharedKey,
		AdminKeys:    fakeAdmin{"key1": "s3cret"},
		Directory:    w.dir,
		HTTPClient:   w.jwks.Client(),
		Now:          func() time.Time { return w.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	w.dir.set("org1", "u1", Membership{Role: "admin", Level: 500, Groups: []string{"g1"}})
	w.dir.set("org2", "u1", Membership{Role: "member", Level: 10})
	w.dir.extIDs["acme"] = "org1"
	return w
}

func kidOf(i int) string { return "rsa" + string(rune('0'+i)) }

func (w *world) exp() int64 { return w.now.Add(15 * time.Minute).Unix() }

func (w *world) platformToken(claims map[string]any) string {
	c := map[string]any{"iss": platformURL, "aud": "tessera", "sub": "u1", "exp": w.exp()}
	for k, v := range claims {
		c[k] = v
	}
	return sign(w.t, "EdDSA", "ed1", w.edKey, c)
}

func (w *world) auth0Token(claims map[string]any) string {
	c := map[string]any{"iss": auth0URL, "aud": []string{auth0Aud, "https://tenant.example.com/userinfo"}, "sub": "auth0|42", "exp": w.exp(), orgClaim: "acme", "scope": "records:read"}
	for k, v := range claims {
		c[k] = v
	}
	return sign(w.t, "RS256", "rsa0", w.rsaKey, c)
}

func (w *world) sharedToken(claims map[string]any) string {
	c := map[string]any{"userUUID": "u-m", "entityUUID": "e-1", "levelOnEntity": "100", "exp": w.exp()}
	for k, v := range claims {
		c[k] = v
	}
	return sign(w.t, "HS256", "", []byte(sharedKey), c)
}

// result is what a request through the middleware produced.
type result struct {
	status int
	p      Principal
	authed bool
	org    string // X-Org-ID as the handler saw it
	www    string
	body   string
}

func (w *world) do(app, authz string, hdr map[string]string) result {
	var res result
	h := w.a.Middleware(app)(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		res.p, res.authed = FromContext(r.Context())
		res.org = r.Header.Get(OrgHeader)
		rw.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, "/"+app+"/x", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res.status = rec.Code
	res.www = rec.Header().Get("WWW-Authenticate")
	res.body = rec.Body.String()
	return res
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}
