package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// EventApp is the app part of identity's event types (auth.user.created…).
const EventApp = "auth"

// The event types the pool emits, each in the transaction of its change.
const (
	EventUserCreated         = "auth.user.created"
	EventUserConfirmed       = "auth.user.confirmed"
	EventUserSignedIn        = "auth.user.signed_in"
	EventUserPasswordChanged = "auth.user.password_changed" //nolint:gosec // an event type, not a credential
	EventUserUpdated         = "auth.user.updated"
	EventUserDisabled        = "auth.user.disabled"
	EventUserEnabled         = "auth.user.enabled"
)

// MailApp is the app name of identity's mails in the outbox.
const MailApp = "identity"

// Code lifetimes, attempts and token lifetimes.
const (
	ConfirmCodeTTL    = 24 * time.Hour
	ResetCodeTTL      = time.Hour
	InviteCodeTTL     = 7 * 24 * time.Hour
	MaxCodeAttempts   = 5
	DefaultRefreshTTL = 30 * 24 * time.Hour
	maxAttributes     = 50
	maxAttributeLen   = 2048
	maxNameLen        = 200
)

const (
	purposeConfirm = "confirm"
	purposeReset   = "reset"
)

//go:embed mails/*.tmpl
var mailFS embed.FS

// Client is an app client: the client_id a sign-up or sign-in names, the
// app it belongs to, and the custom attributes sign-up (and PATCH /auth/me)
// may set for its users.
type Client struct {
	ID                string
	App               string
	AllowedAttributes []string
}

// PoolOptions configure a Pool.
type PoolOptions struct {
	Clients []Client
	// Argon2 are the password hash parameters; zero means DefaultArgon2.
	Argon2 Argon2Params
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// RefreshTTL is a refresh token's lifetime; 0 means DefaultRefreshTTL.
	RefreshTTL time.Duration
	// Throttle tunes back-off and rate limits; zero fields take defaults.
	Throttle ThrottleOptions
}

// User is a user of the pool, as the API and the CLI show it.
type User struct {
	ID         string            `json:"id" doc:"The user's id (UUIDv7)."`
	Email      string            `json:"email" doc:"The normalized (lower-case, NFC) address."`
	Name       string            `json:"name"`
	Confirmed  bool              `json:"confirmed" doc:"Whether the address was confirmed with a mailed code."`
	Disabled   bool              `json:"disabled"`
	Attributes map[string]string `json:"attributes" nullable:"false" doc:"Custom attributes (custom:<name> in tokens)."`
	ClientID   string            `json:"client_id" doc:"The app client the user signed up with; empty when none."`
	CreatedAt  time.Time         `json:"created_at"`
}

// UserFilter selects users for ListUsers.
type UserFilter struct {
	// Query matches a part of the email (case-insensitive); empty matches all.
	Query string
	// Limit: 0 means 50; at most 500.
	Limit int
	// Cursor is the next value of the previous page.
	Cursor string
}

// Pool is the platform's user pool: sign-up, confirmation, sign-in
// (password and refresh-token grants), password reset, invitations and the
// profile, and the user management the CLI and admin API use. The door
// operations (CreateAccount … ResetPassword) are what /auth serves; other
// transports call them to offer the same flows with the same throttling.
type Pool struct {
	db      *store.DB
	keys    *KeySet
	events  *events.Log
	outbox  *mail.Outbox
	mails   *mail.Templates
	clients map[string]Client
	argon   Argon2Params
	now     func() time.Time
	refresh time.Duration
	dummy   string // a hash checked for unknown emails (similar timing)

	failAccount *backoff
	failIP      *backoff
	signupIP    *limiter
	mailIP      *limiter
	mailAddress *limiter
}

