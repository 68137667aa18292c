-- +goose Up
-- Admin API keys: only a SHA-256 of the secret is kept (secrets are 32
-- random bytes, so a fast hash is enough). Times are UTC text in one
-- fixed-width format (2006-01-02T15:04:05.000000Z), so they sort.
CREATE TABLE authz_admin_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- +goose Down
DROP TABLE authz_admin_keys;
