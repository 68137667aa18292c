package files

import (
	"context"
	"database/sql"
	"io"
	"strconv"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Content is the bytes of a new file or version as a request brings them.
type Content struct {
	// Body is read to its end (or to the size limit).
	Body io.Reader
	// Size is the announced length (Content-Length); -1 when unknown.
	Size int64
	// ContentType is the declared type; kept when the bytes agree.
	ContentType string
	// SHA256 is the expected digest (lowercase hex); "" for none.
	SHA256 string
	// In is where the name and folder came from: "header" (X-File-Name,
	// X-Folder) or "body" (multipart fields); errors name it.
	In string
	// Check, when set, runs after the bytes are stored and before they are
	// committed (a multipart body checks it has no second file); an error
	// stores nothing.
	Check func() error
}

// Reasons of the app's problems.
const (
	ReasonQuota          = "quota_exceeded"
	ReasonDigestMismatch = "digest_mismatch"
	ReasonStale          = "stale_etag"
)

func errQuota() error {
	return &fault.Error{Code: fault.TooLarge, Reason: ReasonQuota, Message: "the organization's storage quota would be exceeded"}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func errTooBig(limit int64) error {
	return fault.New(fault.TooLarge, "a file may have at most %d bytes", limit)
}

// limit is the most bytes org may store now in one version (the upload
// limit, and what is left of the quota), refusing (413), before a byte is
// read, content whose announced size (-1: unknown) is over it.
func (s *Service) limit(ctx context.Context, orgID string, size int64) (int64, error) {
	if size > s.opts.MaxUpload {
		return 0, errTooBig(s.opts.MaxUpload)
	}
	if s.opts.Quota == 0 {
		return s.opts.MaxUpload, nil
	}
	used, err := s.usage(ctx, s.db, orgID)
	if err != nil {
		return 0, err
	}
	left := s.opts.Quota - used
	if size > left || (left <= 0 && size != 0) {
		return 0, errQuota()
	}
	return max(min(s.opts.MaxUpload, left), 1), nil // MaxBytes 0 would mean no limit
}

// putContent streams c into a new blob of file id and returns it: at most
// what limit allows, the declared digest checked, the type sniffed. On
// error nothing is left behind.
func (s *Service) putContent(ctx context.Context, orgID, fileID string, c Content) (blob.Object, error) {
	limit, err := s.limit(ctx, orgID, c.Size)
	if err != nil {
		return blob.Object{}, err
	}
	body, typ, err := sniff(c.Body, c.ContentType)
	if err != nil {
		return blob.Object{}, fault.Wrap(err, fault.Malformed, "reading the upload")
	}
	key := versionKey(fileID)
	obj, err := s.blobs.Put(ctx, key, body, blob.PutOptions{ContentType: typ, SHA256: c.SHA256, MaxBytes: limit})
	switch {
	case err == nil:
	case fault.CodeOf(err) == fault.TooLarge && limit < s.opts.MaxUpload:
		return blob.Object{}, errQuota()
	case fault.CodeOf(err) == fault.TooLarge:
		return blob.Object{}, errTooBig(s.opts.MaxUpload)
	case fault.CodeOf(err) == fault.Invalid && c.SHA256 != "":
		return blob.Object{}, &fault.Error{Code: fault.Malformed, Reason: ReasonDigestMismatch,
			Message: "the body does not match its Digest; nothing was stored"}
	default:
		return blob.Object{}, err
	}
	if c.Check != nil {
		if err := c.Check(); err != nil {
			s.dropBlobs(ctx, key)
			return blob.Object{}, err
		}
	}
	return obj, nil
}

// versionKey is a new blob key for a version of file id.
func versionKey(fileID string) string { return blobPrefix + fileID + "/" + newID() }

// thumbKey is the key of a version's thumbnail.
func thumbKey(versionKey string) string { return versionKey + thumbSuffix }

const (
	// blobPrefix holds every blob of the app.
	blobPrefix = appName + "/"
	// uploadPrefix holds direct uploads as their signed URLs write them:
	// files/uploads/<upload id>.
	uploadPrefix = blobPrefix + "uploads/"
	// uploadedPrefix holds them once checked: files/uploaded/<upload id>.
	uploadedPrefix = blobPrefix + "uploaded/"
	thumbSuffix    = ".thumb.jpg"
)

// dropBlobs deletes blobs no committed row names (after a rollback, or
// after the rows were deleted). A failure is left to the sweeper.
func (s *Service) dropBlobs(ctx context.Context, keys ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		_ = s.blobs.Delete(ctx, k)
	}
}

// usage is the bytes org stores.
func (s *Service) usage(ctx context.Context, q store.Querier, orgID string) (int64, error) {
	var used int64
	err := q.QueryRow(ctx, `SELECT bytes FROM files_usage WHERE org_id = ?`, orgID).Scan(&used)
	if err := store.NotFound(err, "usage"); err != nil && fault.CodeOf(err) != fault.NotFound {
		return 0, err
	}
	return used, nil
}

// addUsage counts delta more bytes for org in tx, refusing (413) when the
// total would pass the quota: one conditional update, so concurrent
// uploads cannot both squeeze under it.
func (s *Service) addUsage(ctx context.Context, tx *store.Tx, orgID string, delta int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO files_usage (org_id, bytes) VALUES (?, 0) ON CONFLICT (org_id) DO NOTHING`, orgID); err != nil {
		return err
	}
	q := `UPDATE files_usage SET bytes = bytes + ? WHERE org_id = ?`
	args := []any{delta, orgID}
	if s.opts.Quota > 0 && delta > 0 {
		q, args = q+` AND bytes + ? <= ?`, append(args, delta, s.opts.Quota)
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errQuota()
	}
	return nil
}

// Create stores c as a new file named name in folder of c's org.
func (s *Service) Create(ctx context.Context, c Caller, name, folder string, in Content) (File, error) {
	nameAt, folderAt := "header.X-File-Name", "header.X-Folder"
	if in.In == "body" {
		nameAt, folderAt = "body.name", "body.folder"
	}
	name, err := CleanName(nameAt, name)
	if err != nil {
		return File{}, err
	}
	if folder, err = CleanFolder(folderAt, folder); err != nil {
		return File{}, err
	}
	if err := s.requireMember(ctx, s.db, c); err != nil {
		return File{}, err
	}
	id := newID()
	obj, err := s.putContent(ctx, c.OrgID, id, in)
	if err != nil {
		return File{}, err
	}
	f, err := s.commitNew(ctx, c, id, name, folder, obj, false)
	if err != nil {
		s.dropBlobs(ctx, obj.Key)
	}
	return f, err
}

// commitNew records a stored blob as file id, version 1, in one
// transaction with the membership check, the quota and the event.
func (s *Service) commitNew(ctx context.Context, c Caller, id, name, folder string, obj blob.Object, direct bool) (File, error) {
	var f File
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = s.commitNewTx(tx.Context(), tx, c, id, name, folder, obj, direct)
		return err
	})
	return f, err
}

// commitNewTx is commitNew in tx.
func (s *Service) commitNewTx(ctx context.Context, tx *store.Tx, c Caller, id, name, folder string, obj blob.Object, direct bool) (File, error) {
	if err := s.requireMember(ctx, tx, c); err != nil {
		return File{}, err
	}
	if err := s.addUsage(ctx, tx, c.OrgID, obj.Size); err != nil {
		return File{}, err
	}
	now := s.now()
	f := File{ID: id, OrgID: c.OrgID, OwnerID: c.UserID, Name: name, Folder: folder, Size: obj.Size, ContentType: obj.ContentType,
		SHA256: obj.SHA256, Version: 1, Revision: 1, CreatedAt: now, UpdatedAt: now, Access: Manage.String()}
	if _, err := tx.Exec(ctx, `INSERT INTO files_files (id, org_id, owner_id, name, name_key, folder, size, content_type, sha256,
		version, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?)`,
		id, c.OrgID, c.UserID, name, nameKey(name), folder, obj.Size, obj.ContentType, obj.SHA256, micros(now), micros(now)); err != nil {
		return File{}, err
	}
	v, err := s.insertVersion(ctx, tx, id, 1, c.UserID, obj, now)
	if err != nil {
		return File{}, err
	}
	return f, s.emit(ctx, tx, EventUploaded, c.OrgID, id, change{File: &f, Version: &v, Direct: direct, Actor: c.actor()})
}

func (s *Service) insertVersion(ctx context.Context, tx *store.Tx, fileID string, n int64, by string, obj blob.Object, now time.Time) (Version, error) {
	_, err := tx.Exec(ctx, `INSERT INTO files_versions (file_id, version, size, sha256, content_type, blob_key, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, fileID, n, obj.Size, obj.SHA256, obj.ContentType, obj.Key, by, micros(now))
	return Version{FileID: fileID, Version: n, Size: obj.Size, SHA256: obj.SHA256, ContentType: obj.ContentType, CreatedBy: by, CreatedAt: now}, err
}

// AddVersion stores c as the next version of file id. With ifMatch > 0 the
// file must still be at that revision (its ETag), else 412: of two
// writers that read the same revision, one wins and the other learns it.
func (s *Service) AddVersion(ctx context.Context, c Caller, id string, ifMatch int64, in Content) (File, error) {
	f, err := s.loadWritable(ctx, s.db, c, id, ifMatch)
	if err != nil {
		return File{}, err
	}
	if in.ContentType == "" {
		in.ContentType = f.ContentType
	}
	obj, err := s.putContent(ctx, f.OrgID, id, in)
	if err != nil {
		return File{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		cur, err := s.loadWritable(ctx, tx, c, id, ifMatch)
		if err != nil {
			return err
		}
		if err := s.addUsage(ctx, tx, cur.OrgID, obj.Size); err != nil {
			return err
		}
		now := s.now()
		v, err := s.insertVersion(ctx, tx, id, cur.Version+1, c.UserID, obj, now)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE files_files SET size = ?, content_type = ?, sha256 = ?, version = ?, revision = revision + 1,
			updated_at = ? WHERE id = ? AND revision = ?`, obj.Size, obj.ContentType, obj.SHA256, v.Version, micros(now), id, cur.Revision)
		if err := oneRow(res, err); err != nil {
			return err
		}
		cur.Size, cur.ContentType, cur.SHA256, cur.Version, cur.Revision, cur.UpdatedAt, cur.Thumbnail =
			obj.Size, obj.ContentType, obj.SHA256, v.Version, cur.Revision+1, now, false
		f = cur
		return s.emit(ctx, tx, EventVersionAdded, cur.OrgID, id, change{File: &cur, Version: &v, Actor: c.actor()})
	})
	if err != nil {
		s.dropBlobs(ctx, obj.Key)
		return File{}, err
	}
	return f, nil
}

// checkRevision is the If-Match check: ifMatch 0 means none given.
func checkRevision(f File, ifMatch int64) error {
	if ifMatch > 0 && ifMatch != f.Revision {
		return &fault.Error{Code: fault.Precondition, Reason: ReasonStale,
			Message: "the file changed since you read it (If-Match is stale): read it again"}
	}
	return nil
}

// loadWritable loads file id for a change of its content, name or folder:
// c needs write access, the file must be out of the trash and, with
// ifMatch > 0, at that revision.
func (s *Service) loadWritable(ctx context.Context, q store.Querier, c Caller, id string, ifMatch int64) (File, error) {
	f, err := s.load(ctx, q, c, id, Write)
	if err != nil {
		return File{}, err
	}
	if f.DeletedAt != nil {
		return File{}, fault.New(fault.Conflict, "the file is in the trash: restore it first")
	}
	return f, checkRevision(f, ifMatch)
}

// oneRow checks an update changed exactly one row; none means another
// writer changed the file meanwhile (a stale revision).
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return &fault.Error{Code: fault.Precondition, Reason: ReasonStale, Message: "the file changed meanwhile: read it again"}
	}
	return nil
}
