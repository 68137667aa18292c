package records_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/authz/authztest"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// An Auth0-style external issuer: RS256 tokens whose keys come from a JWKS
// served by the test, the org in a namespaced claim holding the org's
// external_id, the scopes in "scope".
const (
	auth0Iss      = "https://tenant.example.com/"
	auth0Aud      = "https://records.example.com/api"
	auth0OrgClaim = "https://example.com/org_id"
	auth0Kid      = "auth0-key-1"
	auth0OrgExtID = "acme-at-auth0"
)

// auth0Issuer is the test's issuer: its signing key and its JWKS endpoint.
type auth0Issuer struct {
	key  *rsa.PrivateKey
	jwks *httptest.Server
}

// newAuth0Issuer generates a key and serves its JWKS until the test ends.
func newAuth0Issuer(t *testing.T) *auth0Issuer {
	t.Helper()
	key := authztest.RSAKey(t)
	jwk := authztest.RSAJWK(auth0Kid, &key.PublicKey)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwk}})
	}))
	t.Cleanup(srv.Close)
	return &auth0Issuer{key: key, jwks: srv}
}

// config is the node's auth.issuers entry for the issuer: records only.
func (iss *auth0Issuer) config() config.Issuer {
	return config.Issuer{
		Name: "auth0", Issuer: auth0Iss, Audience: auth0Aud, JWKSURL: iss.jwks.URL,
		Algorithms: []string{"RS256"}, Apps: []string{"records"},
		Claims: map[string]string{"user": "sub", "org": auth0OrgClaim, "scopes": "scope"},
	}
}

