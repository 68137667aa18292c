package authz

import (
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// SharedClaims are the claims of a nano-messaging shared-secret token.
type SharedClaims struct {
	UserUUID   string
	EntityUUID string
	Level      int // levelOnEntity, 0–1,000,000
	// Issuer and Audience are set as iss and aud when not empty.
	Issuer, Audience string
	// IssuedAt defaults to now; Expires must be set; NotBefore is optional.
	IssuedAt, Expires, NotBefore time.Time
}

// SignShared signs c with secret in the nano-messaging form (HS256, claims
// userUUID, entityUUID, levelOnEntity as a number, iat, exp, nbf, iss, aud),
// as the service owning the users does; the CLI's token mint --entity, the
// tests and the chat load generator use it.
func SignShared(secret string, c SharedClaims) (string, error) {
	if secret == "" {
		return "", errors.New("authz: no shared secret")
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	claims := map[string]any{
		"userUUID": c.UserUUID, "entityUUID": c.EntityUUID, "levelOnEntity": c.Level,
		jwt.IssuedAtKey: c.IssuedAt, jwt.ExpirationKey: c.Expires,
	}
	if !c.NotBefore.IsZero() {
		claims[jwt.NotBeforeKey] = c.NotBefore
	}
	if c.Issuer != "" {
		claims[jwt.IssuerKey] = c.Issuer
	}
	if c.Audience != "" {
		claims[jwt.AudienceKey] = c.Audience
	}
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", fmt.Errorf("authz: claim %s: %w", k, err)
		}
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), []byte(secret)))
	if err != nil {
		return "", fmt.Errorf("authz: sign: %w", err)
	}
	return string(b), nil
}
