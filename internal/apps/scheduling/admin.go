package scheduling

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The admin collections (README.md, Admin routes):
// /admin/scheduling/{projects,resources,layouts,events}, for admin API
// keys only (env.Admin checks them). Reads go across orgs; changes call
// the service as an admin of the item's org, so they keep the app's rules
// and emit the same events.

type adminListInput struct {
	OrgID  string `query:"org_id" maxLength:"255" doc:"Only items of this org."`
	Q      string `query:"q" maxLength:"200" doc:"Only items whose name (an event's title) contains this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page."`
}

type adminIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The item's id."`
}

type adminVersionInput struct {
	ID      string `path:"id" format:"uuid" doc:"The item's id."`
	IfMatch string `header:"If-Match" maxLength:"64" doc:"Optional: the version you read (\"3\"); a stale one is 412. Without it, the current version."`
}

type adminPatchInput[B any] struct {
	ID      string `path:"id" format:"uuid" doc:"The item's id."`
	IfMatch string `header:"If-Match" maxLength:"64" doc:"Optional: the version you read (\"3\"); a stale one is 412. Without it, the current version."`
	Body    B
}

// adminStaleRetries bounds how often a change without If-Match reads the
// current version again when another writer got there first.
const adminStaleRetries = 3

// adminCollection is the admin face of one of the app's tables.
type adminCollection[T, B any] struct {
	name, one  string // "projects", "project"
	table      string
	cols       string
	text       string // the column ?q= searches
	scan       func(scanner) (T, error)
	id         func(T) string
	org        func(T) string
	version    func(T) int64
	show       func(T) T // completes an item read from its row (nil: as is)
	update     func(context.Context, Caller, string, int64, B) (T, error)
	archive    func(context.Context, Caller, string, int64) (T, error) // DELETE archives (200) when set
	remove     func(context.Context, Caller, string, int64) error      // else DELETE deletes (204)
	deleteDesc string
}

func (col adminCollection[T, B]) shown(item T) T {
	if col.show != nil {
		return col.show(item)
	}
	return item
}

// list reads one page of the table across orgs, by id.
func (col adminCollection[T, B]) list(ctx context.Context, db *store.DB, in *adminListInput) ([]T, string, error) {
	q := `SELECT ` + col.cols + ` FROM ` + col.table + ` WHERE id > ?`
	args := []any{in.Cursor}
	if in.OrgID != "" {
		q, args = q+` AND org_id = ?`, append(args, in.OrgID)
	}
	if t := strings.TrimSpace(in.Q); t != "" {
		cond, arg := store.ContainsFold(col.text, t)
		q, args = q+` AND `+cond, append(args, arg)
	}
	rows, err := db.Query(ctx, q+` ORDER BY id LIMIT ?`, append(args, in.Limit+1)...)
	if err != nil {
		return nil, "", store.Normalize(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		item, err := col.scan(rows)
		if err != nil {
			return nil, "", store.Normalize(err)
		}
		out = append(out, col.shown(item))
	}
	if err := rows.Err(); err != nil {
		return nil, "", store.Normalize(err)
	}
	items, next := store.TrimPage(out, in.Limit, col.id)
	return items, next, nil
}

// get reads an item of any org.
func (col adminCollection[T, B]) get(ctx context.Context, db *store.DB, id string) (T, error) {
	item, err := col.scan(db.QueryRow(ctx, `SELECT `+col.cols+` FROM `+col.table+` WHERE id = ?`, id))
	if err := store.NotFound(err, col.one); err != nil {
		var zero T
		return zero, err
	}
	return col.shown(item), nil
}

// change runs fn as an admin of the item's org at the If-Match version,
// or else at the current one (read again, a few times, when another
// writer gets there first). A stale If-Match is 412.
func (col adminCollection[T, B]) change(ctx context.Context, db *store.DB, id, ifMatch string, fn func(c Caller, version int64) error) error {
	v, given, err := httpapi.ParseIfMatch(ifMatch)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		item, err := col.get(ctx, db, id)
		if err != nil {
			return err
		}
		version := v
		if !given {
			version = col.version(item)
		}
		err = fn(Caller{OrgID: col.org(item), Admin: true}, version)
		if given || !IsStale(err) || attempt == adminStaleRetries {
			return restErr(err)
		}
	}
}

