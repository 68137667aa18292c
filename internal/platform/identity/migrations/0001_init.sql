-- +goose Up
-- Identity: the platform's user pool and its signing keys. Times are Unix
-- seconds (BIGINT), ids UUIDv7 text.

-- Signing keys. private_key holds the raw Ed25519 seed, base64 (NOT encrypted
-- at rest yet: see docs). retired_at is when the key stopped signing;
-- drop_after is when every token it signed has expired, so it leaves the JWKS.
CREATE TABLE identity_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT,
    drop_after  BIGINT
);

CREATE TABLE identity_users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    client_id     TEXT NOT NULL DEFAULT '',
    attributes    TEXT NOT NULL DEFAULT '{}',
    confirmed_at  BIGINT,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- One live code per (user, purpose): confirm or reset; a new code replaces
-- the old one. id names the code (in the mail's dedupe key); code_hash is
-- SHA-256(user id, purpose, code); attempts counts wrong tries (locked at 5).
CREATE TABLE identity_codes (
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    code_hash  TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, purpose)
);

-- Refresh tokens, stored as SHA-256 hashes. A token is used once: using it
-- sets used_at and issues the next one of the same family; presenting a used
-- token again revokes the whole family.
CREATE TABLE identity_refresh_tokens (
    id          TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    client_id   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX identity_refresh_tokens_family ON identity_refresh_tokens (family_id);
CREATE INDEX identity_refresh_tokens_user ON identity_refresh_tokens (user_id);

-- +goose Down
DROP TABLE identity_refresh_tokens;
DROP TABLE identity_codes;
DROP TABLE identity_users;
DROP TABLE identity_keys;
