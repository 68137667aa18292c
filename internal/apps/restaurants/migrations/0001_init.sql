-- +goose Up
-- The restaurants app (the ROSS seed). Ids are UUIDv7 text; times are Unix
-- microseconds (BIGINT); booleans are 0/1 INTEGERs, so one file serves both
-- engines.

-- A user as the app knows them (the seed's Users table): created when a
-- sign-up is confirmed, or on the user's first request. email is copied from
-- the user pool for mails.
CREATE TABLE restaurants_users (
    user_id    TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    client_id  TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE restaurants_restaurants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL,
    visibility  TEXT NOT NULL DEFAULT 'PRIVATE' CHECK (visibility IN ('PUBLIC', 'PRIVATE')),
    photo_key   TEXT NOT NULL DEFAULT '',
    thumb_key   TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX restaurants_restaurants_region ON restaurants_restaurants (region, visibility, id);

-- Who works where: a user works at one restaurant at most (the seed's
-- restaurantId / restaurantRole attributes, mirrored in the user pool).
CREATE TABLE restaurants_staff (
    user_id       TEXT PRIMARY KEY,
    restaurant_id TEXT NOT NULL REFERENCES restaurants_restaurants (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('STAFF', 'MANAGER')),
    created_at    BIGINT NOT NULL
);
CREATE INDEX restaurants_staff_restaurant ON restaurants_staff (restaurant_id, role);

CREATE TABLE restaurants_seatings (
    id            TEXT PRIMARY KEY,
    restaurant_id TEXT NOT NULL REFERENCES restaurants_restaurants (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'CANCELLED', 'SEATED', 'CLOSED')),
    seating_time  BIGINT NOT NULL,
    num_seats     INTEGER NOT NULL CHECK (num_seats BETWEEN 1 AND 50),
    notes         TEXT NOT NULL DEFAULT '',
    table_number  INTEGER,
    order_items   TEXT NOT NULL DEFAULT '[]',
    hailing       INTEGER NOT NULL DEFAULT 0,
    hail_reason   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX restaurants_seatings_time ON restaurants_seatings (restaurant_id, seating_time, id);
CREATE INDEX restaurants_seatings_user ON restaurants_seatings (user_id, seating_time, id);
CREATE INDEX restaurants_seatings_week ON restaurants_seatings (seating_time);

-- Photo uploads handed out and not yet processed: the object-created handler
-- takes the row (so a second run does nothing); expired rows are swept.
CREATE TABLE restaurants_photo_uploads (
    blob_key      TEXT PRIMARY KEY,
    restaurant_id TEXT NOT NULL REFERENCES restaurants_restaurants (id) ON DELETE CASCADE,
    expires_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE restaurants_photo_uploads;
DROP TABLE restaurants_seatings;
DROP TABLE restaurants_staff;
DROP TABLE restaurants_restaurants;
DROP TABLE restaurants_users;