func adminRegister[T, B any](api huma.API, s *Service, col adminCollection[T, B]) {
	tags := []string{"admin", appName}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: "admin-" + appName + "-" + col.name + "-" + id, Method: method, Path: "/" + col.name + path,
			Summary: summary, Description: desc, Tags: tags}
	}
	huma.Register(api, op("list", http.MethodGet, "", "List every "+col.one+" (by id)",
		"Across orgs; org_id and q narrow the list."),
		func(ctx context.Context, in *adminListInput) (*httpapi.ListOutput[T], error) {
			items, next, err := col.list(ctx, s.db, in)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(items, next), nil
		})
	huma.Register(api, op("get", http.MethodGet, "/{id}", "Get any "+col.one, "The ETag is its version."),
		func(ctx context.Context, in *adminIDInput) (*restItem[T], error) {
			item, err := col.get(ctx, s.db, in.ID)
			if err != nil {
				return nil, err
			}
			return &restItem[T]{ETag: httpapi.VersionETag(col.version(item)), Body: item}, nil
		})
	huma.Register(api, op("update", http.MethodPatch, "/{id}", "Change any "+col.one,
		"The same body and rules as the org's own PATCH, as an admin of the item's org; the change is emitted as usual (actor admin)."),
		func(ctx context.Context, in *adminPatchInput[B]) (*restItem[T], error) {
			var out T
			err := col.change(ctx, s.db, in.ID, in.IfMatch, func(c Caller, version int64) (err error) {
				out, err = col.update(ctx, c, in.ID, version, in.Body)
				return err
			})
			if err != nil {
				return nil, err
			}
			return &restItem[T]{ETag: httpapi.VersionETag(col.version(out)), Body: out}, nil
		})
	if col.archive != nil {
		huma.Register(api, op("archive", http.MethodDelete, "/{id}", "Archive any "+col.one, col.deleteDesc),
			func(ctx context.Context, in *adminVersionInput) (*restItem[T], error) {
				var out T
				err := col.change(ctx, s.db, in.ID, in.IfMatch, func(c Caller, version int64) (err error) {
					out, err = col.archive(ctx, c, in.ID, version)
					return err
				})
				if err != nil {
					return nil, err
				}
				return &restItem[T]{ETag: httpapi.VersionETag(col.version(out)), Body: out}, nil
			})
		return
	}
	del := op("delete", http.MethodDelete, "/{id}", "Delete any "+col.one, col.deleteDesc)
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, func(ctx context.Context, in *adminVersionInput) (*struct{}, error) {
		return nil, col.change(ctx, s.db, in.ID, in.IfMatch, func(c Caller, version int64) error {
			return col.remove(ctx, c, in.ID, version)
		})
	})
}

// registerAdmin registers /admin/scheduling/{projects,resources,layouts,events}.
func (s *Service) registerAdmin(api huma.API) {
	adminRegister(api, s, adminCollection[Project, ProjectInput]{
		name: "projects", one: "project", table: "scheduling_projects", cols: projectCols, text: "name", scan: scanProject,
		id: func(p Project) string { return p.ID }, org: func(p Project) string { return p.OrgID }, version: func(p Project) int64 { return p.Version },
		update: s.UpdateProject, archive: s.ArchiveProject,
		deleteDesc: "DELETE archives the project (200 with it): it stays readable and its events keep it. If-Match is optional.",
	})
	adminRegister(api, s, adminCollection[Resource, ResourceInput]{
		name: "resources", one: "resource", table: "scheduling_resources", cols: resourceCols, text: "name", scan: scanResource,
		id: func(r Resource) string { return r.ID }, org: func(r Resource) string { return r.OrgID }, version: func(r Resource) int64 { return r.Version },
		show: func(r Resource) Resource {
			r.CalendarURL = s.calendarURL(r)
			return r
		},
		update: s.UpdateResource, archive: s.ArchiveResource,
		deleteDesc: "DELETE archives the resource (200 with it; 409 when it already is): its future events are cancelled and it leaves " +
			"the layouts. If-Match is optional.",
	})
	adminRegister(api, s, adminCollection[Layout, LayoutInput]{
		name: "layouts", one: "layout", table: "scheduling_layouts", cols: layoutCols, text: "name", scan: scanLayout,
		id: func(l Layout) string { return l.ID }, org: func(l Layout) string { return l.OrgID }, version: func(l Layout) int64 { return l.Version },
		update: s.UpdateLayout, remove: s.DeleteLayout,
		deleteDesc: "Deletes the layout (204). If-Match is optional.",
	})
	adminRegister(api, s, adminCollection[Booking, EventInput]{
		name: "events", one: "event", table: "scheduling_events", cols: eventCols, text: "title", scan: scanEvent,
		id: func(e Booking) string { return e.ID }, org: func(e Booking) string { return e.OrgID }, version: func(e Booking) int64 { return e.Version },
		update: s.UpdateEvent, remove: s.DeleteEvent,
		deleteDesc: "Deletes the event (204), freeing its resources. If-Match is optional.",
	})
}
