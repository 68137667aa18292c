package mail

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Schema is the migration line, and on Postgres the schema and role, of the
// outbox.
const Schema = "mail"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the outbox's own migration line (schema "mail", table
// mail_outbox), kept apart from "platform" so its versions never clash with
// the events and jobs tables. Pass it to store.Migrate after "platform" and
// before the apps.
func Migrations() store.MigrationSet {
	return store.Embedded(Schema, migrations, "migrations")
}

// Status is where a mail is in its life.
type Status string

// The statuses of a mail.
const (
	// StatusPending: enqueued, not sent yet; a failed attempt that may be
	// retried leaves the mail pending with Attempts and LastError set.
	StatusPending Status = "pending"
	// StatusSent: the SMTP server accepted it (or the sink file was written).
	StatusSent Status = "sent"
	// StatusFailed: the server refused it for good (5xx), or the job runner
	// gave up (MarkFailed).
	StatusFailed Status = "failed"
)

// Message is a mail to enqueue: who gets it, why, and its rendered content
// (see Templates.Render).
type Message struct {
	// DedupeKey makes Enqueue idempotent: a second message with the same key
	// is not stored. Use "<event id>:<template>:<recipient>" so a handler that
	// runs twice for one event mails each recipient once. Empty means no
	// deduplication (every Enqueue stores a new mail).
	DedupeKey string
	// App is the app that sends the mail (for the admin listing).
	App string
	// Template names the template the content came from (for the listing).
	Template string
	// To is one address ("ann@example.com"); a display name is dropped.
	To string
	Content
}