// NewPool returns the user pool on st (migrated with Migrations, after the
// events and mail lines). ks signs the tokens; log receives the auth.user.*
// events; outbox gets the mails (confirmation and reset codes).
func NewPool(st *store.Store, ks *KeySet, log *events.Log, outbox *mail.Outbox, opts PoolOptions) (*Pool, error) {
	if st == nil || ks == nil || log == nil || outbox == nil {
		return nil, errors.New("identity: NewPool needs a store, a key set, an event log and an outbox")
	}
	tmpl, err := mail.ParseTemplates(mailFS, "mails")
	if err != nil {
		return nil, err
	}
	p := &Pool{
		db: st.App(Schema), keys: ks, events: log, outbox: outbox, mails: tmpl,
		clients: map[string]Client{}, argon: opts.Argon2, now: opts.Now, refresh: opts.RefreshTTL,
	}
	if p.argon == (Argon2Params{}) {
		p.argon = DefaultArgon2
	}
	if p.argon.Time == 0 || p.argon.Memory == 0 || p.argon.Threads == 0 || p.argon.KeyLen < 16 || p.argon.SaltLen < 8 {
		return nil, fmt.Errorf("identity: invalid argon2 parameters %+v", p.argon)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.refresh <= 0 {
		p.refresh = DefaultRefreshTTL
	}
	for _, c := range opts.Clients {
		if c.ID == "" || len(c.ID) > 128 {
			return nil, fmt.Errorf("identity: invalid client id %q", c.ID)
		}
		if _, dup := p.clients[c.ID]; dup {
			return nil, fmt.Errorf("identity: client %q registered twice", c.ID)
		}
		p.clients[c.ID] = c
	}
	if p.dummy, err = HashPassword("tessera-dummy-password", p.argon); err != nil {
		return nil, err
	}
	th := opts.Throttle.withDefaults()
	p.failAccount = newBackoff(th.Account, th.MaxKeys)
	p.failIP = newBackoff(th.IP, th.MaxKeys)
	p.signupIP = newLimiter(th.SignUp, th.MaxKeys)
	p.mailIP = newLimiter(th.Mail, th.MaxKeys)
	p.mailAddress = newLimiter(th.MailAddress, th.MaxKeys)
	return p, nil
}

// Clients returns the registered app clients.
func (p *Pool) Clients() []Client {
	out := make([]Client, 0, len(p.clients))
	for _, c := range p.clients {
		out = append(out, c)
	}
	return out
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func hashHex(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func newRefreshToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func refreshHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// ---- users ----

const userCols = `id, email, name, client_id, attributes, confirmed_at, disabled_at, created_at`

type userRow struct {
	User
	hash string
}

func scanUser(sc interface{ Scan(...any) error }, withHash bool) (userRow, error) {
	var (
		r         userRow
		attrs     string
		conf, dis *int64
		created   int64
		dest      = []any{&r.ID, &r.Email, &r.Name, &r.ClientID, &attrs, &conf, &dis, &created}
	)
	if withHash {
		dest = append(dest, &r.hash)
	}
	if err := sc.Scan(dest...); err != nil {
		return userRow{}, err
	}
	r.Attributes = map[string]string{}
	if attrs != "" {
		if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
			return userRow{}, fault.Wrap(err, fault.Internal, "identity: corrupt attributes")
		}
	}
	r.Confirmed, r.Disabled = conf != nil, dis != nil
	r.CreatedAt = time.Unix(created, 0).UTC()
	return r, nil
}

func (p *Pool) userBy(ctx context.Context, q store.Querier, col, val string) (userRow, error) {
	r, err := scanUser(q.QueryRow(ctx, `SELECT `+userCols+`, password_hash FROM identity_users WHERE `+col+` = ?`, val), true)
	if err != nil {
		return userRow{}, store.NotFound(err, "user")
	}
	return r, nil
}

// GetUser returns the user with id (fault.NotFound when none).
func (p *Pool) GetUser(ctx context.Context, id string) (User, error) {
	r, err := p.userBy(ctx, p.db, "id", id)
	return r.User, err
}

// GetUserByEmail returns the user with email (normalized first).
func (p *Pool) GetUserByEmail(ctx context.Context, email string) (User, error) {
	e, err := NormalizeEmail("email", email)
	if err != nil {
		return User{}, err
	}
	r, err := p.userBy(ctx, p.db, "email", e)
	return r.User, err
}

// ListUsers returns users in id (creation) order matching f, and the cursor
// of the next page ("" on the last one).
func (p *Pool) ListUsers(ctx context.Context, f UserFilter) ([]User, string, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 500:
		return nil, "", fault.WithFields("invalid limit", fault.FieldError{Location: "query.limit", Message: "must be between 1 and 500", Value: limit})
	}
	if len(f.Query) > MaxEmailLength || len(f.Cursor) > 100 {
		return nil, "", fault.New(fault.Invalid, "query or cursor too long")
	}
	q := `SELECT ` + userCols + ` FROM identity_users WHERE id > ?`
	args := []any{f.Cursor}
	if f.Query != "" {
		cond, arg := store.ContainsFold("email", f.Query)
		q += ` AND ` + cond
		args = append(args, arg)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1)
	rows, err := p.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		r, err := scanUser(rows, false)
		if err != nil {
			return nil, "", err
		}
		users = append(users, r.User)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	users, next := store.TrimPage(users, limit, func(u User) string { return u.ID })
	return users, next, nil
}

func (p *Pool) emit(ctx context.Context, tx *store.Tx, typ, userID string, payload map[string]any) error {
	if payload == nil {
		payload = map[string]any{}
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return p.events.Emit(ctx, tx, events.Event{Type: typ, Subject: userID, Payload: b})
}

// checkAttributes validates attrs against client's allowed names.
func (p *Pool) checkAttributes(clientID string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return nil
	}
	c, ok := p.clients[clientID]
	if !ok {
		return fault.WithFields("attributes not allowed", fault.FieldError{Location: "body.attributes", Message: "attributes need a client_id that allows them"})
	}
	if len(attrs) > maxAttributes {
		return fault.WithFields("too many attributes", fault.FieldError{Location: "body.attributes", Message: fmt.Sprintf("at most %d", maxAttributes)})
	}
	for k, v := range attrs {
		allowed := false
		for _, a := range c.AllowedAttributes {
			if a == k {
				allowed = true
				break
			}
		}
		if !allowed {
			return fault.WithFields("attribute not allowed", fault.FieldError{Location: "body.attributes." + k, Message: "not an attribute client " + clientID + " may set"})
		}
		if len(v) > maxAttributeLen || !utf8.ValidString(v) {
			return fault.WithFields("invalid attribute", fault.FieldError{Location: "body.attributes." + k, Message: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxAttributeLen)})
		}
	}
	return nil
}

