-- +goose Up
-- Idempotency keys of create requests (README: a retried create with the same
-- Idempotency-Key returns the first result). One row per (caller scope, key):
-- the request's fingerprint, and once it succeeded its answer. status 0 means
-- in progress. Times are Unix microseconds, UTC.
CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT    NOT NULL DEFAULT '',
    location     TEXT    NOT NULL DEFAULT '',
    body         BYTEA,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
