package authz

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// MaxTokenLength bounds a bearer token: longer ones are refused before any
// decoding.
const MaxTokenLength = 8 << 10

// The WWW-Authenticate challenges.
const (
	challengeBearer  = `Bearer realm="tessera"` //nolint:gosec // G101: a challenge, not a credential
	challengeInvalid = `Bearer realm="tessera", error="invalid_token"`
	challengeBasic   = `Basic realm="tessera", charset="UTF-8"`
)

// authError is a fault with the WWW-Authenticate challenge to send with it;
// httpapi.WriteProblem sets its headers (it is a huma.HeadersError).
type authError struct {
	f         *fault.Error
	challenge string
}

func (e *authError) Error() string { return e.f.Error() }
func (e *authError) Unwrap() error { return e.f }

// GetHeaders implements huma.HeadersError.
func (e *authError) GetHeaders() http.Header {
	return http.Header{"Www-Authenticate": {e.challenge}}
}

func unauthorized(challenge, msg string) error {
	return &authError{f: fault.New(fault.Unauthorized, "%s", msg), challenge: challenge}
}

// invalidToken is the one answer to every bad token: the message names the
// class of failure (never key material or claims).
func invalidToken(msg string) error { return unauthorized(challengeInvalid, "invalid token: "+msg) }

// keySource gives a verifier's keys by kid.
type keySource interface {
	key(ctx context.Context, kid string) (any, error)
}

// errNoKey is what a keySource returns for an unknown kid.
var errNoKey = errors.New("unknown key")

// claimsFunc turns verified claims into a principal and the org the
// credential names (before directory resolution).
type claimsFunc func(ctx context.Context, a *Authorizer, v *verifier, c claims) (Principal, string, error)

// verifier is one pinned token verifier: its issuer, audience, algorithms,
// keys and the apps that accept its tokens.
type verifier struct {
	name     string
	via      Via
	issuer   string // required iss ("" means not checked: shared secret only)
	audience string // required in aud ("" means not checked: shared secret only)
	algs     []string
	apps     []string
	allApps  bool
	keys     keySource
	claims   claimsFunc
	mapping  map[string]string // external claim names
}

func (v *verifier) accepts(app string) bool { return v.allApps || slices.Contains(v.apps, app) }

// cacheable reports whether v's tokens are worth the verified-token cache:
// an asymmetric signature is; an HMAC (HS*) costs less than the entry.
func (v *verifier) cacheable() bool {
	for _, alg := range v.algs {
		if strings.HasPrefix(alg, "HS") {
			return false
		}
	}
	return true
}

type claims map[string]any

