package authz

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Schema is the migration line, and on Postgres the schema and role, of the
// authorizer's tables (authz_admin_keys).
const Schema = "authz"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the authorizer's migration line. Pass it to
// store.Migrate after "platform"; open AdminKeys on store.App(Schema).
func Migrations() store.MigrationSet {
	return store.Embedded(Schema, migrations, "migrations")
}

// AdminKey is an admin API key as listed (never its secret).
type AdminKey struct {
	ID        string     `json:"key_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// AdminKeys is the store of admin API keys. Safe for concurrent use.
//
// Verify remembers a live key's hash for CacheTTL, so that a busy admin
// client costs no query per request. Revoke forgets it at once on this node;
// other nodes stop accepting a revoked key within CacheTTL.
type AdminKeys struct {
	db  *store.DB
	now func() time.Time
	// CacheTTL is how long a verified key is remembered; set before use.
	// Zero or negative disables the cache.
	CacheTTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	hash  string
	until time.Time
}

// DefaultAdminKeyCacheTTL is NewAdminKeys' CacheTTL.
const DefaultAdminKeyCacheTTL = 5 * time.Second

// NewAdminKeys returns the admin key store on db (store.App(Schema)).
func NewAdminKeys(db *store.DB) *AdminKeys {
	return &AdminKeys{db: db, now: time.Now, CacheTTL: DefaultAdminKeyCacheTTL, cache: map[string]cachedKey{}}
}

const timeFormat = "2006-01-02T15:04:05.000000Z"

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Create makes a key and returns it with its secret: the secret is shown
// this once; only its hash is stored.
func (k *AdminKeys) Create(ctx context.Context, name string) (AdminKey, string, error) {
	name = strings.TrimSpace(name)
	if len(name) > 200 {
		return AdminKey{}, "", fault.WithFields("invalid admin key", fault.FieldError{Location: "name", Message: "at most 200 characters"})
	}
	id, err := uuid.NewV7()
	if err != nil {
		return AdminKey{}, "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return AdminKey{}, "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	now := k.now().UTC()
	key := AdminKey{ID: id.String(), Name: name, CreatedAt: now.Truncate(time.Microsecond)}
	_, err = k.db.Exec(ctx, `INSERT INTO authz_admin_keys (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)`,
		key.ID, key.Name, hashSecret(secret), now.Format(timeFormat))
	if err != nil {
		return AdminKey{}, "", fmt.Errorf("create admin key: %w", err)
	}
	return key, secret, nil
}

// List returns every key, oldest first, revoked ones included.
func (k *AdminKeys) List(ctx context.Context) ([]AdminKey, error) {
	rows, err := k.db.Query(ctx, `SELECT id, name, created_at, revoked_at FROM authz_admin_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list admin keys: %w", err)
	}
	defer rows.Close()
	out := []AdminKey{}
	for rows.Next() {
		var key AdminKey
		var created string
		var revoked sql.NullString
		if err := rows.Scan(&key.ID, &key.Name, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list admin keys: %w", err)
		}
		if key.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
			return nil, fmt.Errorf("admin key %s: created_at %q: %w", key.ID, created, err)
		}
		if revoked.Valid {
			t, err := time.Parse(timeFormat, revoked.String)
			if err != nil {
				return nil, fmt.Errorf("admin key %s: revoked_at %q: %w", key.ID, revoked.String, err)
			}
			key.RevokedAt = &t
		}
		out = append(out, key)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list admin keys: %w", err)
	}
	return out, nil
}

// Revoke revokes a key: it stops working on the next request. Revoking a
// revoked key is a no-op; an unknown id is not_found.
func (k *AdminKeys) Revoke(ctx context.Context, id string) error {
	res, err := k.db.Exec(ctx, `UPDATE authz_admin_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		k.now().UTC().Format(timeFormat), id)
	if err != nil {
		return fmt.Errorf("revoke admin key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke admin key: %w", err)
	}
	k.forget(id)
	if n == 0 {
		return fault.New(fault.NotFound, "no admin key %q", id)
	}
	return nil
}

func (k *AdminKeys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cache, id)
}

// dummyHash is compared against when the key id is unknown, so that an
// unknown id and a wrong secret take the same work.
var dummyHash = hashSecret("")

// Verify reports whether secret is the secret of the live key id.
func (k *AdminKeys) Verify(ctx context.Context, id, secret string) (bool, error) {
	given := hashSecret(secret)
	now := k.now()
	k.mu.Lock()
	c, ok := k.cache[id]
	k.mu.Unlock()
	if ok && now.Before(c.until) {
		return subtle.ConstantTimeCompare([]byte(given), []byte(c.hash)) == 1, nil
	}
	var stored string
	var revoked sql.NullString
	err := k.db.QueryRow(ctx, `SELECT secret_hash, revoked_at FROM authz_admin_keys WHERE id = ?`, id).Scan(&stored, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		stored = dummyHash
	case err != nil:
		return false, fmt.Errorf("verify admin key: %w", err)
	}
	match := subtle.ConstantTimeCompare([]byte(given), []byte(stored)) == 1
	live := err == nil && !revoked.Valid
	if live && match && k.CacheTTL > 0 {
		k.mu.Lock()
		if len(k.cache) >= 1000 {
			clear(k.cache)
		}
		k.cache[id] = cachedKey{hash: stored, until: now.Add(k.CacheTTL)}
		k.mu.Unlock()
	}
	return match && live, nil
}

// authenticateBasic checks admin key credentials (base64 of key_id:secret).
func (a *Authorizer) authenticateBasic(ctx context.Context, cred, orgChoice string) (Principal, error) {
	bad := unauthorized(challengeBasic, "invalid admin key")
	if a.adminKeys == nil || len(cred) > 1024 {
		return Principal{}, bad
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return Principal{}, bad
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" || secret == "" {
		return Principal{}, bad
	}
	valid, err := a.adminKeys.Verify(ctx, id, secret)
	if err != nil {
		return Principal{}, lookupFailed(err)
	}
	if !valid {
		return Principal{}, bad
	}
	p := Principal{IsAdmin: true, Via: ViaAdminKey, ClientID: id}
	if err := a.resolveOrg(ctx, &p, "", orgChoice); err != nil {
		return Principal{}, err
	}
	return p, nil
}
