package files

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// ListQuery selects files for List.
type ListQuery struct {
	// Folder, when set, lists that folder only (not its subfolders).
	Folder *string
	// SharedWithMe lists files of others shared with the caller, in every
	// org, instead of the caller's org.
	SharedWithMe bool
	// Trashed lists the trash (files the caller may manage) instead.
	Trashed bool
	// Q keeps names containing this text (case-insensitive).
	Q      string
	Limit  int
	Cursor string
}

// List pages through the files c can read: in c's org (or shared with c,
// or in the trash), by folder, name and id.
func (s *Service) List(ctx context.Context, c Caller, in ListQuery) ([]File, string, error) {
	var conds []string
	var args []any
	switch {
	case in.SharedWithMe:
		e := s.db.Engine()
		conds = append(conds, `f.owner_id <> ?`, `f.id IN (
			SELECT file_id FROM files_grants WHERE principal_type = 'user' AND principal_id = ?
			UNION SELECT g.file_id FROM files_grants g JOIN `+orgs.Table(e, "orgs_members")+` m
				ON g.principal_type = 'org' AND m.org_id = g.principal_id AND m.user_id = ?
			UNION SELECT g.file_id FROM files_grants g JOIN `+orgs.Table(e, "orgs_group_members")+` gm
				ON g.principal_type = 'space' AND gm.group_id = g.principal_id AND gm.user_id = ?)`)
		args = append(args, c.UserID, c.UserID, c.UserID, c.UserID)
	default:
		if err := s.requireMember(ctx, s.db, c); err != nil {
			return nil, "", err
		}
		conds, args = append(conds, `f.org_id = ?`), append(args, c.OrgID)
	}
	need := Read
	if in.Trashed {
		conds, need = append(conds, `f.deleted_at IS NOT NULL`), Manage
	} else {
		conds = append(conds, `f.deleted_at IS NULL`)
	}
	if in.Folder != nil {
		folder, err := CleanFolder("query.folder", *in.Folder)
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, `f.folder = ?`), append(args, folder)
	}
	if q := strings.TrimSpace(in.Q); q != "" {
		cond, arg := store.ContainsFold("f.name_key", nameKey(q))
		conds, args = append(conds, cond), append(args, arg)
	}
	if in.Cursor != "" {
		folder, key, id, err := parseCursor(in.Cursor)
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, `(f.folder, f.name_key, f.id) > (?, ?, ?)`), append(args, folder, key, id)
	}
	conds, args = append(conds, s.access+` >= ?`), append(append(args, accessArgs(c.UserID)...), need)
	out, err := store.Collect(ctx, s.db, func(r store.Scanner) (File, error) {
		var a Access
		f, err := scanFile(r, &a)
		f.Access = a.String()
		return f, err
	}, `SELECT `+fileCols+`, `+s.access+` FROM files_files f WHERE `+strings.Join(conds, ` AND `)+`
		ORDER BY f.folder, f.name_key, f.id LIMIT ?`, append(append(accessArgs(c.UserID), args...), in.Limit+1)...)
	if err != nil {
		return nil, "", err
	}
	items, next := store.TrimPage(out, in.Limit, func(f File) string { return makeCursor(f.Folder, nameKey(f.Name), f.ID) })
	return items, next, nil
}

// A listing cursor is the last item's (folder, name key, id), base64url.
func makeCursor(folder, key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(folder + "\x00" + key + "\x00" + id))
}

func parseCursor(c string) (folder, key, id string, err error) {
	b, derr := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "\x00")
	if derr != nil || len(parts) != 3 {
		return "", "", "", fault.WithFields("invalid cursor", fault.FieldError{Location: "query.cursor", Message: "not a cursor of this list", Value: c})
	}
	return parts[0], parts[1], parts[2], nil
}

// GetSettings reads c's org's settings (members).
func (s *Service) GetSettings(ctx context.Context, c Caller) (Settings, error) {
	if err := s.requireMember(ctx, s.db, c); err != nil {
		return Settings{}, err
	}
	return s.settings(ctx, s.db, c.OrgID)
}

func (s *Service) settings(ctx context.Context, q store.Querier, orgID string) (Settings, error) {
	ext, err := s.externalSharing(ctx, q, orgID)
	if err != nil {
		return Settings{}, err
	}
	used, err := s.usage(ctx, q, orgID)
	return Settings{OrgID: orgID, ExternalSharing: ext, UsedBytes: used, QuotaBytes: s.opts.Quota}, err
}

// SetExternalSharing turns sharing with users outside c's org on or off
// (owners and admins of the org). Turned off, existing grants to
// outsiders stop working at once (and work again if it is turned on).
func (s *Service) SetExternalSharing(ctx context.Context, c Caller, on bool) (Settings, error) {
	var out Settings
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if c.OrgID == "" {
			return s.requireMember(ctx, tx, c)
		}
		role, ok, err := s.isMember(ctx, tx, c.OrgID, c.UserID)
		if err != nil {
			return err
		}
		if !ok || role == orgs.RoleMember {
			return fault.New(fault.Forbidden, "only owners and admins of the org change its sharing settings")
		}
		v := 0
		if on {
			v = 1
		}
		if _, err := tx.Exec(ctx, `INSERT INTO files_settings (org_id, external_sharing, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET external_sharing = excluded.external_sharing, updated_at = excluded.updated_at`,
			c.OrgID, v, micros(s.now())); err != nil {
			return err
		}
		if out, err = s.settings(ctx, tx, c.OrgID); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventSettings, c.OrgID, c.OrgID, change{Settings: &out, Actor: c.actor()})
	})
	return out, err
}
