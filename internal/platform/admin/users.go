package admin

import (
	"context"
	"net/http"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/identity"
)

type listUsersInput struct {
	Q      string `query:"q" maxLength:"254" doc:"Only users whose email contains this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page."`
}

type userPath struct {
	ID string `path:"id" maxLength:"255" doc:"The user's id."`
}

type userOutput struct {
	Body identity.User
}

type updateUserInput struct {
	ID   string `path:"id" maxLength:"255" doc:"The user's id."`
	Body struct {
		Disabled *bool `json:"disabled,omitempty" doc:"true disables the user (and signs them out everywhere); false enables them."`
	}
}

// registerUsers adds /admin/users: list and search, get, disable or enable
// (PATCH), and force a password reset. The pool emits each change's event.
func (a *Admin) registerUsers(api huma.API) {
	tags := []string{"admin"}
	huma.Register(api, huma.Operation{
		OperationID: "admin-list-users", Method: http.MethodGet, Path: "/users",
		Summary: "List or search users", Tags: tags,
	}, func(ctx context.Context, in *listUsersInput) (*httpapi.ListOutput[identity.User], error) {
		items, next, err := a.users.ListUsers(ctx, identity.UserFilter{Query: in.Q, Limit: in.Limit, Cursor: in.Cursor})
		if err != nil {
			return nil, err
		}
		return httpapi.Page(items, next), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-get-user", Method: http.MethodGet, Path: "/users/{id}",
		Summary: "Get a user", Tags: tags,
	}, func(ctx context.Context, in *userPath) (*userOutput, error) {
		u, err := a.users.GetUser(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &userOutput{Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-update-user", Method: http.MethodPatch, Path: "/users/{id}",
		Summary: "Disable or enable a user", Tags: tags,
	}, func(ctx context.Context, in *updateUserInput) (*userOutput, error) {
		if in.Body.Disabled == nil {
			u, err := a.users.GetUser(ctx, in.ID)
			return &userOutput{Body: u}, err
		}
		u, err := a.users.SetDisabled(ctx, in.ID, *in.Body.Disabled)
		if err != nil {
			return nil, err
		}
		return &userOutput{Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-reset-user-password", Method: http.MethodPost, Path: "/users/{id}/password-reset",
		Summary: "Force a password reset", Description: "Signs the user out everywhere and mails a reset code.",
		Tags: tags, DefaultStatus: http.StatusAccepted,
	}, func(ctx context.Context, in *userPath) (*struct{}, error) {
		return nil, a.users.ForcePasswordReset(ctx, in.ID)
	})
}
