package events

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the store schema of the platform's shared tables.
const Schema = "platform"

// Migrations returns the platform's migration set that creates the event log
// (platform_events) and grants apps' roles what Emit needs. Pass it to
// store.Migrate before the apps' sets (jobs.Migrate does).
func Migrations() store.MigrationSet {
	return store.Embedded(Schema, migrationFiles, "migrations")
}

// DefaultRetention is how long events are kept when Options.Retention is 0.
const DefaultRetention = 7 * 24 * time.Hour

// Options tune a Log. The zero value is ready to use.
type Options struct {
	// Retention is how long Purge keeps events; 0 means DefaultRetention.
	Retention time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Enqueuer enqueues the durable handlers of e in tx, the emitting
// transaction (package jobs provides it).
type Enqueuer func(ctx context.Context, tx *store.Tx, e Event) error

// Log is the event log of one store. It is safe for concurrent use.
type Log struct {
	st        *store.Store
	db        *store.DB // the platform handle: reads and purges
	retention time.Duration
	now       func() time.Time

	mu        sync.RWMutex
	enqueue   Enqueuer
	listeners []func(Event)
}

// New returns the log of st. The platform migrations (Migrations) must have
// been applied before it is used.
func New(st *store.Store, opts Options) *Log {
	l := &Log{st: st, db: st.App(Schema), retention: opts.Retention, now: opts.Now}
	if l.retention <= 0 {
		l.retention = DefaultRetention
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// SetEnqueuer makes Emit call q in the emitting transaction for every event
// (package jobs uses it to enqueue the event's durable handlers). It replaces
// the previous one; nil removes it.
func (l *Log) SetEnqueuer(q Enqueuer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enqueue = q
}

// OnCommit registers f to be called, in-process, with every event after the
// transaction that emitted it through this Log commits (the realtime hub uses
// it as a wake-up). f runs on the committing goroutine, before InTx returns:
// it must not block (hand the event to a channel with a non-blocking send, or
// set a flag) and must not start a transaction of the store. A panic in f is
// logged by the store. Listeners see only this process's events: other nodes
// learn of them through their own readers (Read) or the fan-out. The event
// carries its Cursor; on Postgres a Read may not return it at once (see
// Read), so treat the call as a wake-up, not as the delivery.
func (l *Log) OnCommit(f func(Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listeners = append(l.listeners, f)
}

// typeName is "<app>.<entity>.<verb>": lower-case words of letters, digits
// and underscores, each starting with a letter.
var typeName = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)

// Emit records e in tx, the caller's transaction, and enqueues in the same
// transaction one durable job per handler registered for e.Type: if the
// transaction rolls back, neither the event nor its jobs exist.
//
// e.Type must be "<app>.<entity>.<verb>" in lower case with e.App its first
// part (e.App may be left empty: it is then set from the type); e.Payload
// must be a JSON object, or empty for "{}". Emit sets e.ID (a UUIDv7) and
// e.Time (now, UTC, microseconds); any ID, Time or Cursor given is replaced.
// Errors: fault.Invalid for a bad type, app or payload; otherwise the
// store's errors.
//
// Since InTx may run its function more than once, Emit may too: each attempt
// records its own event, and only the committed attempt's remains.
func (l *Log) Emit(ctx context.Context, tx *store.Tx, e Event) error {
	_, err := l.Record(ctx, tx, e)
	return err
}

// Record is Emit returning the event as recorded, with its ID, Time and
// Cursor (an app that keeps the cursor next to its row, as the chat does for
// resume by message id).
func (l *Log) Record(ctx context.Context, tx *store.Tx, e Event) (Event, error) {
	evs, err := l.RecordAll(ctx, tx, []Event{e})
	if err != nil {
		return Event{}, err
	}
	return evs[0], nil
}

// maxInsertRows bounds the rows of one multi-row INSERT of RecordAll.
const maxInsertRows = 64

// RecordAll is Record for several events at once (a group commit's): they
// are inserted with one statement per up to 64 events, in order, and
// returned recorded, in the same order. Nothing is recorded if one is
// invalid.
func (l *Log) RecordAll(ctx context.Context, tx *store.Tx, evs []Event) ([]Event, error) {
	out := make([]Event, len(evs))
	now := l.now().UTC().Truncate(time.Microsecond)
	for i, e := range evs {
		if err := validate(&e); err != nil {
			return nil, err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("events: new id: %w", err)
		}
		e.ID, e.Time = id.String(), now
		out[i] = e
	}
	for _, part := range store.Split(out, maxInsertRows) {
		if err := insertEvents(ctx, tx, part); err != nil {
			return nil, err
		}
	}

	l.mu.RLock()
	enqueue, listeners := l.enqueue, l.listeners
	l.mu.RUnlock()
	if enqueue != nil {
		for _, e := range out {
			if err := enqueue(ctx, tx, e); err != nil {
				return nil, fmt.Errorf("events: enqueue handlers of %s: %w", e.Type, err)
			}
		}
	}
	if len(listeners) > 0 {
		tx.AfterCommit(func() {
			for _, e := range out {
				for _, f := range listeners {
					f(e)
				}
			}
		})
	}
	return out, nil
}

// insertEvents inserts evs with one statement and sets their cursors. The
// rows of one multi-row INSERT take their seq values in VALUES order, so the
// returned cursors sorted by seq are the events' in order (whatever order
// RETURNING uses; apps' roles may read back seq and xid only).
func insertEvents(ctx context.Context, tx *store.Tx, evs []Event) error {
	args := make([]any, 0, 7*len(evs))
	for _, e := range evs {
		args = append(args, e.ID, e.App, e.Type, e.OrgID, e.Subject, string(e.Payload), timeArg(tx.Engine(), e.Time))
	}
	rows, err := tx.Query(ctx, `INSERT INTO platform_events (id, app, type, org_id, subject, payload, time)
		VALUES `+store.Values(len(evs), 7)+` RETURNING `+returning(tx.Engine()), args...)
	if err != nil {
		return store.Normalize(fmt.Errorf("events: emit %s: %w", evs[0].Type, err))
	}
	defer rows.Close()
	type pos struct{ xid, seq int64 }
	got := make([]pos, 0, len(evs))
	for rows.Next() {
		var p pos
		if err := rows.Scan(&p.xid, &p.seq); err != nil {
			return store.Normalize(fmt.Errorf("events: emit %s: %w", evs[0].Type, err))
		}
		got = append(got, p)
	}
	if err := rows.Err(); err != nil {
		return store.Normalize(fmt.Errorf("events: emit %s: %w", evs[0].Type, err))
	}
	if len(got) != len(evs) {
		return fmt.Errorf("events: emit %s: %d rows returned for %d events", evs[0].Type, len(got), len(evs))
	}
	slices.SortFunc(got, func(a, b pos) int { return cmp.Compare(a.seq, b.seq) })
	for i, p := range got {
		evs[i].Cursor = encodeCursor(p.xid, p.seq)
	}
	return nil
}

// returning is the cursor part of an inserted row.
func returning(engine store.Engine) string {
	if engine == store.EnginePostgres {
		return "xid, seq"
	}
	return "0, seq"
}

// validate checks e and normalizes its App and Payload.
func validate(e *Event) error {
	if !typeName.MatchString(e.Type) {
		return fault.WithFields("invalid event", fault.FieldError{Location: "type",
			Message: fmt.Sprintf("%q is not <app>.<entity>.<verb> in lower case", e.Type)})
	}
	app, _, _ := strings.Cut(e.Type, ".")
	switch e.App {
	case "":
		e.App = app
	case app:
	default:
		return fault.WithFields("invalid event", fault.FieldError{Location: "app",
			Message: fmt.Sprintf("app %q does not match the type %q", e.App, e.Type)})
	}
	p := bytes.TrimSpace(e.Payload)
	if len(p) == 0 {
		e.Payload = json.RawMessage("{}")
		return nil
	}
	if p[0] != '{' || !json.Valid(p) {
		return fault.WithFields("invalid event", fault.FieldError{Location: "payload", Message: "must be a JSON object"})
	}
	e.Payload = json.RawMessage(p)
	return nil
}

// timeArg is how a time is stored: timestamptz on Postgres, Unix
// microseconds on SQLite (an integer compares correctly, a text would not).
func timeArg(engine store.Engine, t time.Time) any {
	if engine == store.EnginePostgres {
		return t.UTC()
	}
	return t.UnixMicro()
}

// ValidType reports whether t is a valid event type, "<app>.<entity>.<verb>"
// in lower case.
func ValidType(t string) bool { return typeName.MatchString(t) }
