package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// A Cursor encodes (xid, seq) as two 16-digit lower-case hex numbers, so that
// cursors compare as strings in log order (the empty cursor first). On SQLite
// xid is always 0 and seq, an AUTOINCREMENT id, is commit-ordered (one
// writer). On Postgres xid is the writing transaction's id and seq a
// sequence value within it (see the migration and Read).
const cursorLen = 32

func encodeCursor(xid, seq int64) Cursor {
	return Cursor(fmt.Sprintf("%016x%016x", uint64(xid), uint64(seq))) //nolint:gosec // G115: ids are non-negative
}

// decodeCursor parses c; the empty cursor is (0, 0).
func decodeCursor(c Cursor) (xid, seq int64, err error) {
	if c == "" {
		return 0, 0, nil
	}
	s := string(c)
	if len(s) != cursorLen || strings.ToLower(s) != s {
		return 0, 0, fault.New(fault.Invalid, "events: malformed cursor")
	}
	x, err1 := strconv.ParseInt(s[:16], 16, 64)
	q, err2 := strconv.ParseInt(s[16:], 16, 64)
	if err1 != nil || err2 != nil || x < 0 || q < 0 {
		return 0, 0, fault.New(fault.Invalid, "events: malformed cursor")
	}
	return x, q, nil
}

// CompareCursor returns -1, 0 or +1 as a is before, at or after b in the
// log. The empty cursor is before every other. Cursors of one log compare
// as plain strings; this function says so in code.
func CompareCursor(a, b Cursor) int {
	return strings.Compare(string(a), string(b))
}

// ValidCursor reports whether c is the empty cursor or one the log issued
// (its format; not whether it is still retained).
func ValidCursor(c Cursor) bool {
	_, _, err := decodeCursor(c)
	return err == nil
}

// DefaultReadLimit and MaxReadLimit bound Read's limit.
const (
	DefaultReadLimit = 100
	MaxReadLimit     = 10000
)

// Read returns up to limit events strictly after the cursor after, in log
// order, each with its Cursor set, that match f. The empty cursor reads from
// the oldest retained event. limit <= 0 means DefaultReadLimit; it is capped
// at MaxReadLimit. To page (the admin audit log) or tail (realtime), call
// Read again with the last event's Cursor; fewer than limit events means the
// reader has caught up for now.
//
// Log order is commit order: a reader that tails from its last cursor sees
// every committed event exactly once. On Postgres an event becomes readable
// once every transaction older than the one that wrote it has ended (it is
// then final that nothing will commit before it): a long transaction, even
// one writing no event, delays readers (not writers) until it ends. So a
// reader woken by OnCommit may find nothing new yet and should also poll
// (every 100 ms–1 s).
//
// Errors: ErrResyncRequired when after is not empty and older than the
// retention horizon (events after it were purged); fault.Invalid for a
// malformed cursor; otherwise the store's errors.
func (l *Log) Read(ctx context.Context, after Cursor, f Filter, limit int) ([]Event, error) {
	evs, err := l.read(ctx, after, f, limit, false)
	if err != nil || after == "" {
		return evs, err
	}
	// The horizon is read after the rows: a purge that ran before the rows
	// were read shows here.
	axid, aseq, _ := decodeCursor(after) // read decoded it already
	hxid, hseq, err := l.horizon(ctx)
	if err != nil {
		return nil, err
	}
	if axid < hxid || (axid == hxid && aseq < hseq) {
		return nil, ErrResyncRequired
	}
	return evs, nil
}

// ReadNewest returns up to limit events that match f, newest first (the
// reverse of log order), strictly before the cursor before; the empty
// cursor starts from the newest readable event. To page, call it again with
// the last event's Cursor. Events older than the retention horizon are
// gone: the pages simply end. limit is bounded as Read's. Errors:
// fault.Invalid for a malformed cursor; otherwise the store's errors.
func (l *Log) ReadNewest(ctx context.Context, before Cursor, f Filter, limit int) ([]Event, error) {
	return l.read(ctx, before, f, limit, true)
}

// read is Read without the horizon check (newest false: after the cursor,
// in log order) and ReadNewest (newest true: before the cursor, if any, in
// reverse). On Postgres both see only the events every reader can see:
// those below the oldest running transaction, above which nothing will
// commit later.
func (l *Log) read(ctx context.Context, cursor Cursor, f Filter, limit int, newest bool) ([]Event, error) {
	xid, seq, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	limit = min(limit, MaxReadLimit)

	pg := l.db.Engine() == store.EnginePostgres
	var q strings.Builder
	var args []any
	cmp, order := ">", ""
	if newest {
		cmp, order = "<", " DESC"
	}
	bounded := !newest || cursor != "" // the oldest-first read starts after (0, 0)
	if pg {
		q.WriteString(`SELECT xid, seq, id, app, type, org_id, subject, payload, time FROM platform_events WHERE `)
		q.WriteString(`xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint`)
		if bounded {
			q.WriteString(` AND (xid, seq) ` + cmp + ` (?, ?)`)
			args = append(args, xid, seq)
		}
	} else {
		q.WriteString(`SELECT 0, seq, id, app, type, org_id, subject, payload, time FROM platform_events WHERE 1 = 1`)
		if bounded {
			q.WriteString(` AND seq ` + cmp + ` ?`)
			args = append(args, seq)
		}
	}
	args = l.where(&q, args, f)
	if pg {
		q.WriteString(` ORDER BY xid` + order + `, seq` + order + ` LIMIT ?`)
	} else {
		q.WriteString(` ORDER BY seq` + order + ` LIMIT ?`)
	}
	return l.query(ctx, q.String(), append(args, limit)...)
}

