package scheduling

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Reactions to committed changes (the seed's stream handlers), each a
// durable handler: at least once, so each is idempotent.

// Event types of the org's users, mirrored from orgs.member.*.
const (
	EventUserAdded   = "scheduling.user.added"
	EventUserUpdated = "scheduling.user.updated"
	EventUserRemoved = "scheduling.user.removed"
)

// The orgs events the app reacts to.
const (
	orgsMemberAdded   = "orgs.member.added"
	orgsMemberUpdated = "orgs.member.updated"
	orgsMemberRemoved = "orgs.member.removed"
)

// DigestCron flushes the digests that are due.
const DigestCron = "@every 5s"

// systemActor names the app's own changes in events.
const systemActor = "system"

//go:embed mails/*.tmpl
var mailFS embed.FS

func parseMails() (*mail.Templates, error) {
	return mail.ParseTemplates(mailFS, "mails")
}

func (s *Service) handlers() []jobs.Handler {
	hs := []jobs.Handler{
		{Name: "scheduling.resource.archived", EventType: EventResourceArchived, Handle: s.resourceArchived},
		{Name: "scheduling.member.added", EventType: orgsMemberAdded, Handle: s.memberChanged},
		{Name: "scheduling.member.updated", EventType: orgsMemberUpdated, Handle: s.memberChanged},
		{Name: "scheduling.member.removed", EventType: orgsMemberRemoved, Handle: s.memberChanged},
	}
	for _, typ := range []string{EventEventCreated, EventEventUpdated, EventEventCancelled, EventEventDeleted} {
		hs = append(hs, jobs.Handler{Name: "scheduling.notify." + typ[len("scheduling.event."):], EventType: typ, Handle: s.notifyAttendees})
	}
	return hs
}

// resourceArchived cancels the archived resource's future events (each a
// cancellation event of its own) and takes it off the org's layouts.
func (s *Service) resourceArchived(ctx context.Context, ev events.Event) error {
	resourceID := ev.Subject
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		err := s.reviseEvents(ctx, tx, ev.OrgID, EventEventCancelled, func(e *Booking) { e.Status = StatusCancelled },
			`SELECT event_id FROM scheduling_bookings WHERE resource_id = ? AND active = 1 AND end_at > ? ORDER BY start_at`,
			resourceID, micros(s.now()))
		if err != nil {
			return err
		}
		layouts, _, err := listInOrg(ctx, tx, "scheduling_layouts", layoutCols, ev.OrgID, Page{Limit: 100_000}, scanLayout, func(l Layout) string { return l.ID })
		if err != nil {
			return err
		}
		for _, l := range layouts {
			kept := slices.DeleteFunc(slices.Clone(l.Items), func(it LayoutItem) bool { return it.ResourceID == resourceID })
			if len(kept) == len(l.Items) {
				continue
			}
			l.Items = kept
			if _, err := s.saveLayout(ctx, tx, l, systemActor); err != nil {
				return err
			}
		}
		return nil
	})
}

// memberChanged mirrors an org membership change as a scheduling.user.*
// event (pushed to the org's subscribers) and, for a removal, takes the
// user off the attendees of the org's future events.
func (s *Service) memberChanged(ctx context.Context, ev events.Event) error {
	var p struct {
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	}
	if err := json.Unmarshal(ev.Payload, &p); err != nil || p.UserID == "" {
		return nil // not a membership payload: nothing to mirror
	}
	typ, verb := EventUserAdded, changeCreated
	switch ev.Type {
	case orgsMemberUpdated:
		typ, verb = EventUserUpdated, changeUpdated
	case orgsMemberRemoved:
		typ, verb = EventUserRemoved, changeDeleted
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		first, err := s.firstRun(ctx, tx, ev.ID, "member")
		if err != nil || !first {
			return err
		}
		u := User{UserID: p.UserID, Role: p.Role}
		if pu, err := identity.LookupUser(ctx, tx, tx.Engine(), p.UserID); err == nil {
			u.Email, u.Name = pu.Email, pu.Name
		}
		if err := s.emit(ctx, tx, typ, ev.OrgID, p.UserID, change{Change: verb, Kind: KindUser, Item: u, Actor: systemActor}); err != nil {
			return err
		}
		if ev.Type != orgsMemberRemoved {
			return nil
		}
		return s.reviseEvents(ctx, tx, ev.OrgID, EventEventUpdated, func(e *Booking) {
			e.AttendeeUserIDs = slices.DeleteFunc(e.AttendeeUserIDs, func(a string) bool { return a == p.UserID })
		}, `SELECT event_id FROM scheduling_attendees WHERE user_id = ? AND org_id = ? AND end_at > ? ORDER BY event_id`,
			p.UserID, ev.OrgID, micros(s.now()))
	})
}

