package authz

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz/authztest"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

func TestPlatformToken(t *testing.T) {
	w := newWorld(t)
	tok := w.platformToken(map[string]any{"org_id": "org1", "level": 999999, "scope": "records:read records:write", "custom:restaurantId": "r1", "client_id": "c1"})
	res := w.do("records", "Bearer "+tok, nil)
	if res.status != http.StatusNoContent || !res.authed {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	p := res.p
	if p.UserID != "u1" || p.OrgID != "org1" || p.Via != ViaPlatform || p.ClientID != "c1" || p.Attributes["restaurantId"] != "r1" {
		t.Fatalf("principal %+v", p)
	}
	// Level, role and groups from the directory, never from the token.
	if p.Level != 500 || p.Role != "admin" || !slices.Equal(p.Groups, []string{"g1"}) {
		t.Fatalf("membership not applied: %+v", p)
	}
	if !slices.Equal(p.Scopes, []string{"records:read", "records:write"}) || res.org != "org1" {
		t.Fatalf("scopes %v org header %q", p.Scopes, res.org)
	}
}

func TestMembershipReadAtRequestTime(t *testing.T) {
	w := newWorld(t)
	tok := "Bearer " + w.platformToken(map[string]any{"org_id": "org1"})
	if res := w.do("records", tok, nil); res.p.Level != 500 {
		t.Fatalf("level %d", res.p.Level)
	}
	w.dir.set("org1", "u1", Membership{Role: "member", Level: 7, Groups: []string{"g2"}})
	res := w.do("records", tok, nil)
	if res.p.Level != 7 || res.p.Role != "member" || !slices.Equal(res.p.Groups, []string{"g2"}) {
		t.Fatalf("stale membership: %+v", res.p)
	}
	w.dir.remove("org1", "u1")
	if res := w.do("records", tok, nil); res.status != http.StatusForbidden {
		t.Fatalf("removed member: status %d", res.status)
	}
}

func TestOrgHeader(t *testing.T) {
	w := newWorld(t)
	plain := "Bearer " + w.platformToken(nil)
	withOrg := "Bearer " + w.platformToken(map[string]any{"org_id": "org1"})
	cases := []struct {
		name, authz, sent string
		status            int
		org               string
		level             int
	}{
		{"anonymous: header removed", "", "org1", 204, "", 0},
		{"no org anywhere", plain, "", 204, "", 0},
		{"choose a member org", plain, "org2", 204, "org2", 10},
		{"choose another member org than the token's", withOrg, "org2", 204, "org2", 10},
		{"token's org", withOrg, "", 204, "org1", 500},
		{"not a member", plain, "org3", 403, "", 0},
		{"not a member, token has an org", withOrg, "org3", 403, "", 0},
		{"admin key picks an org", basic("key1", "s3cret"), "org1", 204, "org1", 0},
		{"admin key, unknown org", basic("key1", "s3cret"), "nope", 403, "", 0},
		{"admin key, no org", basic("key1", "s3cret"), "", 204, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := "records"
			if strings.HasPrefix(c.authz, "Basic") {
				app = AppAdmin
			}
			hdr := map[string]string{}
			if c.sent != "" {
				hdr[OrgHeader] = c.sent
			}
			res := w.do(app, c.authz, hdr)
			if res.status != c.status {
				t.Fatalf("status %d, want %d: %s", res.status, c.status, res.body)
			}
			if res.status == 204 && (res.org != c.org || res.p.OrgID != c.org || res.p.Level != c.level) {
				t.Fatalf("org header %q principal %+v, want %q level %d", res.org, res.p, c.org, c.level)
			}
		})
	}
}

