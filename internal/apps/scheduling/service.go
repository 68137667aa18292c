package scheduling

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Reasons of the conflicts the app reports (the problem's "reason").
const (
	ReasonStale         = "stale_version"
	ReasonDoubleBooking = "double_booking"
)

// Options tune a Service.
type Options struct {
	// PublicURL is the base of the calendar feed URLs.
	PublicURL string
	// DigestWindow is the least time between two mails to one attendee:
	// the changes of the meantime go out together in one digest (default
	// 1 minute).
	DigestWindow time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Service holds the app's rules, transport-free: the websocket actions, the
// REST mirror and the admin routes all call it.
type Service struct {
	db     *store.DB
	events *events.Log
	outbox *mail.Outbox
	mails  *mail.Templates
	users  *identity.Pool
	orgs   *orgs.Service
	opts   Options
}

// NewService returns the service on the app's database.
func NewService(db *store.DB, log *events.Log, outbox *mail.Outbox, mails *mail.Templates, users *identity.Pool, org *orgs.Service, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DigestWindow <= 0 {
		opts.DigestWindow = time.Minute
	}
	return &Service{db: db, events: log, outbox: outbox, mails: mails, users: users, orgs: org, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newToken returns a random URL-safe secret (a calendar feed's).
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Caller is who performs an operation: a member of OrgID with Role, or an
// admin key (Admin) acting on any org.
type Caller struct {
	OrgID  string
	UserID string
	Role   string
	Admin  bool
}

// manages reports whether the caller may change projects, resources,
// layouts and users.
func (c Caller) manages() bool {
	return c.Admin || c.Role == orgs.RoleOwner || c.Role == orgs.RoleAdmin
}

func (c Caller) mustManage(what string) error {
	if !c.manages() {
		return fault.New(fault.Forbidden, "only owners and admins change %s", what)
	}
	return nil
}

// principal is the caller as the org service knows it.
func (c Caller) principal() authz.Principal {
	if c.Admin {
		return authz.Principal{IsAdmin: true, Via: authz.ViaAdminKey}
	}
	return authz.Principal{UserID: c.UserID, OrgID: c.OrgID, Role: c.Role, Via: authz.ViaPlatform}
}

// CallerOf returns the caller for p in its org, with the role read now
// (fault.Forbidden when p is not a member, fault.Invalid without an org).
func (s *Service) CallerOf(ctx context.Context, p authz.Principal) (Caller, error) {
	if p.IsAdmin {
		return Caller{OrgID: p.OrgID, Admin: true}, nil
	}
	if p.UserID == "" {
		return Caller{}, fault.New(fault.Forbidden, "scheduling is for users")
	}
	if p.OrgID == "" {
		return Caller{}, fault.WithFields("no organization chosen",
			fault.FieldError{Location: "query.org_id", Message: "choose an org you are a member of (?org_id= or X-Org-ID)"})
	}
	return s.reload(ctx, Caller{OrgID: p.OrgID, UserID: p.UserID})
}

// reload reads the caller's role again (a websocket's caller, before each
// action): a removed member gets fault.Forbidden.
func (s *Service) reload(ctx context.Context, c Caller) (Caller, error) {
	if c.Admin {
		return c, nil
	}
	m, ok, err := s.orgs.Membership(ctx, c.OrgID, c.UserID)
	if err != nil {
		return Caller{}, err
	}
	if !ok {
		return Caller{}, fault.New(fault.Forbidden, "you are not a member of this organization")
	}
	c.Role = m.Role
	return c, nil
}

// change is the payload of every event the app emits: what happened to
// which item. Previous is set on event updates: the old time range and
// resources, so that subscribers of the old window learn of a move out.
type change struct {
	Change   string    `json:"change"`
	Kind     string    `json:"kind,omitempty"`
	Item     any       `json:"item"`
	Previous *previous `json:"previous,omitempty"`
	Actor    string    `json:"actor,omitempty"`
}

type previous struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	ResourceIDs []string  `json:"resource_ids"`
}

// Changes of items in push frames.
const (
	changeCreated = "created"
	changeUpdated = "updated"
	changeDeleted = "deleted"
)

func (s *Service) emit(ctx context.Context, tx *store.Tx, typ, orgID, subject string, payload change) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return s.events.Emit(ctx, tx, events.Event{Type: typ, OrgID: orgID, Subject: subject, Payload: b})
}

// actor names the caller in events.
func (c Caller) actor() string {
	if c.Admin {
		return "admin"
	}
	return c.UserID
}

// staleError is the conflict of an update that read an old version.
func staleError(kind string, current int64) error {
	return &fault.Error{Code: fault.Conflict, Reason: ReasonStale,
		Message: kind + " was changed meanwhile: it is at version " + itoa(current) + "; read it again"}
}

// IsStale reports whether err is a stale-version conflict (412 over REST).
func IsStale(err error) bool {
	f := fault.As(err)
	return f != nil && f.Code == fault.Conflict && f.Reason == ReasonStale
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// calendarURL is a resource's feed URL.
func (s *Service) calendarURL(r Resource) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + "/scheduling/resources/" + url.PathEscape(r.ID) +
		"/calendar.ics?token=" + url.QueryEscape(r.calendarToken)
}