// Mail is one row of the outbox, as the admin API lists it.
type Mail struct {
	ID        string     `json:"id"`
	DedupeKey string     `json:"dedupe_key"`
	App       string     `json:"app"`
	Template  string     `json:"template"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Text      string     `json:"text"`
	HTML      string     `json:"html"`
	Status    Status     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	MessageID string     `json:"message_id,omitempty"`
}

// Options tune an Outbox. The zero value works.
type Options struct {
	// Domain is the right side of Message-IDs ("<id@Domain>"): the public
	// host, see DefaultFrom. Empty means "localhost".
	Domain string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Events, when set, receives a QueuedEvent for every mail Enqueue
	// creates, in the same transaction; DeliveryHandler reacts to it. Nil
	// (in tests of the outbox alone) emits nothing.
	Events *events.Log
}

// Outbox stores mails in the database and delivers them through a Sender.
// It is safe for concurrent use.
type Outbox struct {
	db     *store.DB
	table  string
	sender Sender
	domain string
	now    func() time.Time
	events *events.Log
}

// NewOutbox returns the outbox of st, which must have been migrated with
// Migrations. sender delivers (see NewSender).
func NewOutbox(st *store.Store, sender Sender, opts Options) *Outbox {
	o := &Outbox{
		db:     st.App(Schema),
		table:  tableName(st.Engine()),
		sender: sender,
		domain: opts.Domain,
		now:    opts.Now,
		events: opts.Events,
	}
	if o.domain == "" {
		o.domain = "localhost"
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

// tableName is how the outbox table is named in SQL run by any handle.
// Enqueue runs in an app's transaction: on Postgres that connection acts as
// the app's role with search_path "<app>, platform", where mail_outbox does
// not resolve, so the name is schema-qualified (the migration grants the apps
// group role USAGE on the schema and INSERT on the table). SQLite has one
// namespace: the prefixed name is the table.
func tableName(e store.Engine) string {
	if e == store.EnginePostgres {
		return Schema + ".mail_outbox"
	}
	return "mail_outbox"
}

// q puts the outbox table's name into query.
func (o *Outbox) q(query string) string {
	return strings.ReplaceAll(query, "{{outbox}}", o.table)
}

// timeFormat is how times are stored: UTC, fixed width, so that text order is
// time order on both engines.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

const maxErrorLen = 1000

// Enqueue stores m as a pending mail in tx, the caller's transaction, so the
// mail exists if and only if the caller's change commits. It returns the
// mail's id and whether this call created it: when a mail with m.DedupeKey
// exists already (committed, or written earlier in tx), nothing is stored and
// Enqueue returns that mail's id with created false.
//
// The caller then has the mail delivered, also from tx (see the package doc):
// only when created is true, or always (Deliver is idempotent).
//
// Errors: fault.Invalid when To is not one valid address, or App, Subject or
// Text is empty; store errors otherwise (on Postgres a concurrent Enqueue of
// the same key can fail the transaction with a serialization failure, which
// InTx retries).
func (o *Outbox) Enqueue(ctx context.Context, tx *store.Tx, m Message) (id string, created bool, err error) {
	to, err := validate(m)
	if err != nil {
		return "", false, err
	}
	u, err := uuid.NewV7()
	if err != nil {
		return "", false, fmt.Errorf("mail: new id: %w", err)
	}
	id = u.String()
	key := m.DedupeKey
	if key == "" {
		key = id
	}
	res, err := tx.Exec(ctx, o.q(`INSERT INTO {{outbox}}
		(id, dedupe_key, app, template, recipient, subject, text, html, status, attempts, last_error, created_at, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, '', ?, '')
		ON CONFLICT (dedupe_key) DO NOTHING`),
		id, key, m.App, m.Template, to, m.Subject, m.Text, m.HTML, formatTime(o.now()))
	if err != nil {
		return "", false, fmt.Errorf("mail: enqueue: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("mail: enqueue: %w", err)
	}
	if n == 1 {
		if o.events != nil {
			err := o.events.Emit(ctx, tx, events.Event{App: "mail", Type: QueuedEvent, Subject: id})
			if err != nil {
				return "", false, fmt.Errorf("mail: enqueue: %w", err)
			}
		}
		return id, true, nil
	}
	err = tx.QueryRow(ctx, o.q(`SELECT id FROM {{outbox}} WHERE dedupe_key = ?`), key).Scan(&id)
	if err != nil {
		return "", false, fmt.Errorf("mail: enqueue: find mail of dedupe key: %w", store.Normalize(err))
	}
	return id, false, nil
}

// validate checks m and returns its recipient's bare address.
func validate(m Message) (string, error) {
	var fields []fault.FieldError
	addr, err := netmail.ParseAddress(m.To)
	if err != nil {
		fields = append(fields, fault.FieldError{Location: "to", Message: "must be one email address", Value: m.To})
	}
	if m.App == "" {
		fields = append(fields, fault.FieldError{Location: "app", Message: "is required"})
	}
	if strings.TrimSpace(m.Subject) == "" {
		fields = append(fields, fault.FieldError{Location: "subject", Message: "is required"})
	}
	if strings.TrimSpace(m.Text) == "" {
		fields = append(fields, fault.FieldError{Location: "text", Message: "is required"})
	}
	if len(fields) > 0 {
		return "", fault.WithFields("mail: invalid message", fields...)
	}
	return addr.Address, nil
}

// MessageID returns the Message-ID of the mail id: "<id@domain>". It depends
// on the id only, so every attempt to send a mail carries the same one.
func (o *Outbox) MessageID(id string) string { return "<" + id + "@" + o.domain + ">" }

// Deliver sends the mail id through the Sender and marks it sent. It is
// idempotent: a mail already sent is not sent again and Deliver returns nil.
// Nothing is rendered here: the content was rendered at Enqueue.
//
// On a send error it records the attempt (attempts + 1, last_error; status
// failed when the error wraps ErrPermanent, pending otherwise) and returns
// the error, so the job that called it retries with back-off; an error
// wrapping ErrPermanent will fail again and should not be retried.
//
// SMTP cannot be exactly-once: if the process dies after the server accepted
// the mail and before the row is marked sent, the next attempt sends it
// again. Both copies carry the same Message-ID and Date, so receivers that
// deduplicate on Message-ID show it once. Deliver must not run for the same
// id in two places at once (a job runner runs one job once at a time), and
// runs outside any transaction (it writes through the mail schema's handle).
//
// Errors: fault.NotFound for an unknown id; the send error (wrapped); store
// errors.
func (o *Outbox) Deliver(ctx context.Context, id string) error {
	m, err := o.Get(ctx, id)
	if err != nil {
		return err
	}
	if m.Status == StatusSent {
		return nil
	}
	msgID := o.MessageID(m.ID)
	err = o.sender.Send(ctx, Outgoing{
		ID: m.ID, MessageID: msgID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Date: m.CreatedAt,
	})
	if err != nil {
		status := StatusPending
		if errors.Is(err, ErrPermanent) {
			status = StatusFailed
		}
		// Record the attempt even when ctx ended (a shutdown cut the send).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, rerr := o.db.Exec(rctx, o.q(`UPDATE {{outbox}}
			SET attempts = attempts + 1, last_error = ?, status = ?
			WHERE id = ? AND status <> 'sent'`), truncate(err.Error(), maxErrorLen), string(status), id)
		return errors.Join(fmt.Errorf("mail: deliver %s: %w", id, err), rerr)
	}
	_, err = o.db.Exec(ctx, o.q(`UPDATE {{outbox}}
		SET status = 'sent', attempts = attempts + 1, last_error = '', sent_at = ?, message_id = ?
		WHERE id = ?`), formatTime(o.now()), msgID, id)
	if err != nil {
		return fmt.Errorf("mail: deliver %s: sent but not marked (the next attempt resends it): %w", id, err)
	}
	return nil
}

// QueuedEvent is the type of the event Enqueue emits for each new mail; its
// subject is the mail's id.
const QueuedEvent = "mail.message.queued"

// DeliveryHandler is the durable handler that delivers each queued mail:
// at least once per QueuedEvent, retried with back-off by the job runner
// while the send fails. A permanent failure (ErrPermanent) is recorded as
// failed and not retried.
func (o *Outbox) DeliveryHandler() jobs.Handler {
	return jobs.Handler{
		Name:      "mail.deliver",
		EventType: QueuedEvent,
		Handle: func(ctx context.Context, e events.Event) error {
			err := o.Deliver(ctx, e.Subject)
			if errors.Is(err, ErrPermanent) {
				return nil // recorded as failed by Deliver; retrying cannot help
			}
			return err
		},
		// The last attempt failed: the mail will not be sent (unless an admin
		// retries the job), so it must not stay pending.
		OnDead: func(ctx context.Context, e events.Event, err error) error {
			return o.MarkFailed(ctx, e.Subject, "gave up: "+err.Error())
		},
	}
}

// MarkFailed marks a mail that is not sent as failed with reason, for the job
// runner to call when it gives up retrying. A sent mail stays sent.
// Errors: fault.NotFound for an unknown id; store errors.
func (o *Outbox) MarkFailed(ctx context.Context, id, reason string) error {
	if _, err := o.Get(ctx, id); err != nil {
		return err
	}
	_, err := o.db.Exec(ctx, o.q(`UPDATE {{outbox}} SET status = 'failed', last_error = ?
		WHERE id = ? AND status <> 'sent'`), truncate(reason, maxErrorLen), id)
	if err != nil {
		return fmt.Errorf("mail: mark %s failed: %w", id, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

const mailColumns = `id, dedupe_key, app, template, recipient, subject, text, html,
	status, attempts, last_error, created_at, sent_at, message_id`

// Get returns the mail id. Errors: fault.NotFound; store errors.
func (o *Outbox) Get(ctx context.Context, id string) (Mail, error) {
	row := o.db.QueryRow(ctx, o.q(`SELECT `+mailColumns+` FROM {{outbox}} WHERE id = ?`), id)
	m, err := scanMail(row)
	if err != nil {
		return Mail{}, store.NotFound(err, "mail")
	}
	return m, nil
}

// ListFilter selects mails for List. Empty fields match everything.
type ListFilter struct {
	Status Status
	App    string
	// To matches the recipient address, ignoring case.
	To string
	// Limit is the page size: DefaultListLimit when zero, at most
	// MaxListLimit.
	Limit int
	// Cursor is the next value of the previous page; empty for the first.
	Cursor string
}

// Page sizes of List.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// List returns the mails matching f, newest first, and the cursor of the next
// page ("" on the last page). Errors: fault.Invalid for an unknown status or
// a limit out of range; store errors.
func (o *Outbox) List(ctx context.Context, f ListFilter) ([]Mail, string, error) {
	switch f.Status {
	case "", StatusPending, StatusSent, StatusFailed:
	default:
		return nil, "", fault.WithFields("mail: invalid filter", fault.FieldError{
			Location: "status", Message: "must be pending, sent or failed", Value: string(f.Status)})
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	if limit < 0 || limit > MaxListLimit {
		return nil, "", fault.WithFields("mail: invalid filter", fault.FieldError{
			Location: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxListLimit), Value: f.Limit})
	}
	rows, err := o.db.Query(ctx, o.q(`SELECT `+mailColumns+` FROM {{outbox}}
		WHERE (? = '' OR status = ?) AND (? = '' OR app = ?)
		  AND (? = '' OR lower(recipient) = lower(?)) AND (? = '' OR id < ?)
		ORDER BY id DESC LIMIT ?`),
		string(f.Status), string(f.Status), f.App, f.App, f.To, f.To, f.Cursor, f.Cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("mail: list: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, "", fmt.Errorf("mail: list: %w", store.Normalize(err))
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("mail: list: %w", store.Normalize(err))
	}
	out, next := store.TrimPage(out, limit, func(m Mail) string { return m.ID })
	return out, next, nil
}

func scanMail(row interface{ Scan(...any) error }) (Mail, error) {
	var (
		m               Mail
		status, created string
		sentAt          sql.NullString
	)
	err := row.Scan(&m.ID, &m.DedupeKey, &m.App, &m.Template, &m.To, &m.Subject, &m.Text, &m.HTML,
		&status, &m.Attempts, &m.LastError, &created, &sentAt, &m.MessageID)
	if err != nil {
		return Mail{}, err
	}
	m.Status = Status(status)
	if m.CreatedAt, err = time.Parse(timeFormat, created); err != nil {
		return Mail{}, fmt.Errorf("mail %s: created_at %q: %w", m.ID, created, err)
	}
	if sentAt.Valid {
		t, err := time.Parse(timeFormat, sentAt.String)
		if err != nil {
			return Mail{}, fmt.Errorf("mail %s: sent_at %q: %w", m.ID, sentAt.String, err)
		}
		m.SentAt = &t
	}
	return m, nil
}
