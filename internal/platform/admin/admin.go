// Package admin is the platform's admin API under /admin (the Retool / admin
// service role, platform.md, Admin): the audit log (/admin/events), the job
// queue (/admin/jobs), the mail outbox (/admin/mails), organizations
// (/admin/orgs), users (/admin/users) and admin API keys (/admin/keys), with the list conventions of the spec's README (Admin
// routes): ?limit (default 50, at most 500), ?cursor, and a response
// {"items": [...], "next_cursor": "..."} whose next_cursor is absent on the
// last page.
//
// Every operation requires an admin principal (authz.Principal.IsAdmin: an
// admin API key): a request without a principal gets 401, any other
// principal 403. The authorizer already keeps non-admin credentials away
// from the "admin" app; the check here does not rely on it. It runs as a
// Huma middleware on the /admin group, before the request is decoded, so a
// non-admin learns nothing from validation errors.
//
// Every admin write is itself an event ("admin.<entity>.<verb>", or the
// service's own event for writes a service performs, such as
// orgs.org.updated), with the admin key's id in the payload.
package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Prefix is where the admin API is mounted.
const Prefix = "/admin"

// Page sizes of every list.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Deps are the platform services the admin API serves.
type Deps struct {
	// Store is the platform's store: a job's retry or cancel and its event
	// run in one transaction of its admin handle (Store.Admin).
	Store  *store.Store
	Events *events.Log
	Jobs   *jobs.Runner
	Mail   *mail.Outbox
	Orgs   *orgs.Service
	Users  *identity.Pool
	// AdminKeys are the admin API keys: a key's creation or revocation
	// and its event run in one transaction of the admin handle too.
	AdminKeys *authz.AdminKeys
}

// Admin serves the admin API. Build it with New and Register it.
type Admin struct {
	adminDB *store.DB // the admin handle: job and key changes with their event
	events  *events.Log
	keys    *authz.AdminKeys
	jobs    *jobs.Runner
	mail    *mail.Outbox
	orgs    *orgs.Service
	users   *identity.Pool
}

// New returns the admin API over d. Every field of d is required.
func New(d Deps) *Admin {
	return &Admin{adminDB: d.Store.Admin(), events: d.Events, keys: d.AdminKeys, jobs: d.Jobs, mail: d.Mail, orgs: d.Orgs, users: d.Users}
}

// Register adds the admin operations to api, the root API: their paths are
// under Prefix. Operation ids start with "admin-".
func (a *Admin) Register(api huma.API) {
	g := Group(api, "")
	a.registerEvents(g)
	a.registerJobs(g)
	a.registerKeys(g)
	a.registerMails(g)
	a.registerOrgs(g)
	a.registerUsers(g)
}

// Group returns the admin API under Prefix + "/" + app (Prefix itself for
// ""), where every operation answers 401 to anonymous requests and 403 to
// principals that are not admins: apps add their collections
// (/admin/<app>/<collection>) on it.
func Group(api huma.API, app string) huma.API {
	prefix := Prefix
	if app != "" {
		prefix += "/" + app
	}
	g := huma.NewGroup(api, prefix)
	g.UseMiddleware(requireAdmin(g))
	return g
}

// requireAdmin is a Huma middleware answering 401 to an anonymous request
// and 403 to a principal that is not an admin.
func requireAdmin(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		p, ok := authz.FromContext(ctx.Context())
		switch {
		case !ok:
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "authentication required")
		case !p.IsAdmin:
			_ = huma.WriteErr(api, ctx, http.StatusForbidden, "the admin API requires an admin API key")
		default:
			next(ctx)
		}
	}
}

// badCursor is the field error of a list's cursor that the list did not
// issue.
func badCursor(cursor string) fault.FieldError {
	return fault.FieldError{Location: "query.cursor", Message: "is not a cursor this list issued", Value: cursor}
}

// emitTx records an admin write's event in tx. The payload gets the acting
// admin key.
func (a *Admin) emitTx(ctx context.Context, tx *store.Tx, typ, orgID, subject string, payload map[string]any) error {
	p, _ := authz.FromContext(ctx)
	if payload == nil {
		payload = map[string]any{}
	}
	payload["actor"] = "admin"
	if p.ClientID != "" {
		payload["admin_key_id"] = p.ClientID
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("admin: event payload: %w", err)
	}
	return a.events.Emit(ctx, tx, events.Event{Type: typ, OrgID: orgID, Subject: subject, Payload: raw})
}
