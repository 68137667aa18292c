package authz

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"math/big"
)

// The JWS verification here is deliberately small: compact serialization
// only, one algorithm pinned by the caller, the key type checked against it
// (keyFits), standard library crypto. (The module's jwx/v3 pin lacks the
// go.sum entries of its jws and jwk packages; this needs none.)

// verifySignature checks a compact JWS's signature (sig64, base64url) over
// signingInput ("<header>.<payload>") with key under alg. The caller has
// checked keyFits(alg, key).
func verifySignature(alg string, key any, signingInput, sig64 string) bool {
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil || len(sig) == 0 {
		return false
	}
	msg := []byte(signingInput)
	switch alg {
	case "EdDSA":
		k, _ := key.(ed25519.PublicKey)
		return len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig)
	case "HS256", "HS384", "HS512":
		secret, _ := key.([]byte)
		mac := hmac.New(hashFor(alg), secret)
		mac.Write(msg)
		return hmac.Equal(mac.Sum(nil), sig)
	case "RS256", "RS384", "RS512":
		k, _ := key.(*rsa.PublicKey)
		h, d := digest(alg, msg)
		return k != nil && rsa.VerifyPKCS1v15(k, h, d, sig) == nil
	case "PS256", "PS384", "PS512":
		k, _ := key.(*rsa.PublicKey)
		h, d := digest(alg, msg)
		return k != nil && rsa.VerifyPSS(k, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "ES256", "ES384", "ES512":
		k, _ := key.(*ecdsa.PublicKey)
		if k == nil || k.Curve != curveFor(alg) {
			return false
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		_, d := digest(alg, msg)
		return ecdsa.Verify(k, d, r, s)
	}
	return false
}

func hashFor(alg string) func() hash.Hash {
	switch alg[2:] {
	case "384":
		return sha512.New384
	case "512":
		return sha512.New
	}
	return sha256.New
}

func digest(alg string, msg []byte) (crypto.Hash, []byte) {
	switch alg[2:] {
	case "384":
		d := sha512.Sum384(msg)
		return crypto.SHA384, d[:]
	case "512":
		d := sha512.Sum512(msg)
		return crypto.SHA512, d[:]
	}
	d := sha256.Sum256(msg)
	return crypto.SHA256, d[:]
}

func curveFor(alg string) elliptic.Curve {
	switch alg {
	case "ES384":
		return elliptic.P384()
	case "ES512":
		return elliptic.P521()
	}
	return elliptic.P256()
}

// jwkJSON is one JSON Web Key, public members only.
type jwkJSON struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// jwkEntry is a usable key of a JWKS: the key and, when the JWK names one,
// the only algorithm it may verify.
type jwkEntry struct {
	key any
	alg string
}

// parseJWKS returns the signing keys of a JWK Set by kid. Keys without kid,
// for encryption, private, or of an unsupported type are skipped.
func parseJWKS(body []byte) (map[string]jwkEntry, error) {
	var set struct {
		Keys []jwkJSON `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	if set.Keys == nil {
		return nil, errors.New("no keys member")
	}
	out := map[string]jwkEntry{}
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") || k.D != "" {
			continue
		}
		key, err := k.publicKey()
		if err != nil {
			continue
		}
		out[k.Kid] = jwkEntry{key: key, alg: k.Alg}
	}
	return out, nil
}

func (k jwkJSON) publicKey() (any, error) {
	b := func(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
	switch k.Kty {
	case "RSA":
		n, err1 := b(k.N)
		e, err2 := b(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		eInt := int(new(big.Int).SetBytes(e).Int64())
		if eInt < 3 {
			return nil, errors.New("bad RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: eInt}, nil
	case "EC":
		var c elliptic.Curve
		switch k.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, errors.New("unsupported curve")
		}
		x, err1 := b(k.X)
		y, err2 := b(k.Y)
		size := (c.Params().BitSize + 7) / 8
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("bad EC key")
		}
		raw := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(c, raw)
	case "OKP":
		x, err := b(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("unsupported OKP key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errors.New("unsupported key type")
}
