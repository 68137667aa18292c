package identity

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

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
	// OrgID, when set, is the org the token was minted for ("org_id"); the
	// authorizer still requires a membership in it.
	OrgID string
	// Scopes, when not nil, restrict the token ("scope", space-separated;
	// an empty list is a token with no scope at all).
	Scopes []string
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

// invalid is what Verify returns for every rejected token: the cause is
// wrapped for logs, the client sees only "invalid token".
func invalid(cause string) error {
	return fault.Wrap(errors.New(cause), fault.Unauthorized, "invalid token")
}

// Mint signs an access token for c with the current key: EdDSA, kid, typ
// at+jwt; iss = Issuer, aud = Audience, sub, email, client_id, org_id,
// scope, custom:*, iat, exp, nbf (when set), jti, token_use "access".
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
		"iat": now, "exp": now.Add(ttl),
		"jti": uuid.Must(uuid.NewV7()).String(), "token_use": "access",
	}
	if c.Email != "" {
		claims["email"] = c.Email
	}
	if c.ClientID != "" {
		claims["client_id"] = c.ClientID
	}
	if !c.NotBefore.IsZero() {
		claims["nbf"] = c.NotBefore
	}
	if c.OrgID != "" {
		claims["org_id"] = c.OrgID
	}
	if c.Scopes != nil {
		claims["scope"] = strings.Join(c.Scopes, " ")
	}
	for k, v := range c.Attributes {
		claims[CustomPrefix+k] = v
	}
	return sign(key, claims)
}

// sign serializes claims as a JWT signed by key (EdDSA; header alg, kid from
// the key, typ at+jwt).
func sign(key *signingKey, claims map[string]any) (string, error) {
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", err
		}
	}
	tok.Options().Enable(jwt.FlattenAudience) // "aud":"tessera", not an array
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key.jwk, jws.WithProtectedHeaders(key.headers)))
	if err != nil {
		return "", err
	}
	return string(b), nil
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

func (ks *KeySet) verify(ctx context.Context, token string, now time.Time) (Claims, error) {
	if len(token) > MaxTokenLength {
		return Claims{}, invalid("too long")
	}
	if strings.Count(token, ".") != 2 {
		return Claims{}, invalid("not a compact JWS")
	}
	var (
		kid       string
		lookupErr error // a key lookup failure, returned as it is
	)
	provider := jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		if err := checkHeader(h); err != nil {
			return err
		}
		kid, _ = h.KeyID()
		pub, err := ks.publicKey(ctx, kid)
		if err != nil {
			lookupErr = err
			return err
		}
		sink.Key(jwa.EdDSA(), pub)
		return nil
	})
	tok, err := jwt.Parse([]byte(token),
		jwt.WithContext(ctx),
		jwt.WithKeyProvider(provider),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(Leeway),
		jwt.WithIssuer(ks.issuer),
		jwt.WithAudience(Audience),
		jwt.WithClaimValue("token_use", "access"),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if lookupErr != nil {
		return Claims{}, lookupErr
	}
	if err != nil {
		return Claims{}, fault.Wrap(err, fault.Unauthorized, "invalid token")
	}
	c := Claims{KeyID: kid}
	c.UserID, _ = tok.Subject()
	c.ExpiresAt, _ = tok.Expiration()
	c.IssuedAt, _ = tok.IssuedAt()
	c.NotBefore, _ = tok.NotBefore()
	c.ID, _ = tok.JwtID()
	_ = tok.Get("email", &c.Email)
	_ = tok.Get("client_id", &c.ClientID)
	for _, k := range tok.Keys() {
		if name, ok := strings.CutPrefix(k, CustomPrefix); ok {
			var s string
			if tok.Get(k, &s) == nil {
				if c.Attributes == nil {
					c.Attributes = map[string]string{}
				}
				c.Attributes[name] = s
			}
		}
	}
	if c.UserID == "" {
		return Claims{}, invalid("missing sub")
	}
	return c, nil
}

// checkHeader accepts only the header Mint writes: alg EdDSA, typ at+jwt,
// kid; any other member ("crit", "jku", "jwk"…) is refused.
func checkHeader(h jws.Headers) error {
	if alg, _ := h.Algorithm(); alg != jwa.EdDSA() {
		return invalid("algorithm " + alg.String() + " not accepted")
	}
	if typ, _ := h.Type(); typ != AccessTokenType {
		return invalid("not an access token (typ)")
	}
	for _, k := range h.Keys() {
		switch k {
		case jws.AlgorithmKey, jws.KeyIDKey, jws.TypeKey:
		default:
			return invalid("header member " + k + " not accepted")
		}
	}
	return nil
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
