-- +goose Up
-- The files app (files.md): files with their immutable versions, grants to
-- users, orgs and spaces, public links, direct uploads in progress, each
-- org's storage use and sharing setting. Times are Unix microseconds, UTC.
-- Blobs are named by the rows that point at them (files_versions.blob_key
-- and its thumbnail, files_uploads.blob_key); the sweeper removes any blob
-- under files/ no row names.
CREATE TABLE files_files (
    id           TEXT    NOT NULL PRIMARY KEY,
    org_id       TEXT    NOT NULL,
    owner_id     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    name_key     TEXT    NOT NULL, -- name case-folded: the listing order and ?q=
    folder       TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    content_type TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    version      INTEGER NOT NULL, -- the current version
    revision     INTEGER NOT NULL, -- bumped by every change: the ETag
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    deleted_at   BIGINT            -- in the trash since
);
-- Listings: one org's files by folder, then name.
CREATE INDEX files_files_folder ON files_files (org_id, folder, name_key, id);
CREATE INDEX files_files_owner ON files_files (owner_id, org_id);
CREATE INDEX files_files_trash ON files_files (deleted_at);

CREATE TABLE files_versions (
    file_id      TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    size         BIGINT  NOT NULL,
    sha256       TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    blob_key     TEXT    NOT NULL,
    thumbnail    INTEGER NOT NULL DEFAULT 0, -- 1: <blob_key>.thumb.jpg exists
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (file_id, version)
);
CREATE UNIQUE INDEX files_versions_blob ON files_versions (blob_key);

CREATE TABLE files_grants (
    file_id        TEXT    NOT NULL,
    principal_type TEXT    NOT NULL CHECK (principal_type IN ('user', 'org', 'space')),
    principal_id   TEXT    NOT NULL,
    access         INTEGER NOT NULL CHECK (access BETWEEN 1 AND 3), -- read, write, manage
    created_by     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (file_id, principal_type, principal_id)
);
-- shared_with_me and the listing's grant checks.
CREATE INDEX files_grants_principal ON files_grants (principal_type, principal_id, file_id);

CREATE TABLE files_links (
    id            TEXT   NOT NULL PRIMARY KEY,
    file_id       TEXT   NOT NULL,
    token_hash    TEXT   NOT NULL, -- SHA-256 of the URL's token, hex
    password_hash TEXT,            -- argon2id, when the link has a password
    expires_at    BIGINT,
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX files_links_token ON files_links (token_hash);
CREATE INDEX files_links_file ON files_links (file_id);

CREATE TABLE files_uploads (
    id           TEXT   NOT NULL PRIMARY KEY,
    org_id       TEXT   NOT NULL,
    user_id      TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    folder       TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT   NOT NULL,
    sha256       TEXT   NOT NULL, -- expected digest, '' when not given
    blob_key     TEXT   NOT NULL,
    file_id      TEXT,            -- set once completed
    rejected     TEXT,            -- why the upload was refused
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX files_uploads_blob ON files_uploads (blob_key);
CREATE INDEX files_uploads_expiry ON files_uploads (expires_at);

-- Bytes stored per org (every version, trash included): the quota.
CREATE TABLE files_usage (
    org_id TEXT   NOT NULL PRIMARY KEY,
    bytes  BIGINT NOT NULL
);

CREATE TABLE files_settings (
    org_id           TEXT    NOT NULL PRIMARY KEY,
    external_sharing INTEGER NOT NULL, -- 1: users outside the org may be granted access
    updated_at       BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE files_settings;
DROP TABLE files_usage;
DROP TABLE files_uploads;
DROP TABLE files_links;
DROP TABLE files_grants;
DROP TABLE files_versions;
DROP TABLE files_files;
