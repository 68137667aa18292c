package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The events of admin writes on admin API keys (never with the secret).
const (
	KeyCreatedEvent = "admin.key.created"
	KeyRevokedEvent = "admin.key.revoked"
)

type listKeysInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"36" doc:"The next_cursor of the previous page."`
}

// createKeyBody is POST /admin/keys' request.
type createKeyBody struct {
	Name string `json:"name" maxLength:"200" pattern:"^\\P{Cc}*$" patternDescription:"free of control characters" doc:"A name to recognize the key by (trimmed; may be empty)."`
}

type createKeyInput struct {
	Body createKeyBody
}

// createdKey is POST /admin/keys' answer: the new key and its secret, shown
// this once (only its hash is stored).
type createdKey struct {
	authz.AdminKey
	Secret string `json:"secret" doc:"The key's secret: Basic auth as key_id:secret. Shown this once."`
}

type createKeyOutput struct {
	Location     string `header:"Location"`
	CacheControl string `header:"Cache-Control"`
	Body         createdKey
}

type keyPath struct {
	ID string `path:"key_id" maxLength:"255" doc:"The key's id."`
}

type keyOutput struct {
	Body authz.AdminKey
}

// registerKeys adds /admin/keys: list, create (the secret is answered this
// once) and revoke admin API keys. Each write and its event commit in one
// transaction of the admin handle.
func (a *Admin) registerKeys(api huma.API) {
	tags := []string{"admin"}
	huma.Register(api, huma.Operation{
		OperationID: "admin-list-keys", Method: http.MethodGet, Path: "/keys",
		Summary: "List admin API keys", Description: "Oldest first, revoked ones included; never their secrets.", Tags: tags,
	}, func(ctx context.Context, in *listKeysInput) (*httpapi.ListOutput[authz.AdminKey], error) {
		// A cursor is a key id, in the form ids have.
		if id, err := uuid.Parse(in.Cursor); in.Cursor != "" && (err != nil || id.String() != in.Cursor) {
			return nil, fault.WithFields("validation failed", badCursor(in.Cursor))
		}
		items, next, err := a.keys.ListPage(ctx, in.Cursor, in.Limit)
		if err != nil {
			return nil, err
		}
		return httpapi.Page(items, next), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-create-key", Method: http.MethodPost, Path: "/keys", DefaultStatus: http.StatusCreated,
		Summary:     "Create an admin API key",
		Description: "Answers the key with its secret, shown this once. Emits " + KeyCreatedEvent + ".",
		Tags:        tags,
	}, func(ctx context.Context, in *createKeyInput) (*createKeyOutput, error) {
		var out createdKey
		err := a.adminDB.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if out.AdminKey, out.Secret, err = a.keys.CreateIn(tx.Context(), tx, in.Body.Name); err != nil {
				return err
			}
			return a.emitKey(tx, KeyCreatedEvent, out.AdminKey)
		})
		if err != nil {
			return nil, err
		}
		return &createKeyOutput{Location: Prefix + "/keys/" + url.PathEscape(out.ID), CacheControl: "no-store", Body: out}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-revoke-key", Method: http.MethodPost, Path: "/keys/{key_id}/revoke",
		Summary: "Revoke an admin API key",
		Description: "The key stops working at once on this node, within 5 s on the others. Answers the key " +
			"as it now is; revoking a revoked key changes nothing. Emits " + KeyRevokedEvent + " when it revoked the key.",
		Tags: tags,
	}, func(ctx context.Context, in *keyPath) (*keyOutput, error) {
		var key authz.AdminKey
		err := a.adminDB.InTx(ctx, func(tx *store.Tx) error {
			var changed bool
			var err error
			if key, changed, err = a.keys.RevokeIn(tx.Context(), tx, in.ID); err != nil || !changed {
				return err
			}
			return a.emitKey(tx, KeyRevokedEvent, key)
		})
		if err != nil {
			return nil, err
		}
		return &keyOutput{Body: key}, nil
	})
}

// emitKey records the event typ about key in tx.
func (a *Admin) emitKey(tx *store.Tx, typ string, key authz.AdminKey) error {
	return a.emitTx(tx.Context(), tx, typ, "", key.ID, map[string]any{"key_id": key.ID, "name": key.Name})
}
