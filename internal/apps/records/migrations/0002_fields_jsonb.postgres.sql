-- +goose Up
-- Postgres keeps fields as jsonb: the field indexes (indexes.go) read it
-- with ->, ->> and jsonb_typeof.
ALTER TABLE records_records ALTER COLUMN fields TYPE jsonb USING fields::jsonb;
