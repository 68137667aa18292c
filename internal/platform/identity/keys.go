package identity

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Schema is the migration line of identity (tables identity_…).
const Schema = "identity"

// Audience is the "aud" of every platform access token. The issuer ("iss")
// is the node's public URL: KeySet.Issuer.
const Audience = "tessera"

// Algorithm is the JWS algorithm of platform tokens: EdDSA over Ed25519.
const Algorithm = "EdDSA"

// Leeway is the clock skew accepted on exp and nbf.
const Leeway = 60 * time.Second

// DefaultAccessTTL is the lifetime of an access token when Claims.TTL is 0.
const DefaultAccessTTL = 15 * time.Minute

// DefaultMaxTokenTTL bounds the lifetime of any token a KeySet signs; a
// retired key stays published this long (plus ReloadInterval and Leeway) after
// it stopped signing.
const DefaultMaxTokenTTL = time.Hour

// ReloadInterval is how often a KeySet re-reads the keys from the database,
// so a rotation made by another node is picked up.
const ReloadInterval = time.Minute

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the identity migration line (schema "identity"). Pass it
// to store.Migrate after the platform's and mail's sets.
func Migrations() store.MigrationSet {
	return store.Embedded(Schema, migrations, "migrations")
}

// PublicKeyer is what a verifier of platform tokens needs (the authorizer):
// the public key of a kid, and an error (fault.Unauthorized) for an unknown
// or dropped kid. *KeySet implements it.
type PublicKeyer interface {
	PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// KeyOptions configure a KeySet.
type KeyOptions struct {
	// Issuer is the "iss" of the tokens: the node's public URL.
	Issuer string
	// MaxTokenTTL bounds token lifetimes; 0 means DefaultMaxTokenTTL.
	MaxTokenTTL time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the verified-token cache; 0 means 10,000, negative
	// disables it.
	CacheSize int
}

type signingKey struct {
	kid     string
	priv    ed25519.PrivateKey
	jwk     jwk.Key     // priv with its kid
	headers jws.Headers // typ at+jwt
}

func newSigningKey(kid string, priv ed25519.PrivateKey) (*signingKey, error) {
	k, err := jwk.Import(priv)
	if err != nil {
		return nil, err
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, AccessTokenType); err != nil {
		return nil, err
	}
	return &signingKey{kid: kid, priv: priv, jwk: k, headers: h}, nil
}

type publicKey struct {
	key       ed25519.PublicKey
	dropAfter int64 // 0: current or never retired
}

// KeySet holds the platform's signing keys, stored in the database: it signs
// with the current key and verifies by kid. It is safe for concurrent use;
// several nodes share the keys through the database.
type KeySet struct {
	db     *store.DB
	issuer string
	maxTTL time.Duration
	now    func() time.Time

	mu       sync.RWMutex
	current  *signingKey
	public   map[string]publicKey
	order    []string // kids, newest first
	loadedAt time.Time
	missAt   time.Time // last reload caused by an unknown kid

	cache *tokenCache
}

// NewKeySet returns the key set of st (migrated with Migrations). Keys are
// loaded, and the first one created, on first use.
func NewKeySet(st *store.Store, opts KeyOptions) *KeySet {
	ks := &KeySet{db: st.App(Schema), issuer: opts.Issuer, maxTTL: opts.MaxTokenTTL, now: opts.Now}
	if ks.maxTTL <= 0 {
		ks.maxTTL = DefaultMaxTokenTTL
	}
	if ks.now == nil {
		ks.now = time.Now
	}
	switch {
	case opts.CacheSize == 0:
		ks.cache = newTokenCache(10000)
	case opts.CacheSize > 0:
		ks.cache = newTokenCache(opts.CacheSize)
	}
	return ks
}

// Issuer returns the "iss" of the tokens this set signs.
func (ks *KeySet) Issuer() string { return ks.issuer }

func newKID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// insertKey creates a new current key in tx.
func (ks *KeySet) insertKey(ctx context.Context, tx *store.Tx, now int64) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO identity_keys (kid, alg, private_key, public_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		newKID(pub), Algorithm, base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub), now)
	return err
}

// Rotate makes a new key current. The previous key stops signing at once
// (on this node; other nodes within ReloadInterval) and stays published
// until every token it signed has expired; keys past that are deleted.
func (ks *KeySet) Rotate(ctx context.Context) error {
	now := ks.now().Unix()
	dropAfter := now + int64((ks.maxTTL + ReloadInterval + Leeway).Seconds())
	err := ks.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(tx.Context(), `UPDATE identity_keys SET retired_at = ?, drop_after = ? WHERE retired_at IS NULL`, now, dropAfter); err != nil {
			return err
		}
		if _, err := tx.Exec(tx.Context(), `DELETE FROM identity_keys WHERE drop_after IS NOT NULL AND drop_after < ?`, now); err != nil {
			return err
		}
		return ks.insertKey(tx.Context(), tx, now)
	})
	if err != nil {
		return err
	}
	return ks.reload(ctx)
}

// reload reads the keys, creating the first one when there is none.
func (ks *KeySet) reload(ctx context.Context) error {
	now := ks.now().Unix()
	var (
		current *signingKey
		public  map[string]publicKey
		order   []string
	)
	err := ks.db.InTx(ctx, func(tx *store.Tx) error {
		for attempt := 0; attempt < 2; attempt++ {
			var err error
			if current, public, order, err = readKeys(tx, now); err != nil {
				return err
			}
			if current != nil {
				return nil
			}
			if err := ks.insertKey(tx.Context(), tx, now); err != nil {
				return err
			}
		}
		return fault.New(fault.Internal, "identity: no current signing key")
	})
	if err != nil {
		return err
	}
	ks.mu.Lock()
	ks.current, ks.public, ks.order, ks.loadedAt = current, public, order, ks.now()
	ks.mu.Unlock()
	return nil
}

