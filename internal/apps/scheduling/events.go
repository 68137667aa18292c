package scheduling

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Event types of bookings.
const (
	EventEventCreated   = "scheduling.event.created"
	EventEventUpdated   = "scheduling.event.updated"
	EventEventCancelled = "scheduling.event.cancelled"
	EventEventDeleted   = "scheduling.event.deleted"
)

// ListEvents returns the events overlapping [f.From, f.To) of the filter's
// resources and project, by start time, one page at a time.
func (s *Service) ListEvents(ctx context.Context, c Caller, f EventFilter) ([]Booking, string, error) {
	if err := checkWindow(f.From, f.To); err != nil {
		return nil, "", err
	}
	var ch checker
	f.ResourceIDs = ch.ids("resource_ids", f.ResourceIDs, MaxIDs)
	if err := ch.err(); err != nil {
		return nil, "", err
	}
	var afterStart int64
	var afterID string
	if f.Cursor != "" {
		st, id, ok := strings.Cut(f.Cursor, ".")
		n, err := strconv.ParseInt(st, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, "", fault.WithFields("bad cursor", fault.FieldError{Location: "query.cursor", Message: "not a cursor of this list"})
		}
		afterStart, afterID = n, id
	}
	evs, err := listEvents(ctx, s.db, c.OrgID, f, afterStart, afterID)
	if err != nil {
		return nil, "", err
	}
	items, next := store.TrimPage(evs, f.Limit, eventCursor)
	if items == nil {
		items = []Booking{}
	}
	return items, next, nil
}

// GetEvent returns an event of the caller's org (fault.NotFound).
func (s *Service) GetEvent(ctx context.Context, c Caller, id string) (Booking, error) {
	return getEvent(ctx, s.db, c.OrgID, id)
}

// CreateEvent books an event. Its resources must be live resources of the
// org, its attendees members, its project one of the org's; an overlap on
// a resource that does not allow it is a conflict (reason double_booking)
// naming the event in the way.
func (s *Service) CreateEvent(ctx context.Context, c Caller, in EventInput) (Booking, error) {
	now := s.now()
	e := Booking{ID: newID(), OrgID: c.OrgID, Status: StatusConfirmed, ResourceIDs: []string{}, AttendeeUserIDs: []string{},
		Version: 1, CreatedBy: c.actor(), CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&e, true); err != nil {
		return Booking{}, err
	}
	if err := s.checkAttendees(ctx, c.OrgID, e.AttendeeUserIDs); err != nil {
		return Booking{}, err
	}
	err := s.db.InTxIsolated(ctx, store.ReadCommitted, func(tx *store.Tx) error {
		ctx := tx.Context()
		if err := s.checkBooking(ctx, tx, e); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, e); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventEventCreated, e.OrgID, e.ID, change{Change: changeCreated, Item: e, Actor: c.actor()})
	})
	return e, err
}

// UpdateEvent changes an event read at version (stale: conflict with reason
// stale_version); the booking rules of CreateEvent apply to the result.
func (s *Service) UpdateEvent(ctx context.Context, c Caller, id string, version int64, in EventInput) (Booking, error) {
	if in.AttendeeUserIDs != nil {
		var ch checker
		if err := s.checkAttendees(ctx, c.OrgID, ch.ids("attendee_user_ids", *in.AttendeeUserIDs, MaxIDs)); err != nil {
			return Booking{}, err
		}
		if err := ch.err(); err != nil {
			return Booking{}, err
		}
	}
	return s.changeEvent(ctx, c, id, version, EventEventUpdated, func(ctx context.Context, tx *store.Tx, e *Booking) error {
		if e.Status == StatusCancelled {
			return fault.New(fault.Conflict, "the event is cancelled")
		}
		if err := in.apply(e, false); err != nil {
			return err
		}
		return s.checkBooking(ctx, tx, *e)
	})
}

// CancelEvent cancels an event read at version: it frees its resources and
// stays listed with status cancelled.
func (s *Service) CancelEvent(ctx context.Context, c Caller, id string, version int64) (Booking, error) {
	return s.changeEvent(ctx, c, id, version, EventEventCancelled, func(_ context.Context, _ *store.Tx, e *Booking) error {
		if e.Status == StatusCancelled {
			return fault.New(fault.Conflict, "the event is already cancelled")
		}
		e.Status = StatusCancelled
		return nil
	})
}

// changeEvent applies fn to the event at version in one transaction and
// emits typ with the previous range and resources.
func (s *Service) changeEvent(ctx context.Context, c Caller, id string, version int64, typ string,
	fn func(ctx context.Context, tx *store.Tx, e *Booking) error) (Booking, error) {
	var out Booking
	err := s.db.InTxIsolated(ctx, store.ReadCommitted, func(tx *store.Tx) error {
		ctx := tx.Context()
		e, err := eventAt(ctx, tx, c.OrgID, id, version)
		if err != nil {
			return err
		}
		out, err = s.saveEvent(ctx, tx, e, typ, c.actor(), func(e *Booking) error { return fn(ctx, tx, e) })
		return err
	})
	return out, err
}

// eventAt reads an event the caller read at version (stale: conflict).
func eventAt(ctx context.Context, tx *store.Tx, orgID, id string, version int64) (Booking, error) {
	e, err := getEvent(ctx, tx, orgID, id)
	if err == nil && e.Version != version {
		err = staleError("the event", e.Version)
	}
	return e, err
}

