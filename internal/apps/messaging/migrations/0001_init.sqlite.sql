-- +goose Up
-- Chat rooms, their permission rules and their messages. Room and message ids
-- are integers, as in nano-messaging. Times are Unix microseconds, UTC.
CREATE TABLE messaging_rooms (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    type         TEXT    NOT NULL CHECK (type IN ('group', 'user2user')),
    level_admin  INTEGER NOT NULL CHECK (level_admin BETWEEN 0 AND 1000000),
    entity_owner TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    event_cursor TEXT    NOT NULL,
    -- cursor of the room's last access event (creation, rule or admin level
    -- change): an open connection skips the access events up to it.
    access_cursor TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX messaging_rooms_owner ON messaging_rooms (entity_owner, id);

-- One rule per (room, UUID): the UUID is a user's (kind user) or an
-- entity's (kind entity).
CREATE TABLE messaging_rules (
    room_id     INTEGER NOT NULL REFERENCES messaging_rooms (id) ON DELETE CASCADE,
    entity_uuid TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('user', 'entity')),
    level       INTEGER NOT NULL CHECK (level BETWEEN 0 AND 1000000),
    permissions TEXT    NOT NULL,
    accepted    INTEGER NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (room_id, entity_uuid)
);
-- GET /rooms: the rooms where a user or its entity has a rule.
CREATE INDEX messaging_rules_entity ON messaging_rules (entity_uuid, room_id);

-- event_cursor (rooms and messages) is the cursor of the row's created
-- event: select_room with since=<message id> resumes from the message's (or,
-- before the room's first message, from the room's).
CREATE TABLE messaging_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id      INTEGER NOT NULL REFERENCES messaging_rooms (id) ON DELETE CASCADE,
    emitter      TEXT    NOT NULL,
    content      TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    event_cursor TEXT    NOT NULL
);
CREATE INDEX messaging_messages_room ON messaging_messages (room_id, id);

-- +goose Down
DROP TABLE messaging_messages;
DROP TABLE messaging_rules;
DROP TABLE messaging_rooms;