// claims are a valid token's claims with edits applied: a nil value
// removes the claim.
func (iss *auth0Issuer) claims(edits map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": auth0Iss, "aud": []string{auth0Aud, auth0Iss + "userinfo"},
		"sub": "auth0|alice", "azp": "spa-client",
		"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		auth0OrgClaim: auth0OrgExtID, "scope": "openid records:read records:write",
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// token is a valid RS256 token of the issuer with edits to its claims.
func (iss *auth0Issuer) token(t *testing.T, edits map[string]any) string {
	t.Helper()
	return authztest.Sign(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": auth0Kid}, iss.key, iss.claims(edits))
}

// TestExternalIssuerEndToEnd runs a node that accepts an Auth0-style
// issuer for records: its tokens act in the org whose external_id the org
// claim names, their scopes are enforced when present, every kind of bad
// token is 401 with a challenge, an unknown org is 403, other apps refuse
// them, and what they create belongs to the same org as the platform's
// members see it.
func TestExternalIssuerEndToEnd(t *testing.T) {
	iss := newAuth0Issuer(t)
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		apps := []app.App{records.App()}
		cfg := nodetest.Config(t, engine, apps)
		cfg.Auth.Issuers = []config.Issuer{iss.config()}
		n := nodetest.Start(t, cfg, apps...)

		owner := newUser(t, n, "owner@example.com")
		testhttp.Expect(t, 200, "PATCH", n.URL+"/orgs/"+owner.org, `{"external_id":"`+auth0OrgExtID+`"}`, testhttp.Bearer(owner.token))
		as := func(token string) func(*http.Request) { return testhttp.Bearer(token) }

		// Read and write scopes: create, read, list, update in the org.
		rw := iss.token(t, nil)
		var c records.Record
		mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/records/contracts", `{"fields":{"title":"Signed at Auth0"}}`, as(rw)), &c)
		if c.OrgID != owner.org || c.Type != "contract" {
			t.Fatalf("created through the external token: %+v, want org %s", c, owner.org)
		}
		testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts/"+c.ID, "", as(rw))
		testhttp.Expect(t, 200, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"status":"review"}}`, as(rw))

		// The platform-token member of the org sees it, as updated.
		var page struct {
			Items []records.Record `json:"items"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts", "", owner.as()...), &page)
		if len(page.Items) != 1 || page.Items[0].ID != c.ID || !strings.Contains(string(page.Items[0].Fields), `"status":"review"`) {
			t.Fatalf("the owner's list: %+v, want the external token's contract %s", page.Items, c.ID)
		}
		mine := owner.create(t, n, "contracts", `{"fields":{"title":"Signed on the platform"}}`)

		// Read scope only: reads pass, writes are 403 and change nothing.
		ro := iss.token(t, map[string]any{"scope": "openid records:read"})
		testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts", "", as(ro))
		testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts/"+mine.ID, "", as(ro))
		testhttp.Expect(t, 200, "GET", n.URL+"/records/types", "", as(ro))
		testhttp.Expect(t, 403, "POST", n.URL+"/records/contracts", `{"fields":{"title":"Nope"}}`, as(ro))
		testhttp.Expect(t, 403, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"status":"signed"}}`, as(ro))
		testhttp.Expect(t, 403, "DELETE", n.URL+"/records/contracts/"+c.ID, "", as(ro))
		if body := testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts/"+c.ID, "", as(ro)); !strings.Contains(body, `"status":"review"`) || !strings.Contains(body, `"version":2`) {
			t.Fatalf("a refused write changed the record: %s", body)
		}

		// Write scope only: reads are 403.
		wo := iss.token(t, map[string]any{"scope": "records:write"})
		testhttp.Expect(t, 403, "GET", n.URL+"/records/contracts/"+c.ID, "", as(wo))

		// No scope claim at all: scopes are not enforced.
		unscoped := iss.token(t, map[string]any{"scope": nil})
		var c2 records.Record
		mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/records/contracts", `{"fields":{"title":"Unscoped"}}`, as(unscoped)), &c2)
		testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts/"+c2.ID, "", as(unscoped))
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/contracts/"+c2.ID, "", as(unscoped))
		testhttp.Expect(t, 404, "GET", n.URL+"/records/contracts/"+c2.ID, "", owner.as()...)

		// An org the node does not know is 403; no org at all is 403 too
		// (records belong to an org).
		unknown := iss.token(t, map[string]any{auth0OrgClaim: "globex-at-auth0"})
		testhttp.Expect(t, 403, "GET", n.URL+"/records/contracts", "", as(unknown))
		noOrg := iss.token(t, map[string]any{auth0OrgClaim: nil})
		testhttp.Expect(t, 403, "GET", n.URL+"/records/contracts", "", as(noOrg))

		// Bad tokens: 401 with a WWW-Authenticate challenge.
		pub, err := x509.MarshalPKIXPublicKey(&iss.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
		bad := map[string]string{
			"wrong audience": iss.token(t, map[string]any{"aud": "https://someone-else.example.com/api"}),
			"wrong issuer": authztest.Sign(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": auth0Kid}, iss.key,
				iss.claims(map[string]any{"iss": "https://evil.example.com/"})),
			"expired":                   iss.token(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}),
			"no exp":                    iss.token(t, map[string]any{"exp": nil}),
			"alg none":                  authztest.Sign(t, map[string]any{"alg": "none", "typ": "JWT"}, nil, iss.claims(nil)),
			"HS256 with the public key": authztest.Sign(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": auth0Kid}, pubPEM, iss.claims(nil)),
			"HS256 with the modulus":    authztest.Sign(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": auth0Kid}, iss.key.N.Bytes(), iss.claims(nil)),
			"unknown kid":               authztest.Sign(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": "auth0-key-9"}, iss.key, iss.claims(nil)),
			"tampered payload":          auth0Tamper(t, rw),
			"not a JWT":                 "not-a-jwt",
		}
		for name, token := range bad {
			for _, req := range []struct{ method, path, body string }{
				{"GET", "/records/contracts", ""},
				{"POST", "/records/contracts", `{"fields":{"title":"Forged"}}`},
			} {
				r := testhttp.Send(t, req.method, n.URL+req.path, req.body, as(token))
				if r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: %s %s: %d (WWW-Authenticate %q) %s, want 401 with a challenge",
						name, req.method, req.path, r.Status, r.Header.Get("WWW-Authenticate"), r.Body)
				}
			}
		}

		// The issuer is configured for records only: /orgs refuses its
		// tokens, valid as they are.
		r := testhttp.Send(t, "GET", n.URL+"/orgs", "", as(rw))
		if r.Status != 401 && r.Status != 403 {
			t.Errorf("GET /orgs with a records-only issuer's token: %d %s, want 401 or 403", r.Status, r.Body)
		}
		testhttp.Expect(t, 200, "GET", n.URL+"/orgs", "", testhttp.Bearer(owner.token))

		// Nothing forged reached the org: the owner sees its two contracts.
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts", "", owner.as()...), &page)
		if len(page.Items) != 2 {
			t.Errorf("the org holds %d contracts, want 2: %+v", len(page.Items), page.Items)
		}
	})
}

// auth0Tamper changes a signed token's payload (its sub) and keeps the signature.
func auth0Tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c["sub"] = "auth0|mallory"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + authztest.B64(b) + "." + parts[2]
}
