package records

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The admin service's view (records.md, Admin service): every record of
// every org under /admin/records/records, for admin API keys only
// (env.Admin checks them): searchable, editable with the same validation,
// deletable with the same cascade, with its audit trail from the event
// log; and the records a config change left not fitting their type.

// adminCaller is the request's admin key.
func adminCaller(ctx context.Context) Caller {
	p, _ := authz.FromContext(ctx)
	return Caller{Admin: true, Actor: "admin:" + p.ClientID}
}

// AdminList pages through every org's records by id; orgID, typ and q
// (text anywhere in the fields, case-insensitive) narrow it.
func (s *Service) AdminList(ctx context.Context, orgID, typ, q string, limit int, cursor string) ([]Record, string, error) {
	query, args := `SELECT `+recordCols+` FROM records_records WHERE id > ?`, []any{cursor}
	if orgID != "" {
		query, args = query+` AND org_id = ?`, append(args, orgID)
	}
	if typ != "" {
		query, args = query+` AND type = ?`, append(args, typ)
	}
	if q != "" {
		cond, arg := store.ContainsFold(`CAST(fields AS TEXT)`, q)
		query, args = query+` AND `+cond, append(args, arg)
	}
	recs, err := store.Collect(ctx, s.db, scanRecord, query+` ORDER BY id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	page, next := store.TrimPage(recs, limit, func(r Record) string { return r.ID })
	return page, next, nil
}

// adminType resolves the type of record id for an admin change: its
// config type, or a stand-in (name only) for a type the config dropped,
// which can be read and deleted but not edited.
func (s *Service) adminType(ctx context.Context, id string) (*schema.Type, bool, error) {
	if !validID(id) {
		return nil, false, fault.New(fault.NotFound, "no record with this id")
	}
	var typ string
	if err := s.db.QueryRow(ctx, `SELECT type FROM records_records WHERE id = ?`, id).Scan(&typ); err != nil {
		return nil, false, store.NotFound(err, "record")
	}
	if t, ok := s.schema().Type(typ); ok {
		return t, true, nil
	}
	return &schema.Type{Name: typ, DisplayName: typ}, false, nil
}

// Misfits pages through the records (by id) whose stored fields no longer
// fit their type, or whose type the config dropped; each page examines at
// most scan records, so a page may hold fewer than limit (follow
// next_cursor until it is absent).
func (s *Service) Misfits(ctx context.Context, limit int, cursor string) ([]Misfit, string, error) {
	const scan = 5000
	recs, err := store.Collect(ctx, s.db, scanRecord, `SELECT `+recordCols+` FROM records_records WHERE id > ? ORDER BY id LIMIT ?`, cursor, scan)
	if err != nil {
		return nil, "", err
	}
	sc := s.schema()
	out := []Misfit{}
	for i, r := range recs {
		m := Misfit{Record: r}
		if t, ok := sc.Type(r.Type); !ok {
			m.Problems = []fault.FieldError{{Location: "type", Message: "the config no longer has this type", Value: r.Type}}
		} else if stored, err := fieldMap(r.Fields); err != nil {
			m.Problems = []fault.FieldError{{Location: "fields", Message: "not a JSON object"}}
		} else {
			_, _, m.Problems = t.Validate(stored, nil, false)
		}
		if len(m.Problems) == 0 {
			continue
		}
		out = append(out, m)
		if len(out) == limit {
			if i == len(recs)-1 && len(recs) < scan {
				return out, "", nil
			}
			return out, r.ID, nil
		}
	}
	if len(recs) < scan {
		return out, "", nil
	}
	return out, recs[len(recs)-1].ID, nil
}

// Misfit is a record that does not fit the config in force, and why.
type Misfit struct {
	Record   Record             `json:"record"`
	Problems []fault.FieldError `json:"problems"`
}

type adminListInput struct {
	OrgID  string `query:"org_id" maxLength:"255" doc:"Only records of this org."`
	Type   string `query:"type" maxLength:"30" doc:"Only records of this type."`
	Q      string `query:"q" maxLength:"255" doc:"Only records whose fields contain this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"36" doc:"The next_cursor of the previous page."`
}

type adminIDInput struct {
	ID string `path:"id" maxLength:"36" doc:"The record's id."`
}

type adminPatchInput struct {
	ID      string `path:"id" maxLength:"36" doc:"The record's id."`
	IfMatch string `header:"If-Match" maxLength:"40" doc:"Optional: the ETag you read; another version is 412."`
	Body    RecordPatch
}

type adminDeleteInput struct {
	ID      string `path:"id" maxLength:"36" doc:"The record's id."`
	IfMatch string `header:"If-Match" maxLength:"40" doc:"Optional: the ETag you read; another version is 412."`
}

type adminEventsInput struct {
	ID     string `path:"id" maxLength:"36" doc:"The record's id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page."`
}

type adminMisfitsInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"36" doc:"The next_cursor of the previous page."`
}

func (s *Service) registerAdmin(api huma.API) {
	tags := []string{"admin"}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: "admin-records-" + id, Method: method, Path: path, Summary: summary, Description: desc, Tags: tags}
	}
	huma.Register(api, op("list", http.MethodGet, "/records", "List every org's records",
		"By id; org_id, type and q (text in the fields) narrow it."),
		func(ctx context.Context, in *adminListInput) (*httpapi.ListOutput[Record], error) {
			list, next, err := s.AdminList(ctx, in.OrgID, in.Type, in.Q, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		})
	huma.Register(api, op("get", http.MethodGet, "/records/{id}", "Get a record", "Of any org and type."),
		func(ctx context.Context, in *adminIDInput) (*recordOutput, error) {
			t, _, err := s.adminType(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			r, err := s.Get(ctx, adminCaller(ctx), t, in.ID)
			if err != nil {
				return nil, err
			}
			return recordOut(r), nil
		})
	huma.Register(api, op("update", http.MethodPatch, "/records/{id}", "Update a record",
		"The same validation as PATCH /records/{plural}/{id}; a record of a type the config dropped cannot be edited (422)."),
		func(ctx context.Context, in *adminPatchInput) (*recordOutput, error) {
			v, _, err := httpapi.ParseIfMatch(in.IfMatch)
			if err != nil {
				return nil, err
			}
			t, configured, err := s.adminType(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			if !configured {
				return nil, fault.WithFields("type no longer configured", fault.FieldError{Location: "type",
					Message: "the config no longer has this type: the record can be read and deleted, not edited", Value: t.Name})
			}
			r, err := s.Update(ctx, adminCaller(ctx), t, in.ID, v, in.Body.Fields)
			if err != nil {
				return nil, err
			}
			return recordOut(r), nil
		})
	del := op("delete", http.MethodDelete, "/records/{id}", "Delete a record", "With its descendants, as DELETE /records/{plural}/{id}.")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, func(ctx context.Context, in *adminDeleteInput) (*struct{}, error) {
		v, _, err := httpapi.ParseIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		t, _, err := s.adminType(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return nil, s.Delete(ctx, adminCaller(ctx), t, in.ID, v)
	})
	huma.Register(api, op("events", http.MethodGet, "/records/{id}/events", "A record's audit trail",
		"Its events (created, updated with each field's old and new value, deleted), oldest first, with who acted; "+
			"as far back as the event log's retention (events.retention)."),
		func(ctx context.Context, in *adminEventsInput) (*httpapi.ListOutput[events.Event], error) {
			if !validID(in.ID) {
				return nil, fault.New(fault.NotFound, "no record with this id")
			}
			evs, err := s.events.Read(ctx, events.Cursor(in.Cursor), events.Filter{App: appName, Subject: in.ID}, in.Limit+1)
			if err != nil {
				return nil, err
			}
			page, next := store.TrimPage(evs, in.Limit, func(e events.Event) string { return string(e.Cursor) })
			return httpapi.Page(page, next), nil
		})
	huma.Register(api, op("misfits", http.MethodGet, "/misfits", "Records that no longer fit the config",
		"After a config change: records of dropped types or whose fields fail their type's validation, with the problems. "+
			"Kept as they are; fix them with PATCH (the whole record is validated) or delete them."),
		func(ctx context.Context, in *adminMisfitsInput) (*httpapi.ListOutput[Misfit], error) {
			list, next, err := s.Misfits(ctx, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		})
}
