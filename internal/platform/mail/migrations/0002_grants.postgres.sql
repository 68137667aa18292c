-- +goose Up
-- Apps enqueue mail inside their own transactions, acting as their own role:
-- they may insert rows and see only the columns Enqueue needs to find an
-- existing row by its dedupe key, never another app's mail bodies.
GRANT USAGE ON SCHEMA {{schema}} TO {{apps_role}};
GRANT INSERT ON mail_outbox TO {{apps_role}};
GRANT SELECT (id, dedupe_key) ON mail_outbox TO {{apps_role}};

-- +goose Down
REVOKE ALL ON mail_outbox FROM {{apps_role}};
REVOKE USAGE ON SCHEMA {{schema}} FROM {{apps_role}};
