-- +goose Up
-- seq is the cursor: SQLite has one writer, so AUTOINCREMENT values are
-- taken and committed in the same order (and never reused after a purge).
CREATE TABLE platform_events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT    NOT NULL UNIQUE,
    app     TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    org_id  TEXT    NOT NULL DEFAULT '',
    subject TEXT    NOT NULL DEFAULT '',
    payload TEXT    NOT NULL DEFAULT '{}',
    time    INTEGER NOT NULL -- Unix microseconds, UTC
);
CREATE INDEX platform_events_org ON platform_events (org_id, seq);
CREATE INDEX platform_events_time ON platform_events (time);

-- The newest purged position: a cursor older than it must resync.
CREATE TABLE platform_events_horizon (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    xid INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
INSERT INTO platform_events_horizon (id, xid, seq) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE platform_events_horizon;
DROP TABLE platform_events;
