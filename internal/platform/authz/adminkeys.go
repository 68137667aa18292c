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
	"unicode"
	"unicode/utf8"

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
// client costs no query per request. A revocation forgets the key on this
// node once its transaction committed (see RevokeIn); other nodes stop
// accepting a revoked key within CacheTTL.
type AdminKeys struct {
	db  *store.DB
	now func() time.Time
	// CacheTTL is how long a verified key is remembered; set before use.
	// Zero or negative disables the cache.
	CacheTTL time.Duration

	// mu guards cache and forgets.
	mu    sync.Mutex
	cache map[string]cachedKey
	// forgets counts the keys forgotten after a revocation committed:
	// Verify caches a key only if none was forgotten while it read the key.
	forgets uint64
}

type cachedKey struct {
	hash  string
	until time.Time
}

// DefaultAdminKeyCacheTTL is NewAdminKeys' CacheTTL.
const DefaultAdminKeyCacheTTL = 5 * time.Second

// maxKeyName is the longest key name, in characters (after trimming).
const maxKeyName = 200

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
	return k.CreateIn(ctx, k.db, name)
}

// CreateIn is Create run on q: a transaction of the caller (of any handle
// that sees the authz schema, such as store.Store.Admin) that records
// something else with it, or the store's own handle. The name is trimmed,
// at most 200 characters and free of control characters.
func (k *AdminKeys) CreateIn(ctx context.Context, q store.Querier, name string) (AdminKey, string, error) {
	name = strings.TrimSpace(name)
	if msg := checkKeyName(name); msg != "" {
		return AdminKey{}, "", fault.WithFields("invalid admin key", fault.FieldError{Location: "name", Message: msg, Value: name})
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
	_, err = q.Exec(ctx, `INSERT INTO authz_admin_keys (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)`,
		key.ID, key.Name, hashSecret(secret), now.Format(timeFormat))
	if err != nil {
		return AdminKey{}, "", fmt.Errorf("create admin key: %w", err)
	}
	return key, secret, nil
}

// checkKeyName returns what is wrong with a (trimmed) key name, or "".
// Control characters would break the CLI's one line per key.
func checkKeyName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "valid UTF-8 only"
	case utf8.RuneCountInString(name) > maxKeyName:
		return fmt.Sprintf("at most %d characters", maxKeyName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "no control characters"
	}
	return ""
}

const keyColumns = "id, name, created_at, revoked_at"

func scanKey(sc store.Scanner) (AdminKey, error) {
	var key AdminKey
	var created string
	var revoked sql.NullString
	if err := sc.Scan(&key.ID, &key.Name, &created, &revoked); err != nil {
		return AdminKey{}, err
	}
	var err error
	if key.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
		return AdminKey{}, fmt.Errorf("admin key %s: created_at %q: %w", key.ID, created, err)
	}
	if revoked.Valid {
		t, err := time.Parse(timeFormat, revoked.String)
		if err != nil {
			return AdminKey{}, fmt.Errorf("admin key %s: revoked_at %q: %w", key.ID, revoked.String, err)
		}
		key.RevokedAt = &t
	}
	return key, nil
}

// List returns every key, oldest first, revoked ones included.
func (k *AdminKeys) List(ctx context.Context) ([]AdminKey, error) {
	keys, _, err := k.ListPage(ctx, "", 0)
	return keys, err
}

// ListPage returns up to limit keys (every key when limit is 0 or less)
// whose id comes after the cursor after ("" for the first page), oldest
// first (ids are UUIDv7: id order is creation order), revoked ones
// included, and the cursor of the next page: the last key's id, or "" on
// the last page.
func (k *AdminKeys) ListPage(ctx context.Context, after string, limit int) ([]AdminKey, string, error) {
	query, args := "SELECT "+keyColumns+" FROM authz_admin_keys WHERE id > ? ORDER BY id", []any{after}
	if limit > 0 {
		query, args = query+" LIMIT ?", append(args, limit+1)
	}
	keys, err := store.Collect(ctx, k.db, scanKey, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list admin keys: %w", err)
	}
	keys, next := store.TrimPage(keys, limit, func(key AdminKey) string { return key.ID })
	return keys, next, nil
}

// Revoke revokes a key: it stops working on the next request. Revoking a
// revoked key is a no-op; an unknown id is not_found.
func (k *AdminKeys) Revoke(ctx context.Context, id string) error {
	return k.db.InTx(ctx, func(tx *store.Tx) error {
		_, _, err := k.RevokeIn(tx.Context(), tx, id)
		return err
	})
}

// RevokeIn revokes the key id in tx (of any handle that sees the authz
// schema) and returns it as it now is, and whether this revoked it (false
// when it was revoked already). An unknown id is not_found.
//
// Commit, then forget: the key leaves this node's verify cache in
// tx.AfterCommit, so it stops working here before the caller's InTx
// returns, and never earlier: forgotten while tx is still open, a Verify
// meanwhile would read the key live (the revocation is not committed) and
// cache it again for CacheTTL. One race remains, a Verify that read the key
// live before the commit and would store it after the forget: Verify notes
// k.forgets before its read and caches nothing if a key was forgotten since.
func (k *AdminKeys) RevokeIn(ctx context.Context, tx *store.Tx, id string) (AdminKey, bool, error) {
	res, err := tx.Exec(ctx, `UPDATE authz_admin_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		k.now().UTC().Format(timeFormat), id)
	if err != nil {
		return AdminKey{}, false, fmt.Errorf("revoke admin key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return AdminKey{}, false, fmt.Errorf("revoke admin key: %w", err)
	}
	key, err := scanKey(tx.QueryRow(ctx, "SELECT "+keyColumns+" FROM authz_admin_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return AdminKey{}, false, fault.New(fault.NotFound, "no admin key %q", id)
	}
	if err != nil {
		return AdminKey{}, false, fmt.Errorf("revoke admin key: %w", store.Normalize(err))
	}
	// Forgotten even when it was revoked already: this node may have cached
	// it before another node revoked it.
	tx.AfterCommit(func() { k.forget(id) })
	return key, n > 0, nil
}

func (k *AdminKeys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cache, id)
	k.forgets++
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
	forgets := k.forgets
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
		if k.forgets == forgets { // else a revocation committed meanwhile: maybe of this key
			if len(k.cache) >= 1000 {
				clear(k.cache)
			}
			k.cache[id] = cachedKey{hash: stored, until: now.Add(k.CacheTTL)}
		}
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
