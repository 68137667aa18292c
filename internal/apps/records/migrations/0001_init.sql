-- +goose Up
-- The records app (records.md): records of the types config.json declares,
-- in one table, their fields as a JSON object validated against their type.
-- Times are Unix microseconds, UTC. Indexes on fields are created at start
-- from the config (records_f_<type>_<field>, see indexes.go), not here.
CREATE TABLE records_records (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    parent_id  TEXT,
    fields     TEXT    NOT NULL, -- JSON object (jsonb on Postgres: 0002)
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    version    BIGINT  NOT NULL  -- bumped by every change: the ETag
);
-- type first: the equality columns serve lists either way, and the types in
-- use are read with a loose index scan.
CREATE INDEX records_records_by_created ON records_records (type, org_id, created_at, id);
CREATE INDEX records_records_by_updated ON records_records (type, org_id, updated_at, id);
CREATE INDEX records_records_children ON records_records (parent_id, type, created_at, id);

-- Fire-and-forget actions (POST …/actions/{action}) and their outcome.
CREATE TABLE records_jobs (
    id         TEXT   NOT NULL PRIMARY KEY,
    org_id     TEXT   NOT NULL,
    record_id  TEXT   NOT NULL,
    type       TEXT   NOT NULL, -- the record's type
    action     TEXT   NOT NULL,
    params     TEXT   NOT NULL, -- JSON object
    status     TEXT   NOT NULL, -- queued, running, succeeded, failed
    result     TEXT,            -- JSON object once succeeded
    error      TEXT,            -- why it failed
    actor      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX records_jobs_by_updated ON records_jobs (updated_at);
