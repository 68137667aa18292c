package admin

import (
	"context"
	"net/http"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/mail"
)

type listMailsInput struct {
	Status string `query:"status" enum:"pending,sent,failed" doc:"Only mails in this status."`
	App    string `query:"app" maxLength:"100" doc:"Only mails sent by this app."`
	To     string `query:"to" maxLength:"320" doc:"Only mails to this address (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"64" doc:"The next_cursor of the previous page."`
}

type mailPath struct {
	ID string `path:"id" maxLength:"64" doc:"The mail's id."`
}

type mailOutput struct {
	Body mail.Mail
}

func (a *Admin) registerMails(api huma.API) {
	tags := []string{"admin"}
	huma.Register(api, huma.Operation{
		OperationID: "admin-list-mails", Method: http.MethodGet, Path: "/mails",
		Summary: "List the mail outbox", Description: "Newest first.", Tags: tags,
	}, func(ctx context.Context, in *listMailsInput) (*httpapi.ListOutput[mail.Mail], error) {
		items, next, err := a.mail.List(ctx, mail.ListFilter{
			Status: mail.Status(in.Status), App: in.App, To: in.To, Limit: in.Limit, Cursor: in.Cursor,
		})
		if err != nil {
			return nil, err
		}
		return httpapi.Page(items, next), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-get-mail", Method: http.MethodGet, Path: "/mails/{id}",
		Summary: "Get a mail", Tags: tags,
	}, func(ctx context.Context, in *mailPath) (*mailOutput, error) {
		m, err := a.mail.Get(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &mailOutput{Body: m}, nil
	})
}
