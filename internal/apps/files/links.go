package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Public links (files.md, beyond the seed): a URL with a 256-bit token
// serves the file's current version to anyone who has it, until it
// expires or is deleted, with an optional password. Only the token's
// SHA-256 and the password's argon2id hash are stored.
const (
	// LinkPath is where links are served: LinkPath + token + "/content".
	LinkPath = "/" + appName + "/links/"
	// MaxLinkPassword bounds a link password, in bytes.
	MaxLinkPassword = 256
)

// LinkInput is what POST /files/{id}/links takes.
type LinkInput struct {
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the link stops working; in the future. None: until deleted."`
	Password  string     `json:"password,omitempty" maxLength:"256" doc:"Asked of whoever opens the link (?password= or HTTP Basic with any user name); stored hashed."`
}

const linkCols = `id, file_id, password_hash, expires_at, created_by, created_at`

func scanLink(r store.Scanner) (Link, string, error) {
	var l Link
	var hash sql.NullString
	var expires sql.NullInt64
	var created int64
	if err := r.Scan(&l.ID, &l.FileID, &hash, &expires, &l.CreatedBy, &created); err != nil {
		return Link{}, "", err
	}
	l.CreatedAt, l.Password = fromMicros(created), hash.Valid
	if expires.Valid {
		t := fromMicros(expires.Int64)
		l.ExpiresAt = &t
	}
	return l, hash.String, nil
}

// CreateLink makes a public link to file id (manage). The answer is the
// only time the URL is shown.
func (s *Service) CreateLink(ctx context.Context, c Caller, id string, in LinkInput) (Link, error) {
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return Link{}, fault.WithFields("invalid link", fault.FieldError{Location: "body.expires_at", Message: "must be in the future", Value: in.ExpiresAt})
	}
	var hash sql.NullString
	if in.Password != "" {
		h, err := identity.HashPassword(in.Password, s.opts.Argon2)
		if err != nil {
			return Link{}, err
		}
		hash = sql.NullString{String: h, Valid: true}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Link{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	l := Link{ID: newID(), FileID: id, URL: strings.TrimSuffix(s.opts.PublicURL, "/") + LinkPath + token + "/content", Password: hash.Valid,
		CreatedBy: c.UserID, CreatedAt: now}
	var expires sql.NullInt64
	if in.ExpiresAt != nil {
		t := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		l.ExpiresAt, expires = &t, sql.NullInt64{Int64: micros(t), Valid: true}
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		f, err := s.load(ctx, tx, c, id, Manage)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO files_links (id, file_id, token_hash, password_hash, expires_at, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, l.ID, id, tokenHash(token), hash, expires, c.UserID, micros(now)); err != nil {
			return err
		}
		shown := l
		shown.URL = ""
		return s.emit(ctx, tx, EventLinkCreated, f.OrgID, id, change{File: &f, Link: &shown, Actor: c.actor()})
	})
	return l, err
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Links lists file id's links (manage), without their URLs.
func (s *Service) Links(ctx context.Context, c Caller, id string) ([]Link, error) {
	if _, err := s.load(ctx, s.db, c, id, Manage); err != nil {
		return nil, err
	}
	return store.Collect(ctx, s.db, func(r store.Scanner) (Link, error) {
		l, _, err := scanLink(r)
		return l, err
	}, `SELECT `+linkCols+` FROM files_links WHERE file_id = ? ORDER BY id`, id)
}

// DeleteLink deletes link linkID of file id (manage); it stops working at
// once.
func (s *Service) DeleteLink(ctx context.Context, c Caller, id, linkID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		f, err := s.load(ctx, tx, c, id, Manage)
		if err != nil {
			return err
		}
		l, _, err := scanLink(tx.QueryRow(ctx, `SELECT `+linkCols+` FROM files_links WHERE id = ? AND file_id = ?`, linkID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fault.New(fault.NotFound, "link not found")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM files_links WHERE id = ?`, linkID); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventLinkDeleted, f.OrgID, id, change{File: &f, Link: &l, Actor: c.actor()})
	})
}

// errLinkPassword asks for the link's password: 401 with a Basic
// challenge, so a browser prompts for it.
var errLinkPassword error = &linkPasswordError{fault.New(fault.Unauthorized, "this link needs its password (?password= or HTTP Basic)")}

// linkPasswordError is a fault with its WWW-Authenticate challenge (a
// huma.HeadersError: httpapi.WriteProblem sets the header).
type linkPasswordError struct{ f *fault.Error }

func (e *linkPasswordError) Error() string { return e.f.Error() }
func (e *linkPasswordError) Unwrap() error { return e.f }

// GetHeaders implements huma.HeadersError.
func (e *linkPasswordError) GetHeaders() http.Header {
	return http.Header{"Www-Authenticate": {`Basic realm="file link", charset="UTF-8"`}}
}

// OpenLink is a public link's target: the current version of its file,
// when the link exists, has not expired, its file is not in the trash,
// and password matches the link's (when it has one).
func (s *Service) OpenLink(ctx context.Context, token, password string) (Stored, error) {
	gone := fault.New(fault.NotFound, "link not found or expired")
	if len(token) != 43 {
		return Stored{}, gone
	}
	l, hash, err := scanLink(s.db.QueryRow(ctx, `SELECT `+linkCols+` FROM files_links WHERE token_hash = ?`, tokenHash(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, gone
	}
	if err != nil {
		return Stored{}, store.Normalize(err)
	}
	if l.ExpiresAt != nil && !s.now().Before(*l.ExpiresAt) {
		return Stored{}, gone
	}
	if l.Password {
		if password == "" || len(password) > MaxLinkPassword {
			return Stored{}, errLinkPassword
		}
		if ok, _ := identity.CheckPassword(password, hash, s.opts.Argon2); !ok {
			return Stored{}, errLinkPassword
		}
	}
	f, err := scanFile(s.db.QueryRow(ctx, `SELECT `+fileCols+` FROM files_files f WHERE f.id = ?`, l.FileID))
	if err != nil || f.DeletedAt != nil {
		if err == nil || errors.Is(err, sql.ErrNoRows) {
			return Stored{}, gone
		}
		return Stored{}, store.Normalize(err)
	}
	return s.stored(ctx, f, 0)
}
