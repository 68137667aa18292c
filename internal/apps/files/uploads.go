package files

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Direct uploads (files.md, POST /files/uploads): the client PUTs the
// bytes to a signed URL (S3 presigned, or the server's own on the
// filesystem), then calls complete. The object-created hook completes an
// upload the client never completed: on the filesystem the signed PUT
// emits blob.object.created at once; on S3, which cannot call back here,
// confirmUploads looks for pending uploads' objects every few seconds.
const (
	// UploadTTL is how long an upload URL is valid.
	UploadTTL = 6 * time.Hour
	// ConfirmCron is how often pending uploads are looked for on S3.
	ConfirmCron = "@every 5s"
)

// UploadInput is what POST /files/uploads takes.
type UploadInput struct {
	Name        string `json:"name" minLength:"1" maxLength:"1024" doc:"The file's name (1–255 characters, no / or control characters)."`
	Size        int64  `json:"size" minimum:"0" doc:"The exact size of the bytes to come."`
	ContentType string `json:"content_type,omitempty" maxLength:"255" doc:"The declared type; kept when the bytes agree."`
	Folder      string `json:"folder,omitempty" maxLength:"4096" doc:"Default /."`
	SHA256      string `json:"sha256,omitempty" pattern:"^[0-9a-f]{64}$" doc:"Optional: the bytes' SHA-256 (lowercase hex), checked on arrival."`
}

// pending is a row of files_uploads.
type pending struct {
	id, orgID, userID, name, folder, contentType, sha256, key string
	size                                                      int64
	fileID, rejected                                          sql.NullString
	expiresAt                                                 time.Time
}

const uploadCols = `id, org_id, user_id, name, folder, size, content_type, sha256, blob_key, file_id, rejected, expires_at`

func scanUpload(r store.Scanner) (pending, error) {
	var p pending
	var expires int64
	err := r.Scan(&p.id, &p.orgID, &p.userID, &p.name, &p.folder, &p.size, &p.contentType, &p.sha256, &p.key, &p.fileID, &p.rejected, &expires)
	p.expiresAt = fromMicros(expires)
	return p, err
}

