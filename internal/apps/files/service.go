package files

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Options configure a Service.
type Options struct {
	// MaxUpload is the largest version accepted, in bytes.
	MaxUpload int64
	// Quota is each org's storage quota in bytes; 0 means none.
	Quota int64
	// PublicURL is the base of links (public links, mails).
	PublicURL string
	// Argon2 hashes link passwords.
	Argon2 identity.Argon2Params
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service is the files app: every operation checks the caller's access
// and makes its change in one transaction, with its event.
type Service struct {
	db     *store.DB
	events *events.Log
	blobs  blob.Store
	outbox *mail.Outbox
	mails  *mail.Templates
	opts   Options
	access string // accessSQL for the store's engine
}

// NewService builds the service.
func NewService(db *store.DB, log *events.Log, blobs blob.Store, outbox *mail.Outbox, mails *mail.Templates, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Argon2 == (identity.Argon2Params{}) {
		opts.Argon2 = identity.DefaultArgon2
	}
	return &Service{db: db, events: log, blobs: blobs, outbox: outbox, mails: mails, opts: opts,
		access: accessSQL(db.Engine())}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Caller is who acts: a user, and the org it chose (X-Org-ID or its
// token's), where its new files go and its listing looks.
type Caller struct {
	UserID string
	OrgID  string
	// Admin is an admin API key (the /admin/files routes): manage access
	// to every file.
	Admin bool
}

// actor names the caller in events.
func (c Caller) actor() string {
	if c.Admin {
		return "admin"
	}
	return c.UserID
}

// CallerOf is the caller of a request. Files belong to users: admin keys
// use /admin/files.
func CallerOf(p authz.Principal) (Caller, error) {
	if p.UserID == "" {
		return Caller{}, fault.New(fault.Forbidden, "the files API is for users; admin keys use /admin/files/files")
	}
	return Caller{UserID: p.UserID, OrgID: p.OrgID}, nil
}

// fileCols are the columns scanFile reads, in order.
const fileCols = `f.id, f.org_id, f.owner_id, f.name, f.folder, f.size, f.content_type, f.sha256, f.version, f.revision,
	f.created_at, f.updated_at, f.deleted_at,
	COALESCE((SELECT v.thumbnail FROM files_versions v WHERE v.file_id = f.id AND v.version = f.version), 0)`

// scanFile reads a row of fileCols, then extra columns into extra.
func scanFile(r store.Scanner, extra ...any) (File, error) {
	var f File
	var created, updated int64
	var deleted sql.NullInt64
	var thumb int64
	dest := append([]any{&f.ID, &f.OrgID, &f.OwnerID, &f.Name, &f.Folder, &f.Size, &f.ContentType, &f.SHA256, &f.Version, &f.Revision,
		&created, &updated, &deleted, &thumb}, extra...)
	err := r.Scan(dest...)
	if err != nil {
		return File{}, err
	}
	f.CreatedAt, f.UpdatedAt, f.Thumbnail = fromMicros(created), fromMicros(updated), thumb == 1
	if deleted.Valid {
		t := fromMicros(deleted.Int64)
		f.DeletedAt = &t
	}
	return f, nil
}

// errNoFile is the answer for a file the caller cannot read at all: the
// same as for a file that does not exist.
func errNoFile() error { return fault.New(fault.NotFound, "file not found") }

// accessSQL is the access (0 none, 1 read, 2 write, 3 manage) of the user
// given 6 times as argument (see accessArgs) to the file aliased f: the
// strongest of ownership (while a member of f's org), its own grant (for a
// user outside the org only while the org allows external sharing), its
// org's grant (while a member) and its spaces' grants. It is the one
// statement of the rule: single files and listings both use it, and it
// reads memberships in the caller's transaction, so the check and the
// change it guards commit together.
func accessSQL(e store.Engine) string {
	member := `EXISTS (SELECT 1 FROM ` + orgs.Table(e, "orgs_members") + ` m WHERE m.org_id = f.org_id AND m.user_id = ?)`
	return `(CASE WHEN f.owner_id = ? AND ` + member + ` THEN 3 ELSE COALESCE((SELECT MAX(g.access) FROM files_grants g
		WHERE g.file_id = f.id AND (
			(g.principal_type = 'user' AND g.principal_id = ? AND (` + member + ` OR
				EXISTS (SELECT 1 FROM files_settings st WHERE st.org_id = f.org_id AND st.external_sharing = 1)))
			OR (g.principal_type = 'org' AND ` + member + `)
			OR (g.principal_type = 'space' AND EXISTS (SELECT 1 FROM ` + orgs.Table(e, "orgs_group_members") + ` gm
				WHERE gm.org_id = f.org_id AND gm.group_id = g.principal_id AND gm.user_id = ?)))), 0) END)`
}

// accessArgs are accessSQL's arguments for user.
func accessArgs(user string) []any { return []any{user, user, user, user, user, user} }

// load reads file id for c and checks c has at least need: a file c cannot
// read (or, in the trash, cannot manage) is 404, one it can read but not
// change 403. The file's Access is set.
func (s *Service) load(ctx context.Context, q store.Querier, c Caller, id string, need Access) (File, error) {
	if uuid.Validate(id) != nil {
		return File{}, errNoFile()
	}
	a := Manage
	query, args := `SELECT `+fileCols+` FROM files_files f WHERE f.id = ?`, []any{id}
	if !c.Admin {
		query, args = `SELECT `+fileCols+`, `+s.access+` FROM files_files f WHERE f.id = ?`, append(accessArgs(c.UserID), id)
	}
	f, err := scanFile(q.QueryRow(ctx, query, args...), accessDest(c, &a)...)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, errNoFile()
	}
	if err != nil {
		return File{}, store.Normalize(err)
	}
	if a == NoAccess || (f.DeletedAt != nil && a < Manage) {
		return File{}, errNoFile()
	}
	if a < need {
		return File{}, fault.New(fault.Forbidden, "you have %s access to this file; this needs %s", a, need)
	}
	f.Access = a.String()
	return f, nil
}

// accessDest is where load scans the access column: none for admins.
func accessDest(c Caller, a *Access) []any {
	if c.Admin {
		return nil
	}
	return []any{a}
}

// externalSharing reports whether org lets its files be shared with users
// outside it (off until an owner or admin turns it on).
func (s *Service) externalSharing(ctx context.Context, q store.Querier, orgID string) (bool, error) {
	var on int
	err := q.QueryRow(ctx, `SELECT external_sharing FROM files_settings WHERE org_id = ?`, orgID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return on == 1, store.Normalize(err)
}

// isMember reports whether user is a member of org, read in q.
func (s *Service) isMember(ctx context.Context, q store.Querier, orgID, userID string) (role string, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT role FROM `+orgs.Table(s.db.Engine(), "orgs_members")+` WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return role, err == nil, store.Normalize(err)
}

// requireMember checks c may add files to its org.
func (s *Service) requireMember(ctx context.Context, q store.Querier, c Caller) error {
	if c.OrgID == "" {
		return fault.WithFields("no organization chosen",
			fault.FieldError{Location: "header." + authz.OrgHeader, Message: "choose the org (X-Org-ID, or your token's org)"})
	}
	_, ok, err := s.isMember(ctx, q, c.OrgID, c.UserID)
	if err == nil && !ok {
		err = fault.New(fault.Forbidden, "you are not a member of this organization")
	}
	return err
}

// Event types (files.md, Events and handlers).
const (
	EventUploaded     = "files.file.uploaded"
	EventVersionAdded = "files.file.version_added"
	EventRenamed      = "files.file.renamed"
	EventDeleted      = "files.file.deleted"
	EventRestored     = "files.file.restored"
	EventGrantAdded   = "files.grant.added"
	EventGrantChanged = "files.grant.changed"
	EventGrantRemoved = "files.grant.removed"
	EventLinkCreated  = "files.link.created"
	EventLinkDeleted  = "files.link.deleted"
	EventSettings     = "files.settings.updated"
)

// change is the payload of the app's events.
type change struct {
	File      *File     `json:"file,omitempty"`
	Version   *Version  `json:"version,omitempty"`
	Grant     *Grant    `json:"grant,omitempty"`
	Link      *Link     `json:"link,omitempty"`
	Previous  *place    `json:"previous,omitempty"` // renames: the name and folder before
	Permanent bool      `json:"permanent,omitempty"`
	Direct    bool      `json:"direct,omitempty"` // uploads: through a signed URL
	Settings  *Settings `json:"settings,omitempty"`
	Actor     string    `json:"actor"`
}

// place is where a file was before a rename or move.
type place struct {
	Name   string `json:"name"`
	Folder string `json:"folder"`
}

func (s *Service) emit(ctx context.Context, tx *store.Tx, typ, orgID, subject string, c change) error {
	if c.File != nil {
		f := *c.File
		f.Access = "" // the caller's, not the event's
		c.File = &f
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.events.Emit(ctx, tx, events.Event{Type: typ, OrgID: orgID, Subject: subject, Payload: b})
}
