-- +goose Up
CREATE TABLE alpha_engine (name TEXT NOT NULL);
INSERT INTO alpha_engine (name) VALUES ('sqlite');

-- +goose Down
DROP TABLE alpha_engine;