// readKeys reads the published keys (newest first) and the current one (nil
// when there is none).
func readKeys(tx *store.Tx, now int64) (current *signingKey, public map[string]publicKey, order []string, err error) {
	public = map[string]publicKey{}
	rows, err := tx.Query(tx.Context(), `SELECT kid, private_key, public_key, retired_at, drop_after FROM identity_keys ORDER BY CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, retired_at DESC, created_at DESC, kid`)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kid, privB64, pubB64 string
			retired, drop        *int64
		)
		if err := rows.Scan(&kid, &privB64, &pubB64, &retired, &drop); err != nil {
			return nil, nil, nil, err
		}
		pub, err := base64.StdEncoding.DecodeString(pubB64)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, nil, nil, fault.New(fault.Internal, "identity: corrupt public key %s", kid)
		}
		pk := publicKey{key: ed25519.PublicKey(pub)}
		if drop != nil {
			if *drop < now {
				continue
			}
			pk.dropAfter = *drop
		}
		public[kid] = pk
		order = append(order, kid)
		if retired == nil && current == nil {
			seed, err := base64.StdEncoding.DecodeString(privB64)
			if err != nil || len(seed) != ed25519.SeedSize {
				return nil, nil, nil, fault.New(fault.Internal, "identity: corrupt private key %s", kid)
			}
			if current, err = newSigningKey(kid, ed25519.NewKeyFromSeed(seed)); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}
	return current, public, order, nil
}

// signer returns the current key, reloading when stale.
func (ks *KeySet) signer(ctx context.Context) (*signingKey, error) {
	ks.mu.RLock()
	cur, at := ks.current, ks.loadedAt
	ks.mu.RUnlock()
	if cur != nil && ks.now().Sub(at) < ReloadInterval {
		return cur, nil
	}
	if err := ks.reload(ctx); err != nil {
		return nil, err
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.current, nil
}

// errUnknownKey is the fault PublicKey returns for a kid that is not (or no
// longer) published.
var errUnknownKey = fault.New(fault.Unauthorized, "invalid token")

// PublicKey returns the ed25519.PublicKey published under kid. An unknown or
// dropped kid is fault.Unauthorized. On a miss the keys are re-read from the
// database, at most once a second (a rotation made by another node).
func (ks *KeySet) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	k, err := ks.publicKey(ctx, kid)
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (ks *KeySet) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	now := ks.now()
	ks.mu.RLock()
	pk, ok := ks.public[kid]
	loaded := ks.public != nil
	stale := now.Sub(ks.loadedAt) >= ReloadInterval
	recentMiss := now.Sub(ks.missAt) < time.Second
	ks.mu.RUnlock()
	if ok && !stale && (pk.dropAfter == 0 || pk.dropAfter >= now.Unix()) {
		return pk.key, nil
	}
	if loaded && !stale && recentMiss {
		return nil, errUnknownKey
	}
	if !ok && loaded {
		ks.mu.Lock()
		ks.missAt = now
		ks.mu.Unlock()
	}
	if err := ks.reload(ctx); err != nil {
		return nil, err
	}
	ks.mu.RLock()
	pk, ok = ks.public[kid]
	ks.mu.RUnlock()
	if !ok {
		return nil, errUnknownKey
	}
	return pk.key, nil
}

// JWK is one published public key (RFC 8037 OKP key).
type JWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv"`
	X       string `json:"x"`
	KeyID   string `json:"kid"`
	Alg     string `json:"alg"`
	Use     string `json:"use"`
}

// JWKSet is a JWK set ({"keys":[…]}), the body of /.well-known/jwks.json.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the published public keys (current and retired but not yet
// dropped), newest first: JWKSJSON decoded.
func (ks *KeySet) JWKS(ctx context.Context) (JWKSet, error) {
	b, err := ks.JWKSJSON(ctx)
	if err != nil {
		return JWKSet{}, err
	}
	var set JWKSet
	if err := json.Unmarshal(b, &set); err != nil {
		return JWKSet{}, err
	}
	return set, nil
}

// JWKSJSON returns the published public keys as a JWK set in JSON.
func (ks *KeySet) JWKSJSON(ctx context.Context) ([]byte, error) {
	if err := ks.reloadIfStale(ctx); err != nil {
		return nil, err
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	set := jwk.NewSet()
	now := ks.now().Unix()
	for _, kid := range ks.order {
		pk := ks.public[kid]
		if pk.dropAfter != 0 && pk.dropAfter < now {
			continue
		}
		k, err := jwk.Import(pk.key)
		if err != nil {
			return nil, err
		}
		for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.EdDSA(), jwk.KeyUsageKey: jwk.ForSignature} {
			if err := k.Set(name, v); err != nil {
				return nil, err
			}
		}
		if err := set.AddKey(k); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}

func (ks *KeySet) reloadIfStale(ctx context.Context) error {
	ks.mu.RLock()
	fresh := ks.public != nil && ks.now().Sub(ks.loadedAt) < ReloadInterval
	ks.mu.RUnlock()
	if fresh {
		return nil
	}
	return ks.reload(ctx)
}