func TestExternalIssuer(t *testing.T) {
	w := newWorld(t)
	res := w.do("records", "Bearer "+w.auth0Token(map[string]any{levelClaim: "300", "email": "a@x.com"}), nil)
	if res.status != 204 {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	p := res.p
	// acme is org1's external_id; auth0|42 is no member: the issuer's level stands.
	if p.UserID != "auth0|42" || p.OrgID != "org1" || p.Level != 300 || p.Via != ViaExternal || p.Issuer != "auth0" || p.Email != "a@x.com" || res.org != "org1" {
		t.Fatalf("principal %+v org %q", p, res.org)
	}
	if err := RequireScope(p, "records:read"); err != nil {
		t.Fatal(err)
	}
	if err := RequireScope(p, "records:write"); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("missing scope: %v", err)
	}
	// A membership, once there, wins over the token's level.
	w.dir.set("org1", "auth0|42", Membership{Role: "owner", Level: 42})
	if res := w.do("records", "Bearer "+w.auth0Token(map[string]any{levelClaim: 300}), nil); res.p.Level != 42 || res.p.Role != "owner" {
		t.Fatalf("membership ignored: %+v", res.p)
	}
	// Org by id, scopes as an array.
	res = w.do("records", "Bearer "+w.auth0Token(map[string]any{orgClaim: "org2", "scope": []string{"a", "b"}}), nil)
	if res.status != 204 || res.p.OrgID != "org2" || !slices.Equal(res.p.Scopes, []string{"a", "b"}) {
		t.Fatalf("org by id: %d %+v", res.status, res.p)
	}
	// Unknown org: 403.
	if res := w.do("records", "Bearer "+w.auth0Token(map[string]any{orgClaim: "ghost"}), nil); res.status != 403 {
		t.Fatalf("unknown org: %d", res.status)
	}
	// No scope claim: scopes not enforced.
	tok := w.auth0Token(nil)
	var c map[string]any
	_ = json.Unmarshal(mustSeg(t, strings.Split(tok, ".")[1]), &c)
	delete(c, "scope")
	res = w.do("records", "Bearer "+sign(t, "RS256", "rsa0", w.rsaKey, c), nil)
	if res.p.Scopes != nil || RequireScope(res.p, "anything") != nil {
		t.Fatalf("scopes %v", res.p.Scopes)
	}
}

