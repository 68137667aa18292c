package scheduling

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// The REST mirror of the websocket API (scheduling.md), for tools and
// scripts: the same service calls, as the request's caller in the org
// chosen with X-Org-ID. Every change names the version it read in
// If-Match (the ETag of a GET); a stale one is 412 here, where the
// websocket answers conflict.

type restIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The item's id."`
}

// restVersionInput is a DELETE or an action on an item read at a version.
type restVersionInput struct {
	ID      string `path:"id" format:"uuid" doc:"The item's id."`
	IfMatch string `header:"If-Match" maxLength:"64" doc:"The version you read, as its ETag gave it (\"3\"; W/\"3\" and 3 are accepted too). Required: a request without it is 422; a stale version is 412."`
}

// restPatchInput is a PATCH of an item read at a version.
type restPatchInput[B any] struct {
	ID      string `path:"id" format:"uuid" doc:"The item's id."`
	IfMatch string `header:"If-Match" maxLength:"64" doc:"The version you read, as its ETag gave it (\"3\"; W/\"3\" and 3 are accepted too). Required: a request without it is 422; a stale version is 412."`
	Body    B
}

type restCreateInput[B any] struct {
	Body B
}

type restListInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page."`
}

type restEventsInput struct {
	From        time.Time `query:"from" required:"true" doc:"Events ending after this time (RFC 3339)."`
	To          time.Time `query:"to" required:"true" doc:"Events starting before this time (RFC 3339); at most a year after from."`
	ResourceIDs []string  `query:"resource_ids,explode" maxItems:"100" doc:"Only events booking one of these resources: ids separated by commas (or the parameter repeated)."`
	ProjectID   string    `query:"project_id" format:"uuid" doc:"Only events of this project."`
	Limit       int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor      string    `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page."`
}

type restAvailabilityInput struct {
	From            time.Time `query:"from" required:"true" doc:"Start of the window (RFC 3339)."`
	To              time.Time `query:"to" required:"true" doc:"End of the window (RFC 3339); at most a year after from."`
	ResourceIDs     []string  `query:"resource_ids,explode" required:"true" maxItems:"100" doc:"The resources that must all be free: ids separated by commas (or the parameter repeated)."`
	DurationMinutes int       `query:"duration_minutes" minimum:"1" maximum:"44640" default:"30" doc:"The shortest slot wanted, in minutes (at most 31 days)."`
}

type restAvailabilityOutput struct {
	Body struct {
		Slots []Slot `json:"slots" nullable:"false" doc:"The free ranges, by start."`
	}
}

// restItem answers with one item, its version as ETag and, for creates,
// its Location.
type restItem[T any] struct {
	Location string `header:"Location" doc:"The created item's URL (creates only)."`
	ETag     string `header:"ETag" doc:"The item's version, quoted: send it back as If-Match to change the item."`
	Body     T
}

// restVersion is httpapi.ParseIfMatch for the REST API, where If-Match is
// required.
func restVersion(h string) (int64, error) {
	v, ok, err := httpapi.ParseIfMatch(h)
	if err == nil && !ok {
		err = fault.WithFields("If-Match required",
			fault.FieldError{Location: "header.If-Match", Message: "required: the version you read"})
	}
	return v, err
}

// restErr maps a service error for HTTP: a stale version is a failed
// precondition (412), keeping its message and reason.
func restErr(err error) error {
	if IsStale(err) {
		f := fault.As(err)
		return &fault.Error{Code: fault.Precondition, Reason: ReasonStale, Message: f.Message, Fields: f.Fields}
	}
	return err
}

// restQueryErr moves the given fields of a validation fault from the body to
// the query (the service names them as the websocket's data fields).
func restQueryErr(err error, names ...string) error {
	f := fault.As(err)
	if f == nil || len(f.Fields) == 0 {
		return restErr(err)
	}
	cp := *f
	cp.Fields = make([]fault.FieldError, len(f.Fields))
	for i, fe := range f.Fields {
		for _, n := range names {
			if fe.Location == "body."+n {
				fe.Location = "query." + n
			}
		}
		cp.Fields[i] = fe
	}
	return &cp
}

