package files

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/imaging"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// What follows a committed change (files.md, Events and handlers): durable
// handlers, at least once, so each is idempotent.
const (
	// TrashDays is how long a trashed file stays restorable.
	TrashDays = 30
	// SweepAge is how old an unnamed blob must be before the sweeper
	// removes it: longer than any upload takes between its bytes and its
	// commit.
	SweepAge = 24 * time.Hour
	// ThumbnailSize is the longer side of thumbnails, in pixels.
	ThumbnailSize = 256
	// thumbMaxBytes and thumbMaxPixels bound the images thumbnails are
	// made of.
	thumbMaxBytes  = 50 << 20
	thumbMaxPixels = 40_000_000
	// ConsolePath + a file id is the web console's page of the file, the
	// link in share mails.
	ConsolePath = "/#/files/"
	// mailChunk is how many share mails one transaction queues.
	mailChunk = 200
)

func (s *Service) handlers() []jobs.Handler {
	return []jobs.Handler{
		{Name: "files.upload.finish", EventType: blob.CreatedEvent, Handle: s.uploaded},
		{Name: "files.thumbnail", EventType: EventUploaded, Handle: s.thumbnail},
		{Name: "files.thumbnail.version", EventType: EventVersionAdded, Handle: s.thumbnail},
		{Name: "files.share.mail", EventType: EventGrantAdded, Handle: s.mailShare},
	}
}

// thumbnail makes the 256 px JPEG of an uploaded image version (PNG, JPEG
// or WebP; anything else gets none).
func (s *Service) thumbnail(ctx context.Context, e events.Event) error {
	var c change
	if err := json.Unmarshal(e.Payload, &c); err != nil || c.File == nil || c.Version == nil {
		return err
	}
	if !strings.HasPrefix(c.Version.ContentType, "image/") {
		return nil
	}
	var key string
	err := s.db.QueryRow(ctx, `SELECT blob_key FROM files_versions WHERE file_id = ? AND version = ?`, c.File.ID, c.Version.Version).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return store.Normalize(err)
	}
	img, err := s.renderThumbnail(ctx, key)
	if c := fault.CodeOf(err); c == fault.Invalid || c == fault.TooLarge || c == fault.NotFound {
		return nil // not an image we make thumbnails of, or gone
	} else if err != nil {
		return err
	}
	if _, err := s.blobs.Put(ctx, thumbKey(key), bytes.NewReader(img), blob.PutOptions{ContentType: "image/jpeg"}); err != nil {
		return err
	}
	// A version deleted meanwhile leaves the thumbnail unnamed: the sweeper
	// removes it.
	_, err = s.db.Exec(ctx, `UPDATE files_versions SET thumbnail = 1 WHERE file_id = ? AND version = ?`, c.File.ID, c.Version.Version)
	return store.Normalize(err)
}

