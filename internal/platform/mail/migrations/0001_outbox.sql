-- +goose Up
-- The mail outbox: one row per mail to send, rendered when enqueued. Ids are
-- UUIDv7 as text, so they sort by creation time; times are UTC text in one
-- fixed-width format (2006-01-02T15:04:05.000000Z), so they sort too.
CREATE TABLE mail_outbox (
    id          TEXT PRIMARY KEY,
    dedupe_key  TEXT NOT NULL UNIQUE,
    app         TEXT NOT NULL,
    template    TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    text        TEXT NOT NULL,
    html        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    message_id  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_outbox_status ON mail_outbox (status, id);
CREATE INDEX mail_outbox_app ON mail_outbox (app, id);

-- +goose Down
DROP TABLE mail_outbox;