func checkName(name string) error {
	if utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
		return fault.WithFields("invalid name", fault.FieldError{Location: "body.name", Message: fmt.Sprintf("must be at most %d characters", maxNameLen)})
	}
	return nil
}

// SignUp is the input of a sign-up.
type SignUp struct {
	Email, Password, Name, ClientID string
	Attributes                      map[string]string
}

// insertUser creates u in tx (confirmed or not), emits auth.user.created and,
// when unconfirmed, mails a confirmation code.
func (p *Pool) insertUser(ctx context.Context, tx *store.Tx, u User, hash string) error {
	if err := p.insertUserRow(ctx, tx, u, hash); err != nil {
		return err
	}
	if !u.Confirmed {
		return p.sendCode(ctx, tx, u, purposeConfirm)
	}
	return nil
}

// insertUserRow creates u in tx and emits auth.user.created, mailing nothing.
func (p *Pool) insertUserRow(ctx context.Context, tx *store.Tx, u User, hash string) error {
	now := p.now().Unix()
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return err
	}
	var conf *int64
	if u.Confirmed {
		conf = &now
	}
	_, err = tx.Exec(ctx, `INSERT INTO identity_users (id, email, name, password_hash, client_id, attributes, confirmed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, hash, u.ClientID, string(attrs), conf, now, now)
	if err != nil {
		return err
	}
	return p.emit(ctx, tx, EventUserCreated, u.ID, map[string]any{"email": u.Email, "client_id": u.ClientID, "confirmed": u.Confirmed})
}

// sendCode replaces u's code for purpose with a new one and mails it (the
// "confirm" or "reset" template).
func (p *Pool) sendCode(ctx context.Context, tx *store.Tx, u User, purpose string) error {
	if purpose == purposeReset {
		return p.mailNewCode(ctx, tx, u, purpose, "reset", ResetCodeTTL)
	}
	return p.mailNewCode(ctx, tx, u, purpose, "confirm", ConfirmCodeTTL)
}

// mailNewCode replaces u's code for purpose with a new one valid for ttl and
// mails it with template tmpl.
func (p *Pool) mailNewCode(ctx context.Context, tx *store.Tx, u User, purpose, tmpl string, ttl time.Duration) error {
	code, err := newCode()
	if err != nil {
		return err
	}
	id := newID()
	now := p.now()
	if _, err := tx.Exec(ctx, `DELETE FROM identity_codes WHERE user_id = ? AND purpose = ?`, u.ID, purpose); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO identity_codes (id, user_id, purpose, code_hash, attempts, expires_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)`,
		id, u.ID, purpose, hashHex(u.ID, purpose, code), now.Add(ttl).Unix(), now.Unix()); err != nil {
		return err
	}
	content, err := p.mails.Render(tmpl, map[string]any{"Code": code, "Email": u.Email, "Name": u.Name, "ExpiresIn": humanTTL(ttl)})
	if err != nil {
		return err
	}
	_, _, err = p.outbox.Enqueue(ctx, tx, mail.Message{DedupeKey: u.ID + ":" + purpose + ":" + id, App: MailApp, Template: tmpl, To: u.Email, Content: content})
	return err
}

