package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Record is one record as the API shows it.
type Record struct {
	ID        string          `json:"id"`
	Type      string          `json:"type" doc:"The record's type (a key of config.json's types)."`
	OrgID     string          `json:"org_id"`
	ParentID  *string         `json:"parent_id" doc:"The parent record's id; null for a type without a parent."`
	Fields    json.RawMessage `json:"fields" doc:"The parameters of the record's type (GET /records/types)."`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Version   int64           `json:"version" doc:"Bumped by every change: the ETag."`
}

// recordCols are the columns scanRecord reads, in order.
const recordCols = `id, org_id, type, parent_id, fields, created_at, updated_at, version`

func scanRecord(r store.Scanner) (Record, error) {
	var rec Record
	var parent sql.NullString
	var fields []byte
	var created, updated int64
	if err := r.Scan(&rec.ID, &rec.OrgID, &rec.Type, &parent, &fields, &created, &updated, &rec.Version); err != nil {
		return Record{}, err
	}
	if parent.Valid {
		rec.ParentID = &parent.String
	}
	rec.Fields = json.RawMessage(fields)
	rec.CreatedAt = time.UnixMicro(created).UTC()
	rec.UpdatedAt = time.UnixMicro(updated).UTC()
	return rec, nil
}

// fieldMap decodes a record's stored fields.
func fieldMap(raw json.RawMessage) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("records: stored fields: %w", err)
	}
	return m, nil
}

// Caller is who acts: a user or service of one org, or an admin API key
// (every org).
type Caller struct {
	OrgID string
	// Actor names the caller in events: a user id, or "admin:<key id>".
	Actor string
	Admin bool
}

// orgClause restricts a query on alias-less records_records to the
// caller's org (nothing for an admin).
func (c Caller) orgClause(args []any) (string, []any) {
	if c.Admin {
		return "", args
	}
	return ` AND org_id = ?`, append(args, c.OrgID)
}

// errNotFound is the answer for a record that does not exist, is of
// another type or belongs to another org: never reveal which.
func errNotFound(t *schema.Type) error {
	return fault.New(fault.NotFound, "no %s with this id", t.DisplayName)
}

// Get returns the record id of type t.
func (s *Service) Get(ctx context.Context, c Caller, t *schema.Type, id string) (Record, error) {
	return s.load(ctx, s.db, c, t, id)
}

// load reads a record of type t visible to c.
func (s *Service) load(ctx context.Context, q store.Querier, c Caller, t *schema.Type, id string) (Record, error) {
	if !validID(id) {
		return Record{}, errNotFound(t)
	}
	where, args := c.orgClause([]any{id})
	rec, err := scanRecord(q.QueryRow(ctx, `SELECT `+recordCols+` FROM records_records WHERE id = ? AND type = '`+t.Name+`'`+where, args...))
	if err != nil {
		return Record{}, store.NotFound(err, t.DisplayName)
	}
	return rec, nil
}