// restSplitIDs reads a list of ids given as comma-separated values (or the
// parameter repeated): valid UUIDs, at most MaxIDs, duplicates dropped.
func restSplitIDs(param string, values []string) ([]string, error) {
	var out []string
	var bad []fault.FieldError
	for _, v := range values {
		for id := range strings.SplitSeq(v, ",") {
			id = strings.TrimSpace(id)
			switch {
			case id == "":
			case uuid.Validate(id) != nil:
				bad = append(bad, fault.FieldError{Location: "query." + param, Message: "not an id", Value: id})
			default:
				if !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	if len(out) > MaxIDs {
		bad = append(bad, fault.FieldError{Location: "query." + param, Message: "at most " + itoa(MaxIDs) + " ids", Value: len(out)})
	}
	if len(bad) > 0 {
		return nil, fault.WithFields("validation failed", bad...)
	}
	return out, nil
}

// restCaller is the request's caller: a member of the org chosen with
// X-Org-ID (401 anonymous, 403 not a member, 422 no org chosen), or an
// admin key acting on the org it names.
func (s *Service) restCaller(ctx context.Context) (Caller, error) {
	p, ok := authz.FromContext(ctx)
	if !ok {
		return Caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	c, err := s.CallerOf(ctx, p)
	if err != nil {
		return Caller{}, err
	}
	if c.Admin && c.OrgID == "" {
		return Caller{}, fault.WithFields("no organization chosen",
			fault.FieldError{Location: "header." + authz.OrgHeader, Message: "choose the org to act on"})
	}
	return c, nil
}

// restAs adapts an operation made as the request's caller; a stale
// version is 412.
func restAs[I, O any](s *Service, fn func(ctx context.Context, c Caller, in *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		c, err := s.restCaller(ctx)
		if err != nil {
			return nil, err
		}
		out, err := fn(ctx, c, in)
		if err != nil {
			return nil, restErr(err)
		}
		return out, nil
	}
}

// restCollection is the REST face of one collection of the catalog.
type restCollection[T, B any] struct {
	name, one string // "projects", "project"
	id        func(T) string
	version   func(T) int64
	list      func(context.Context, Caller, Page) ([]T, string, error)
	get       func(context.Context, Caller, string) (T, error)
	create    func(context.Context, Caller, B) (T, error)
	update    func(context.Context, Caller, string, int64, B) (T, error)
	// archive, when set, is DELETE (200 with the archived item); else
	// remove is (204).
	archive func(context.Context, Caller, string, int64) (T, error)
	remove  func(context.Context, Caller, string, int64) error
	// createDoc and deleteDoc complete the operations' descriptions.
	createDoc, deleteDoc string
}

func (col restCollection[T, B]) out(item T, created bool) *restItem[T] {
	o := &restItem[T]{ETag: httpapi.VersionETag(col.version(item)), Body: item}
	if created {
		o.Location = "/" + appName + "/" + col.name + "/" + url.PathEscape(col.id(item))
	}
	return o
}

func restRegister[T, B any](api huma.API, s *Service, col restCollection[T, B]) {
	tags := []string{appName}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: appName + "-" + col.name + "-" + id, Method: method, Path: "/" + col.name + path,
			Summary: summary, Description: desc, Tags: tags}
	}
	huma.Register(api, op("list", http.MethodGet, "", "List the org's "+col.name, "Members of the org; by id, one page at a time."),
		restAs(s, func(ctx context.Context, c Caller, in *restListInput) (*httpapi.ListOutput[T], error) {
			pg, err := page(in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			items, next, err := col.list(ctx, c, pg)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(items, next), nil
		}))
	create := op("create", http.MethodPost, "", "Create a "+col.one,
		col.createDoc+" An Idempotency-Key header makes a retried create return the first answer and create nothing twice.")
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, restAs(s, func(ctx context.Context, c Caller, in *restCreateInput[B]) (*restItem[T], error) {
		item, err := col.create(ctx, c, in.Body)
		if err != nil {
			return nil, err
		}
		return col.out(item, true), nil
	}))
	huma.Register(api, op("get", http.MethodGet, "/{id}", "Get a "+col.one,
		"Members of the org (404 for an item of another org). The ETag is its version, for If-Match."),
		restAs(s, func(ctx context.Context, c Caller, in *restIDInput) (*restItem[T], error) {
			item, err := col.get(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return col.out(item, false), nil
		}))
	huma.Register(api, op("update", http.MethodPatch, "/{id}", "Change a "+col.one,
		"Owners and admins of the org. Fields absent from the body stay as they are. If-Match names the version you read: "+
			"without it 422, a stale one 412 (read the item again)."),
		restAs(s, func(ctx context.Context, c Caller, in *restPatchInput[B]) (*restItem[T], error) {
			v, err := restVersion(in.IfMatch)
			if err != nil {
				return nil, err
			}
			item, err := col.update(ctx, c, in.ID, v, in.Body)
			if err != nil {
				return nil, err
			}
			return col.out(item, false), nil
		}))
	if col.archive != nil {
		huma.Register(api, op("archive", http.MethodDelete, "/{id}", "Archive a "+col.one,
			col.deleteDoc+" Owners and admins of the org, with If-Match (422 without, 412 stale). Answers 200 with the archived "+col.one+"."),
			restAs(s, func(ctx context.Context, c Caller, in *restVersionInput) (*restItem[T], error) {
				v, err := restVersion(in.IfMatch)
				if err != nil {
					return nil, err
				}
				item, err := col.archive(ctx, c, in.ID, v)
				if err != nil {
					return nil, err
				}
				return col.out(item, false), nil
			}))
		return
	}
	del := op("delete", http.MethodDelete, "/{id}", "Delete a "+col.one,
		col.deleteDoc+" If-Match names the version you read (422 without, 412 stale).")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, restAs(s, func(ctx context.Context, c Caller, in *restVersionInput) (*struct{}, error) {
		v, err := restVersion(in.IfMatch)
		if err != nil {
			return nil, err
		}
		return nil, col.remove(ctx, c, in.ID, v)
	}))
}

// registerREST registers the REST mirror under /scheduling.
func (s *Service) registerREST(api huma.API) {
	restRegister(api, s, restCollection[Project, ProjectInput]{
		name: "projects", one: "project",
		id: func(p Project) string { return p.ID }, version: func(p Project) int64 { return p.Version },
		list: s.ListProjects, get: s.GetProject, create: s.CreateProject, update: s.UpdateProject, archive: s.ArchiveProject,
		createDoc: "Owners and admins of the org; name required (1 to 200 characters), color #rrggbb.",
		deleteDoc: "DELETE archives the project: it stays readable (archived: true) and its events keep it, but new events cannot name it.",
	})
	restRegister(api, s, restCollection[Resource, ResourceInput]{
		name: "resources", one: "resource",
		id: func(r Resource) string { return r.ID }, version: func(r Resource) int64 { return r.Version },
		list: s.ListResources, get: s.GetResource, create: s.CreateResource, update: s.UpdateResource, archive: s.ArchiveResource,
		createDoc: "Owners and admins of the org; name required. calendar_url is the resource's iCalendar feed, readable without a token.",
		deleteDoc: "DELETE archives the resource: it stays readable (archived: true), no new event may book it, " +
			"its future events are cancelled and it is taken off the layouts (shortly after, by the app's handlers).",
	})
	restRegister(api, s, restCollection[Layout, LayoutInput]{
		name: "layouts", one: "layout",
		id: func(l Layout) string { return l.ID }, version: func(l Layout) int64 { return l.Version },
		list: s.ListLayouts, get: s.GetLayout, create: s.CreateLayout, update: s.UpdateLayout, remove: s.DeleteLayout,
		createDoc: "Owners and admins of the org; name required, items (at most 500) place live resources of the org.",
		deleteDoc: "Owners and admins of the org.",
	})
	s.registerRESTEvents(api)
}

func restEventOut(e Booking, created bool) *restItem[Booking] {
	o := &restItem[Booking]{ETag: httpapi.VersionETag(e.Version), Body: e}
	if created {
		o.Location = "/" + appName + "/events/" + url.PathEscape(e.ID)
	}
	return o
}

func (s *Service) registerRESTEvents(api huma.API) {
	tags := []string{appName}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: appName + "-" + id, Method: method, Path: path, Summary: summary, Description: desc, Tags: tags}
	}
	const booking = " Its resources must be live resources of the org, its attendees members, its project a live one of the org; " +
		"start before end, at most 31 days apart (422). An overlap with an active event on a resource without allow_overlap is 409 " +
		"with reason double_booking, naming the event in the way (in the detail and as the value of the body.resource_ids error)."
	huma.Register(api, op("events-list", http.MethodGet, "/events", "List events",
		"Members of the org: the events overlapping [from, to) (at most a year), of any of resource_ids and of project_id when given, "+
			"cancelled ones included; by start, then id, one page at a time."),
		restAs(s, func(ctx context.Context, c Caller, in *restEventsInput) (*httpapi.ListOutput[Booking], error) {
			ids, err := restSplitIDs("resource_ids", in.ResourceIDs)
			if err != nil {
				return nil, err
			}
			pg, err := page(in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			items, next, err := s.ListEvents(ctx, c, EventFilter{From: in.From, To: in.To, ResourceIDs: ids, ProjectID: in.ProjectID, Page: pg})
			if err != nil {
				return nil, restQueryErr(err, "from", "to", "resource_ids", "project_id")
			}
			return httpapi.Page(items, next), nil
		}))
	create := op("events-create", http.MethodPost, "/events", "Book an event",
		"Members of the org; title, start and end required; status confirmed (default) or tentative."+booking+
			" An Idempotency-Key header makes a retried create return the first answer and create nothing twice.")
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, restAs(s, func(ctx context.Context, c Caller, in *restCreateInput[EventInput]) (*restItem[Booking], error) {
		e, err := s.CreateEvent(ctx, c, in.Body)
		if err != nil {
			return nil, err
		}
		return restEventOut(e, true), nil
	}))
	huma.Register(api, op("events-get", http.MethodGet, "/events/{id}", "Get an event",
		"Members of the org (404 for an event of another org). The ETag is its version, for If-Match."),
		restAs(s, func(ctx context.Context, c Caller, in *restIDInput) (*restItem[Booking], error) {
			e, err := s.GetEvent(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return restEventOut(e, false), nil
		}))
	huma.Register(api, op("events-update", http.MethodPatch, "/events/{id}", "Change an event",
		"Members of the org; fields absent from the body stay as they are; a cancelled event cannot change (409)."+booking+
			" If-Match names the version you read: without it 422, a stale one 412."),
		restAs(s, func(ctx context.Context, c Caller, in *restPatchInput[EventInput]) (*restItem[Booking], error) {
			v, err := restVersion(in.IfMatch)
			if err != nil {
				return nil, err
			}
			e, err := s.UpdateEvent(ctx, c, in.ID, v, in.Body)
			if err != nil {
				return nil, err
			}
			return restEventOut(e, false), nil
		}))
	huma.Register(api, op("events-cancel", http.MethodPost, "/events/{id}/cancel", "Cancel an event",
		"Members of the org: the event frees its resources and stays listed with status cancelled (409 when it already is). "+
			"If-Match names the version you read: without it 422, a stale one 412."),
		restAs(s, func(ctx context.Context, c Caller, in *restVersionInput) (*restItem[Booking], error) {
			v, err := restVersion(in.IfMatch)
			if err != nil {
				return nil, err
			}
			e, err := s.CancelEvent(ctx, c, in.ID, v)
			if err != nil {
				return nil, err
			}
			return restEventOut(e, false), nil
		}))
	del := op("events-delete", http.MethodDelete, "/events/{id}", "Delete an event",
		"Members of the org. If-Match names the version you read: without it 422, a stale one 412.")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, restAs(s, func(ctx context.Context, c Caller, in *restVersionInput) (*struct{}, error) {
		v, err := restVersion(in.IfMatch)
		if err != nil {
			return nil, err
		}
		return nil, s.DeleteEvent(ctx, c, in.ID, v)
	}))
	huma.Register(api, op("availability", http.MethodGet, "/availability", "Free slots of resources",
		"Members of the org: the ranges within [from, to) (at most a year) at least duration_minutes long where none of resource_ids "+
			"(at least one, resources of the org) has an active booking."),
		restAs(s, func(ctx context.Context, c Caller, in *restAvailabilityInput) (*restAvailabilityOutput, error) {
			ids, err := restSplitIDs("resource_ids", in.ResourceIDs)
			if err != nil {
				return nil, err
			}
			slots, err := s.Availability(ctx, c, in.From, in.To, ids, time.Duration(in.DurationMinutes)*time.Minute)
			if err != nil {
				return nil, restQueryErr(err, "from", "to", "resource_ids", "duration_minutes")
			}
			out := &restAvailabilityOutput{}
			out.Body.Slots = slots
			return out, nil
		}))
}
