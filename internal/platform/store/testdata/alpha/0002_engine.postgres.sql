-- +goose Up
CREATE TABLE alpha_engine (name TEXT NOT NULL);
INSERT INTO alpha_engine (name) VALUES ('postgres');
GRANT USAGE ON SCHEMA {{schema}} TO {{apps_role}};
GRANT SELECT ON alpha_engine TO {{apps_role}};

-- +goose Down
DROP TABLE alpha_engine;
