-- +goose Up
-- Apps check memberships inside their own transactions (the files app's
-- access check joins a file's grants with the caller's org and spaces), so
-- a permission check and the change it guards commit together. They read
-- who is in which org and group, nothing else, and change nothing.
GRANT USAGE ON SCHEMA {{schema}} TO {{apps_role}};
GRANT SELECT (org_id, user_id, role) ON orgs_members TO {{apps_role}};
GRANT SELECT (org_id, id, name) ON orgs_groups TO {{apps_role}};
GRANT SELECT (org_id, group_id, user_id) ON orgs_group_members TO {{apps_role}};

-- +goose Down
REVOKE ALL ON orgs_group_members FROM {{apps_role}};
REVOKE ALL ON orgs_groups FROM {{apps_role}};
REVOKE ALL ON orgs_members FROM {{apps_role}};
REVOKE USAGE ON SCHEMA {{schema}} FROM {{apps_role}};