// humanTTL writes a code lifetime for a mail: "7 days", "1 hour", "30
// minutes" (whole units), else Duration's form.
func humanTTL(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// CreateUser creates a user (the CLI's user create): confirmed users get no
// mail; unconfirmed ones are mailed a code. The password policy applies.
func (p *Pool) CreateUser(ctx context.Context, email, password, name string, confirmed bool) (User, error) {
	e, err := NormalizeEmail("email", email)
	if err != nil {
		return User{}, err
	}
	if err := CheckPasswordPolicy("password", password); err != nil {
		return User{}, err
	}
	if err := checkName(name); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password, p.argon)
	if err != nil {
		return User{}, err
	}
	u := User{ID: newID(), Email: e, Name: name, Confirmed: confirmed, Attributes: map[string]string{}, CreatedAt: time.Unix(p.now().Unix(), 0).UTC()}
	err = p.db.InTx(ctx, func(tx *store.Tx) error { return p.insertUser(tx.Context(), tx, u, hash) })
	if fault.Is(err, fault.Conflict) {
		return User{}, fault.New(fault.Conflict, "a user with this email exists")
	}
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// Invite returns the user of email (normalized) with created false when
// there is one, enabled or not, and changes or mails nothing. Otherwise it
// creates an unconfirmed user named name with an unusable random password,
// emits auth.user.created (as every creation does) and mails an invitation
// ("invite" template) carrying a reset code valid for InviteCodeTTL: the
// invited person sets a password with ResetPassword, which confirms the
// address, then signs in. It checks no caller and throttles nothing: the
// calling app decides who may invite whom.
//
// Errors: fault.Invalid naming body.email for an invalid address, or
// body.name for an invalid name (over 200 characters, or not UTF-8).
func (p *Pool) Invite(ctx context.Context, email, name string) (u User, created bool, err error) {
	e, err := NormalizeEmail("body.email", email)
	if err != nil {
		return User{}, false, err
	}
	if err := checkName(name); err != nil {
		return User{}, false, err
	}
	if existing, err := p.userBy(ctx, p.db, "email", e); err == nil {
		return existing.User, false, nil
	} else if !fault.Is(err, fault.NotFound) {
		return User{}, false, err
	}
	secret, err := newRefreshToken() // 256 random bits nobody learns
	if err != nil {
		return User{}, false, err
	}
	hash, err := HashPassword(secret, p.argon) // a real hash: sign-in timing stays alike
	if err != nil {
		return User{}, false, err
	}
	err = p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		created = false
		existing, err := p.userBy(ctx, tx, "email", e)
		switch {
		case err == nil:
			u = existing.User
			return nil
		case !fault.Is(err, fault.NotFound):
			return err
		}
		u = User{ID: newID(), Email: e, Name: name, Attributes: map[string]string{}, CreatedAt: time.Unix(p.now().Unix(), 0).UTC()}
		if err := p.insertUserRow(ctx, tx, u, hash); err != nil {
			return err
		}
		created = true
		return p.mailNewCode(ctx, tx, u, purposeReset, "invite", InviteCodeTTL)
	})
	if fault.Is(err, fault.Conflict) {
		// Invited concurrently: the other call created the user.
		existing, err := p.userBy(ctx, p.db, "email", e)
		if err != nil {
			return User{}, false, err
		}
		return existing.User, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	return u, created, nil
}

