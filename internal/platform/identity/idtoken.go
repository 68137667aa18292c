package identity

import (
	"context"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// IDTokenType is the "typ" header of ID tokens. With token_use "id" it
// keeps an ID token from ever passing Verify (which wants at+jwt, "access").
const IDTokenType = "JWT"

// mintID signs an OpenID Connect style ID token for u, for client (its aud;
// Audience when empty), with the current key: typ JWT, token_use "id",
// sub, email, email_verified, name, iat, exp (DefaultAccessTTL), jti.
func (ks *KeySet) mintID(ctx context.Context, u User, client string) (string, error) {
	key, err := ks.signer(ctx)
	if err != nil {
		return "", err
	}
	aud := client
	if aud == "" {
		aud = Audience
	}
	now := ks.now()
	tok := jwt.New()
	claims := map[string]any{
		"iss": ks.issuer, "aud": aud, "sub": u.ID, "iat": now, "exp": now.Add(DefaultAccessTTL),
		"auth_time": now.Unix(), "jti": uuid.Must(uuid.NewV7()).String(), "token_use": "id",
		"email": u.Email, "email_verified": u.Confirmed,
	}
	if u.Name != "" {
		claims["name"] = u.Name
	}
	for k, v := range u.Attributes {
		claims[CustomPrefix+k] = v
	}
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", err
		}
	}
	tok.Options().Enable(jwt.FlattenAudience)
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, IDTokenType); err != nil {
		return "", err
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), key.jwk, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", err
	}
	return string(b), nil
}
