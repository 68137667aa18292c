// Package authz is the authorizer (the API Gateway authorizer role): one
// middleware in front of every app turns credentials into a Principal, which
// handlers read from the request context and never derive from tokens
// themselves.
//
// Credentials: platform access tokens (EdDSA, kid → PlatformKeys), external
// issuers' tokens (JWKS or a PEM key, claim mapping), nano-messaging HS256
// shared-secret tokens, and admin API keys over Basic (AdminKeys). A token
// is routed to exactly one pinned verifier by its iss claim (an HS token
// with no other issuer's iss goes to the shared secret); that verifier's
// algorithms, key, issuer, audience and apps are the only ones it is
// checked against: there is no fallback. JWS parsing, JWKS parsing and
// signature checks are github.com/lestrrat-go/jwx/v3's (jws, jwk), with the
// verifier's (alg, key) pinned. Role, level and groups come from the
// Directory at request time.
package authz

import (
	"context"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Via names the kind of credential a Principal was authenticated with.
type Via string

// The credential kinds.
const (
	ViaPlatform Via = "platform"  // a platform access token (/auth/token)
	ViaExternal Via = "external"  // a token of a configured external issuer
	ViaShared   Via = "shared"    // an HS256 token signed with a shared secret (messaging)
	ViaAdminKey Via = "admin_key" // an admin API key over Basic auth
)

// Principal is who is calling, as the authorizer established it.
type Principal struct {
	UserID   string   `json:"user_id,omitempty"`
	OrgID    string   `json:"org_id,omitempty"`
	Level    int      `json:"level"`
	Role     string   `json:"role,omitempty"` // owner, admin or member in OrgID
	Groups   []string `json:"groups,omitempty"`
	Scopes   []string `json:"scopes,omitempty"` // nil when the token carries none
	ClientID string   `json:"client_id,omitempty"`
	// Email is the user's address when the token carries one.
	Email   string `json:"email,omitempty"`
	IsAdmin bool   `json:"is_admin"`
	Via     Via    `json:"via"`
	// Issuer names the verifier (an external issuer's configured name).
	Issuer string `json:"issuer,omitempty"`
	// Attributes are a platform user's custom attributes (custom:<name>).
	Attributes map[string]string `json:"attributes,omitempty"`
	// ExpiresAt is the token's exp (zero for admin keys): a websocket
	// authenticated at connect closes then (4001) so the client refreshes.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal, and false when the request is
// anonymous.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// RequireScope reports whether p may act with scope: nil when the token
// carried no scopes at all (scopes are enforced only when present) or lists
// scope, a forbidden fault otherwise. Admin keys carry no scopes.
func RequireScope(p Principal, scope string) error {
	if p.Scopes == nil {
		return nil
	}
	for _, s := range p.Scopes {
		if s == scope {
			return nil
		}
	}
	return fault.New(fault.Forbidden, "the token lacks the scope %q", scope)
}
