package authz

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// JWS parsing and signature verification are jwx's (jws, jwk). The
// authorizer only routes: pick reads the protected header and, for the issuer,
// the unverified payload, chooses the one verifier and hands jwx its key under
// the header's algorithm once that algorithm is on the verifier's list. jwx
// verifies with exactly that (alg, key) pair and refuses a key of the wrong
// type for it, so an RSA public key is never an HMAC secret.

// minRSABits is the smallest RSA modulus accepted (jwx verifies with any).
const minRSABits = 2048

// jwkEntry is a usable key of a JWKS: the key and, when the JWK names one,
// the only algorithm it may verify.
type jwkEntry struct {
	key any
	alg string
}

// verifyJWS checks the compact JWS token and returns its verified payload and
// verifier. Every failure is an invalid-token error, except a key lookup
// that failed (503 / 500).
func (a *Authorizer) verifyJWS(ctx context.Context, token string) (*verifier, []byte, error) {
	var (
		v       *verifier
		pickErr error
	)
	kp := jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, msg *jws.Message) error {
		var (
			alg jwa.SignatureAlgorithm
			key any
		)
		v, alg, key, pickErr = a.pick(ctx, sig.ProtectedHeaders(), msg.Payload())
		if pickErr != nil {
			return pickErr
		}
		sink.Key(alg, key)
		return nil
	})
	payload, err := jws.Verify([]byte(token), jws.WithCompact(), jws.WithContext(ctx), jws.WithKeyProvider(kp))
	switch {
	case pickErr != nil:
		return nil, nil, pickErr
	case err != nil && v == nil:
		return nil, nil, invalidToken("malformed")
	case err != nil:
		return nil, nil, invalidToken("bad signature")
	}
	return v, payload, nil
}

// pick routes a token, from its header and its unverified payload (read for
// iss only), to its verifier, and returns the algorithm and key to verify it
// with.
func (a *Authorizer) pick(ctx context.Context, h jws.Headers, payload []byte) (*verifier, jwa.SignatureAlgorithm, any, error) {
	var none jwa.SignatureAlgorithm
	alg, ok := h.Algorithm()
	name := alg.String()
	if !ok || name == "" || strings.EqualFold(name, "none") {
		return nil, none, nil, invalidToken("unsigned")
	}
	var route struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &route); err != nil {
		return nil, none, nil, invalidToken("malformed payload")
	}
	v := a.route(route.Iss, name)
	if v == nil {
		return nil, none, nil, invalidToken("unknown issuer")
	}
	if !slices.Contains(v.algs, name) {
		return v, none, nil, invalidToken("algorithm not allowed for this issuer")
	}
	kid, _ := h.KeyID()
	key, err := v.keys.key(ctx, kid)
	if errors.Is(err, errNoKey) {
		return v, none, nil, invalidToken("unknown key")
	}
	if err != nil {
		return v, none, nil, err
	}
	if e, ok := key.(jwkEntry); ok {
		if e.alg != "" && e.alg != name {
			return v, none, nil, invalidToken("algorithm does not fit the key")
		}
		key = e.key
	}
	if k, ok := key.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return v, none, nil, invalidToken("key too small")
	}
	return v, alg, key, nil
}

// parseJWKS returns the signing keys of a JWK Set by kid. Keys without kid,
// for encryption, private, symmetric or that do not validate are skipped.
func parseJWKS(body []byte) (map[string]jwkEntry, error) {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, err
	}
	if probe.Keys == nil {
		return nil, errors.New("no keys member")
	}
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, err
	}
	out := map[string]jwkEntry{}
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		kid, _ := k.KeyID()
		use, _ := k.KeyUsage()
		if kid == "" || (use != "" && use != jwk.ForSignature.String()) {
			continue
		}
		if private, err := jwk.IsPrivateKey(k); err != nil || private || k.Validate() != nil {
			continue
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			continue
		}
		e := jwkEntry{key: raw}
		if alg, ok := k.Algorithm(); ok {
			e.alg = alg.String()
		}
		out[kid] = e
	}
	return out, nil
}

// ParsePublicKeyPEM reads a public key from PEM: a PUBLIC KEY (PKIX: RSA,
// ECDSA, Ed25519), an RSA PUBLIC KEY (PKCS #1) or a CERTIFICATE.
func ParsePublicKeyPEM(data []byte) (any, error) {
	k, err := jwk.ParseKey(data, jwk.WithPEM(true))
	if err != nil {
		return nil, err
	}
	if private, err := jwk.IsPrivateKey(k); err != nil || private {
		return nil, fmt.Errorf("not a public key (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)")
	}
	var raw any
	if err := jwk.Export(k, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
