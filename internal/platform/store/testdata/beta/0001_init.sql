-- +goose Up
CREATE TABLE beta_things (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO beta_things (id, name) VALUES (1, 'b1');

-- +goose Down
DROP TABLE beta_things;