// saveEvent applies fn to e, writes it as its next version and emits typ
// with e's previous range and resources.
func (s *Service) saveEvent(ctx context.Context, tx *store.Tx, e Booking, typ, actor string, fn func(*Booking) error) (Booking, error) {
	prev := &previous{Start: e.Start, End: e.End, ResourceIDs: slices.Clone(e.ResourceIDs)}
	if err := fn(&e); err != nil {
		return Booking{}, err
	}
	e.Version++
	e.UpdatedAt = s.now()
	ok, err := updateEvent(ctx, tx, e)
	if err != nil {
		return Booking{}, err
	}
	if !ok {
		return Booking{}, staleError("the event", e.Version)
	}
	return e, s.emit(ctx, tx, typ, e.OrgID, e.ID, change{Change: changeUpdated, Item: e, Previous: prev, Actor: actor})
}

// DeleteEvent deletes an event read at version.
func (s *Service) DeleteEvent(ctx context.Context, c Caller, id string, version int64) error {
	return s.db.InTxIsolated(ctx, store.ReadCommitted, func(tx *store.Tx) error {
		ctx := tx.Context()
		e, err := eventAt(ctx, tx, c.OrgID, id, version)
		if err != nil {
			return err
		}
		if ok, err := deleteEvent(ctx, tx, e); err != nil || !ok {
			if err == nil {
				err = staleError("the event", e.Version)
			}
			return err
		}
		return s.emit(ctx, tx, EventEventDeleted, e.OrgID, e.ID, change{Change: changeDeleted, Item: e, Actor: c.actor()})
	})
}

// checkBooking checks an active event's project and resources and refuses
// an overlap on a resource without allow_overlap. The resources' rows are
// locked first (lockResources), so concurrent bookings of a resource take
// turns and the second one sees the first. Event writes run at READ
// COMMITTED on Postgres (store.ReadCommitted): every statement after the
// lock sees what the previous holder committed, and the writes are guarded
// by their version, so serializable's predicate locks would only add
// retried serialization failures (docs/performance.md).
func (s *Service) checkBooking(ctx context.Context, tx *store.Tx, e Booking) error {
	if e.ProjectID != nil {
		p, err := getProject(ctx, tx, e.OrgID, *e.ProjectID)
		if fault.Is(err, fault.NotFound) || err == nil && p.Archived {
			return fault.WithFields("validation failed", fault.FieldError{Location: "body.project_id", Message: "no such live project in this organization", Value: *e.ProjectID})
		}
		if err != nil {
			return err
		}
	}
	found, err := lockResources(ctx, tx, e.OrgID, e.ResourceIDs)
	if err != nil {
		return err
	}
	var ch checker
	var exclusive []string
	for _, id := range e.ResourceIDs {
		r, ok := found[id]
		switch {
		case !ok:
			ch.add("resource_ids", "no such resource in this organization", id)
		case r.Archived:
			ch.add("resource_ids", "the resource is archived", id)
		case !r.AllowOverlap:
			exclusive = append(exclusive, id)
		}
	}
	if err := ch.err(); err != nil {
		return err
	}
	if !e.active() {
		return nil
	}
	other, resource, err := firstConflict(ctx, tx, e, exclusive)
	if err != nil || other == "" {
		return err
	}
	return &fault.Error{Code: fault.Conflict, Reason: ReasonDoubleBooking,
		Message: "resource " + resource + " is already booked by event " + other + " at that time",
		Fields:  []fault.FieldError{{Location: "body.resource_ids", Message: "booked by event " + other, Value: other}}}
}

// checkAttendees refuses attendees that are not members of the org.
func (s *Service) checkAttendees(ctx context.Context, orgID string, ids []string) error {
	members, err := s.orgs.Members(ctx, orgID, ids)
	if err != nil {
		return err
	}
	var ch checker
	for _, id := range ids {
		if _, ok := members[id]; !ok {
			ch.add("attendee_user_ids", "not a member of this organization", id)
		}
	}
	return ch.err()
}

// Availability returns the free slots of at least duration common to all
// the resources within [from, to): the gaps between their active bookings.
func (s *Service) Availability(ctx context.Context, c Caller, from, to time.Time, resourceIDs []string, duration time.Duration) ([]Slot, error) {
	var ch checker
	ids := ch.ids("resource_ids", resourceIDs, MaxIDs)
	if len(resourceIDs) == 0 {
		ch.add("resource_ids", "at least one resource", nil)
	}
	if duration <= 0 || duration > MaxEventLength {
		ch.add("duration_minutes", "between 1 minute and 31 days", int64(duration/time.Minute))
	}
	checkRange(&ch, "to", from, to, MaxRange, "1 year")
	if err := ch.err(); err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	if err := s.ownResources(ctx, c.OrgID, ids); err != nil {
		return nil, err
	}
	taken, err := busy(ctx, s.db, ids, from, to)
	if err != nil {
		return nil, err
	}
	return freeSlots(from, to, taken, duration), nil
}

// ownResources refuses ids that are not resources of the org (422 naming
// each), reading them in one query.
func (s *Service) ownResources(ctx context.Context, orgID string, ids []string) error {
	found, err := resourcesIn(ctx, s.db, orgID, ids)
	if err != nil {
		return err
	}
	var ch checker
	for _, id := range ids {
		if _, ok := found[id]; !ok {
			ch.add("resource_ids", "no such resource in this organization", id)
		}
	}
	return ch.err()
}

// freeSlots returns the gaps of at least d in [from, to) not covered by
// the busy ranges (sorted by start).
func freeSlots(from, to time.Time, taken []Slot, d time.Duration) []Slot {
	slots := []Slot{}
	cur := from
	for _, b := range taken {
		if b.Start.After(cur) && b.Start.Sub(cur) >= d {
			slots = append(slots, Slot{Start: cur, End: minTime(b.Start, to)})
		}
		if b.End.After(cur) {
			cur = b.End
		}
		if !cur.Before(to) {
			return slots
		}
	}
	if to.Sub(cur) >= d {
		slots = append(slots, Slot{Start: cur, End: to})
	}
	return slots
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
