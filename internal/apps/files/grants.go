package files

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const grantCols = `file_id, principal_type, principal_id, access, created_by, created_at, updated_at`

func scanGrant(r store.Scanner) (Grant, error) {
	var g Grant
	var a Access
	var created, updated int64
	if err := r.Scan(&g.FileID, &g.PrincipalType, &g.PrincipalID, &a, &g.CreatedBy, &created, &updated); err != nil {
		return Grant{}, err
	}
	g.Access, g.CreatedAt, g.UpdatedAt = a.String(), fromMicros(created), fromMicros(updated)
	return g, nil
}

// Grants lists file id's grants (manage).
func (s *Service) Grants(ctx context.Context, c Caller, id string) ([]Grant, error) {
	if _, err := s.load(ctx, s.db, c, id, Manage); err != nil {
		return nil, err
	}
	return store.Collect(ctx, s.db, scanGrant, `SELECT `+grantCols+` FROM files_grants WHERE file_id = ? ORDER BY principal_type, principal_id`, id)
}

// PutGrant gives principal (typ, pid) access to file id (manage): a new
// grant, or a changed one. created reports a new grant; a grant that is
// already so changes nothing and emits nothing.
func (s *Service) PutGrant(ctx context.Context, c Caller, id, typ, pid, access string) (g Grant, created bool, err error) {
	a, err := parseAccess("body.access", access)
	if err != nil {
		return Grant{}, false, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		created = false
		f, err := s.load(ctx, tx, c, id, Manage)
		if err != nil {
			return err
		}
		if err := s.checkPrincipal(ctx, tx, f, typ, pid); err != nil {
			return err
		}
		old, err := scanGrant(tx.QueryRow(ctx, `SELECT `+grantCols+` FROM files_grants WHERE file_id = ? AND principal_type = ? AND principal_id = ?`,
			id, typ, pid))
		now := s.now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			g = Grant{FileID: id, PrincipalType: typ, PrincipalID: pid, Access: a.String(), CreatedBy: c.UserID, CreatedAt: now, UpdatedAt: now}
			if _, err := tx.Exec(ctx, `INSERT INTO files_grants (`+grantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				id, typ, pid, a, c.UserID, micros(now), micros(now)); err != nil {
				return err
			}
			created = true
			return s.emit(ctx, tx, EventGrantAdded, f.OrgID, id, change{File: &f, Grant: &g, Actor: c.actor()})
		case err != nil:
			return err
		case old.Access == a.String():
			g = old
			return nil
		}
		g = old
		g.Access, g.UpdatedAt = a.String(), now
		if _, err := tx.Exec(ctx, `UPDATE files_grants SET access = ?, updated_at = ? WHERE file_id = ? AND principal_type = ? AND principal_id = ?`,
			a, micros(now), id, typ, pid); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventGrantChanged, f.OrgID, id, change{File: &f, Grant: &g, Actor: c.actor()})
	})
	return g, created, err
}

// checkPrincipal refuses (422) a grant to a principal of another org: an
// org grant is for f's own org, a space grant for a space of it, a user
// grant for a member of it, or anyone when the org allows external
// sharing. The owner needs no grant.
func (s *Service) checkPrincipal(ctx context.Context, tx *store.Tx, f File, typ, pid string) error {
	bad := func(msg string) error {
		return fault.WithFields("invalid grant", fault.FieldError{Location: "body.principal_id", Message: msg, Value: pid})
	}
	e := tx.Engine()
	switch typ {
	case PrincipalOrg:
		if pid != f.OrgID {
			return bad("an org grant is for the file's own org")
		}
	case PrincipalSpace:
		err := tx.QueryRow(ctx, `SELECT 1 FROM `+orgs.Table(e, "orgs_groups")+` WHERE org_id = ? AND id = ?`, f.OrgID, pid).Scan(new(int))
		if errors.Is(err, sql.ErrNoRows) {
			return bad("no such space in the file's org")
		}
		return err
	case PrincipalUser:
		if pid == f.OwnerID {
			return bad("the owner has every access already")
		}
		if _, err := identity.LookupUser(ctx, tx, e, pid); fault.CodeOf(err) == fault.NotFound {
			return bad("no such user")
		} else if err != nil {
			return err
		}
		_, member, err := s.isMember(ctx, tx, f.OrgID, pid)
		if err != nil || member {
			return err
		}
		ext, err := s.externalSharing(ctx, tx, f.OrgID)
		if err == nil && !ext {
			err = bad("the user is not a member of the file's org, and the org does not allow external sharing")
		}
		return err
	default:
		return fault.WithFields("invalid grant", fault.FieldError{Location: "body.principal_type", Message: "must be one of user, org, space", Value: typ})
	}
	return nil
}

// RemoveGrant revokes principal (typ, pid)'s grant on file id (manage);
// the revocation applies from the next request on.
func (s *Service) RemoveGrant(ctx context.Context, c Caller, id, typ, pid string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		f, err := s.load(ctx, tx, c, id, Manage)
		if err != nil {
			return err
		}
		g, err := scanGrant(tx.QueryRow(ctx, `SELECT `+grantCols+` FROM files_grants WHERE file_id = ? AND principal_type = ? AND principal_id = ?`,
			id, typ, pid))
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "grant not found")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM files_grants WHERE file_id = ? AND principal_type = ? AND principal_id = ?`, id, typ, pid); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventGrantRemoved, f.OrgID, id, change{File: &f, Grant: &g, Actor: c.actor()})
	})
}
