package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// AccessTokenType is the "typ" header of access tokens (RFC 9068); ID
// tokens carry "JWT" and token_use "id", so an ID token is never accepted
// as an access token.
const AccessTokenType = "at+jwt"

// CustomPrefix prefixes custom attributes in tokens: custom:<name>.
const CustomPrefix = "custom:"

// MaxTokenLength bounds what Verify parses.
const MaxTokenLength = 8 << 10

// Claims are what an access token says about its holder.
type Claims struct {
	UserID     string
	Email      string
	ClientID   string
	Attributes map[string]string // in the token as "custom:<name>"
	// TTL is the lifetime given to Mint: 0 means DefaultAccessTTL; negative
	// mints an already expired token (tests). At most KeyOptions.MaxTokenTTL.
	TTL time.Duration
	// NotBefore, when set, is the token's nbf.
	NotBefore time.Time

	// Set by Verify (and ignored by Mint).
	ID        string    // jti
	KeyID     string    // kid
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

func encodeHeader(kid string) string {
	b, _ := json.Marshal(header{Alg: Algorithm, Kid: kid, Typ: AccessTokenType})
	return base64.RawURLEncoding.EncodeToString(b)
}

// invalid is what Verify returns for every rejected token: the cause is
// wrapped for logs, the client sees only "invalid token".
func invalid(cause string) error {
	return fault.Wrap(errors.New(cause), fault.Unauthorized, "invalid token")
}

// Mint signs an access token for c with the current key: EdDSA, kid, typ
// at+jwt; iss = Issuer, aud = Audience, sub, email, client_id, custom:*,
// iat, exp, nbf (when set), jti, token_use "access".
func (ks *KeySet) Mint(ctx context.Context, c Claims) (string, error) {
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultAccessTTL
	}
	if ttl > ks.maxTTL {
		return "", fault.New(fault.Invalid, "token lifetime exceeds %s", ks.maxTTL)
	}
	if c.UserID == "" {
		return "", fault.New(fault.Invalid, "token subject is required")
	}
	key, err := ks.signer(ctx)
	if err != nil {
		return "", err
	}
	now := ks.now()
	claims := map[string]any{
		"iss": ks.issuer, "aud": Audience, "sub": c.UserID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"jti": uuid.Must(uuid.NewV7()).String(), "token_use": "access",
	}
	if c.Email != "" {
		claims["email"] = c.Email
	}
	if c.ClientID != "" {
		claims["client_id"] = c.ClientID
	}
	if !c.NotBefore.IsZero() {
		claims["nbf"] = c.NotBefore.Unix()
	}
	for k, v := range c.Attributes {
		claims[CustomPrefix+k] = v
	}
	return sign(key, claims)
}

func sign(key *signingKey, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(key.header)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(payload))
	sig := ed25519.Sign(key.priv, []byte(b.String()))
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sig))
	return b.String(), nil
}

// Verify checks an access token and returns its claims. It rejects, with
// fault.Unauthorized ("invalid token", the reason in the cause): anything but
// a three-part compact JWS; an alg other than EdDSA (none, HS256, RS256…);
// a typ other than at+jwt; an unknown or dropped kid; a bad signature;
// iss other than Issuer; aud not Audience; token_use not "access"; exp in
// the past or nbf in the future (both with Leeway); a missing sub.
//
// Tokens verified once are cached (bounded) until their exp, so a client's
// repeated requests cost a map lookup; exp and nbf are checked on each hit.
func (ks *KeySet) Verify(ctx context.Context, token string) (Claims, error) {
	now := ks.now()
	if ks.cache != nil {
		if c, ok := ks.cache.get(token); ok {
			if err := checkTimes(c, now); err != nil {
				return Claims{}, err
			}
			return c, nil
		}
	}
	c, err := ks.verify(ctx, token, now)
	if err != nil {
		return Claims{}, err
	}
	if ks.cache != nil {
		ks.cache.put(token, c)
	}
	return c, nil
}

