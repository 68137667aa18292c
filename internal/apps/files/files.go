package files

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Get reads file id's metadata with c's access (read).
func (s *Service) Get(ctx context.Context, c Caller, id string) (File, error) {
	return s.load(ctx, s.db, c, id, Read)
}

// Versions pages through file id's versions, newest first (read): limit
// of them, before the version cursor names ("" for the newest).
func (s *Service) Versions(ctx context.Context, c Caller, id string, limit int, cursor string) ([]Version, string, error) {
	cond, args := ``, []any{id}
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 32)
		if err != nil || n < 1 {
			return nil, "", fault.WithFields("invalid cursor", fault.FieldError{Location: "query.cursor", Message: "not a cursor of this list", Value: cursor})
		}
		cond, args = ` AND version < ?`, append(args, n)
	}
	if _, err := s.load(ctx, s.db, c, id, Read); err != nil {
		return nil, "", err
	}
	vs, err := store.Collect(ctx, s.db, scanVersion, `SELECT file_id, version, size, sha256, content_type, created_by, created_at
		FROM files_versions WHERE file_id = ?`+cond+` ORDER BY version DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	vs, next := store.TrimPage(vs, limit, func(v Version) string { return strconv.FormatInt(v.Version, 10) })
	return vs, next, nil
}

func scanVersion(r store.Scanner) (Version, error) {
	var v Version
	var at int64
	err := r.Scan(&v.FileID, &v.Version, &v.Size, &v.SHA256, &v.ContentType, &v.CreatedBy, &at)
	v.CreatedAt = fromMicros(at)
	return v, err
}

// Stored is a version's bytes as the blob store has them.
type Stored struct {
	File    File
	Version Version
	Key     string
	Thumb   bool // the version has a thumbnail at thumbKey(Key)
}

// Content finds version n (0: the current one) of file id for c (read).
func (s *Service) Content(ctx context.Context, c Caller, id string, n int64) (Stored, error) {
	f, err := s.load(ctx, s.db, c, id, Read)
	if err != nil {
		return Stored{}, err
	}
	return s.stored(ctx, f, n)
}

// stored reads version n (0: current) of f.
func (s *Service) stored(ctx context.Context, f File, n int64) (Stored, error) {
	if n == 0 {
		n = f.Version
	}
	st := Stored{File: f, Version: Version{FileID: f.ID}}
	var at, thumb int64
	err := s.db.QueryRow(ctx, `SELECT version, size, sha256, content_type, created_by, created_at, blob_key, thumbnail
		FROM files_versions WHERE file_id = ? AND version = ?`, f.ID, n).
		Scan(&st.Version.Version, &st.Version.Size, &st.Version.SHA256, &st.Version.ContentType, &st.Version.CreatedBy, &at, &st.Key, &thumb)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, fault.New(fault.NotFound, "the file has no version %d", n)
	}
	if err != nil {
		return Stored{}, store.Normalize(err)
	}
	st.Version.CreatedAt, st.Thumb = fromMicros(at), thumb == 1
	return st, nil
}

// Patch is a rename or a move; nil fields stay.
type Patch struct {
	Name   *string
	Folder *string
}

// Update renames or moves file id (write), at revision ifMatch when > 0.
func (s *Service) Update(ctx context.Context, c Caller, id string, ifMatch int64, p Patch) (File, error) {
	var name, folder string
	var err error
	if p.Name != nil {
		if name, err = CleanName("body.name", *p.Name); err != nil {
			return File{}, err
		}
	}
	if p.Folder != nil {
		if folder, err = CleanFolder("body.folder", *p.Folder); err != nil {
			return File{}, err
		}
	}
	var f File
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		cur, err := s.loadWritable(ctx, tx, c, id, ifMatch)
		if err != nil {
			return err
		}
		prev := cur
		if p.Name != nil {
			cur.Name = name
		}
		if p.Folder != nil {
			cur.Folder = folder
		}
		if cur.Name == prev.Name && cur.Folder == prev.Folder {
			f = cur
			return nil // nothing changes: no new revision, no event
		}
		cur.Revision, cur.UpdatedAt = cur.Revision+1, s.now()
		res, err := tx.Exec(ctx, `UPDATE files_files SET name = ?, name_key = ?, folder = ?, revision = ?, updated_at = ?
			WHERE id = ? AND revision = ?`, cur.Name, nameKey(cur.Name), cur.Folder, cur.Revision, micros(cur.UpdatedAt), id, prev.Revision)
		if err := oneRow(res, err); err != nil {
			return err
		}
		f = cur
		return s.emit(ctx, tx, EventRenamed, cur.OrgID, id, change{File: &cur, Previous: &place{Name: prev.Name, Folder: prev.Folder}, Actor: c.actor()})
	})
	return f, err
}

// Trash moves file id to the trash (manage); it is restorable for
// TrashDays, then purged.
func (s *Service) Trash(ctx context.Context, c Caller, id string, ifMatch int64) (File, error) {
	return s.setTrashed(ctx, c, id, ifMatch, true)
}

// Restore takes file id out of the trash (manage).
func (s *Service) Restore(ctx context.Context, c Caller, id string) (File, error) {
	return s.setTrashed(ctx, c, id, 0, false)
}

func (s *Service) setTrashed(ctx context.Context, c Caller, id string, ifMatch int64, trash bool) (File, error) {
	var f File
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		cur, err := s.load(ctx, tx, c, id, Manage)
		if err != nil {
			return err
		}
		if err := checkRevision(cur, ifMatch); err != nil {
			return err
		}
		if (cur.DeletedAt != nil) == trash {
			f = cur
			return nil // already there
		}
		now := s.now()
		var deleted any
		typ := EventRestored
		cur.DeletedAt = nil
		if trash {
			deleted, typ, cur.DeletedAt = micros(now), EventDeleted, &now
		}
		res, err := tx.Exec(ctx, `UPDATE files_files SET deleted_at = ?, revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?`,
			deleted, micros(now), id, cur.Revision)
		if err := oneRow(res, err); err != nil {
			return err
		}
		cur.Revision, cur.UpdatedAt = cur.Revision+1, now
		f = cur
		return s.emit(ctx, tx, typ, cur.OrgID, id, change{File: &cur, Actor: c.actor()})
	})
	return f, err
}

// Delete removes file id for good (manage): its rows go in one
// transaction, its blobs after the commit. A crash in between leaves
// blobs no row names, which the sweeper removes; never a row pointing
// at nothing.
func (s *Service) Delete(ctx context.Context, c Caller, id string, ifMatch int64) error {
	var keys []string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		f, err := s.load(ctx, tx, c, id, Manage)
		if err != nil {
			return err
		}
		if err := checkRevision(f, ifMatch); err != nil {
			return err
		}
		keys, err = s.deleteRows(ctx, tx, f, c.actor())
		return err
	})
	if err == nil {
		s.dropBlobs(ctx, keys...)
	}
	return err
}

// deleteRows deletes f's rows in tx, gives its bytes back to the org's
// quota, emits files.file.deleted (permanent) and returns the blob keys
// to delete once tx commits.
func (s *Service) deleteRows(ctx context.Context, tx *store.Tx, f File, actor string) ([]string, error) {
	keys, bytes, err := versionBlobs(ctx, tx, f.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range []string{"files_versions", "files_grants", "files_links"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+t+` WHERE file_id = ?`, f.ID); err != nil {
			return nil, err
		}
	}
	res, err := tx.Exec(ctx, `DELETE FROM files_files WHERE id = ? AND revision = ?`, f.ID, f.Revision)
	if err := oneRow(res, err); err != nil {
		return nil, err
	}
	if err := s.addUsage(ctx, tx, f.OrgID, -bytes); err != nil {
		return nil, err
	}
	return keys, s.emit(ctx, tx, EventDeleted, f.OrgID, f.ID, change{File: &f, Permanent: true, Actor: actor})
}

// versionBlobs lists the blobs of file id's versions (thumbnails included)
// and their bytes.
func versionBlobs(ctx context.Context, q store.Querier, id string) (keys []string, bytes int64, err error) {
	type row struct {
		key   string
		thumb bool
		size  int64
	}
	rows, err := store.Collect(ctx, q, func(r store.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.key, &x.thumb, &x.size)
	}, `SELECT blob_key, thumbnail, size FROM files_versions WHERE file_id = ?`, id)
	for _, x := range rows {
		keys, bytes = append(keys, x.key), bytes+x.size
		if x.thumb {
			keys = append(keys, thumbKey(x.key))
		}
	}
	return keys, bytes, err
}
