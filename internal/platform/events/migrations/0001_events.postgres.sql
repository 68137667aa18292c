-- +goose Up
-- The cursor is (xid, seq). seq alone is not commit-ordered (a sequence value
-- is taken before commit, so a reader tailing seq > last could skip a row
-- that commits late); xid is the writing transaction's id, and a reader only
-- returns rows whose xid is below the xmin of its snapshot: every such
-- transaction has ended, so nothing can still appear before the cursor.
CREATE TABLE platform_events (
    seq     bigint GENERATED ALWAYS AS IDENTITY,
    xid     bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id      text   NOT NULL PRIMARY KEY,
    app     text   NOT NULL,
    type    text   NOT NULL,
    org_id  text   NOT NULL DEFAULT '',
    subject text   NOT NULL DEFAULT '',
    payload text   NOT NULL DEFAULT '{}',
    time    timestamptz NOT NULL
);
CREATE UNIQUE INDEX platform_events_cursor ON platform_events (xid, seq);
CREATE INDEX platform_events_org ON platform_events (org_id, xid, seq);
CREATE INDEX platform_events_time ON platform_events (time);

CREATE TABLE platform_events_horizon (
    id  integer PRIMARY KEY CHECK (id = 1),
    xid bigint NOT NULL,
    seq bigint NOT NULL
);
INSERT INTO platform_events_horizon (id, xid, seq) VALUES (1, 0, 0);

-- Apps emit in their own transactions, as their own roles. They may insert
-- events and read back the cursor of what they inserted, nothing else.
GRANT USAGE ON SCHEMA {{schema}} TO {{apps_role}};
GRANT INSERT ON platform_events TO {{apps_role}};
GRANT SELECT (seq, xid) ON platform_events TO {{apps_role}};

-- +goose Down
REVOKE ALL ON platform_events FROM {{apps_role}};
REVOKE USAGE ON SCHEMA {{schema}} FROM {{apps_role}};
DROP TABLE platform_events_horizon;
DROP TABLE platform_events;