// where appends f's conditions to q (after a WHERE clause) and returns args
// with their values.
func (l *Log) where(q *strings.Builder, args []any, f Filter) []any {
	if f.App != "" {
		q.WriteString(` AND app = ?`)
		args = append(args, f.App)
	}
	if len(f.Types) > 0 {
		q.WriteString(` AND type IN (?` + strings.Repeat(`, ?`, len(f.Types)-1) + `)`)
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if f.OrgID != "" {
		q.WriteString(` AND org_id = ?`)
		args = append(args, f.OrgID)
	}
	if f.Subject != "" {
		q.WriteString(` AND subject = ?`)
		args = append(args, f.Subject)
	}
	if !f.Since.IsZero() {
		q.WriteString(` AND time >= ?`)
		args = append(args, timeArg(l.db.Engine(), f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND time < ?`)
		args = append(args, timeArg(l.db.Engine(), f.Until))
	}
	return args
}

func (l *Log) query(ctx context.Context, query string, args ...any) ([]Event, error) {
	rows, err := l.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("events: read: %w", err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var e Event
		var xid, seq int64
		var payload string
		var t any
		if err := rows.Scan(&xid, &seq, &e.ID, &e.App, &e.Type, &e.OrgID, &e.Subject, &payload, &t); err != nil {
			return nil, store.Normalize(fmt.Errorf("events: read: %w", err))
		}
		e.Cursor = encodeCursor(xid, seq)
		e.Payload = []byte(payload)
		if e.Time, err = scanTime(t); err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Normalize(fmt.Errorf("events: read: %w", err))
	}
	return evs, nil
}

// scanTime converts a stored time (see timeArg) to UTC.
func scanTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case int64:
		return time.UnixMicro(t).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("events: unexpected time value %T", v)
}

// horizon is the newest purged position.
func (l *Log) horizon(ctx context.Context) (xid, seq int64, err error) {
	err = l.db.QueryRow(ctx, `SELECT xid, seq FROM platform_events_horizon WHERE id = 1`).Scan(&xid, &seq)
	if err != nil {
		return 0, 0, store.Normalize(fmt.Errorf("events: read horizon: %w", err))
	}
	return xid, seq, nil
}

// Latest returns the log's current head: Read(Latest()) returns only events
// that become readable after the call (and possibly, on Postgres, some
// committed just before it whose older neighbours were still running). A
// subscriber that starts live takes it, then tails with Read.
func (l *Log) Latest(ctx context.Context) (Cursor, error) {
	hxid, hseq, err := l.horizon(ctx)
	if err != nil {
		return "", err
	}
	var xid, seq int64
	if l.db.Engine() == store.EnginePostgres {
		err = l.db.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&xid)
	} else {
		err = l.db.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM platform_events`).Scan(&seq)
	}
	if err != nil {
		return "", store.Normalize(fmt.Errorf("events: latest: %w", err))
	}
	if xid < hxid || (xid == hxid && seq < hseq) {
		xid, seq = hxid, hseq
	}
	return encodeCursor(xid, seq), nil
}

// Purge deletes the events older than the retention, as a prefix of the log
// (a few events that committed late next to old ones may go slightly early),
// and moves the retention horizon to the newest deleted position, so that
// Read from an older cursor returns ErrResyncRequired. It returns how many
// events it deleted. Run it periodically (package jobs schedules it).
func (l *Log) Purge(ctx context.Context) (int64, error) {
	cutoff := l.now().Add(-l.retention)
	engine := l.db.Engine()
	var n int64
	err := l.db.InTx(ctx, func(tx *store.Tx) error {
		var xid, seq int64
		var q string
		if engine == store.EnginePostgres {
			q = `SELECT xid, seq FROM platform_events WHERE time < ?
				AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
				ORDER BY xid DESC, seq DESC LIMIT 1`
		} else {
			q = `SELECT 0, seq FROM platform_events WHERE time < ? ORDER BY seq DESC LIMIT 1`
		}
		err := tx.QueryRow(tx.Context(), q, timeArg(engine, cutoff)).Scan(&xid, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			n = 0
			return nil
		}
		if err != nil {
			return fmt.Errorf("events: purge: %w", err)
		}
		var res sql.Result
		if engine == store.EnginePostgres {
			res, err = tx.Exec(tx.Context(), `DELETE FROM platform_events WHERE (xid, seq) <= (?, ?)`, xid, seq)
		} else {
			res, err = tx.Exec(tx.Context(), `DELETE FROM platform_events WHERE seq <= ?`, seq)
		}
		if err != nil {
			return fmt.Errorf("events: purge: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("events: purge: %w", err)
		}
		_, err = tx.Exec(tx.Context(), `UPDATE platform_events_horizon SET xid = ?, seq = ?
			WHERE id = 1 AND (xid < ? OR (xid = ? AND seq < ?))`, xid, seq, xid, xid, seq)
		if err != nil {
			return fmt.Errorf("events: purge: %w", err)
		}
		return nil
	})
	return n, err
}