// validID reports whether id is a canonical UUID (what every record id is).
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// Create stores a record of type t with the given fields under parent
// (required exactly when t has a parent type; nil when absent).
func (s *Service) Create(ctx context.Context, c Caller, t *schema.Type, parent *string, in map[string]json.RawMessage) (Record, error) {
	fields, refs, errs := t.Validate(nil, in, true)
	var parentID string
	switch {
	case t.Parent != "" && parent == nil:
		errs = append(errs, fault.FieldError{Location: "body.parent_id", Message: "required: the id of a " + t.Parent})
	case t.Parent == "" && parent != nil:
		errs = append(errs, fault.FieldError{Location: "body.parent_id", Message: t.Name + " has no parent type", Value: *parent})
	case parent != nil:
		parentID = *parent
	}
	if len(errs) > 0 {
		// Name the bad parent and refs too: one answer lists every problem.
		if parent != nil && t.Parent != "" {
			errs = append(errs, s.checkParent(ctx, s.db, c, t, parentID)...)
		}
		return Record{}, invalid(append(errs, s.checkRefs(ctx, s.db, c, refs)...))
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return Record{}, fmt.Errorf("records: fields: %w", err)
	}
	now := s.now()
	rec := Record{ID: uuid.Must(uuid.NewV7()).String(), Type: t.Name, OrgID: c.OrgID, Fields: raw,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if parent != nil {
		rec.ParentID = &parentID
	}
	err = s.writes.Do(ctx, func(tx *store.Tx) error {
		var errs []fault.FieldError
		if parent != nil {
			errs = append(errs, s.checkParent(ctx, tx, c, t, parentID)...)
		}
		errs = append(errs, s.checkRefs(ctx, tx, c, refs)...)
		if len(errs) > 0 {
			return invalid(errs)
		}
		_, err := tx.Exec(ctx, `INSERT INTO records_records (id, org_id, type, parent_id, fields, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1)`, rec.ID, rec.OrgID, rec.Type, rec.ParentID, string(raw), now.UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, c, "records.record.created", rec, map[string]any{"fields": rec.Fields})
	})
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// invalid is the 422 listing every bad field.
func invalid(errs []fault.FieldError) error {
	slices.SortStableFunc(errs, func(a, b fault.FieldError) int { return strings.Compare(a.Location, b.Location) })
	return fault.WithFields("invalid record", errs...)
}

// checkParent checks that parentID is a record of t's parent type in c's
// org.
func (s *Service) checkParent(ctx context.Context, q store.Querier, c Caller, t *schema.Type, parentID string) []fault.FieldError {
	bad := fault.FieldError{Location: "body.parent_id", Message: "no " + t.Parent + " with this id", Value: parentID}
	if !validID(parentID) {
		return []fault.FieldError{bad}
	}
	var typ, org string
	if err := q.QueryRow(ctx, `SELECT type, org_id FROM records_records WHERE id = ?`, parentID).Scan(&typ, &org); err != nil || org != c.OrgID {
		return []fault.FieldError{bad}
	}
	if typ != t.Parent {
		bad.Message = fmt.Sprintf("is a %s, not a %s", typ, t.Parent)
		return []fault.FieldError{bad}
	}
	return nil
}

// checkRefs checks that every ref names a record of its target type in
// c's org.
func (s *Service) checkRefs(ctx context.Context, q store.Querier, c Caller, refs []schema.RefValue) []fault.FieldError {
	if len(refs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	in, inArgs := store.In(ids)
	type found struct{ id, typ string }
	rows, err := store.Collect(ctx, q, func(r store.Scanner) (found, error) {
		var f found
		err := r.Scan(&f.id, &f.typ)
		return f, err
	}, `SELECT id, type FROM records_records WHERE org_id = ? AND id IN (`+in+`)`, append([]any{c.OrgID}, inArgs...)...)
	if err != nil {
		return []fault.FieldError{{Location: "body.fields", Message: "the references could not be checked"}}
	}
	types := map[string]string{}
	for _, f := range rows {
		types[f.id] = f.typ
	}
	var errs []fault.FieldError
	for _, r := range refs {
		switch typ, ok := types[r.ID]; {
		case !ok:
			errs = append(errs, fault.FieldError{Location: "body.fields." + r.Field, Message: "no " + r.Target + " with this id", Value: r.ID})
		case typ != r.Target:
			errs = append(errs, fault.FieldError{Location: "body.fields." + r.Field, Message: fmt.Sprintf("is a %s, not a %s", typ, r.Target), Value: r.ID})
		}
	}
	return errs
}

// Update applies patch to the fields of record id (null removes a field)
// and validates the whole result. ifMatch, when not zero, is the version the
// caller read: another one is 412.
func (s *Service) Update(ctx context.Context, c Caller, t *schema.Type, id string, ifMatch int64, patch map[string]json.RawMessage) (Record, error) {
	var rec Record
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := s.load(ctx, tx, c, t, id)
		if err != nil {
			return err
		}
		if ifMatch != 0 && ifMatch != cur.Version {
			return fault.New(fault.Precondition, "the record changed since version %d (now %d)", ifMatch, cur.Version)
		}
		stored, err := fieldMap(cur.Fields)
		if err != nil {
			return err
		}
		fields, refs, errs := t.Validate(stored, patch, false)
		errs = append(errs, s.checkRefs(ctx, tx, Caller{OrgID: cur.OrgID}, refs)...)
		if len(errs) > 0 {
			return invalid(errs)
		}
		raw, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("records: fields: %w", err)
		}
		now := s.now()
		res, err := tx.Exec(ctx, `UPDATE records_records SET fields = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			string(raw), now.UnixMicro(), id, cur.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fault.New(fault.Conflict, "the record changed meanwhile: retry")
		}
		rec = cur
		rec.Fields, rec.UpdatedAt, rec.Version = raw, now, cur.Version+1
		return s.emit(ctx, tx, c, "records.record.updated", rec, map[string]any{"changes": changes(stored, fields)})
	})
	return rec, err
}

// change is one field's old and new value in an update's event.
type change struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// changes lists the fields whose value differs between before and after
// (null for an absent value).
func changes(before, after map[string]json.RawMessage) map[string]change {
	out := map[string]change{}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if string(before[k]) != string(after[k]) {
			out[k] = change{From: before[k], To: orNull(after[k])}
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			out[k] = change{From: orNull(nil), To: v}
		}
	}
	return out
}

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	return v
}

// Delete removes record id and its descendants in one transaction. A
// record another record refers to (a ref field) outside the deleted tree
// is kept: 409 naming the referrers. ifMatch as for Update.
func (s *Service) Delete(ctx context.Context, c Caller, t *schema.Type, id string, ifMatch int64) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		root, err := s.load(ctx, tx, c, t, id)
		if err != nil {
			return err
		}
		if ifMatch != 0 && ifMatch != root.Version {
			return fault.New(fault.Precondition, "the record changed since version %d (now %d)", ifMatch, root.Version)
		}
		tree, err := store.Collect(ctx, tx, scanRecord, `WITH RECURSIVE tree(id) AS (
				SELECT CAST(? AS TEXT) UNION ALL SELECT r.id FROM records_records r JOIN tree ON r.parent_id = tree.id)
			SELECT `+prefixed("r.", recordCols)+` FROM records_records r JOIN tree ON r.id = tree.id`, id)
		if err != nil {
			return err
		}
		if err := s.checkReferrers(ctx, tx, root.OrgID, tree); err != nil {
			return err
		}
		ids := make([]string, len(tree))
		for i, r := range tree {
			ids[i] = r.ID
		}
		for _, chunk := range store.Split(ids, 512) {
			in, args := store.In(chunk)
			if _, err := tx.Exec(ctx, `DELETE FROM records_records WHERE id IN (`+in+`)`, args...); err != nil {
				return err
			}
		}
		for _, r := range tree {
			extra := map[string]any{"fields": r.Fields}
			if r.ID != root.ID {
				extra["deleted_with"] = root.ID
			}
			if err := s.emit(ctx, tx, c, "records.record.deleted", r, extra); err != nil {
				return err
			}
		}
		return nil
	})
}

// prefixed qualifies a comma-separated column list.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = alias + p
	}
	return strings.Join(parts, ", ")
}

// checkReferrers refuses to delete tree when a record outside it refers to
// one of its records through a ref field.
func (s *Service) checkReferrers(ctx context.Context, tx *store.Tx, orgID string, tree []Record) error {
	sc := s.schema()
	inTree := map[string]bool{}
	byType := map[string][]string{}
	for _, r := range tree {
		inTree[r.ID] = true
		byType[r.Type] = append(byType[r.Type], r.ID)
	}
	var errs []fault.FieldError
	for _, name := range sc.Names() {
		rt, _ := sc.Type(name)
		for _, p := range rt.Params {
			ids := byType[p.Target]
			if p.Kind != schema.KindRef || len(ids) == 0 {
				continue
			}
			expr := fieldExpr(tx.Engine(), p)
			for _, chunk := range store.Split(ids, 512) {
				in, args := store.In(chunk)
				refs, err := store.Collect(ctx, tx, store.ScanOne[string], `SELECT id FROM records_records WHERE type = '`+rt.Name+
					`' AND org_id = ? AND `+expr+` IN (`+in+`) LIMIT 11`, append([]any{orgID}, args...)...)
				if err != nil {
					return err
				}
				for _, ref := range refs {
					if !inTree[ref] && len(errs) < 10 {
						errs = append(errs, fault.FieldError{Location: rt.Name + "." + p.Name, Message: "refers to this record or one of its descendants", Value: ref})
					}
				}
			}
		}
	}
	if len(errs) > 0 {
		return &fault.Error{Code: fault.Conflict, Message: "other records refer to this one: change or delete them first", Fields: errs}
	}
	return nil
}

// emit records a change of rec in tx; extra adds to the payload.
func (s *Service) emit(ctx context.Context, tx *store.Tx, c Caller, typ string, rec Record, extra map[string]any) error {
	payload := map[string]any{"type": rec.Type, "parent_id": rec.ParentID, "version": rec.Version, "actor": c.Actor}
	maps.Copy(payload, extra)
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("records: event payload: %w", err)
	}
	return s.events.Emit(ctx, tx, events.Event{Type: typ, OrgID: rec.OrgID, Subject: rec.ID, Payload: b})
}
