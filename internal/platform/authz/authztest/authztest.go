// Package authztest builds tokens and keys for tests of the authorizer and
// of apps behind it: compact JWS signed with any key kind (or none), RSA
// keys from a small pool, and their JWKs for a test's own JWKS endpoint.
package authztest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"
)

// B64 is unpadded base64url, JOSE's encoding.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Sign makes a compact JWS of claims under header: EdDSA with an
// ed25519.PrivateKey, RS256 with an *rsa.PrivateKey, HS256 with a []byte
// secret, an empty signature with nil (header's alg is not checked against
// the key: tests forge mismatches on purpose).
func Sign(t testing.TB, header map[string]any, key any, claims map[string]any) string {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := B64(hb) + "." + B64(cb)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case *rsa.PrivateKey:
		d := sha256.Sum256([]byte(input))
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:]); err != nil {
			t.Fatal(err)
		}
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case nil:
	default:
		t.Fatalf("authztest.Sign: key type %T", key)
	}
	return input + "." + B64(sig)
}

// rsaPool holds the keys RSAKey hands out; mu guards it.
var rsaPool struct {
	mu   sync.Mutex
	keys []*rsa.PrivateKey
}

// RSAKey returns a 2048-bit key from a pool of four, shared by the tests of
// a process (generating one takes up to a second).
func RSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaPool.mu.Lock()
	defer rsaPool.mu.Unlock()
	if len(rsaPool.keys) < 4 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaPool.keys = append(rsaPool.keys, k)
		return k
	}
	k := rsaPool.keys[0]
	rsaPool.keys = append(rsaPool.keys[1:], k)
	return k
}

// RSAJWK is k's public JWK for RS256 under kid.
func RSAJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": B64(k.N.Bytes()), "e": B64(big.NewInt(int64(k.E)).Bytes()),
	}
}