func checkTimes(c Claims, now time.Time) error {
	if !now.Before(c.ExpiresAt.Add(Leeway)) {
		return invalid("expired")
	}
	if !c.NotBefore.IsZero() && now.Add(Leeway).Before(c.NotBefore) {
		return invalid("not yet valid (nbf)")
	}
	return nil
}

type payload struct {
	Iss      string          `json:"iss"`
	Aud      json.RawMessage `json:"aud"`
	Sub      string          `json:"sub"`
	Email    string          `json:"email"`
	ClientID string          `json:"client_id"`
	Iat      *float64        `json:"iat"`
	Exp      *float64        `json:"exp"`
	Nbf      *float64        `json:"nbf"`
	Jti      string          `json:"jti"`
	TokenUse string          `json:"token_use"`
}

func (ks *KeySet) verify(ctx context.Context, token string, now time.Time) (Claims, error) {
	if len(token) > MaxTokenLength {
		return Claims{}, invalid("too long")
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, invalid("not a JWS")
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return Claims{}, invalid("not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return Claims{}, invalid("bad header encoding")
	}
	var hd header
	if err := strictUnmarshal(hb, &hd); err != nil {
		return Claims{}, invalid("bad header")
	}
	if hd.Alg != Algorithm {
		return Claims{}, invalid("algorithm " + hd.Alg + " not accepted")
	}
	if hd.Typ != AccessTokenType {
		return Claims{}, invalid("not an access token (typ)")
	}
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Claims{}, invalid("bad signature encoding")
	}
	pub, err := ks.publicKey(ctx, hd.Kid)
	if err != nil {
		return Claims{}, err
	}
	if !ed25519.Verify(pub, []byte(token[:len(h)+1+len(p)]), sig) {
		return Claims{}, invalid("bad signature")
	}
	pb, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Claims{}, invalid("bad payload encoding")
	}
	var pl payload
	if err := json.Unmarshal(pb, &pl); err != nil {
		return Claims{}, invalid("bad payload")
	}
	if pl.Iss != ks.issuer {
		return Claims{}, invalid("wrong issuer")
	}
	if !audienceHas(pl.Aud, Audience) {
		return Claims{}, invalid("wrong audience")
	}
	if pl.TokenUse != "access" {
		return Claims{}, invalid("not an access token (token_use)")
	}
	if pl.Sub == "" || pl.Exp == nil {
		return Claims{}, invalid("missing sub or exp")
	}
	c := Claims{UserID: pl.Sub, Email: pl.Email, ClientID: pl.ClientID, ID: pl.Jti, KeyID: hd.Kid,
		ExpiresAt: time.Unix(int64(*pl.Exp), 0)}
	if pl.Iat != nil {
		c.IssuedAt = time.Unix(int64(*pl.Iat), 0)
	}
	if pl.Nbf != nil {
		c.NotBefore = time.Unix(int64(*pl.Nbf), 0)
	}
	if err := checkTimes(c, now); err != nil {
		return Claims{}, err
	}
	if bytes.Contains(pb, []byte(`"`+CustomPrefix)) {
		var all map[string]any
		if err := json.Unmarshal(pb, &all); err == nil {
			for k, v := range all {
				if name, ok := strings.CutPrefix(k, CustomPrefix); ok {
					if s, ok := v.(string); ok {
						if c.Attributes == nil {
							c.Attributes = map[string]string{}
						}
						c.Attributes[name] = s
					}
				}
			}
		}
	}
	return c, nil
}

// strictUnmarshal decodes a JOSE header; a "crit" or unknown critical
// extension is not supported, so any field besides alg, kid, typ fails.
func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if a == want {
				return true
			}
		}
	}
	return false
}

// tokenCache remembers verified tokens. When full it is emptied (simple,
// bounded; a miss costs one signature check).
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]Claims
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, m: make(map[string]Claims)}
}

func (c *tokenCache) get(token string) (Claims, bool) {
	c.mu.RLock()
	cl, ok := c.m[token]
	c.mu.RUnlock()
	cl.Attributes = maps.Clone(cl.Attributes)
	return cl, ok
}

func (c *tokenCache) put(token string, cl Claims) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[token] = cl
	c.mu.Unlock()
}