func (s *Service) renderThumbnail(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := s.blobs.Get(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	release, err := imaging.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	img, _, err := imaging.Decode(rc, imaging.Limits{MaxBytes: thumbMaxBytes, MaxPixels: thumbMaxPixels})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := imaging.EncodeJPEG(&b, imaging.Fit(img, ThumbnailSize), 80); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// shareMail is the data of the "shared" mail.
type shareMail struct {
	Sharer, Name, With, Access, URL string
}

// mailShare tells whoever a grant was added for: the user, or every
// member of the org or the space (but the sharer). Mails are deduplicated
// by event and recipient, so a retry mails nobody twice.
func (s *Service) mailShare(ctx context.Context, e events.Event) error {
	var c change
	if err := json.Unmarshal(e.Payload, &c); err != nil || c.File == nil || c.Grant == nil {
		return err
	}
	g := c.Grant
	var to []string
	with := "you"
	switch g.PrincipalType {
	case PrincipalUser:
		to = []string{g.PrincipalID}
	case PrincipalOrg:
		with = "your organization"
		ids, err := s.queryStrings(ctx, `SELECT user_id FROM `+orgs.Table(s.db.Engine(), "orgs_members")+` WHERE org_id = ?`, g.PrincipalID)
		if err != nil {
			return err
		}
		to = ids
	case PrincipalSpace:
		with = "a space you are in"
		ids, err := s.queryStrings(ctx, `SELECT user_id FROM `+orgs.Table(s.db.Engine(), "orgs_group_members")+` WHERE org_id = ? AND group_id = ?`,
			c.File.OrgID, g.PrincipalID)
		if err != nil {
			return err
		}
		to = ids
	}
	sharer := "Someone"
	if u, err := identity.LookupUser(ctx, s.db, s.db.Engine(), c.Actor); err == nil {
		sharer = u.Name
		if sharer == "" {
			sharer = u.Email
		}
	}
	content, err := s.mails.Render("shared", shareMail{Sharer: sharer, Name: c.File.Name, With: with, Access: g.Access,
		URL: strings.TrimSuffix(s.opts.PublicURL, "/") + ConsolePath + c.File.ID})
	if err != nil {
		return err
	}
	for len(to) > 0 {
		chunk := to[:min(mailChunk, len(to))]
		to = to[len(chunk):]
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			ctx := tx.Context()
			for _, id := range chunk {
				if id == c.Actor {
					continue
				}
				u, err := identity.LookupUser(ctx, tx, tx.Engine(), id)
				if fault.CodeOf(err) == fault.NotFound || (err == nil && u.Email == "") {
					continue
				} else if err != nil {
					return err
				}
				m := mail.Message{DedupeKey: e.ID + ":shared:" + id, App: appName, Template: "shared", To: u.Email, Content: content}
				if _, _, err := s.outbox.Enqueue(ctx, tx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// queryStrings runs a query of one text column.
func (s *Service) queryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	return store.Collect(ctx, s.db, store.ScanOne[string], q, args...)
}

// purgeTrash deletes for good the files trashed more than TrashDays ago,
// a batch at a time.
func (s *Service) purgeTrash(ctx context.Context) error {
	cutoff := micros(s.now().AddDate(0, 0, -TrashDays))
	for {
		ids, err := s.queryStrings(ctx, `SELECT id FROM files_files WHERE deleted_at IS NOT NULL AND deleted_at < ? ORDER BY deleted_at LIMIT 100`, cutoff)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			var keys []string
			err := s.db.InTx(ctx, func(tx *store.Tx) error {
				ctx := tx.Context()
				f, err := scanFile(tx.QueryRow(ctx, `SELECT `+fileCols+` FROM files_files f WHERE f.id = ? AND f.deleted_at < ?`, id, cutoff))
				if errors.Is(err, sql.ErrNoRows) {
					keys = nil
					return nil // restored or deleted meanwhile
				}
				if err != nil {
					return err
				}
				keys, err = s.deleteRows(ctx, tx, f, "system")
				return err
			})
			if err != nil {
				return err
			}
			s.dropBlobs(ctx, keys...)
		}
	}
}

// Sweep removes the app's blobs that no row names and that are older than
// age: what a crash between a blob's write and its commit, or between a
// delete's commit and its blob deletes, left behind. It returns how many
// it removed.
func (s *Service) Sweep(ctx context.Context, age time.Duration) (int, error) {
	cutoff := time.Now().Add(-age)
	var batch []string
	removed := 0
	flush := func() error {
		n, err := s.sweepBatch(ctx, batch)
		removed, batch = removed+n, batch[:0]
		return err
	}
	err := s.blobs.List(ctx, blobPrefix, func(o blob.Object) error {
		if !o.Modified.Before(cutoff) {
			return nil
		}
		if batch = append(batch, o.Key); len(batch) == 256 {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return removed, err
}

// sweepBatch deletes the keys of batch no row names. A thumbnail is named
// with its version; a settled upload's key (files/uploaded/<id>) by its
// upload's row until its version names it.
func (s *Service) sweepBatch(ctx context.Context, batch []string) (int, error) {
	base := make([]string, len(batch))
	var uploads []string
	for i, k := range batch {
		base[i] = strings.TrimSuffix(k, thumbSuffix)
		if id, ok := strings.CutPrefix(k, uploadedPrefix); ok {
			uploads = append(uploads, id)
		}
	}
	list, args := store.In(base)
	queries := []string{`SELECT blob_key FROM files_versions WHERE blob_key IN (` + list + `)`,
		`SELECT blob_key FROM files_uploads WHERE blob_key IN (` + list + `)`}
	argSets := [][]any{args, args}
	if len(uploads) > 0 {
		ulist, uargs := store.In(uploads)
		queries, argSets = append(queries, `SELECT id FROM files_uploads WHERE id IN (`+ulist+`)`), append(argSets, uargs)
	}
	named := map[string]bool{}
	for i, q := range queries {
		keys, err := s.queryStrings(ctx, q, argSets[i]...)
		if err != nil {
			return 0, err
		}
		for _, k := range keys {
			if i == 2 {
				k = uploadedPrefix + k
			}
			named[k] = true
		}
	}
	n := 0
	for i, k := range batch {
		if named[base[i]] {
			continue
		}
		if err := s.blobs.Delete(ctx, k); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
