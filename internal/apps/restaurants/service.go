package restaurants

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Options configure a Service.
type Options struct {
	Regions  []string
	Location *time.Location
	ReportTo []string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Service is the restaurants app: every operation checks the caller against
// the database (never against token attributes alone) and records what it
// changed as an event in the same transaction.
type Service struct {
	db     *store.DB
	events *events.Log
	outbox *mail.Outbox
	mails  *mail.Templates
	blobs  blob.Store
	opts   Options
}

// NewService returns the service on db.
func NewService(db *store.DB, log *events.Log, outbox *mail.Outbox, mails *mail.Templates, blobs blob.Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	return &Service{db: db, events: log, outbox: outbox, mails: mails, blobs: blobs, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// caller is the requesting user as the database knows them now.
type caller struct {
	UserID       string
	Email        string
	Name         string
	ClientID     string
	RestaurantID string // "" for customers
	Role         string // CUSTOMER, STAFF or MANAGER
}

func (c caller) staffOf(restaurantID string) bool {
	return c.RestaurantID == restaurantID && (c.Role == RoleStaff || c.Role == RoleManager)
}

func (c caller) managerOf(restaurantID string) bool {
	return c.RestaurantID == restaurantID && c.Role == RoleManager
}

func (c caller) me() Me {
	m := Me{UserID: c.UserID, Email: c.Email, Name: c.Name, ClientID: c.ClientID, Role: c.Role}
	if c.RestaurantID != "" {
		id := c.RestaurantID
		m.RestaurantID = &id
	}
	return m
}

// callerFrom resolves the request's principal to a caller: a platform user
// (admin keys use /admin/restaurants), with the role read from the database.
func (s *Service) callerFrom(ctx context.Context) (caller, error) {
	p, ok := authz.FromContext(ctx)
	if !ok {
		return caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	if p.UserID == "" {
		return caller{}, fault.New(fault.Forbidden, "the restaurants API is for users; admin keys use /admin/restaurants")
	}
	return s.callerOf(ctx, p.UserID)
}

// callerOf returns user id as a caller, creating the app's profile on first
// sight (a user confirmed before the app was enabled, or made by the CLI).
func (s *Service) callerOf(ctx context.Context, id string) (caller, error) {
	c, err := s.loadCaller(ctx, s.db, id)
	if fault.CodeOf(err) != fault.NotFound {
		return c, err
	}
	if _, err := s.ensureUser(ctx, id); err != nil {
		return caller{}, err
	}
	return s.loadCaller(ctx, s.db, id)
}

// loadCaller reads user id's profile and role through q (fault.NotFound
// when the app has no profile of them).
func (s *Service) loadCaller(ctx context.Context, q store.Querier, id string) (caller, error) {
	c := caller{UserID: id, Role: RoleCustomer}
	var restaurantID, role string
	err := q.QueryRow(ctx, `SELECT u.email, u.name, u.client_id, COALESCE(s.restaurant_id, ''), COALESCE(s.role, '')
		FROM restaurants_users u LEFT JOIN restaurants_staff s ON s.user_id = u.user_id WHERE u.user_id = ?`, id).
		Scan(&c.Email, &c.Name, &c.ClientID, &restaurantID, &role)
	if err := store.NotFound(err, "user"); err != nil {
		return caller{}, err
	}
	if role != "" {
		c.RestaurantID, c.Role = restaurantID, role
	}
	return c, nil
}

// ensureUser creates the app's profile of user id from the user pool and
// reports whether it created it. Idempotent.
func (s *Service) ensureUser(ctx context.Context, id string) (created bool, err error) {
	p, err := identity.LookupUser(ctx, s.db, s.db.Engine(), id)
	if err != nil {
		if fault.CodeOf(err) == fault.NotFound {
			return false, fault.New(fault.Unauthorized, "the token's user does not exist")
		}
		return false, err
	}
	res, err := s.db.Exec(ctx, `INSERT INTO restaurants_users (user_id, email, name, client_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO NOTHING`, p.ID, p.Email, p.Name, p.ClientID, micros(s.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// emit records an event of the app in tx.
func (s *Service) emit(ctx context.Context, tx *store.Tx, typ, subject string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("restaurants: event payload: %w", err)
	}
	return s.events.Emit(ctx, tx, events.Event{Type: typ, Subject: subject, Payload: b})
}

// checkRegion normalizes region (upper case) and checks it is configured.
func (s *Service) checkRegion(location, region string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(region))
	if !slices.Contains(s.opts.Regions, r) {
		return "", fault.WithFields("unknown region", fault.FieldError{Location: location, Value: region,
			Message: fmt.Sprintf("unknown region %q (one of %v)", region, s.opts.Regions)})
	}
	return r, nil
}
