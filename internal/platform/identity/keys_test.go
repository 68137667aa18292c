package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

const testIssuer = "https://tessera.example.test"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func migrateKeys(t *testing.T, s *store.Store) {
	t.Helper()
	if err := s.Migrate(context.Background(), Migrations()); err != nil {
		t.Fatal(err)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jsonB64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// forge builds a token with any header and claims, signed by signFn.
func forge(t *testing.T, hdr, claims map[string]any, signFn func([]byte) []byte) string {
	t.Helper()
	in := jsonB64(t, hdr) + "." + jsonB64(t, claims)
	return in + "." + b64(signFn([]byte(in)))
}

func goodClaims(now time.Time) map[string]any {
	return map[string]any{"iss": testIssuer, "aud": Audience, "sub": "u1", "iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "jti": "j", "token_use": "access"}
}

func wantUnauthorized(t *testing.T, name string, err error) {
	t.Helper()
	if !fault.Is(err, fault.Unauthorized) {
		t.Errorf("%s: err = %v, want unauthorized", name, err)
	}
}

func TestMintVerify(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		migrateKeys(t, s)
		clk := newClock()
		ks := NewKeySet(s, KeyOptions{Issuer: testIssuer, Now: clk.Now})
		tok, err := ks.Mint(ctx, Claims{UserID: "u1", Email: "a@x.test", ClientID: "restaurants-staff",
			Attributes: map[string]string{"restaurantId": "r1"}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := ks.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.UserID != "u1" || c.Email != "a@x.test" || c.ClientID != "restaurants-staff" || c.Attributes["restaurantId"] != "r1" ||
			c.ID == "" || c.KeyID == "" || !c.ExpiresAt.Equal(clk.Now().Add(15*time.Minute)) {
			t.Fatalf("claims = %+v", c)
		}
		// The raw payload: iss, aud, custom:<name>.
		parts := strings.Split(tok, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m["iss"] != testIssuer || m["aud"] != Audience || m["custom:restaurantId"] != "r1" {
			t.Fatalf("payload = %v", m)
		}
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		if !strings.Contains(string(hdr), `"alg":"EdDSA"`) || !strings.Contains(string(hdr), `"kid":"`+c.KeyID+`"`) {
			t.Fatalf("header = %s", hdr)
		}
		// Too long a TTL is refused.
		if _, err := ks.Mint(ctx, Claims{UserID: "u1", TTL: 2 * time.Hour}); !fault.Is(err, fault.Invalid) {
			t.Fatalf("long ttl: %v", err)
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		migrateKeys(t, s)
		clk := newClock()
		ks := NewKeySet(s, KeyOptions{Issuer: testIssuer, Now: clk.Now, CacheSize: -1})
		key, err := ks.signer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now := clk.Now()
		hdr := map[string]any{"alg": "EdDSA", "kid": key.kid, "typ": AccessTokenType}
		edSign := func(b []byte) []byte { return ed25519.Sign(key.priv, b) }
		with := func(k string, v any) map[string]any {
			c := goodClaims(now)
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
			return c
		}
		hdrWith := func(k string, v any) map[string]any {
			h := map[string]any{"alg": "EdDSA", "kid": key.kid, "typ": AccessTokenType}
			h[k] = v
			return h
		}
		if _, err := ks.Verify(ctx, forge(t, hdr, goodClaims(now), edSign)); err != nil {
			t.Fatalf("forged good token rejected: %v", err)
		}
		pub := key.priv.Public().(ed25519.PublicKey)
		hs := func(b []byte) []byte { m := hmac.New(sha256.New, pub); m.Write(b); return m.Sum(nil) }
		_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
		good := forge(t, hdr, goodClaims(now), edSign)
		parts := strings.Split(good, ".")
		tampered := parts[0] + "." + jsonB64(t, with("sub", "admin")) + "." + parts[2]

		cases := map[string]string{
			"alg none":                 jsonB64(t, hdrWith("alg", "none")) + "." + jsonB64(t, goodClaims(now)) + ".",
			"alg none empty sig dot":   jsonB64(t, hdrWith("alg", "none")) + "." + jsonB64(t, goodClaims(now)),
			"HS256 with public key":    forge(t, hdrWith("alg", "HS256"), goodClaims(now), hs),
			"RS256":                    forge(t, hdrWith("alg", "RS256"), goodClaims(now), edSign),
			"unknown kid":              forge(t, hdrWith("kid", "nope"), goodClaims(now), edSign),
			"other key, same kid":      forge(t, hdr, goodClaims(now), func(b []byte) []byte { return ed25519.Sign(otherPriv, b) }),
			"tampered payload":         tampered,
			"wrong iss":                forge(t, hdr, with("iss", "https://evil.test"), edSign),
			"wrong aud":                forge(t, hdr, with("aud", "other"), edSign),
			"aud missing":              forge(t, hdr, with("aud", nil), edSign),
			"expired":                  forge(t, hdr, with("exp", now.Add(-61*time.Second).Unix()), edSign),
			"nbf in the future":        forge(t, hdr, with("nbf", now.Add(2*time.Minute).Unix()), edSign),
			"no exp":                   forge(t, hdr, with("exp", nil), edSign),
			"no sub":                   forge(t, hdr, with("sub", nil), edSign),
			"id token (token_use)":     forge(t, hdr, with("token_use", "id"), edSign),
			"id token (typ)":           forge(t, hdrWith("typ", "JWT"), goodClaims(now), edSign),
			"crit header":              forge(t, hdrWith("crit", []string{"exp"}), goodClaims(now), edSign),
			"truncated":                good[:len(good)-10],
			"garbage":                  "not.a.token",
			"empty":                    "",
			"four parts":               good + ".x",
			"huge":                     strings.Repeat("a", MaxTokenLength+1),
			"signature of other token": parts[0] + "." + parts[1] + "." + strings.Split(forge(t, hdr, with("jti", "other"), edSign), ".")[2],
		}
		for name, tok := range cases {
			_, err := ks.Verify(ctx, tok)
			wantUnauthorized(t, name, err)
		}
		// Within the leeway: accepted.
		for name, tok := range map[string]string{
			"expired 30s ago": forge(t, hdr, with("exp", now.Add(-30*time.Second).Unix()), edSign),
			"nbf 30s ahead":   forge(t, hdr, with("nbf", now.Add(30*time.Second).Unix()), edSign),
			"aud array":       forge(t, hdr, with("aud", []string{"x", Audience}), edSign),
		} {
			if _, err := ks.Verify(ctx, tok); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Minted with a negative TTL or a future nbf.
		expired, err := ks.Mint(ctx, Claims{UserID: "u1", TTL: -2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ks.Verify(ctx, expired)
		wantUnauthorized(t, "minted expired", err)
		future, err := ks.Mint(ctx, Claims{UserID: "u1", NotBefore: now.Add(5 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ks.Verify(ctx, future)
		wantUnauthorized(t, "minted nbf", err)
		clk.Add(5 * time.Minute)
		if _, err := ks.Verify(ctx, future); err != nil {
			t.Fatalf("nbf reached: %v", err)
		}
	})
}

// A cached token still expires.
func TestVerifyCacheExpires(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		migrateKeys(t, s)
		clk := newClock()
		ks := NewKeySet(s, KeyOptions{Issuer: testIssuer, Now: clk.Now})
		tok, err := ks.Mint(ctx, Claims{UserID: "u1", TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		clk.Add(2*time.Minute + time.Second)
		_, err = ks.Verify(ctx, tok)
		wantUnauthorized(t, "cached expired", err)
	})
}

func TestRotation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		migrateKeys(t, s)
		clk := newClock()
		a := NewKeySet(s, KeyOptions{Issuer: testIssuer, Now: clk.Now, CacheSize: -1})
		b := NewKeySet(s, KeyOptions{Issuer: testIssuer, Now: clk.Now, CacheSize: -1}) // another node
		old, err := a.Mint(ctx, Claims{UserID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Verify(ctx, old); err != nil {
			t.Fatalf("node b: %v", err)
		}
		if err := a.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		fresh, err := a.Mint(ctx, Claims{UserID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := a.Verify(ctx, old)
		fc, err := b.Verify(ctx, fresh) // unknown kid on b: reloaded
		if err != nil {
			t.Fatalf("node b, new key: %v", err)
		}
		if oc.KeyID == fc.KeyID {
			t.Fatal("rotation kept the kid")
		}
		set, err := a.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 2 || set.Keys[0].KeyID != fc.KeyID || set.Keys[0].KeyType != "OKP" || set.Keys[0].Curve != "Ed25519" {
			t.Fatalf("jwks = %+v", set)
		}
		// The published key is the one that verifies.
		x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
		pk, err := a.PublicKey(ctx, fc.KeyID)
		if err != nil || !ed25519.PublicKey(x).Equal(pk) {
			t.Fatalf("PublicKey: %v", err)
		}
		// Old tokens expire; the old key is published until then, then dropped.
		clk.Add(DefaultMaxTokenTTL)
		if set, _ := a.JWKS(ctx); len(set.Keys) != 2 {
			t.Fatalf("old key dropped too early: %+v", set)
		}
		clk.Add(ReloadInterval + Leeway + 2*time.Second)
		if set, _ := a.JWKS(ctx); len(set.Keys) != 1 || set.Keys[0].KeyID != fc.KeyID {
			t.Fatalf("old key still published: %+v", set)
		}
		if _, err := a.PublicKey(ctx, oc.KeyID); !fault.Is(err, fault.Unauthorized) {
			t.Fatalf("dropped key: %v", err)
		}
		if err := a.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.App(Schema).QueryRow(ctx, "SELECT COUNT(*) FROM identity_keys").Scan(&n); err != nil || n != 2 {
			t.Fatalf("keys in db = %d, %v (want the current and the one just retired)", n, err)
		}
	})
}