// CreateAccount is POST /auth/signup for any door: it registers an
// unconfirmed user and mails a 6-digit confirmation code (ConfirmAccount
// takes it). An email that is taken answers exactly like a new one (a
// fabricated user in the same shape) and creates nothing; the owner of the
// address is mailed a notice ("exists" template) instead of a code. ip is the
// client's address, the key of the per-IP sign-up limit.
//
// Errors: fault.RateLimited (RetryAfter set) past the per-IP limit;
// fault.Invalid naming body.email, body.client_id (unknown client),
// body.name, body.attributes[.<name>] (not allowed by the client) or
// body.password (the policy: CheckPasswordPolicy).
func (p *Pool) CreateAccount(ctx context.Context, ip string, in SignUp) (User, error) {
	if err := p.signupIP.allow(ip, p.now()); err != nil {
		return User{}, err
	}
	e, err := NormalizeEmail("body.email", in.Email)
	if err != nil {
		return User{}, err
	}
	if in.ClientID != "" {
		if _, ok := p.clients[in.ClientID]; !ok {
			return User{}, fault.WithFields("unknown client", fault.FieldError{Location: "body.client_id", Message: "unknown client_id", Value: in.ClientID})
		}
	}
	if err := checkName(in.Name); err != nil {
		return User{}, err
	}
	if err := p.checkAttributes(in.ClientID, in.Attributes); err != nil {
		return User{}, err
	}
	if err := CheckPasswordPolicy("body.password", in.Password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password, p.argon) // also for taken emails: same timing
	if err != nil {
		return User{}, err
	}
	attrs := in.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	u := User{ID: newID(), Email: e, Name: in.Name, ClientID: in.ClientID, Attributes: attrs, CreatedAt: time.Unix(p.now().Unix(), 0).UTC()}
	err = p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		existing, err := p.userBy(ctx, tx, "email", e)
		switch {
		case err == nil:
			if existing.Disabled {
				return nil
			}
			content, err := p.mails.Render("exists", map[string]any{"Email": existing.Email, "Name": existing.Name})
			if err != nil {
				return err
			}
			_, _, err = p.outbox.Enqueue(ctx, tx, mail.Message{DedupeKey: existing.ID + ":exists:" + newID(), App: MailApp, Template: "exists", To: existing.Email, Content: content})
			return err
		case !fault.Is(err, fault.NotFound):
			return err
		}
		return p.insertUser(ctx, tx, u, hash)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// codeResult is what checking a code found; the attempt counter is
// committed even when the code is wrong, so errors are returned after InTx.
var errBadCode = fault.WithFields("invalid or expired code", fault.FieldError{Location: "body.code", Message: "invalid or expired code: request a new one after 5 wrong tries"})

// useCode checks code for (u, purpose) in tx: on a match it deletes the code
// and reports true; on a mismatch it counts the attempt. A locked (5 wrong
// tries) or expired code never matches.
func (p *Pool) useCode(ctx context.Context, tx *store.Tx, userID, purpose, code string) (bool, error) {
	var (
		hash     string
		attempts int
		expires  int64
	)
	err := tx.QueryRow(ctx, `SELECT code_hash, attempts, expires_at FROM identity_codes WHERE user_id = ? AND purpose = ?`, userID, purpose).Scan(&hash, &attempts, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, store.Normalize(err)
	}
	if attempts >= MaxCodeAttempts || p.now().Unix() >= expires {
		return false, nil
	}
	if len(code) != 6 || hashHex(userID, purpose, code) != hash {
		_, err := tx.Exec(ctx, `UPDATE identity_codes SET attempts = attempts + 1 WHERE user_id = ? AND purpose = ?`, userID, purpose)
		return false, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM identity_codes WHERE user_id = ? AND purpose = ?`, userID, purpose)
	return err == nil, err
}

// ConfirmAccount is POST /auth/confirm: it checks the confirmation code
// mailed to email and confirms the user (emitting auth.user.confirmed).
//
// Errors: fault.Invalid naming body.email for an invalid address, and naming
// body.code, alike, for a wrong, expired or locked (after MaxCodeAttempts
// wrong tries) code and for an unknown address.
func (p *Pool) ConfirmAccount(ctx context.Context, email, code string) error {
	e, err := NormalizeEmail("body.email", email)
	if err != nil {
		return err
	}
	return p.withCode(ctx, e, purposeConfirm, code, func(ctx context.Context, tx *store.Tx, u userRow) error {
		now := p.now().Unix()
		if _, err := tx.Exec(ctx, `UPDATE identity_users SET confirmed_at = ?, updated_at = ? WHERE id = ? AND confirmed_at IS NULL`, now, now, u.ID); err != nil {
			return err
		}
		return p.emit(ctx, tx, EventUserConfirmed, u.ID, map[string]any{"email": u.Email})
	})
}

// withCode runs fn, in one transaction, for the user of email once code is
// their valid code for purpose (using it up). A wrong, expired or locked
// code and an unknown email all return errBadCode, alike.
func (p *Pool) withCode(ctx context.Context, email, purpose, code string, fn func(context.Context, *store.Tx, userRow) error) error {
	ok := false
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		ok = false
		u, err := p.userBy(ctx, tx, "email", email)
		if fault.Is(err, fault.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ok, err = p.useCode(ctx, tx, u.ID, purpose, code); err != nil || !ok {
			return err
		}
		return fn(ctx, tx, u)
	})
	if err != nil {
		return err
	}
	if !ok {
		return errBadCode
	}
	return nil
}

// resend mails a new confirmation code to an unconfirmed, enabled user;
// otherwise it does nothing, and answers the same.
func (p *Pool) resend(ctx context.Context, ip, email string) error {
	return p.mailCode(ctx, ip, email, purposeConfirm, func(u userRow) bool { return !u.Confirmed && !u.Disabled })
}

// ForgotPassword is POST /auth/password/forgot: it mails a reset code
// (ResetPassword takes it) to the enabled user of email; for an unknown or
// disabled address it does nothing, and answers the same. ip is the client's
// address, the key of the per-IP mail limit; the address has its own limit.
//
// Errors: fault.RateLimited (RetryAfter set) past the per-IP or per-address
// limit; fault.Invalid naming body.email for an invalid address.
func (p *Pool) ForgotPassword(ctx context.Context, ip, email string) error {
	return p.mailCode(ctx, ip, email, purposeReset, func(u userRow) bool { return !u.Disabled })
}

// mailCode mails a new code for purpose to the user of email when wanted
// says so, after the per-IP and per-address limits; an unknown email or an
// unwanted user does nothing and answers the same.
func (p *Pool) mailCode(ctx context.Context, ip, email, purpose string, wanted func(userRow) bool) error {
	if err := p.mailIP.allow(ip, p.now()); err != nil {
		return err
	}
	e, err := NormalizeEmail("body.email", email)
	if err != nil {
		return err
	}
	if err := p.mailAddress.allow(e, p.now()); err != nil {
		return err
	}
	return p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		u, err := p.userBy(ctx, tx, "email", e)
		if fault.Is(err, fault.NotFound) {
			return nil
		}
		if err != nil || !wanted(u) {
			return err
		}
		return p.sendCode(ctx, tx, u.User, purpose)
	})
}

// ResetPassword is POST /auth/password/reset: it sets a new password with a
// reset code (from ForgotPassword, ForcePasswordReset or Invite), revokes
// every refresh token of the user and emits auth.user.password_changed. It
// also confirms an unconfirmed address, emitting auth.user.confirmed: the
// code was mailed to it, so it proves control of the address.
//
// Errors: fault.Invalid naming body.email for an invalid address,
// body.password for a password the policy refuses, and body.code, alike,
// for a wrong, expired or locked code and for an unknown address.
func (p *Pool) ResetPassword(ctx context.Context, email, code, password string) error {
	e, err := NormalizeEmail("body.email", email)
	if err != nil {
		return err
	}
	if err := CheckPasswordPolicy("body.password", password); err != nil {
		return err
	}
	hash, err := HashPassword(password, p.argon)
	if err != nil {
		return err
	}
	return p.withCode(ctx, e, purposeReset, code, func(ctx context.Context, tx *store.Tx, u userRow) error {
		now := p.now().Unix()
		if _, err := tx.Exec(ctx, `UPDATE identity_users SET password_hash = ?, confirmed_at = COALESCE(confirmed_at, ?), updated_at = ? WHERE id = ?`, hash, now, now, u.ID); err != nil {
			return err
		}
		if err := revokeSessions(ctx, tx, u.ID, now); err != nil {
			return err
		}
		if !u.Confirmed {
			if err := p.emit(ctx, tx, EventUserConfirmed, u.ID, map[string]any{"email": u.Email}); err != nil {
				return err
			}
		}
		return p.emit(ctx, tx, EventUserPasswordChanged, u.ID, map[string]any{"via": "reset"})
	})
}

// revokeSessions revokes every live refresh token of a user (signs them out
// everywhere once their access tokens expire).
func revokeSessions(ctx context.Context, tx *store.Tx, userID string, now int64) error {
	_, err := tx.Exec(ctx, `UPDATE identity_refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now, userID)
	return err
}

// SetDisabled disables (revoking every refresh token: the user's access
// tokens live on until they expire, at most 15 minutes) or enables a user.
func (p *Pool) SetDisabled(ctx context.Context, id string, disabled bool) (User, error) {
	var u userRow
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		var err error
		if u, err = p.userBy(ctx, tx, "id", id); err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil
		}
		now := p.now().Unix()
		var at *int64
		typ := EventUserEnabled
		if disabled {
			at, typ = &now, EventUserDisabled
			if err := revokeSessions(ctx, tx, id, now); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE identity_users SET disabled_at = ?, updated_at = ? WHERE id = ?`, at, now, id); err != nil {
			return err
		}
		u.Disabled = disabled
		return p.emit(ctx, tx, typ, id, nil)
	})
	return u.User, err
}

// UserUpdate is a change to a user's profile: nil fields are kept; an
// attribute set to "" is removed.
type UserUpdate struct {
	Name       *string
	Attributes map[string]string
}

// UpdateUser changes the name and attributes of user id; attributes are
// limited to those the user's client allows.
func (p *Pool) UpdateUser(ctx context.Context, id string, up UserUpdate) (User, error) {
	if up.Name != nil {
		if err := checkName(*up.Name); err != nil {
			return User{}, err
		}
	}
	var u userRow
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		var err error
		if u, err = p.userBy(ctx, tx, "id", id); err != nil {
			return err
		}
		if err := p.checkAttributes(u.ClientID, up.Attributes); err != nil {
			return err
		}
		if up.Name != nil {
			u.Name = *up.Name
		}
		for k, v := range up.Attributes {
			if v == "" {
				delete(u.Attributes, k)
			} else {
				u.Attributes[k] = v
			}
		}
		attrs, err := json.Marshal(u.Attributes)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE identity_users SET name = ?, attributes = ?, updated_at = ? WHERE id = ?`, u.Name, string(attrs), p.now().Unix(), id); err != nil {
			return err
		}
		return p.emit(ctx, tx, EventUserUpdated, id, nil)
	})
	return u.User, err
}

