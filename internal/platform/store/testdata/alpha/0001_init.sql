-- +goose Up
CREATE TABLE alpha_things (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    note TEXT
);
CREATE TABLE alpha_children (
    id       INTEGER PRIMARY KEY,
    thing_id INTEGER NOT NULL REFERENCES alpha_things (id)
);
CREATE TABLE alpha_counters (
    id INTEGER PRIMARY KEY,
    n  INTEGER NOT NULL
);

-- +goose Down
DROP TABLE alpha_counters;
DROP TABLE alpha_children;
DROP TABLE alpha_things;
