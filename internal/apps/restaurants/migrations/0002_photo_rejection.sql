-- +goose Up
-- The last photo upload the pipeline refused, until a later one is taken:
-- shown to the restaurant's staff, so the uploader learns of it (0: none).
ALTER TABLE restaurants_restaurants ADD COLUMN photo_rejected_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restaurants_restaurants ADD COLUMN photo_rejected_reason TEXT NOT NULL DEFAULT '';
