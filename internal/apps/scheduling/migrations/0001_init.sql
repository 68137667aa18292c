-- +goose Up
-- The scheduling app (the Colander Cloud seed). Ids are UUIDv7 text; times
-- are Unix microseconds (BIGINT); booleans are 0/1 INTEGERs; string maps and
-- id lists are JSON text; so one file serves both engines. Every table has
-- the org id, and every index leads with it (or with a resource id, which
-- belongs to one org).

CREATE TABLE scheduling_projects (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    color       TEXT NOT NULL DEFAULT '',
    archived    INTEGER NOT NULL DEFAULT 0,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX scheduling_projects_org ON scheduling_projects (org_id, id);

-- calendar_token is the secret of the resource's iCalendar feed URL.
CREATE TABLE scheduling_resources (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT '',
    capacity       INTEGER NOT NULL DEFAULT 0,
    attributes     TEXT NOT NULL DEFAULT '{}',
    allow_overlap  INTEGER NOT NULL DEFAULT 0,
    archived       INTEGER NOT NULL DEFAULT 0,
    calendar_token TEXT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX scheduling_resources_org ON scheduling_resources (org_id, id);

-- items: [{resource_id, x, y, w, h, rotation}] as JSON.
CREATE TABLE scheduling_layouts (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    items      TEXT NOT NULL DEFAULT '[]',
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX scheduling_layouts_org ON scheduling_layouts (org_id, id);

CREATE TABLE scheduling_events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    project_id   TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    notes        TEXT NOT NULL DEFAULT '',
    start_at     BIGINT NOT NULL,
    end_at       BIGINT NOT NULL,
    all_day      INTEGER NOT NULL DEFAULT 0,
    resource_ids TEXT NOT NULL DEFAULT '[]',
    attendee_ids TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
    version      BIGINT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CHECK (start_at < end_at)
);
CREATE INDEX scheduling_events_org_start ON scheduling_events (org_id, start_at, id);

-- One row per (event, resource): the index behind the double-booking check
-- and the per-resource reads. active is 0 for cancelled events.
CREATE TABLE scheduling_bookings (
    resource_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    active      INTEGER NOT NULL,
    PRIMARY KEY (resource_id, event_id)
);
CREATE INDEX scheduling_bookings_time ON scheduling_bookings (resource_id, start_at);
CREATE INDEX scheduling_bookings_event ON scheduling_bookings (event_id);

-- Attendees of events (the reverse of attendee_ids), for the removal of a
-- member and for mails.
CREATE TABLE scheduling_attendees (
    user_id  TEXT NOT NULL,
    event_id TEXT NOT NULL,
    org_id   TEXT NOT NULL,
    end_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, event_id)
);
CREATE INDEX scheduling_attendees_event ON scheduling_attendees (event_id);

-- Reactions already applied, keyed by the platform event that caused them
-- (durable handlers run at least once).
CREATE TABLE scheduling_reactions (
    event_id TEXT NOT NULL,
    handler  TEXT NOT NULL,
    PRIMARY KEY (event_id, handler)
);

-- Attendee notices waiting for the next digest mail; last_mail_at in
-- scheduling_mailboxes throttles mails to one a minute per user.
CREATE TABLE scheduling_notices (
    user_id    TEXT NOT NULL,
    log_id     TEXT NOT NULL,
    org_id     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    change     TEXT NOT NULL,
    title      TEXT NOT NULL,
    start_at   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, log_id)
);
CREATE INDEX scheduling_notices_created ON scheduling_notices (created_at);

CREATE TABLE scheduling_mailboxes (
    user_id      TEXT PRIMARY KEY,
    last_mail_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE scheduling_mailboxes;
DROP TABLE scheduling_notices;
DROP TABLE scheduling_reactions;
DROP TABLE scheduling_attendees;
DROP TABLE scheduling_bookings;
DROP TABLE scheduling_events;
DROP TABLE scheduling_layouts;
DROP TABLE scheduling_resources;
DROP TABLE scheduling_projects;
