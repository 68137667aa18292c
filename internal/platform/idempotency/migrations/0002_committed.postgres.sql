-- +goose Up
-- committed is set, in the request's own transaction, once the work of a
-- claimed request commits: a claim left in progress by a node that died
-- after committing is then never run again by a retry. Apps' transactions
-- set it, so their roles may update that column of the rows they find.
ALTER TABLE idempotency_keys ADD COLUMN committed INTEGER NOT NULL DEFAULT 0;
GRANT USAGE ON SCHEMA {{schema}} TO {{apps_role}};
GRANT SELECT (scope, key, created_at), UPDATE (committed) ON idempotency_keys TO {{apps_role}};

-- +goose Down
REVOKE ALL ON idempotency_keys FROM {{apps_role}};
REVOKE USAGE ON SCHEMA {{schema}} FROM {{apps_role}};
ALTER TABLE idempotency_keys DROP COLUMN committed;
