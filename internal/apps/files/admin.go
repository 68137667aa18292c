package files

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The admin collection /admin/files/files (README.md, Admin routes), for
// admin API keys only (env.Admin checks them): every org's files, with
// the trash; changes go through the service with manage access and emit
// the same events (actor "admin").

type adminListInput struct {
	OrgID  string `query:"org_id" maxLength:"255" doc:"Only files of this org."`
	Q      string `query:"q" maxLength:"255" doc:"Only names containing this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page."`
}

// AdminList pages through every org's files (trash included), by id.
func (s *Service) AdminList(ctx context.Context, orgID, q string, limit int, cursor string) ([]File, string, error) {
	query, args := `SELECT `+fileCols+` FROM files_files f WHERE f.id > ?`, []any{cursor}
	if orgID != "" {
		query, args = query+` AND f.org_id = ?`, append(args, orgID)
	}
	if t := strings.TrimSpace(q); t != "" {
		cond, arg := store.ContainsFold("f.name_key", nameKey(t))
		query, args = query+` AND `+cond, append(args, arg)
	}
	out, err := store.Collect(ctx, s.db, func(r store.Scanner) (File, error) { return scanFile(r) }, query+` ORDER BY f.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	list, next := store.TrimPage(out, limit, func(f File) string { return f.ID })
	return list, next, nil
}

func (s *Service) registerAdmin(api huma.API) {
	admin := Caller{Admin: true}
	tags := []string{"admin"}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: "admin-files-" + id, Method: method, Path: "/files" + path, Summary: summary, Description: desc, Tags: tags}
	}
	huma.Register(api, op("list", http.MethodGet, "", "List every org's files", "Trash included; by id."),
		func(ctx context.Context, in *adminListInput) (*httpapi.ListOutput[File], error) {
			list, next, err := s.AdminList(ctx, in.OrgID, in.Q, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(list, next), nil
		})
	huma.Register(api, op("get", http.MethodGet, "/{id}", "Get a file", "Any org's, trash included."),
		func(ctx context.Context, in *idInput) (*fileOutput, error) {
			f, err := s.load(ctx, s.db, admin, in.ID, Read)
			if err != nil {
				return nil, err
			}
			return fileOut(f, false), nil
		})
	huma.Register(api, op("update", http.MethodPatch, "/{id}", "Rename or move a file",
		"The same rules as PATCH /files/{id}; If-Match optional."),
		func(ctx context.Context, in *patchInput) (*fileOutput, error) {
			v, _, err := httpapi.ParseIfMatch(in.IfMatch)
			if err != nil {
				return nil, err
			}
			f, err := s.Update(ctx, admin, in.ID, v, Patch{Name: in.Body.Name, Folder: in.Body.Folder})
			if err != nil {
				return nil, err
			}
			return fileOut(f, false), nil
		})
	del := op("delete", http.MethodDelete, "/{id}", "Trash or delete a file", "To the trash; with permanent=true for good, blobs included.")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, func(ctx context.Context, in *deleteInput) (*struct{}, error) {
		v, _, err := httpapi.ParseIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		if in.Permanent {
			return nil, s.Delete(ctx, admin, in.ID, v)
		}
		_, err = s.Trash(ctx, admin, in.ID, v)
		return nil, err
	})
}