// getUpload reads upload id (fault.NotFound when there is none).
func (s *Service) getUpload(ctx context.Context, id string) (pending, error) {
	p, err := scanUpload(s.db.QueryRow(ctx, `SELECT `+uploadCols+` FROM files_uploads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return pending{}, fault.New(fault.NotFound, "upload not found")
	}
	return p, store.Normalize(err)
}

// StartUpload hands c a signed URL to PUT a new file's bytes to.
func (s *Service) StartUpload(ctx context.Context, c Caller, in UploadInput) (Upload, error) {
	name, err := CleanName("body.name", in.Name)
	if err != nil {
		return Upload{}, err
	}
	folder, err := CleanFolder("body.folder", in.Folder)
	if err != nil {
		return Upload{}, err
	}
	if err := s.requireMember(ctx, s.db, c); err != nil {
		return Upload{}, err
	}
	if _, err := s.limit(ctx, c.OrgID, in.Size); err != nil {
		return Upload{}, err
	}
	typ := in.ContentType
	if typ == "" {
		typ = blob.DefaultContentType
	}
	id := newID()
	key := uploadPrefix + id
	now := s.now()
	expires := now.Add(UploadTTL)
	if _, err := s.db.Exec(ctx, `INSERT INTO files_uploads (`+uploadCols+`, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)`,
		id, c.OrgID, c.UserID, name, folder, in.Size, typ, in.SHA256, key, micros(expires), micros(now)); err != nil {
		return Upload{}, store.Normalize(err)
	}
	url, err := s.blobs.SignedPutURL(key, UploadTTL, blob.PutOptions{MaxBytes: max(in.Size, 1), SHA256: in.SHA256, ContentType: blob.DefaultContentType})
	if err != nil {
		return Upload{}, err
	}
	return Upload{UploadID: id, URL: url, Method: "PUT", Headers: map[string]string{"Content-Type": blob.DefaultContentType}, ExpiresAt: expires}, nil
}

// CompleteUpload finishes c's upload id: the object is checked (size as
// announced, SHA-256 as given) and becomes the file, once; completing
// again answers the same file.
func (s *Service) CompleteUpload(ctx context.Context, c Caller, id string) (File, error) {
	p, err := s.getUpload(ctx, id)
	if err == nil && p.userID != c.UserID {
		err = fault.New(fault.NotFound, "upload not found")
	}
	if err != nil {
		return File{}, err
	}
	f, err := s.finish(ctx, p)
	if err != nil {
		return File{}, err
	}
	return s.load(ctx, s.db, c, f, Read)
}

// finish makes pending upload p a file, or refuses it, and returns the
// file's id. Both the client's complete and the object-created hook call
// it; the row's file_id makes the second a no-op.
func (s *Service) finish(ctx context.Context, p pending) (string, error) {
	switch {
	case p.fileID.Valid:
		return p.fileID.String, nil
	case p.rejected.Valid:
		return "", fault.New(fault.Invalid, "the upload was refused: %s", p.rejected.String)
	}
	obj, err := s.settle(ctx, p)
	if fault.CodeOf(err) == fault.Conflict {
		// Another finish may have made the file, or refused the upload,
		// since p was read: its outcome is the answer.
		if cur, rerr := s.getUpload(ctx, p.id); rerr == nil && (cur.fileID.Valid || cur.rejected.Valid) {
			return s.finish(ctx, cur)
		}
	}
	if err != nil {
		return "", err
	}
	c := Caller{UserID: p.userID, OrgID: p.orgID}
	fileID := newID()
	var done string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		res, err := tx.Exec(ctx, `UPDATE files_uploads SET file_id = ? WHERE id = ? AND file_id IS NULL AND rejected IS NULL`, fileID, p.id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return tx.QueryRow(ctx, `SELECT COALESCE(file_id, '') FROM files_uploads WHERE id = ?`, p.id).Scan(&done)
		}
		done = fileID
		_, err = s.commitNewTx(ctx, tx, c, fileID, p.name, p.folder, obj, true)
		return err
	})
	if err == nil && done == "" {
		err = fault.New(fault.Invalid, "the upload was refused")
	}
	if fault.CodeOf(err) == fault.TooLarge || fault.CodeOf(err) == fault.Forbidden {
		// Over quota meanwhile, or no longer a member: refused for good.
		return "", s.reject(ctx, p, fault.As(err).Message)
	}
	return done, err
}

// settle checks upload p's object (size as announced, SHA-256 when given)
// and moves it to p's final key, which no signed URL names: once settled,
// its bytes cannot change. A finish that finds the object moved already
// (another finish, or a crash after the move) continues from the final
// key, so concurrent finishes end on the same object.
func (s *Service) settle(ctx context.Context, p pending) (blob.Object, error) {
	final := finalKey(p)
	_, err := s.blobs.Confirm(ctx, p.key, blob.PutOptions{MaxBytes: max(p.size, 1), SHA256: p.sha256})
	switch fault.CodeOf(err) {
	case fault.Internal:
		if err != nil {
			return blob.Object{}, err
		}
	case fault.NotFound:
		obj, err := s.blobs.Stat(ctx, final)
		if fault.CodeOf(err) == fault.NotFound {
			return blob.Object{}, fault.New(fault.Conflict, "nothing was uploaded yet: PUT the bytes to the upload's url first")
		}
		if err != nil {
			return blob.Object{}, err
		}
		return s.checkSettled(ctx, p, obj)
	case fault.TooLarge, fault.Invalid: // Confirm deleted the object
		return blob.Object{}, s.reject(ctx, p, fault.As(err).Message)
	default:
		return blob.Object{}, err
	}
	obj, err := s.blobs.Move(ctx, p.key, final)
	if fault.CodeOf(err) == fault.NotFound {
		return s.settle(ctx, p) // another finish moved it meanwhile
	}
	if err != nil {
		return blob.Object{}, err
	}
	return s.checkSettled(ctx, p, obj)
}

// checkSettled checks the object at upload p's final key against what was
// announced (a finish that finds it there, moved by another, checks it
// too) and sniffs its type.
func (s *Service) checkSettled(ctx context.Context, p pending, obj blob.Object) (blob.Object, error) {
	if obj.Size != p.size {
		return blob.Object{}, s.reject(ctx, p, "the upload has "+itoa(obj.Size)+" bytes, not the "+itoa(p.size)+" announced")
	}
	if p.sha256 != "" && obj.SHA256 != p.sha256 {
		return blob.Object{}, s.reject(ctx, p, "the upload's SHA-256 is not the one announced")
	}
	var err error
	obj.ContentType, err = s.sniffStored(ctx, obj.Key, p.contentType)
	return obj, err
}

// finalKey is where upload p's bytes rest once settled.
func finalKey(p pending) string { return uploadedPrefix + p.id }

// reject marks upload p refused for reason and deletes its object.
func (s *Service) reject(ctx context.Context, p pending, reason string) error {
	if _, err := s.db.Exec(ctx, `UPDATE files_uploads SET rejected = ? WHERE id = ? AND file_id IS NULL`, reason, p.id); err != nil {
		return store.Normalize(err)
	}
	s.dropBlobs(ctx, p.key, finalKey(p))
	return fault.New(fault.Invalid, "the upload was refused: %s", reason)
}

// sniffStored decides the type of a stored object from its first bytes.
func (s *Service) sniffStored(ctx context.Context, key, declared string) (string, error) {
	rc, _, err := s.blobs.Get(ctx, key, &blob.Range{Length: sniffLen})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	_, typ, err := sniff(rc, declared)
	return typ, err
}

// uploaded is the object-created hook: an upload's object arrived.
func (s *Service) uploaded(ctx context.Context, e events.Event) error {
	if !strings.HasPrefix(e.Subject, uploadPrefix) {
		return nil // another app's object
	}
	p, err := scanUpload(s.db.QueryRow(ctx, `SELECT `+uploadCols+` FROM files_uploads WHERE blob_key = ?`, e.Subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return store.Normalize(err)
	}
	_, err = s.finish(ctx, p)
	if c := fault.CodeOf(err); c == fault.Invalid || c == fault.Conflict {
		return nil // refused (recorded), or the object is gone
	}
	return err
}

// confirmUploads finishes the pending uploads whose objects exist (S3's
// object-created check; see the section's comment). Runs once across
// nodes.
func (s *Service) confirmUploads(ctx context.Context) error {
	ps, err := s.pendingUploads(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if _, err := s.blobs.Stat(ctx, p.key); fault.CodeOf(err) == fault.NotFound {
			continue // not uploaded (yet)
		} else if err != nil {
			return err
		}
		if _, err := s.finish(ctx, p); err != nil && fault.CodeOf(err) != fault.Invalid && fault.CodeOf(err) != fault.Conflict {
			errs = append(errs, err)
		}
	}
	// Uploads long expired are forgotten; their objects, if any, are no
	// longer named by a row and go with the next sweep.
	if _, err := s.db.Exec(ctx, `DELETE FROM files_uploads WHERE expires_at < ?`, micros(s.now().Add(-24*time.Hour))); err != nil {
		errs = append(errs, store.Normalize(err))
	}
	return errors.Join(errs...)
}

// pendingUploads lists the uploads neither completed nor refused whose URL
// expired at most an hour ago (a slow upload's last bytes).
func (s *Service) pendingUploads(ctx context.Context) ([]pending, error) {
	return store.Collect(ctx, s.db, scanUpload, `SELECT `+uploadCols+` FROM files_uploads WHERE file_id IS NULL AND rejected IS NULL AND expires_at >= ?`,
		micros(s.now().Add(-time.Hour)))
}
