package files

import (
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Access is what a caller may do with a file; each level includes the ones
// below it.
type Access int

// The access levels (files.md, Model). The owner has manage.
const (
	NoAccess Access = iota
	Read            // metadata, content, versions, signed URLs
	Write           // new versions, rename, move
	Manage          // sharing, links, trash, restore, permanent delete
)

// String is the level's name in the API ("" for NoAccess).
func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Manage:
		return "manage"
	}
	return ""
}

// parseAccess reads a level's name at location.
func parseAccess(location, s string) (Access, error) {
	for _, a := range []Access{Read, Write, Manage} {
		if s == a.String() {
			return a, nil
		}
	}
	return NoAccess, fault.WithFields("invalid access", fault.FieldError{Location: location, Message: "must be one of read, write, manage", Value: s})
}

// Principal types of grants.
const (
	PrincipalUser  = "user"
	PrincipalOrg   = "org"
	PrincipalSpace = "space"
)

// File is a file's metadata as the API shows it.
type File struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"org_id"`
	OwnerID     string     `json:"owner_id"`
	Name        string     `json:"name"`
	Folder      string     `json:"folder"`
	Size        int64      `json:"size"`
	ContentType string     `json:"content_type"`
	SHA256      string     `json:"sha256" doc:"The current version's SHA-256, lowercase hex."`
	Version     int64      `json:"version" doc:"The current version's number (1 for the first upload)."`
	Revision    int64      `json:"revision" doc:"Bumped by every change (content, name, folder, trash): the ETag."`
	Thumbnail   bool       `json:"thumbnail" doc:"Whether GET /files/{id}/thumbnail has an image for the current version."`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty" doc:"Set while the file is in the trash."`
	Access      string     `json:"access,omitempty" enum:"read,write,manage" doc:"The caller's effective access: the strongest of ownership, its own grant, its org's grant and its spaces' grants."`
}

// Version is one immutable version of a file's content.
type Version struct {
	FileID      string    `json:"file_id"`
	Version     int64     `json:"version"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// Grant gives a user, an org or a space access to a file.
type Grant struct {
	FileID        string    `json:"file_id"`
	PrincipalType string    `json:"principal_type" enum:"user,org,space"`
	PrincipalID   string    `json:"principal_id"`
	Access        string    `json:"access" enum:"read,write,manage"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Link is a public link to a file's current version.
type Link struct {
	ID        string     `json:"id"`
	FileID    string     `json:"file_id"`
	URL       string     `json:"url,omitempty" doc:"Only in the answer of the create: the token is not stored."`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Password  bool       `json:"password" doc:"Whether the link asks for a password."`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// Upload is a direct upload in progress.
type Upload struct {
	UploadID  string            `json:"upload_id"`
	URL       string            `json:"url" doc:"PUT the bytes here."`
	Method    string            `json:"method" enum:"PUT"`
	Headers   map[string]string `json:"headers" doc:"Headers to send with the PUT."`
	ExpiresAt time.Time         `json:"expires_at"`
}

// Settings are an org's sharing settings and storage use.
type Settings struct {
	OrgID           string `json:"org_id"`
	ExternalSharing bool   `json:"external_sharing" doc:"Whether files may be shared with users outside the org."`
	UsedBytes       int64  `json:"used_bytes" doc:"Bytes stored: every version, the trash included."`
	QuotaBytes      int64  `json:"quota_bytes" doc:"The org's quota; 0 means none."`
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
