package records

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// The HTTP API of records.md. The routes are generic ({plural}) and read
// the config in force on each request, so a SIGHUP reload changes the API
// at once; the OpenAPI document describes each configured type with its
// own schemas (openapi.go).

// Scopes a token must carry when it carries scopes at all.
const (
	ScopeRead  = "records:read"
	ScopeWrite = "records:write"
)

// caller is the request's principal acting in its org, with scope.
func caller(ctx context.Context, scope string) (Caller, error) {
	p, ok := authz.FromContext(ctx)
	if !ok {
		return Caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	if err := authz.RequireScope(p, scope); err != nil {
		return Caller{}, err
	}
	if p.OrgID == "" {
		return Caller{}, fault.New(fault.Forbidden, "records belong to an org: send X-Org-ID with one of your orgs")
	}
	actor := p.UserID
	if actor == "" {
		actor = "client:" + p.ClientID
	}
	return Caller{OrgID: p.OrgID, Actor: actor}, nil
}

// typeOf resolves a plural of config sc.
func typeOf(sc *schema.Schema, plural string) (*schema.Type, error) {
	if t, ok := sc.ByPlural(plural); ok {
		return t, nil
	}
	return nil, fault.New(fault.NotFound, "no record type %q: GET /records/types lists them", plural)
}

// typed adapts an operation on the type named by the path's plural, as the
// request's caller with scope.
func typed[I interface{ plural() string }, O any](s *Service, scope string,
	fn func(ctx context.Context, c Caller, sc *schema.Schema, t *schema.Type, in *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		c, err := caller(ctx, scope)
		if err != nil {
			return nil, err
		}
		sc := s.schema() // one config for the whole request
		t, err := typeOf(sc, (*in).plural())
		if err != nil {
			return nil, err
		}
		return fn(ctx, c, sc, t, in)
	}
}

// Inputs name their path parts field by field: Huma skips embedded
// unexported structs.

type recordInput struct {
	Plural string `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	ID     string `path:"id" maxLength:"36" doc:"The record's id."`
}

func (in recordInput) plural() string { return in.Plural }

// filters captures filter[field]=value query parameters.
type filters map[string]string

// resolveFilters reads filter[field]=value query parameters.
func resolveFilters(ctx huma.Context) (filters, []error) {
	var out filters
	var errs []error
	u := ctx.URL()
	for key, vals := range u.Query() {
		name, ok := strings.CutPrefix(key, "filter[")
		if !ok {
			continue
		}
		name, ok = strings.CutSuffix(name, "]")
		if !ok || name == "" || len(vals) != 1 {
			errs = append(errs, &huma.ErrorDetail{Location: "query." + key, Message: "use filter[field]=value, once per field", Value: vals})
			continue
		}
		if out == nil {
			out = filters{}
		}
		out[name] = vals[0]
	}
	return out, errs
}

type listInput struct {
	Plural  string `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	Sort    string `query:"sort" maxLength:"40" doc:"created_at, updated_at or an indexed field; - first for descending. Default -created_at."`
	Limit   int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor  string `query:"cursor" maxLength:"2800" doc:"The next_cursor of the previous page."`
	filters filters
}

func (in listInput) plural() string { return in.Plural }

// Resolve implements huma.Resolver.
func (in *listInput) Resolve(ctx huma.Context) []error {
	var errs []error
	in.filters, errs = resolveFilters(ctx)
	return errs
}

type childrenInput struct {
	Plural  string `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	ID      string `path:"id" maxLength:"36" doc:"The record's id."`
	Child   string `path:"child" maxLength:"30" doc:"The plural of a child type."`
	Sort    string `query:"sort" maxLength:"40" doc:"As for the child type's list."`
	Limit   int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor  string `query:"cursor" maxLength:"2800" doc:"The next_cursor of the previous page."`
	filters filters
}

func (in childrenInput) plural() string { return in.Plural }

// Resolve implements huma.Resolver.
func (in *childrenInput) Resolve(ctx huma.Context) []error {
	var errs []error
	in.filters, errs = resolveFilters(ctx)
	return errs
}

// RecordCreate is a create's body (named: Huma names anonymous bodies
// after their input type, which other apps' may share).
type RecordCreate struct {
	ParentID *string                    `json:"parent_id,omitempty" doc:"Required exactly when the type has a parent: a record of the parent type in your org."`
	Fields   map[string]json.RawMessage `json:"fields,omitempty" doc:"The type's parameters."`
}

// RecordPatch is an update's body.
type RecordPatch struct {
	Fields map[string]json.RawMessage `json:"fields" doc:"The fields to change; null removes one. The whole result is validated."`
}

type createInput struct {
	Plural string `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	Body   RecordCreate
}

func (in createInput) plural() string { return in.Plural }

type patchInput struct {
	Plural  string `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	ID      string `path:"id" maxLength:"36" doc:"The record's id."`
	IfMatch string `header:"If-Match" maxLength:"40" doc:"Optional: the ETag you read; another version is 412 and changes nothing."`
	Body    RecordPatch
}

func (in patchInput) plural() string { return in.Plural }

type deleteInput struct {
	Plural  string `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	ID      string `path:"id" maxLength:"36" doc:"The record's id."`
	IfMatch string `header:"If-Match" maxLength:"40" doc:"Optional: the ETag you read; another version is 412 and deletes nothing."`
}

func (in deleteInput) plural() string { return in.Plural }

type actionInput struct {
	Plural string        `path:"plural" maxLength:"30" doc:"A record type's plural (GET /records/types)."`
	ID     string        `path:"id" maxLength:"36" doc:"The record's id."`
	Action string        `path:"action" maxLength:"40" doc:"An action of the type (GET /records/types)."`
	Body   *ExportParams `required:"false"`
}

func (in actionInput) plural() string { return in.Plural }

type jobInput struct {
	ID string `path:"id" maxLength:"36" doc:"The job's id."`
}

// recordOutput is one record, its version as ETag.
type recordOutput struct {
	Location string `header:"Location" doc:"The new record's URL (creates only)."`
	ETag     string `header:"ETag"`
	Body     Record
}

func recordOut(r Record) *recordOutput {
	return &recordOutput{ETag: httpapi.VersionETag(r.Version), Body: r}
}

type jobOutput struct {
	Location string `header:"Location" doc:"The job's URL."`
	Body     ActionJob
}

type typesOutput struct {
	Body schema.View
}

// Operation ids of the generic routes; openapi.go replaces them with one
// operation per type.
const (
	opList     = "records-list"
	opCreate   = "records-create"
	opGet      = "records-get"
	opUpdate   = "records-update"
	opDelete   = "records-delete"
	opChildren = "records-children"
	opAction   = "records-action"
)

func (s *Service) registerREST(api huma.API) {
	tags := []string{appName}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Description: desc, Tags: tags}
	}
	huma.Register(api, op("records-types", http.MethodGet, "/types", "The record types",
		"The config in force (config.json), display names included: types, parents and children, parameters, actions."),
		func(ctx context.Context, _ *struct{}) (*typesOutput, error) {
			if _, err := caller(ctx, ScopeRead); err != nil {
				return nil, err
			}
			return &typesOutput{Body: s.schema().View()}, nil
		})
	huma.Register(api, op("records-get-job", http.MethodGet, "/jobs/{id}", "Get an action's job",
		"queued, running, succeeded (with the result: an export's signed download URL) or failed (with the reason)."),
		func(ctx context.Context, in *jobInput) (*jobOutput, error) {
			c, err := caller(ctx, ScopeRead)
			if err != nil {
				return nil, err
			}
			j, err := s.GetJob(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return &jobOutput{Body: j}, nil
		})
	huma.Register(api, op(opList, http.MethodGet, "/{plural}", "List records",
		"In your org; filter[field]=value on indexed fields, sort, keyset pages."),
		typed(s, ScopeRead, func(ctx context.Context, c Caller, _ *schema.Schema, t *schema.Type, in *listInput) (*httpapi.ListOutput[Record], error) {
			list, next, err := s.List(ctx, c, t, ListQuery{Filters: in.filters, Sort: in.Sort, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		}))
	create := op(opCreate, http.MethodPost, "/{plural}", "Create a record", "Validated against the type; 422 lists every bad field.")
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, typed(s, ScopeWrite, func(ctx context.Context, c Caller, _ *schema.Schema, t *schema.Type, in *createInput) (*recordOutput, error) {
		r, err := s.Create(ctx, c, t, in.Body.ParentID, in.Body.Fields)
		if err != nil {
			return nil, err
		}
		out := recordOut(r)
		out.Location = "/records/" + t.Plural + "/" + r.ID
		return out, nil
	}))
	huma.Register(api, op(opGet, http.MethodGet, "/{plural}/{id}", "Get a record", "404 for a record of another type or org."),
		typed(s, ScopeRead, func(ctx context.Context, c Caller, _ *schema.Schema, t *schema.Type, in *recordInput) (*recordOutput, error) {
			r, err := s.Get(ctx, c, t, in.ID)
			if err != nil {
				return nil, err
			}
			return recordOut(r), nil
		}))
	huma.Register(api, op(opUpdate, http.MethodPatch, "/{plural}/{id}", "Update a record",
		"Partial: the given fields change (null removes one), the whole record is validated. If-Match optional."),
		typed(s, ScopeWrite, func(ctx context.Context, c Caller, _ *schema.Schema, t *schema.Type, in *patchInput) (*recordOutput, error) {
			v, _, err := httpapi.ParseIfMatch(in.IfMatch)
			if err != nil {
				return nil, err
			}
			r, err := s.Update(ctx, c, t, in.ID, v, in.Body.Fields)
			if err != nil {
				return nil, err
			}
			return recordOut(r), nil
		}))
	del := op(opDelete, http.MethodDelete, "/{plural}/{id}", "Delete a record",
		"With its descendants, in one transaction. A record other records refer to is 409. If-Match optional.")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, typed(s, ScopeWrite, func(ctx context.Context, c Caller, _ *schema.Schema, t *schema.Type, in *deleteInput) (*struct{}, error) {
		v, _, err := httpapi.ParseIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		return nil, s.Delete(ctx, c, t, in.ID, v)
	}))
	huma.Register(api, op(opChildren, http.MethodGet, "/{plural}/{id}/{child}", "List a record's children",
		"Of one child type; the same filters, sort and pages as the type's list."),
		typed(s, ScopeRead, func(ctx context.Context, c Caller, sc *schema.Schema, t *schema.Type, in *childrenInput) (*httpapi.ListOutput[Record], error) {
			ct, err := childType(sc, t, in.Child)
			if err != nil {
				return nil, err
			}
			if _, err := s.Get(ctx, c, t, in.ID); err != nil {
				return nil, err
			}
			list, next, err := s.List(ctx, c, ct, ListQuery{ParentID: in.ID, Filters: in.filters, Sort: in.Sort, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		}))
	action := op(opAction, http.MethodPost, "/{plural}/{id}/actions/{action}", "Start an action",
		"Fire and forget: 202 with Location: /records/jobs/{job_id}. export writes the record and its descendants as JSON or CSV.")
	action.DefaultStatus = http.StatusAccepted
	huma.Register(api, action, typed(s, ScopeRead, func(ctx context.Context, c Caller, _ *schema.Schema, t *schema.Type, in *actionInput) (*jobOutput, error) {
		var params ExportParams
		if in.Body != nil {
			params = *in.Body
		}
		j, err := s.StartAction(ctx, c, t, in.ID, in.Action, params)
		if err != nil {
			return nil, err
		}
		return &jobOutput{Location: "/records/jobs/" + j.ID, Body: j}, nil
	}))
}

// childType resolves a child type's plural under t in sc.
func childType(sc *schema.Schema, t *schema.Type, plural string) (*schema.Type, error) {
	for _, c := range sc.Children(t.Name) {
		if c.Plural == plural {
			return c, nil
		}
	}
	return nil, fault.New(fault.NotFound, "%s is not a child type of %s", plural, t.Plural)
}