// ---- tokens ----

// TokenResponse is the body of POST /auth/token.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type" enum:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds the access token lives."`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

var errSignIn = fault.New(fault.Unauthorized, "invalid email or password")

var errRefresh = fault.New(fault.Unauthorized, "invalid refresh token")

// Throttle keys: accounts and IPs in separate maps.
func (p *Pool) signInThrottled(account, ip string, now time.Time) error {
	if err := p.failIP.check(ip, now); err != nil {
		return err
	}
	return p.failAccount.check(account, now)
}

// SignIn is POST /auth/token with grant_type password: it checks email and
// password and returns fresh tokens (a new refresh-token family) for the
// confirmed, enabled user, with clientID ("" for none) as the ID token's
// audience, and emits auth.user.signed_in. Failed attempts back off per
// account and per ip, the client's address.
//
// Errors: fault.Unauthorized, one and the same, for an unknown email, a
// wrong password, an unconfirmed or a disabled user (and an invalid email);
// fault.RateLimited (RetryAfter set) while backing off; fault.Invalid naming
// body.client_id for an unknown client, or body when email or password is
// empty.
func (p *Pool) SignIn(ctx context.Context, ip, email, password, clientID string) (TokenResponse, error) {
	if clientID != "" {
		if _, ok := p.clients[clientID]; !ok {
			return TokenResponse{}, fault.WithFields("unknown client", fault.FieldError{Location: "body.client_id", Message: "unknown client_id", Value: clientID})
		}
	}
	if email == "" || password == "" {
		return TokenResponse{}, fault.WithFields("email and password are required", fault.FieldError{Location: "body", Message: "email and password are required for grant_type password"})
	}
	now := p.now()
	e, err := NormalizeEmail("body.email", email)
	if err != nil {
		if err := p.failIP.check(ip, now); err != nil {
			return TokenResponse{}, err
		}
		p.failIP.fail(ip, now)
		return TokenResponse{}, errSignIn
	}
	if err := p.signInThrottled(e, ip, now); err != nil {
		return TokenResponse{}, err
	}
	if len(password) > 4*MaxPasswordLength {
		password = password[:4*MaxPasswordLength]
	}
	u, err := p.userBy(ctx, p.db, "email", e)
	var ok, rehash bool
	switch {
	case err == nil:
		ok, rehash = CheckPassword(password, u.hash, p.argon)
	case fault.Is(err, fault.NotFound):
		CheckPassword(password, p.dummy, p.argon) // similar timing
	default:
		return TokenResponse{}, err
	}
	if !ok {
		p.failAccount.fail(e, now)
		p.failIP.fail(ip, now)
		return TokenResponse{}, errSignIn
	}
	if !u.Confirmed || u.Disabled {
		return TokenResponse{}, errSignIn
	}
	p.failAccount.succeed(e)
	var newHash string
	if rehash {
		if newHash, err = HashPassword(password, p.argon); err != nil {
			return TokenResponse{}, err
		}
	}
	var refresh string
	err = p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if newHash != "" {
			if _, err := tx.Exec(ctx, `UPDATE identity_users SET password_hash = ? WHERE id = ?`, newHash, u.ID); err != nil {
				return err
			}
		}
		var err error
		if refresh, err = p.insertRefresh(ctx, tx, u.ID, clientID, newID()); err != nil {
			return err
		}
		return p.emit(ctx, tx, EventUserSignedIn, u.ID, map[string]any{"client_id": clientID, "grant_type": "password"})
	})
	if err != nil {
		return TokenResponse{}, err
	}
	return p.tokens(ctx, u.User, clientID, refresh)
}

