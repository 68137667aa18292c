package records

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// ListQuery selects and orders a page of records of one type.
type ListQuery struct {
	// Filters are equality filters, field name → the query string's value;
	// only indexed fields.
	Filters map[string]string
	// Sort is "created_at" (the default is "-created_at"), "updated_at" or
	// an indexed field, "-" first for descending.
	Sort   string
	Limit  int
	Cursor string
	// ParentID, when set, lists the children of that record.
	ParentID string
}

// cursor is a position in a listing: the last row's sort key. Sort repeats
// the listing's sort so a cursor is never applied to another order.
type cursor struct {
	Sort  string `json:"s"`
	Value any    `json:"v,omitempty"` // the field's value when sorting by a field (null: absent)
	Time  int64  `json:"t"`           // created_at or updated_at, microseconds
	ID    string `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) //nolint:errchkjson // strings, numbers and bools only
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = fault.New(fault.Malformed, "invalid cursor: pass next_cursor back unchanged, with the same sort")

func decodeCursor(s, sort string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 2048 {
		return cursor{}, errCursor
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil || c.Sort != sort || !validID(c.ID) {
		return cursor{}, errCursor
	}
	return c, nil
}

// order is a listing's resolved sort.
type order struct {
	key   string        // as requested, e.g. "-created_at"
	desc  bool          // descending
	param *schema.Param // the field sorted by, or nil
	time  string        // "created_at" or "updated_at": the sort column or the tie-breaker
}

func parseSort(t *schema.Type, s string) (order, error) {
	if s == "" {
		s = "-created_at"
	}
	o := order{key: s, time: "created_at"}
	name := s
	if strings.HasPrefix(name, "-") {
		o.desc, name = true, name[1:]
	}
	switch name {
	case "created_at":
	case "updated_at":
		o.time = "updated_at"
	default:
		p, ok := t.Param(name)
		if !ok || !p.Indexed {
			return order{}, fault.WithFields("invalid sort", fault.FieldError{Location: "query.sort",
				Message: "sort by created_at, updated_at or an indexed field of " + t.Name + " (" + strings.Join(indexedNames(t), ", ") + "), - first for descending", Value: s})
		}
		o.param = p
	}
	return o, nil
}

// indexedNames lists t's indexed fields.
func indexedNames(t *schema.Type) []string {
	var names []string
	for _, p := range t.Params {
		if p.Indexed {
			names = append(names, p.Name)
		}
	}
	return names
}

// List returns a page of the records of type t visible to c, and the
// cursor of the next page ("" on the last). Every filter and sort reads an
// index: keyset pagination on (field, time, id) costs the same on any page
// of any table.
func (s *Service) List(ctx context.Context, c Caller, t *schema.Type, q ListQuery) ([]Record, string, error) {
	o, err := parseSort(t, q.Sort)
	if err != nil {
		return nil, "", err
	}
	engine := s.db.Engine()
	where := []string{`type = '` + t.Name + `'`}
	var args []any
	if !c.Admin {
		where, args = append(where, `org_id = ?`), append(args, c.OrgID)
	}
	if q.ParentID != "" {
		where, args = append(where, `parent_id = ?`), append(args, q.ParentID)
	}
	var errs []fault.FieldError
	for _, name := range sortedKeys(q.Filters) {
		p, ok := t.Param(name)
		if !ok {
			errs = append(errs, fault.FieldError{Location: "query.filter[" + name + "]", Message: "no such field in " + t.Name})
			continue
		}
		v, err := p.ParseFilter(q.Filters[name])
		if err != nil {
			errs = append(errs, fault.FieldError{Location: "query.filter[" + name + "]", Message: err.Error(), Value: q.Filters[name]})
			continue
		}
		where, args = append(where, fieldExpr(engine, p)+` = ?`), append(args, bindValue(p, v))
	}
	if len(errs) > 0 {
		return nil, "", fault.WithFields("invalid filter", errs...)
	}
	cols := []string{o.time, "id"}
	if o.param != nil {
		cols = []string{fieldExpr(engine, o.param), o.time, "id"}
	}
	if q.Cursor != "" {
		cur, err := decodeCursor(q.Cursor, o.key)
		if err != nil {
			return nil, "", err
		}
		cmp := " > "
		if o.desc {
			cmp = " < "
		}
		vals := []string{"?", "?"}
		if o.param != nil {
			lit, arg, err := cursorValue(engine, o.param, cur.Value)
			if err != nil {
				return nil, "", err
			}
			vals = append([]string{lit}, vals...)
			if lit == "?" {
				args = append(args, arg)
			}
		}
		where, args = append(where, `(`+strings.Join(cols, ", ")+`)`+cmp+`(`+strings.Join(vals, ", ")+`)`), append(args, cur.Time, cur.ID)
	}
	dir := ""
	if o.desc {
		dir = " DESC"
	}
	orderBy := strings.Join(cols, dir+", ") + dir
	recs, err := store.Collect(ctx, s.db, scanRecord, `SELECT `+recordCols+` FROM records_records WHERE `+
		strings.Join(where, " AND ")+` ORDER BY `+orderBy+` LIMIT ?`, append(args, q.Limit+1)...)
	if err != nil {
		return nil, "", err
	}
	page, next := store.TrimPage(recs, q.Limit, func(r Record) string {
		c := cursor{Sort: o.key, Time: r.CreatedAt.UnixMicro(), ID: r.ID}
		if o.time == "updated_at" {
			c.Time = r.UpdatedAt.UnixMicro()
		}
		if o.param != nil {
			if m, err := fieldMap(r.Fields); err == nil {
				c.Value = o.param.Decode(m[o.param.Name])
			}
		}
		return c.encode()
	})
	return page, next, nil
}

// cursorValue is the SQL for a cursor's field value: a placeholder and its
// argument, or the expression's literal for an absent number. A value of
// the wrong kind is a malformed cursor.
func cursorValue(engine store.Engine, p *schema.Param, v any) (string, any, error) {
	if v == nil {
		if lit := absentLiteral(engine, p); lit != "" {
			return lit, nil, nil
		}
		return "?", bindValue(p, nil), nil
	}
	switch p.Kind {
	case schema.KindNumber, schema.KindInteger:
		n, ok := v.(json.Number)
		if !ok {
			return "", nil, errCursor
		}
		if p.Kind == schema.KindInteger {
			i, err := n.Int64()
			if err != nil {
				return "", nil, errCursor
			}
			return "?", bindValue(p, i), nil
		}
		f, err := n.Float64()
		if err != nil {
			return "", nil, errCursor
		}
		return "?", bindValue(p, f), nil
	case schema.KindBoolean:
		if _, ok := v.(bool); !ok {
			return "", nil, errCursor
		}
	default:
		if _, ok := v.(string); !ok {
			return "", nil, errCursor
		}
	}
	return "?", bindValue(p, v), nil
}