func mustSeg(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSharedSecret(t *testing.T) {
	w := newWorld(t)
	for _, lvl := range []any{"100", 100} {
		res := w.do("messaging", "Bearer "+w.sharedToken(map[string]any{"levelOnEntity": lvl}), nil)
		if res.status != 204 || res.p.UserID != "u-m" || res.p.OrgID != "e-1" || res.p.Level != 100 || res.p.Via != ViaShared || res.org != "e-1" {
			t.Fatalf("level %v: %d %+v", lvl, res.status, res.p)
		}
	}
	for _, bad := range []any{"abc", -1, 1_000_001, true} {
		if res := w.do("messaging", "Bearer "+w.sharedToken(map[string]any{"levelOnEntity": bad}), nil); res.status != 401 {
			t.Fatalf("levelOnEntity %v: %d", bad, res.status)
		}
	}
}

// TestAttacks: every bad token is a 401 with the invalid_token challenge,
// never a 500.
func TestAttacks(t *testing.T) {
	w := newWorld(t)
	good := w.platformToken(nil)
	parts := strings.Split(good, ".")
	claims := map[string]any{"iss": platformURL, "aud": "tessera", "sub": "u1", "exp": w.exp()}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	rsaPub := x509.MarshalPKCS1PublicKey(&w.rsaKey.PublicKey)
	pkix, _ := x509.MarshalPKIXPublicKey(w.edKey.Public())
	tampered := map[string]any{"iss": platformURL, "aud": "tessera", "sub": "admin", "exp": w.exp()}
	tb, _ := json.Marshal(tampered)
	auth0 := w.auth0Token(nil)
	cases := []struct{ name, app, token string }{
		{"alg none", "records", authztest.Sign(t, map[string]any{"alg": "none", "kid": "ed1"}, nil, claims)},
		{"alg None", "records", authztest.Sign(t, map[string]any{"alg": "None"}, nil, claims)},
		{"no alg", "records", authztest.Sign(t, map[string]any{"kid": "ed1"}, w.edKey, claims)},
		{"HS256 with the RSA public key (external)", "records", sign(t, "HS256", "rsa0", rsaPub, w.auth0Claims())},
		{"HS256 with the Ed25519 public key (platform)", "records", sign(t, "HS256", "ed1", pkix, claims)},
		{"HS256 with the raw Ed25519 key (platform)", "messaging", sign(t, "HS256", "ed1", []byte(w.edKey.Public().(ed25519.PublicKey)), claims)},
		{"RS256 against the EdDSA issuer", "records", sign(t, "RS256", "ed1", w.rsaKey, claims)},
		{"unknown kid", "records", sign(t, "EdDSA", "nope", w.edKey, claims)},
		{"no kid", "records", sign(t, "EdDSA", "", w.edKey, claims)},
		{"unknown kid at external issuer", "records", sign(t, "RS256", "garbage", w.rsaKey, w.auth0Claims())},
		{"tampered payload", "records", parts[0] + "." + authztest.B64(tb) + "." + parts[2]},
		{"bad signature", "records", parts[0] + "." + parts[1] + "." + authztest.B64(make([]byte, 64))},
		{"signed by another key", "records", sign(t, "EdDSA", "ed1", otherEd(t), claims)},
		{"wrong iss", "records", sign(t, "EdDSA", "ed1", w.edKey, with("iss", "https://evil.example.com"))},
		{"no iss", "records", sign(t, "EdDSA", "ed1", w.edKey, with("iss", nil))},
		{"wrong aud", "records", sign(t, "EdDSA", "ed1", w.edKey, with("aud", "other"))},
		{"no aud", "records", sign(t, "EdDSA", "ed1", w.edKey, with("aud", nil))},
		{"expired", "records", sign(t, "EdDSA", "ed1", w.edKey, with("exp", w.now.Add(-61*time.Second).Unix()))},
		{"no exp", "records", sign(t, "EdDSA", "ed1", w.edKey, with("exp", nil))},
		{"exp a string", "records", sign(t, "EdDSA", "ed1", w.edKey, with("exp", "tomorrow"))},
		{"nbf in the future", "records", sign(t, "EdDSA", "ed1", w.edKey, with("nbf", w.now.Add(61*time.Second).Unix()))},
		{"no sub", "records", sign(t, "EdDSA", "ed1", w.edKey, with("sub", nil))},
		{"issuer A token presented with issuer B's iss", "files", sign(t, "RS256", "rsa0", w.otherKey, w.auth0ClaimsIss(otherURL))},
		{"issuer A's token re-labelled as issuer B", "files", relabel(t, auth0, otherURL)},
		{"external token at the platform issuer", "records", relabel(t, auth0, platformURL)},
		{"shared secret wrong", "messaging", sign(t, "HS256", "", []byte("wrong"), map[string]any{"userUUID": "u", "exp": w.exp()})},
		{"shared secret, expired", "messaging", w.sharedToken(map[string]any{"exp": w.now.Add(-time.Hour).Unix()})},
		{"truncated", "records", good[:len(good)-10]},
		{"two segments", "records", parts[0] + "." + parts[1]},
		{"four segments", "records", good + ".x"},
		{"garbage", "records", "garbage"},
		{"dots", "records", ".."},
		{"bad base64", "records", "!!!." + parts[1] + "." + parts[2]},
		{"header not JSON", "records", authztest.B64([]byte("nope")) + "." + parts[1] + "." + parts[2]},
		{"payload an array", "records", parts[0] + "." + authztest.B64([]byte("[1]")) + "." + parts[2]},
		{"very long", "records", strings.Repeat("a", 1<<20)},
		{"huge header", "records", authztest.B64([]byte(`{"alg":"EdDSA","kid":"`+strings.Repeat("k", 10000)+`"}`)) + "." + parts[1] + "." + parts[2]},
		{"empty bearer", "records", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := w.do(c.app, "Bearer "+c.token, nil)
			if res.status != http.StatusUnauthorized || res.authed {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if !strings.Contains(res.www, "Bearer") || !strings.Contains(res.www, `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", res.www)
			}
			if !strings.Contains(res.body, `"status":401`) {
				t.Fatalf("body %s", res.body)
			}
		})
	}
	// Within the leeway, exp and nbf pass.
	for _, c := range []map[string]any{with("exp", w.now.Add(-30*time.Second).Unix()), with("nbf", w.now.Add(30*time.Second).Unix())} {
		if res := w.do("records", "Bearer "+sign(t, "EdDSA", "ed1", w.edKey, c), nil); res.status != 204 {
			t.Fatalf("within leeway: %d %s", res.status, res.body)
		}
	}
	// Other schemes and bad Basic.
	for _, h := range []string{"Digest x", "Bearer", basic("key1", "wrong"), basic("nokey", "s3cret"), "Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon"))} {
		res := w.do(AppAdmin, h, nil)
		if res.status != 401 || res.www == "" {
			t.Fatalf("%q: %d %q", h, res.status, res.www)
		}
	}
}

func (w *world) auth0Claims() map[string]any { return w.auth0ClaimsIss(auth0URL) }

func (w *world) auth0ClaimsIss(iss string) map[string]any {
	return map[string]any{"iss": iss, "aud": auth0Aud, "sub": "auth0|42", "exp": w.exp()}
}

func otherEd(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// relabel changes a token's iss, keeping its signature.
func relabel(t *testing.T, tok, iss string) string {
	p := strings.Split(tok, ".")
	var c map[string]any
	if err := json.Unmarshal(mustSeg(t, p[1]), &c); err != nil {
		t.Fatal(err)
	}
	c["iss"] = iss
	b, _ := json.Marshal(c)
	return p[0] + "." + authztest.B64(b) + "." + p[2]
}

// TestEveryTokenEveryApp presents each credential kind to each app: only
// the intended pairs authenticate.
func TestEveryTokenEveryApp(t *testing.T) {
	w := newWorld(t)
	creds := map[string]string{
		"platform": "Bearer " + w.platformToken(nil),
		"auth0":    "Bearer " + w.auth0Token(nil),
		"shared":   "Bearer " + w.sharedToken(nil),
		"admin":    basic("key1", "s3cret"),
	}
	apps := []string{"messaging", "restaurants", "scheduling", "files", "records", "orgs", "auth", AppAdmin}
	want := map[string][]string{
		"platform": apps,
		"auth0":    {"records"},
		"shared":   {"messaging"},
		"admin":    {AppAdmin},
	}
	for kind, cred := range creds {
		for _, app := range apps {
			res := w.do(app, cred, nil)
			ok := slices.Contains(want[kind], app)
			if res.authed != ok {
				t.Errorf("%s at %s: authenticated %v, want %v (status %d)", kind, app, res.authed, ok, res.status)
			}
			switch {
			case ok && res.status != 204:
				t.Errorf("%s at %s: status %d", kind, app, res.status)
			case !ok && kind != "admin" && res.status != 401:
				t.Errorf("%s at %s: status %d, want 401", kind, app, res.status)
			case !ok && kind == "admin" && res.status != 204:
				// Basic is not ours outside /admin: passed on anonymous.
				t.Errorf("%s at %s: status %d, want anonymous 204", kind, app, res.status)
			}
		}
	}
}

func TestJWKSRefreshIsRateLimited(t *testing.T) {
	w := newWorld(t)
	if res := w.do("records", "Bearer "+w.auth0Token(nil), nil); res.status != 204 {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	if n := w.fetches.Load(); n != 1 {
		t.Fatalf("fetches %d", n)
	}
	// A flood of garbage kids: at most one fetch per interval (none right
	// after a fetch, one once the interval has passed).
	flood := func() {
		for i := range 50 {
			tok := sign(t, "RS256", "garbage"+string(rune('a'+i%26)), w.rsaKey, w.auth0Claims())
			if res := w.do("records", "Bearer "+tok, nil); res.status != 401 {
				t.Fatalf("garbage kid: %d", res.status)
			}
		}
	}
	flood()
	if n := w.fetches.Load(); n != 1 {
		t.Fatalf("fetches after garbage kids: %d, want 1", n)
	}
	w.now = w.now.Add(31 * time.Second)
	flood()
	if n := w.fetches.Load(); n != 2 {
		t.Fatalf("fetches after garbage kids: %d, want 2", n)
	}
	// Rotation: a new key appears; after the interval its kid is fetched.
	newKey := w.otherKey
	list := []*rsa.PrivateKey{w.rsaKey, newKey}
	w.jwksKeys.Store(&list)
	rotated := sign(t, "RS256", "rsa1", newKey, w.auth0Claims())
	if res := w.do("records", "Bearer "+rotated, nil); res.status != 401 {
		t.Fatalf("within interval: %d", res.status)
	}
	w.now = w.now.Add(31 * time.Second)
	if res := w.do("records", "Bearer "+sign(t, "RS256", "rsa1", newKey, w.auth0Claims()), nil); res.status != 204 {
		t.Fatalf("rotated key: %d %s", res.status, res.body)
	}
	if n := w.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d", n)
	}
	// Known keys are served from the cache.
	for range 10 {
		if res := w.do("records", "Bearer "+w.auth0Token(nil), nil); res.status != 204 {
			t.Fatalf("cached key: %d", res.status)
		}
	}
	if n := w.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d", n)
	}
}

func TestJWKSDown(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer down.Close()
	w := newWorld(t)
	a, err := New(Options{
		Issuers:   []config.Issuer{{Name: "down", Issuer: auth0URL, Audience: auth0Aud, JWKSURL: down.URL, Apps: []string{"records"}, Claims: map[string]string{"user": "sub"}}},
		Directory: w.dir, Now: func() time.Time { return w.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	res := w.do("records", "Bearer "+w.auth0Token(nil), nil)
	if res.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s", res.status, res.body)
	}
}

func TestKeyFileIssuer(t *testing.T) {
	w := newWorld(t)
	der, err := x509.MarshalPKIXPublicKey(&w.rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{
		Issuers:   []config.Issuer{{Name: "static", Issuer: auth0URL, Audience: auth0Aud, KeyFile: path, Apps: []string{"records"}, Claims: map[string]string{"user": "sub"}}},
		Directory: w.dir, Now: func() time.Time { return w.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	if res := w.do("records", "Bearer "+sign(t, "RS256", "any", w.rsaKey, w.auth0Claims()), nil); res.status != 204 || res.p.UserID != "auth0|42" {
		t.Fatalf("status %d %s", res.status, res.body)
	}
	if res := w.do("records", "Bearer "+sign(t, "RS256", "any", w.otherKey, w.auth0Claims()), nil); res.status != 401 {
		t.Fatalf("other key: %d", res.status)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := newFakeDir()
	for name, o := range map[string]Options{
		"no directory": {},
		"HS external":  {Directory: dir, Issuers: []config.Issuer{{Name: "x", Issuer: "i", Audience: "a", JWKSURL: "http://x", Algorithms: []string{"HS256"}, Claims: map[string]string{"user": "sub"}}}},
		"duplicate":    {Directory: dir, Issuers: []config.Issuer{{Name: "x", Issuer: "i", Audience: "a", JWKSURL: "http://x", Claims: map[string]string{"user": "sub"}}, {Name: "y", Issuer: "i", Audience: "a", JWKSURL: "http://x", Claims: map[string]string{"user": "sub"}}}},
		"no key":       {Directory: dir, Issuers: []config.Issuer{{Name: "x", Issuer: "i", Audience: "a", Claims: map[string]string{"user": "sub"}}}},
		"missing file": {Directory: dir, Issuers: []config.Issuer{{Name: "x", Issuer: "i", Audience: "a", KeyFile: "/nonexistent", Claims: map[string]string{"user": "sub"}}}},
		"HS platform":  {Directory: dir, PlatformIssuer: "p", PlatformKeys: fakeKeys{}, PlatformAlgorithms: []string{"HS256"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAuthenticateUpgrade(t *testing.T) {
	w := newWorld(t)
	tok := w.platformToken(nil)
	req := func(target string, hdr map[string]string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return r
	}
	for name, r := range map[string]*http.Request{
		"access_token": req("/scheduling/ws?access_token="+tok, nil),
		"token":        req("/scheduling/ws?token="+tok, nil),
		"header":       req("/scheduling/ws", map[string]string{"Authorization": "Bearer " + tok}),
	} {
		p, sub, err := w.a.AuthenticateUpgrade(r, "scheduling")
		if err != nil || p.UserID != "u1" || sub != "" {
			t.Fatalf("%s: %+v %q %v", name, p, sub, err)
		}
	}
	r := req("/scheduling/ws", map[string]string{"Sec-WebSocket-Protocol": "json, bearer." + tok})
	p, sub, err := w.a.AuthenticateUpgrade(r, "scheduling")
	if err != nil || p.UserID != "u1" || sub != "bearer."+tok {
		t.Fatalf("subprotocol: %+v %q %v", p, sub, err)
	}
	for name, r := range map[string]*http.Request{
		"none":      req("/scheduling/ws", nil),
		"bad":       req("/scheduling/ws?token=garbage", nil),
		"wrong app": req("/messaging/ws?token="+w.auth0Token(nil), nil),
	} {
		if _, _, err := w.a.AuthenticateUpgrade(r, "scheduling"); !fault.Is(err, fault.Unauthorized) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The X-Org-ID choice is checked there too.
	r = req("/scheduling/ws?token="+tok, map[string]string{OrgHeader: "org3"})
	if _, _, err := w.a.AuthenticateUpgrade(r, "scheduling"); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("non-member org: %v", err)
	}
}

// TestAuthenticateUpgradeOrgQuery: browsers cannot set X-Org-ID on a
// websocket, so the org_id query parameter chooses the org too, with the same
// checks, and wins over the header when both are sent.
func TestAuthenticateUpgradeOrgQuery(t *testing.T) {
	w := newWorld(t)
	tok := w.platformToken(nil)
	req := func(target string, hdr map[string]string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return r
	}
	cases := []struct {
		name   string
		r      *http.Request
		org    string
		level  int
		forbid bool
	}{
		{"query", req("/scheduling/ws?org_id=org2&token="+tok, nil), "org2", 10, false},
		{"query with the Authorization header", req("/scheduling/ws?org_id=org1", map[string]string{"Authorization": "Bearer " + tok}), "org1", 500, false},
		{"query with a subprotocol token", req("/scheduling/ws?org_id=org2", map[string]string{"Sec-WebSocket-Protocol": "bearer." + tok}), "org2", 10, false},
		{"query wins over the header", req("/scheduling/ws?org_id=org2&token="+tok, map[string]string{OrgHeader: "org1"}), "org2", 10, false},
		{"header alone", req("/scheduling/ws?token="+tok, map[string]string{OrgHeader: "org1"}), "org1", 500, false},
		{"empty query: the header", req("/scheduling/ws?org_id=&token="+tok, map[string]string{OrgHeader: "org2"}), "org2", 10, false},
		{"query: not a member", req("/scheduling/ws?org_id=org3&token="+tok, nil), "", 0, true},
		{"query: not a member, header a member org", req("/scheduling/ws?org_id=org3&token="+tok, map[string]string{OrgHeader: "org1"}), "", 0, true},
		{"query: not a member, Authorization header", req("/scheduling/ws?org_id=org3", map[string]string{"Authorization": "Bearer " + tok}), "", 0, true},
		{"query a member org, header not", req("/scheduling/ws?org_id=org1&token="+tok, map[string]string{OrgHeader: "org3"}), "org1", 500, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _, err := w.a.AuthenticateUpgrade(c.r, "scheduling")
			if c.forbid {
				if !fault.Is(err, fault.Forbidden) {
					t.Fatalf("want 403, got %+v %v", p, err)
				}
				return
			}
			if err != nil || p.UserID != "u1" || p.OrgID != c.org || p.Level != c.level {
				t.Fatalf("principal %+v %v, want org %q level %d", p, err, c.org, c.level)
			}
		})
	}
}

func TestHandlerRoutesByPath(t *testing.T) {
	w := newWorld(t)
	var got Principal
	h := w.a.Handler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got, _ = FromContext(r.Context())
		rw.WriteHeader(204)
	}))
	r := httptest.NewRequest(http.MethodGet, "/messaging/rooms", nil)
	r.Header.Set("Authorization", "Bearer "+w.sharedToken(nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 204 || got.UserID != "u-m" {
		t.Fatalf("%d %+v", rec.Code, got)
	}
	r = httptest.NewRequest(http.MethodGet, "/records/x", nil)
	r.Header.Set("Authorization", "Bearer "+w.sharedToken(nil))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 401 {
		t.Fatalf("shared at records: %d", rec.Code)
	}
	for path, app := range map[string]string{"/": "", "/admin/users": "admin", "/records": "records", "//x": ""} {
		if got := AppOf(path); got != app {
			t.Errorf("AppOf(%q) = %q", path, got)
		}
	}
}

func TestTokenCacheRechecksExpiry(t *testing.T) {
	w := newWorld(t)
	tok := "Bearer " + w.platformToken(nil) // exp now+15m
	if res := w.do("records", tok, nil); res.status != 204 {
		t.Fatalf("status %d", res.status)
	}
	w.now = w.now.Add(15*time.Minute + 59*time.Second) // within the leeway
	if res := w.do("records", tok, nil); res.status != 204 {
		t.Fatalf("within leeway: %d", res.status)
	}
	w.now = w.now.Add(2 * time.Second)
	if res := w.do("records", tok, nil); res.status != 401 {
		t.Fatalf("expired while cached: %d", res.status)
	}
	// A token seen before is still refused by an app it does not reach
	// (shared-secret tokens are not cached: an HMAC costs less than an entry).
	shared := "Bearer " + w.sharedToken(map[string]any{"exp": w.now.Add(time.Hour).Unix()})
	if res := w.do("messaging", shared, nil); res.status != 204 {
		t.Fatalf("shared: %d", res.status)
	}
	if res := w.do("records", shared, nil); res.status != 401 {
		t.Fatalf("cached shared token at records: %d", res.status)
	}
}

func TestTokenCacheBounded(t *testing.T) {
	tc := newTokenCache(3, time.Minute)
	now := time.Unix(0, 0)
	for i := range 10 {
		tc.put(string(rune('a'+i)), nil, nil, now, now.Add(time.Hour))
	}
	if len(tc.entries) != 3 {
		t.Fatalf("%d entries", len(tc.entries))
	}
	tc.put("x", nil, nil, now, now.Add(time.Second))
	if _, _, ok := tc.get("x", now.Add(2*time.Second)); ok {
		t.Fatal("entry outlived the token's exp")
	}
	tc.put("y", nil, nil, now, now.Add(time.Hour))
	if _, _, ok := tc.get("y", now.Add(61*time.Second)); ok {
		t.Fatal("entry outlived the ttl")
	}
	if newTokenCache(-1, time.Minute) != nil {
		t.Fatal("negative size must disable the cache")
	}
}
