-- +goose Up
-- Apps read a user's profile and keep the custom attributes they own (the
-- restaurants app's restaurantId / restaurantRole) in step with their own
-- rows, inside their own transactions (identity.SetAttributes). They see no
-- password hash, code or token, and may change only the attributes.
GRANT USAGE ON SCHEMA {{schema}} TO {{apps_role}};
GRANT SELECT (id, email, name, client_id, attributes, confirmed_at, disabled_at, created_at) ON identity_users TO {{apps_role}};
GRANT UPDATE (attributes, updated_at) ON identity_users TO {{apps_role}};

-- +goose Down
REVOKE ALL ON identity_users FROM {{apps_role}};
REVOKE USAGE ON SCHEMA {{schema}} FROM {{apps_role}};
