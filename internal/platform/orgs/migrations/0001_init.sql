-- +goose Up
-- Organizations (tenants), their members, groups (the file-sharing seed's
-- spaces) and group members. Every table carries the org id and every index
-- but two leads with it; the exceptions are lookups that cross orgs by nature:
-- resolving an org by its external_id (the authorizer) and listing a user's
-- orgs (GET /orgs). Times are Unix microseconds, UTC.
CREATE TABLE orgs_orgs (
    id          TEXT   NOT NULL PRIMARY KEY,
    name        TEXT   NOT NULL,
    external_id TEXT,  -- NULL when unset; unique when set
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX orgs_orgs_external_id ON orgs_orgs (external_id);

CREATE TABLE orgs_members (
    org_id     TEXT    NOT NULL REFERENCES orgs_orgs (id),
    user_id    TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    level      INTEGER NOT NULL CHECK (level BETWEEN 0 AND 1000000),
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX orgs_members_role ON orgs_members (org_id, role);
CREATE INDEX orgs_members_user ON orgs_members (user_id, org_id);

CREATE TABLE orgs_groups (
    org_id     TEXT   NOT NULL REFERENCES orgs_orgs (id),
    id         TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX orgs_groups_name ON orgs_groups (org_id, name);

CREATE TABLE orgs_group_members (
    org_id     TEXT   NOT NULL,
    group_id   TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, group_id, user_id),
    FOREIGN KEY (org_id, group_id) REFERENCES orgs_groups (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES orgs_members (org_id, user_id)
);
-- Membership (the authorizer, every request): a user's groups in one org.
CREATE INDEX orgs_group_members_user ON orgs_group_members (org_id, user_id, group_id);

-- +goose Down
DROP TABLE orgs_group_members;
DROP TABLE orgs_groups;
DROP TABLE orgs_members;
DROP TABLE orgs_orgs;
