-- +goose Up
-- committed is set, in the request's own transaction, once the work of a
-- claimed request commits: a claim left in progress by a node that died
-- after committing is then never run again by a retry.
ALTER TABLE idempotency_keys ADD COLUMN committed INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN committed;
