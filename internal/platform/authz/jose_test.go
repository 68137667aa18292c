package authz

import (
	"github.com/tessera-dev/tessera/internal/platform/authz/authztest"

	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// verifies checks a compact JWS the way the authorizer does: jwx with one
// pinned (alg, key) pair.
func verifies(alg string, key any, input string, sig []byte) bool {
	a, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return false
	}
	_, err := jws.Verify([]byte(input+"."+authztest.B64(sig)), jws.WithCompact(), jws.WithKey(a, key))
	return err == nil
}

func TestJOSEAlgorithms(t *testing.T) {
	input := "eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ" // {"typ":"JWT"}.{"x":1}
	d := sha256.Sum256([]byte(input))

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, s, err := ecdsa.Sign(rand.Reader, ec, d[:])
	if err != nil {
		t.Fatal(err)
	}
	esSig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	rk := authztest.RSAKey(t)
	psSig, err := rsa.SignPSS(rand.Reader, rk, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	edSig := ed25519.Sign(priv, []byte(input))

	for _, c := range []struct {
		alg string
		key any
		sig []byte
	}{{"ES256", &ec.PublicKey, esSig}, {"PS256", &rk.PublicKey, psSig}, {"EdDSA", pub, edSig}} {
		if !verifies(c.alg, c.key, input, c.sig) {
			t.Errorf("%s: valid signature refused", c.alg)
		}
		bad := append([]byte{}, c.sig...)
		bad[len(bad)-1] ^= 1
		if verifies(c.alg, c.key, input, bad) || verifies(c.alg, c.key, input+"x", c.sig) {
			t.Errorf("%s: bad signature accepted", c.alg)
		}
	}
	if verifies("ES384", &ec.PublicKey, input, esSig) {
		t.Error("P-256 key verified ES384")
	}
	// A key of another type than the algorithm's never verifies, whatever
	// the signature (an HMAC over the input keyed by the public key bytes).
	hs := hmac.New(sha256.New, pub)
	hs.Write([]byte(input))
	hsSig := hs.Sum(nil)
	if verifies("HS256", pub, input, hsSig) || verifies("EdDSA", &rk.PublicKey, input, edSig) ||
		verifies("RS256", []byte("k"), input, hsSig) || verifies("none", pub, input, nil) {
		t.Error("a key of another type verified")
	}

	// JWKS: RSA, EC and OKP keys parse; private, encryption and kid-less
	// keys are skipped.
	set := map[string]any{"keys": []map[string]string{
		authztest.RSAJWK("r", &rk.PublicKey),
		{"kty": "EC", "kid": "e", "crv": "P-256", "x": authztest.B64(ec.X.FillBytes(make([]byte, 32))), "y": authztest.B64(ec.Y.FillBytes(make([]byte, 32)))},
		{"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": authztest.B64(pub)},
		{"kty": "OKP", "kid": "priv", "crv": "Ed25519", "x": authztest.B64(pub), "d": authztest.B64(priv.Seed())},
		{"kty": "OKP", "kid": "enc", "use": "enc", "crv": "Ed25519", "x": authztest.B64(pub)},
		{"kty": "OKP", "crv": "Ed25519", "x": authztest.B64(pub)},
		{"kty": "EC", "kid": "badpoint", "crv": "P-256", "x": authztest.B64(make([]byte, 32)), "y": authztest.B64(make([]byte, 32))},
	}}
	body, _ := json.Marshal(set)
	keys, err := parseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys["r"].alg != "RS256" || keys["e"].key == nil || keys["o"].key == nil {
		t.Fatalf("keys %v", keys)
	}
	if _, err := parseJWKS([]byte(`{"nokeys":1}`)); err == nil {
		t.Error("a JWKS without keys parsed")
	}
}