// authenticateToken verifies a bearer token for app and settles its org.
func (a *Authorizer) authenticateToken(ctx context.Context, token, app, orgChoice string) (Principal, error) {
	v, c, err := a.verifyCached(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	if !v.accepts(app) {
		return Principal{}, invalidToken("not accepted by this app")
	}
	p, tokenOrg, err := v.claims(ctx, a, v, c)
	if err != nil {
		return Principal{}, err
	}
	if err := a.resolveOrg(ctx, &p, tokenOrg, orgChoice); err != nil {
		return Principal{}, err
	}
	p.ExpiresAt, _ = numericDate(c["exp"])
	return p, nil
}

// verifyCached is verify behind the token cache.
func (a *Authorizer) verifyCached(ctx context.Context, token string) (*verifier, claims, error) {
	if v, c, ok := a.cache.get(token, a.now()); ok {
		if err := a.checkRegistered(v, c); err != nil {
			return nil, nil, err
		}
		return v, c, nil
	}
	v, c, err := a.verify(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if v.cacheable() {
		exp, _ := numericDate(c["exp"])
		a.cache.put(token, v, c, a.now(), exp)
	}
	return v, c, nil
}

// verify routes token to its one verifier, by its iss claim (and, for a
// shared-secret token, its HS algorithm), then checks algorithm and
// signature (verifyJWS) and the registered claims of the verified payload.
// Nothing is tried against a second verifier.
func (a *Authorizer) verify(ctx context.Context, token string) (*verifier, claims, error) {
	if len(token) > MaxTokenLength {
		return nil, nil, invalidToken("too long")
	}
	if strings.Count(token, ".") != 2 {
		return nil, nil, invalidToken("malformed")
	}
	v, payload, err := a.verifyJWS(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	var c claims
	if err := decodeJSON(payload, &c); err != nil || c == nil {
		return nil, nil, invalidToken("malformed payload")
	}
	if err := a.checkRegistered(v, c); err != nil {
		return nil, nil, err
	}
	return v, c, nil
}

// route picks the one verifier a token may be checked by: the platform's or
// an external issuer's when iss names it, else the shared secret for an HS
// token whose iss is the configured one (any iss when none is configured).
func (a *Authorizer) route(iss, alg string) *verifier {
	if a.platform != nil && iss == a.platform.issuer {
		return a.platform
	}
	if v, ok := a.external[iss]; ok {
		return v
	}
	if a.shared != nil && strings.HasPrefix(alg, "HS") && (a.shared.issuer == "" || iss == a.shared.issuer) {
		return a.shared
	}
	return nil
}

// checkRegistered checks iss, aud, exp (required) and nbf, with the leeway.
func (a *Authorizer) checkRegistered(v *verifier, c claims) error {
	if v.issuer != "" {
		if iss, _ := c["iss"].(string); iss != v.issuer {
			return invalidToken("wrong issuer")
		}
	}
	if v.audience != "" && !audienceHas(c["aud"], v.audience) {
		return invalidToken("wrong audience")
	}
	now := a.now()
	exp, ok := numericDate(c["exp"])
	if !ok {
		return invalidToken("no valid exp")
	}
	if !now.Before(exp.Add(a.leeway)) {
		return invalidToken("expired")
	}
	if raw, present := c["nbf"]; present {
		nbf, ok := numericDate(raw)
		if !ok {
			return invalidToken("bad nbf")
		}
		if now.Add(a.leeway).Before(nbf) {
			return invalidToken("not valid yet")
		}
	}
	return nil
}

func audienceHas(aud any, want string) bool {
	switch aud := aud.(type) {
	case string:
		return aud == want
	case []any:
		for _, x := range aud {
			if s, ok := x.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// numericDate reads a JWT NumericDate (seconds since the epoch, possibly
// fractional).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// decodeJSON decodes one JSON value into dst, numbers as json.Number.
func decodeJSON(b []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(dst); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// asymmetricAlgs checks that every name is an asymmetric JWS algorithm.
func asymmetricAlgs(names []string) ([]string, error) {
	for _, n := range names {
		switch n {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		default:
			return nil, fmt.Errorf("algorithm %q is not allowed (asymmetric algorithms only)", n)
		}
	}
	return names, nil
}

// platformKeySource adapts PlatformKeys.
type platformKeySource struct{ keys PlatformKeys }

func (s platformKeySource) key(ctx context.Context, kid string) (any, error) {
	if kid == "" {
		return nil, errNoKey
	}
	k, err := s.keys.PublicKey(ctx, kid)
	switch {
	case errors.Is(err, ErrUnknownKey), err == nil && k == nil:
		return nil, errNoKey
	case err != nil:
		return nil, lookupFailed(err)
	}
	if p, ok := k.(*ed25519.PublicKey); ok {
		return *p, nil
	}
	return k, nil
}

// staticKey is one key, whatever the kid.
type staticKey struct{ k any }

func (s staticKey) key(context.Context, string) (any, error) { return s.k, nil }

// platformClaims maps a platform access token: sub, client_id, email,
// scope (space-separated) or scopes, custom:<name> attributes and the
// org_id the token was minted for.
func platformClaims(_ context.Context, _ *Authorizer, v *verifier, c claims) (Principal, string, error) {
	p := Principal{Via: v.via, Issuer: v.name}
	p.UserID, _ = c["sub"].(string)
	if p.UserID == "" {
		return Principal{}, "", invalidToken("no subject")
	}
	p.ClientID, _ = c["client_id"].(string)
	p.Email, _ = c["email"].(string)
	if s, ok := c["scope"]; ok {
		p.Scopes = scopesOf(s)
	} else if s, ok := c["scopes"]; ok {
		p.Scopes = scopesOf(s)
	}
	for k, val := range c {
		if name, ok := strings.CutPrefix(k, "custom:"); ok {
			if s, ok := val.(string); ok {
				if p.Attributes == nil {
					p.Attributes = map[string]string{}
				}
				p.Attributes[name] = s
			}
		}
	}
	org, _ := c["org_id"].(string)
	return p, org, nil
}

// sharedClaims maps a nano-messaging token: userUUID, entityUUID and
// levelOnEntity (a number or a numeric string). The entity is taken as the
// org as it is: the service owning those users asserts it.
func sharedClaims(_ context.Context, _ *Authorizer, v *verifier, c claims) (Principal, string, error) {
	p := Principal{Via: v.via, Issuer: v.name}
	p.UserID, _ = c["userUUID"].(string)
	if p.UserID == "" {
		return Principal{}, "", invalidToken("no userUUID")
	}
	org, _ := c["entityUUID"].(string)
	if raw, ok := c["levelOnEntity"]; ok {
		l, ok := levelOf(raw)
		if !ok {
			return Principal{}, "", invalidToken("bad levelOnEntity")
		}
		p.Level = l
	}
	return p, org, nil
}

// levelOf reads a level: an integer 0–1,000,000 as a number or a string.
func levelOf(v any) (int, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1_000_000 {
		return 0, false
	}
	return n, true
}

// scopesOf reads scopes: a space-separated string or an array of strings.
// The result is never nil when the claim is present (an empty claim means
// "no scope", which is enforced).
func scopesOf(v any) []string {
	out := []string{}
	switch v := v.(type) {
	case string:
		out = append(out, strings.Fields(v)...)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