// reviseEvents applies fn, as the system, to each of the org's events whose
// ids the query returns, and saves and emits each as typ.
func (s *Service) reviseEvents(ctx context.Context, tx *store.Tx, orgID, typ string, fn func(*Booking), query string, args ...any) error {
	ids, err := queryStrings(ctx, tx, query, args...)
	if err != nil {
		return err
	}
	for _, id := range ids {
		e, err := getEvent(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if _, err := s.saveEvent(ctx, tx, e, typ, systemActor, func(e *Booking) error { fn(e); return nil }); err != nil {
			return err
		}
	}
	return nil
}

// firstRun records that handler ran for the platform event id; false when
// it already had.
func (s *Service) firstRun(ctx context.Context, tx *store.Tx, eventID, handler string) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO scheduling_reactions (event_id, handler) VALUES (?, ?) ON CONFLICT DO NOTHING`, eventID, handler)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func queryStrings(ctx context.Context, q store.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ---- attendee mails ----

// verbs name the changes in mails.
var verbs = map[string]string{
	EventEventCreated: "scheduled", EventEventUpdated: "changed", EventEventCancelled: "cancelled", EventEventDeleted: "deleted",
}

// notifyAttendees queues a notice for each attendee of a changed event
// (but the one who made the change) and mails those who had no mail in the
// last Options.DigestWindow at once; the others get the digest (flushDigests).
func (s *Service) notifyAttendees(ctx context.Context, ev events.Event) error {
	var p struct {
		Item     Booking `json:"item"`
		Actor    string  `json:"actor"`
		Previous *struct {
			ResourceIDs []string `json:"resource_ids"`
		} `json:"previous"`
	}
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return nil // not an event change: nothing to mail
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		for _, u := range p.Item.AttendeeUserIDs {
			if u == p.Actor {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO scheduling_notices (user_id, log_id, org_id, event_id, change, title, start_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				u, ev.ID, ev.OrgID, p.Item.ID, ev.Type, p.Item.Title, micros(p.Item.Start), micros(now)); err != nil {
				return err
			}
			if err := s.flushUser(ctx, tx, u, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// flushDigests mails the notices of every user whose last mail is older
// than Options.DigestWindow (the schedule).
func (s *Service) flushDigests(ctx context.Context) error {
	now := s.now()
	users, err := queryStrings(ctx, s.db, `SELECT DISTINCT n.user_id FROM scheduling_notices n
		LEFT JOIN scheduling_mailboxes m ON m.user_id = n.user_id
		WHERE m.last_mail_at IS NULL OR m.last_mail_at <= ?`, micros(now.Add(-s.opts.DigestWindow)))
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := s.db.InTx(ctx, func(tx *store.Tx) error { return s.flushUser(tx.Context(), tx, u, now) }); err != nil {
			return err
		}
	}
	return nil
}

// notice is one change in a mail.
type notice struct {
	LogID, EventID, Title, Verb, When string
}

// flushUser mails userID's pending notices, one change as such and several
// as a digest, unless the user had a mail within Options.DigestWindow.
func (s *Service) flushUser(ctx context.Context, tx *store.Tx, userID string, now time.Time) error {
	var last int64
	err := tx.QueryRow(ctx, `SELECT last_mail_at FROM scheduling_mailboxes WHERE user_id = ?`, userID).Scan(&last)
	if err == nil && now.Sub(fromMicros(last)) < s.opts.DigestWindow {
		return nil // the digest will carry it
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	ns, err := pendingNotices(ctx, tx, userID)
	if err != nil || len(ns) == 0 {
		return err
	}
	u, err := identity.LookupUser(ctx, tx, tx.Engine(), userID)
	if err == nil && u.Email != "" {
		tmpl, data := "change", any(ns[0])
		if len(ns) > 1 {
			tmpl, data = "digest", map[string]any{"Changes": ns}
		}
		content, err := s.mails.Render(tmpl, data)
		if err != nil {
			return err
		}
		key := ns[len(ns)-1].LogID + ":" + tmpl + ":" + userID
		if _, _, err := s.outbox.Enqueue(ctx, tx, mail.Message{DedupeKey: key, App: appName, Template: tmpl, To: u.Email, Content: content}); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM scheduling_notices WHERE user_id = ? AND log_id <= ?`, userID, ns[len(ns)-1].LogID); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO scheduling_mailboxes (user_id, last_mail_at) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET last_mail_at = excluded.last_mail_at`, userID, micros(now))
	return err
}

// pendingNotices reads userID's notices in log order.
func pendingNotices(ctx context.Context, tx *store.Tx, userID string) ([]notice, error) {
	rows, err := tx.Query(ctx, `SELECT log_id, event_id, change, title, start_at FROM scheduling_notices WHERE user_id = ? ORDER BY log_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ns []notice
	for rows.Next() {
		var n notice
		var change string
		var start int64
		if err := rows.Scan(&n.LogID, &n.EventID, &change, &n.Title, &start); err != nil {
			return nil, err
		}
		n.Verb, n.When = verbs[change], fromMicros(start).Format("Mon 2 Jan 2006 15:04 MST")
		ns = append(ns, n)
	}
	return ns, rows.Err()
}
