package scheduling

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The app's SQL: its own tables only, the org id in every WHERE.

type scanner interface{ Scan(...any) error }

func micros(t time.Time) int64      { return t.UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // maps of strings, slices of strings and layout items always marshal
	return string(b)
}

// ---- projects ----

const projectCols = `id, org_id, name, description, color, archived, version, created_at, updated_at`

func scanProject(sc scanner) (Project, error) {
	var p Project
	var archived int
	var created, updated int64
	err := sc.Scan(&p.ID, &p.OrgID, &p.Name, &p.Description, &p.Color, &archived, &p.Version, &created, &updated)
	p.Archived, p.CreatedAt, p.UpdatedAt = archived == 1, fromMicros(created), fromMicros(updated)
	return p, err
}

func insertProject(ctx context.Context, q store.Querier, p Project) error {
	_, err := q.Exec(ctx, `INSERT INTO scheduling_projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Name, p.Description, p.Color, boolInt(p.Archived), p.Version, micros(p.CreatedAt), micros(p.UpdatedAt))
	return err
}

func updateProject(ctx context.Context, q store.Querier, p Project) error {
	_, err := q.Exec(ctx, `UPDATE scheduling_projects SET name = ?, description = ?, color = ?, archived = ?, version = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`, p.Name, p.Description, p.Color, boolInt(p.Archived), p.Version, micros(p.UpdatedAt), p.OrgID, p.ID)
	return err
}

func getProject(ctx context.Context, q store.Querier, orgID, id string) (Project, error) {
	p, err := scanProject(q.QueryRow(ctx, `SELECT `+projectCols+` FROM scheduling_projects WHERE org_id = ? AND id = ?`, orgID, id))
	return p, store.NotFound(err, "project")
}

// ---- resources ----

const resourceCols = `id, org_id, name, kind, capacity, attributes, allow_overlap, archived, calendar_token, version, created_at, updated_at`

func scanResource(sc scanner) (Resource, error) {
	var r Resource
	var attrs string
	var overlap, archived int
	var created, updated int64
	err := sc.Scan(&r.ID, &r.OrgID, &r.Name, &r.Kind, &r.Capacity, &attrs, &overlap, &archived, &r.calendarToken, &r.Version, &created, &updated)
	if err != nil {
		return r, err
	}
	r.Attributes = map[string]string{}
	_ = json.Unmarshal([]byte(attrs), &r.Attributes) // written by the app: a JSON object
	r.AllowOverlap, r.Archived, r.CreatedAt, r.UpdatedAt = overlap == 1, archived == 1, fromMicros(created), fromMicros(updated)
	return r, nil
}

func insertResource(ctx context.Context, q store.Querier, r Resource) error {
	_, err := q.Exec(ctx, `INSERT INTO scheduling_resources (`+resourceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Name, r.Kind, r.Capacity, mustJSON(r.Attributes), boolInt(r.AllowOverlap), boolInt(r.Archived),
		r.calendarToken, r.Version, micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

func updateResource(ctx context.Context, q store.Querier, r Resource) error {
	_, err := q.Exec(ctx, `UPDATE scheduling_resources SET name = ?, kind = ?, capacity = ?, attributes = ?, allow_overlap = ?,
		archived = ?, calendar_token = ?, version = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		r.Name, r.Kind, r.Capacity, mustJSON(r.Attributes), boolInt(r.AllowOverlap), boolInt(r.Archived), r.calendarToken,
		r.Version, micros(r.UpdatedAt), r.OrgID, r.ID)
	return err
}

func getResource(ctx context.Context, q store.Querier, orgID, id string) (Resource, error) {
	r, err := scanResource(q.QueryRow(ctx, `SELECT `+resourceCols+` FROM scheduling_resources WHERE org_id = ? AND id = ?`, orgID, id))
	return r, store.NotFound(err, "resource")
}

// resourceByID reads a resource of any org (the calendar feed, the admin).
func resourceByID(ctx context.Context, q store.Querier, id string) (Resource, error) {
	r, err := scanResource(q.QueryRow(ctx, `SELECT `+resourceCols+` FROM scheduling_resources WHERE id = ?`, id))
	return r, store.NotFound(err, "resource")
}

// lockResources reads the org's resources among ids and, on Postgres, locks
// their rows (in id order, so writers never deadlock): every write that
// books a resource or changes its allow_overlap goes through this lock,
// which serializes the double-booking check per resource. SQLite has a
// single writer: its transactions are serial.
func lockResources(ctx context.Context, tx *store.Tx, orgID string, ids []string) (map[string]Resource, error) {
	lock := ""
	if tx.Engine() == store.EnginePostgres {
		lock = ` FOR UPDATE`
	}
	return readResources(ctx, tx, orgID, ids, lock)
}

// resourcesIn reads the org's resources among ids, in one query.
func resourcesIn(ctx context.Context, q store.Querier, orgID string, ids []string) (map[string]Resource, error) {
	return readResources(ctx, q, orgID, ids, "")
}

func readResources(ctx context.Context, q store.Querier, orgID string, ids []string, suffix string) (map[string]Resource, error) {
	out := map[string]Resource{}
	if len(ids) == 0 {
		return out, nil
	}
	list, args := store.In(ids)
	rows, err := q.Query(ctx, `SELECT `+resourceCols+` FROM scheduling_resources WHERE org_id = ? AND id IN (`+list+`) ORDER BY id`+suffix,
		append([]any{orgID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}

// ---- layouts ----

const layoutCols = `id, org_id, name, items, version, created_at, updated_at`

func scanLayout(sc scanner) (Layout, error) {
	var l Layout
	var items string
	var created, updated int64
	err := sc.Scan(&l.ID, &l.OrgID, &l.Name, &items, &l.Version, &created, &updated)
	if err != nil {
		return l, err
	}
	l.Items = []LayoutItem{}
	_ = json.Unmarshal([]byte(items), &l.Items) // written by the app: a JSON array
	l.CreatedAt, l.UpdatedAt = fromMicros(created), fromMicros(updated)
	return l, nil
}

func insertLayout(ctx context.Context, q store.Querier, l Layout) error {
	_, err := q.Exec(ctx, `INSERT INTO scheduling_layouts (`+layoutCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.OrgID, l.Name, mustJSON(l.Items), l.Version, micros(l.CreatedAt), micros(l.UpdatedAt))
	return err
}

func updateLayout(ctx context.Context, q store.Querier, l Layout) error {
	_, err := q.Exec(ctx, `UPDATE scheduling_layouts SET name = ?, items = ?, version = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		l.Name, mustJSON(l.Items), l.Version, micros(l.UpdatedAt), l.OrgID, l.ID)
	return err
}

func getLayout(ctx context.Context, q store.Querier, orgID, id string) (Layout, error) {
	l, err := scanLayout(q.QueryRow(ctx, `SELECT `+layoutCols+` FROM scheduling_layouts WHERE org_id = ? AND id = ?`, orgID, id))
	return l, store.NotFound(err, "layout")
}

// ---- org-wide lists (projects, resources, layouts): by id, keyset paged ----

func listInOrg[T any](ctx context.Context, q store.Querier, table, cols, orgID string, pg Page, scan func(scanner) (T, error), id func(T) string) ([]T, string, error) {
	rows, err := q.Query(ctx, `SELECT `+cols+` FROM `+table+` WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID, pg.Cursor, pg.Limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	items, next := store.TrimPage(out, pg.Limit, id)
	return items, next, nil
}

// ---- events ----

const eventCols = `id, org_id, project_id, title, notes, start_at, end_at, all_day, resource_ids, attendee_ids, status, version, created_by, created_at, updated_at`

func scanEvent(sc scanner) (Booking, error) {
	var e Booking
	var project, resources, attendees string
	var start, end, created, updated int64
	var allDay int
	err := sc.Scan(&e.ID, &e.OrgID, &project, &e.Title, &e.Notes, &start, &end, &allDay, &resources, &attendees,
		&e.Status, &e.Version, &e.CreatedBy, &created, &updated)
	if err != nil {
		return e, err
	}
	if project != "" {
		e.ProjectID = &project
	}
	e.ResourceIDs, e.AttendeeUserIDs = []string{}, []string{}
	_ = json.Unmarshal([]byte(resources), &e.ResourceIDs) // written by the app: JSON arrays
	_ = json.Unmarshal([]byte(attendees), &e.AttendeeUserIDs)
	e.Start, e.End, e.AllDay = fromMicros(start), fromMicros(end), allDay == 1
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, nil
}

func projectOf(e Booking) string {
	if e.ProjectID == nil {
		return ""
	}
	return *e.ProjectID
}

func insertEvent(ctx context.Context, q store.Querier, e Booking) error {
	_, err := q.Exec(ctx, `INSERT INTO scheduling_events (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.OrgID, projectOf(e), e.Title, e.Notes, micros(e.Start), micros(e.End), boolInt(e.AllDay),
		mustJSON(e.ResourceIDs), mustJSON(e.AttendeeUserIDs), e.Status, e.Version, e.CreatedBy, micros(e.CreatedAt), micros(e.UpdatedAt))
	if err != nil {
		return err
	}
	return writeIndexes(ctx, q, e)
}

// updateEvent writes e if its stored version is still e.Version-1; false
// when another writer got there first.
func updateEvent(ctx context.Context, q store.Querier, e Booking) (bool, error) {
	res, err := q.Exec(ctx, `UPDATE scheduling_events SET project_id = ?, title = ?, notes = ?, start_at = ?, end_at = ?, all_day = ?,
		resource_ids = ?, attendee_ids = ?, status = ?, version = ?, updated_at = ? WHERE org_id = ? AND id = ? AND version = ?`,
		projectOf(e), e.Title, e.Notes, micros(e.Start), micros(e.End), boolInt(e.AllDay), mustJSON(e.ResourceIDs),
		mustJSON(e.AttendeeUserIDs), e.Status, e.Version, micros(e.UpdatedAt), e.OrgID, e.ID, e.Version-1)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	if err := deleteIndexes(ctx, q, e.ID); err != nil {
		return false, err
	}
	return true, writeIndexes(ctx, q, e)
}

func deleteEvent(ctx context.Context, q store.Querier, e Booking) (bool, error) {
	res, err := q.Exec(ctx, `DELETE FROM scheduling_events WHERE org_id = ? AND id = ? AND version = ?`, e.OrgID, e.ID, e.Version)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	return true, deleteIndexes(ctx, q, e.ID)
}

// writeIndexes writes the event's booking and attendee rows.
func writeIndexes(ctx context.Context, q store.Querier, e Booking) error {
	for _, r := range e.ResourceIDs {
		if _, err := q.Exec(ctx, `INSERT INTO scheduling_bookings (resource_id, event_id, org_id, start_at, end_at, active) VALUES (?, ?, ?, ?, ?, ?)`,
			r, e.ID, e.OrgID, micros(e.Start), micros(e.End), boolInt(e.active())); err != nil {
			return err
		}
	}
	for _, u := range e.AttendeeUserIDs {
		if _, err := q.Exec(ctx, `INSERT INTO scheduling_attendees (user_id, event_id, org_id, end_at) VALUES (?, ?, ?, ?)`,
			u, e.ID, e.OrgID, micros(e.End)); err != nil {
			return err
		}
	}
	return nil
}

func deleteIndexes(ctx context.Context, q store.Querier, eventID string) error {
	if _, err := q.Exec(ctx, `DELETE FROM scheduling_bookings WHERE event_id = ?`, eventID); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `DELETE FROM scheduling_attendees WHERE event_id = ?`, eventID)
	return err
}

func getEvent(ctx context.Context, q store.Querier, orgID, id string) (Booking, error) {
	e, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventCols+` FROM scheduling_events WHERE org_id = ? AND id = ?`, orgID, id))
	return e, store.NotFound(err, "event")
}

// firstConflict returns an active event other than e that overlaps it on
// one of the resources, and the resource, or "" when there is none.
// Bookings start after e.Start - MaxEventLength if they overlap it, which
// bounds the index range scanned.
func firstConflict(ctx context.Context, q store.Querier, e Booking, resources []string) (eventID, resourceID string, err error) {
	if len(resources) == 0 {
		return "", "", nil
	}
	list, args := store.In(resources)
	args = append(args, micros(e.End), micros(e.Start), micros(e.Start.Add(-MaxEventLength)), e.ID)
	err = q.QueryRow(ctx, `SELECT event_id, resource_id FROM scheduling_bookings
		WHERE resource_id IN (`+list+`) AND active = 1 AND start_at < ? AND end_at > ? AND start_at > ? AND event_id <> ?
		ORDER BY start_at, event_id LIMIT 1`, args...).Scan(&eventID, &resourceID)
	if err == sql.ErrNoRows {
		return "", "", nil
	}
	return eventID, resourceID, err
}

// eventCursor is the keyset position of an event in a list: start, then id.
func eventCursor(e Booking) string { return itoa(micros(e.Start)) + "." + e.ID }

// listEvents returns the events of f (one page, by start then id).
func listEvents(ctx context.Context, q store.Querier, orgID string, f EventFilter, afterStart int64, afterID string) ([]Booking, error) {
	from, to := micros(f.From), micros(f.To)
	var (
		query string
		args  []any
	)
	if len(f.ResourceIDs) > 0 {
		list, ids := store.In(f.ResourceIDs)
		// Driven by the bookings of the resources in the window: SQLite keeps
		// the order of a CROSS JOIN (Postgres plans it as an inner join), so
		// the cost follows the window, not the org's history, even without
		// statistics. DISTINCT: an event on several of the resources.
		query = `SELECT DISTINCT ` + prefixed("e.", eventCols) + ` FROM scheduling_bookings b CROSS JOIN scheduling_events e
			WHERE b.resource_id IN (` + list + `) AND b.start_at < ? AND b.end_at > ? AND b.start_at > ?
			AND e.id = b.event_id AND e.org_id = ?`
		args = append(ids, to, from, from-int64(MaxEventLength/time.Microsecond), orgID)
	} else {
		query = `SELECT ` + prefixed("e.", eventCols) + ` FROM scheduling_events e
			WHERE e.org_id = ? AND e.start_at < ? AND e.end_at > ? AND e.start_at > ?`
		args = []any{orgID, to, from, from - int64(MaxEventLength/time.Microsecond)}
	}
	if f.ProjectID != "" {
		query += ` AND e.project_id = ?`
		args = append(args, f.ProjectID)
	}
	if afterID != "" {
		query += ` AND (e.start_at > ? OR (e.start_at = ? AND e.id > ?))`
		args = append(args, afterStart, afterStart, afterID)
	}
	query += ` ORDER BY e.start_at, e.id LIMIT ?`
	args = append(args, f.Limit+1)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// prefixed qualifies a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + p
	}
	return strings.Join(parts, ", ")
}

// busy returns the [start, end) ranges of active bookings of the resources
// overlapping [from, to), ordered by start.
func busy(ctx context.Context, q store.Querier, resources []string, from, to time.Time) ([]Slot, error) {
	list, args := store.In(resources)
	args = append(args, micros(to), micros(from), micros(from.Add(-MaxEventLength)))
	rows, err := q.Query(ctx, `SELECT start_at, end_at FROM scheduling_bookings
		WHERE resource_id IN (`+list+`) AND active = 1 AND start_at < ? AND end_at > ? AND start_at > ?
		ORDER BY start_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		var s, e int64
		if err := rows.Scan(&s, &e); err != nil {
			return nil, err
		}
		out = append(out, Slot{Start: fromMicros(s), End: fromMicros(e)})
	}
	return out, rows.Err()
}