func (p *Pool) insertRefresh(ctx context.Context, tx *store.Tx, userID, clientID, family string) (string, error) {
	tok, err := newRefreshToken()
	if err != nil {
		return "", err
	}
	now := p.now()
	_, err = tx.Exec(ctx, `INSERT INTO identity_refresh_tokens (id, family_id, user_id, token_hash, client_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		newID(), family, userID, refreshHash(tok), clientID, now.Unix(), now.Add(p.refresh).Unix())
	return tok, err
}

func (p *Pool) tokens(ctx context.Context, u User, clientID, refresh string) (TokenResponse, error) {
	access, err := p.keys.Mint(ctx, Claims{UserID: u.ID, Email: u.Email, ClientID: clientID, Attributes: u.Attributes})
	if err != nil {
		return TokenResponse{}, err
	}
	id, err := p.keys.mintID(ctx, u, clientID)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(DefaultAccessTTL.Seconds()),
		RefreshToken: refresh, IDToken: id}, nil
}

// Refresh is POST /auth/token with grant_type refresh_token: it rotates
// refreshToken, returning new tokens with a new refresh token of the same
// family. Presenting a token that was already used revokes its whole family
// (it was stolen, or replayed).
//
// Errors: fault.Unauthorized, one and the same, for an unknown, used,
// revoked or expired token and for a disabled or unconfirmed user.
func (p *Pool) Refresh(ctx context.Context, refreshToken string) (TokenResponse, error) {
	if refreshToken == "" || len(refreshToken) > 256 {
		return TokenResponse{}, errRefresh
	}
	var (
		u         userRow
		tokClient string
		next      string
		fail      bool
		found     bool
	)
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		next, fail, found = "", true, false
		var (
			id, family, userID, clientID string
			expires                      int64
			used, revoked                *int64
		)
		err := tx.QueryRow(ctx, `SELECT id, family_id, user_id, client_id, expires_at, used_at, revoked_at FROM identity_refresh_tokens WHERE token_hash = ?`,
			refreshHash(refreshToken)).Scan(&id, &family, &userID, &clientID, &expires, &used, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return store.Normalize(err)
		}
		found = true
		now := p.now().Unix()
		if used != nil && revoked == nil {
			// Reuse of a rotated token: revoke the family (committed).
			_, err := tx.Exec(ctx, `UPDATE identity_refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, now, family)
			return err
		}
		if used != nil || revoked != nil || now >= expires {
			return nil
		}
		if u, err = p.userBy(ctx, tx, "id", userID); err != nil {
			return err
		}
		if u.Disabled || !u.Confirmed {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE identity_refresh_tokens SET used_at = ? WHERE id = ?`, now, id); err != nil {
			return err
		}
		if next, err = p.insertRefresh(ctx, tx, userID, clientID, family); err != nil {
			return err
		}
		tokClient, fail = clientID, false
		return nil
	})
	if err != nil {
		return TokenResponse{}, err
	}
	if fail || !found {
		return TokenResponse{}, errRefresh
	}
	return p.tokens(ctx, u.User, tokClient, next)
}

// logout revokes the family of a refresh token. Unknown tokens are ignored
// (the answer is the same).
func (p *Pool) logout(ctx context.Context, token string) error {
	if token == "" || len(token) > 256 {
		return nil
	}
	return p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		var family string
		err := tx.QueryRow(ctx, `SELECT family_id FROM identity_refresh_tokens WHERE token_hash = ?`, refreshHash(token)).Scan(&family)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return store.Normalize(err)
		}
		_, err = tx.Exec(ctx, `UPDATE identity_refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, p.now().Unix(), family)
		return err
	})
}

// ForcePasswordReset (admin) revokes every refresh token of user id and
// mails them a reset code; the password is left as it is until they reset
// it (their access tokens live until they expire). A disabled user is
// refused (fault.Conflict).
func (p *Pool) ForcePasswordReset(ctx context.Context, id string) error {
	return p.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		u, err := p.userBy(ctx, tx, "id", id)
		if err != nil {
			return err
		}
		if u.Disabled {
			return fault.New(fault.Conflict, "the user is disabled")
		}
		if err := revokeSessions(ctx, tx, id, p.now().Unix()); err != nil {
			return err
		}
		return p.sendCode(ctx, tx, u.User, purposeReset)
	})
}
