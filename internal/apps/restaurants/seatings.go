package restaurants

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Seating event verbs: each event type is "restaurants.seating.<verb>".
const (
	VerbCreated          = "created"
	VerbAccepted         = "accepted"
	VerbDeclined         = "declined"
	VerbCancelled        = "cancelled"
	VerbSeated           = "seated"
	VerbClosed           = "closed"
	VerbHailed           = "hailed"
	VerbHailAcknowledged = "hail_acknowledged"
	VerbOrderUpdated     = "order_updated"
)

// SeatingEvent is the event type of a seating verb.
func SeatingEvent(verb string) string { return "restaurants.seating." + verb }

// transition is one edge of the seating state machine.
type transition struct {
	from  []string
	to    string
	staff bool // done by the restaurant's staff; else by the seating's customer
	verb  string
}

// transitions are the only status changes there are (restaurants.md).
var transitions = map[string]transition{
	"accept":  {from: []string{StatusPending}, to: StatusAccepted, staff: true, verb: VerbAccepted},
	"decline": {from: []string{StatusPending}, to: StatusDeclined, staff: true, verb: VerbDeclined},
	"cancel":  {from: []string{StatusPending, StatusAccepted}, to: StatusCancelled, verb: VerbCancelled},
	"seat":    {from: []string{StatusAccepted}, to: StatusSeated, staff: true, verb: VerbSeated},
	"close":   {from: []string{StatusSeated}, to: StatusClosed, staff: true, verb: VerbClosed},
}

// conflict is the 409 of an action the seating's status does not allow; the
// detail names the current status.
func conflict(action, status string, allowed []string) error {
	return fault.New(fault.Conflict, "cannot %s a seating that is %s (only when %s)", action, status, strings.Join(allowed, " or "))
}

const seatingColumns = `id, restaurant_id, user_id, status, seating_time, num_seats, notes, table_number, order_items, hailing, hail_reason, created_at, updated_at`

func scanSeating(sc interface{ Scan(...any) error }) (Seating, error) {
	var (
		st                   Seating
		at, created, updated int64
		table                *int64
		items                string
		hailing              int
	)
	if err := sc.Scan(&st.ID, &st.RestaurantID, &st.UserID, &st.Status, &at, &st.NumSeats, &st.Notes, &table, &items, &hailing, &st.HailReason, &created, &updated); err != nil {
		return Seating{}, err
	}
	st.SeatingTime, st.CreatedAt, st.UpdatedAt = fromMicros(at), fromMicros(created), fromMicros(updated)
	if table != nil {
		n := int(*table)
		st.TableNumber = &n
	}
	st.Hailing = hailing != 0
	if err := json.Unmarshal([]byte(items), &st.OrderItems); err != nil {
		return Seating{}, fmt.Errorf("restaurants: order items of seating %s: %w", st.ID, err)
	}
	if st.OrderItems == nil {
		st.OrderItems = []string{}
	}
	return st, nil
}

// NewSeating is a reservation request.
type NewSeating struct {
	SeatingTime time.Time
	NumSeats    int
	Notes       string
}

// CreateSeating reserves a seating at public restaurant id for customer c.
func (s *Service) CreateSeating(ctx context.Context, c caller, id string, in NewSeating) (Seating, error) {
	now := s.now()
	if !in.SeatingTime.After(now) {
		return Seating{}, fault.WithFields("seatingTime must be in the future", fault.FieldError{
			Location: "body.seatingTime", Value: in.SeatingTime.Format(time.RFC3339), Message: "must be in the future"})
	}
	if c.Role != RoleCustomer {
		return Seating{}, fault.New(fault.Forbidden, "staff do not book seatings: use a customer account")
	}
	st := Seating{ID: newID(), RestaurantID: id, UserID: c.UserID, Status: StatusPending, SeatingTime: in.SeatingTime.UTC().Truncate(time.Microsecond),
		NumSeats: in.NumSeats, Notes: in.Notes, OrderItems: []string{}, CreatedAt: now, UpdatedAt: now}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		r, err := s.visibleRestaurant(ctx, tx, c, id)
		if err != nil {
			return err
		}
		if r.Visibility != Public {
			return fault.New(fault.NotFound, "restaurant not found")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO restaurants_seatings (`+seatingColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, '[]', 0, '', ?, ?)`,
			st.ID, st.RestaurantID, st.UserID, st.Status, micros(st.SeatingTime), st.NumSeats, st.Notes, micros(now), micros(now)); err != nil {
			return err
		}
		return s.emit(ctx, tx, SeatingEvent(VerbCreated), st.ID, seatingPayload{Seating: st})
	})
	return st, err
}

// seating reads seating sid of restaurant id if c may see it (its staff or
// its customer); else fault.NotFound.
func (s *Service) seating(ctx context.Context, q store.Querier, c caller, admin bool, id, sid string) (Seating, error) {
	st, err := scanSeating(q.QueryRow(ctx, `SELECT `+seatingColumns+` FROM restaurants_seatings WHERE id = ? AND restaurant_id = ?`, sid, id))
	if err := store.NotFound(err, "seating"); err != nil {
		return Seating{}, err
	}
	if !admin && !c.staffOf(id) && st.UserID != c.UserID {
		return Seating{}, fault.New(fault.NotFound, "seating not found")
	}
	return st, nil
}

// GetSeating returns one seating to its staff or its customer.
func (s *Service) GetSeating(ctx context.Context, c caller, id, sid string) (Seating, error) {
	return s.seating(ctx, s.db, c, false, id, sid)
}

// change applies fn to seating sid in one transaction and records the event
// fn names; fn checks who may and from which status.
func (s *Service) change(ctx context.Context, c caller, admin bool, id, sid string, fn func(st *Seating) (verb string, err error)) (Seating, error) {
	var st Seating
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		var err error
		if st, err = s.seating(ctx, tx, c, admin, id, sid); err != nil {
			return err
		}
		verb, err := fn(&st)
		if err != nil {
			return err
		}
		st.UpdatedAt = s.now()
		items, err := json.Marshal(st.OrderItems)
		if err != nil {
			return err
		}
		var table any
		if st.TableNumber != nil {
			table = *st.TableNumber
		}
		hailing := 0
		if st.Hailing {
			hailing = 1
		}
		if _, err := tx.Exec(ctx, `UPDATE restaurants_seatings SET status = ?, table_number = ?, order_items = ?, hailing = ?, hail_reason = ?, updated_at = ? WHERE id = ?`,
			st.Status, table, string(items), hailing, st.HailReason, micros(st.UpdatedAt), st.ID); err != nil {
			return err
		}
		return s.emit(ctx, tx, SeatingEvent(verb), st.ID, seatingPayload{Seating: st})
	})
	return st, err
}

// requireStaff is the 403 of a customer trying a staff action on their own
// seating (others' seatings are 404 before this).
func requireStaff(c caller, id, action string) error {
	if !c.staffOf(id) {
		return fault.New(fault.Forbidden, "only the restaurant's staff may %s a seating", action)
	}
	return nil
}

// Transition moves seating sid along the state machine (action: accept,
// decline, cancel, seat, close); seat takes the table number.
func (s *Service) Transition(ctx context.Context, c caller, id, sid, action string, table int) (Seating, error) {
	t, ok := transitions[action]
	if !ok {
		return Seating{}, fault.New(fault.NotFound, "no such seating action")
	}
	return s.change(ctx, c, false, id, sid, func(st *Seating) (string, error) {
		if t.staff {
			if err := requireStaff(c, id, action); err != nil {
				return "", err
			}
		} else if st.UserID != c.UserID {
			return "", fault.New(fault.Forbidden, "only the customer who made the seating may %s it", action)
		}
		if !slices.Contains(t.from, st.Status) {
			return "", conflict(action, st.Status, t.from)
		}
		st.Status = t.to
		if action == "seat" {
			st.TableNumber = &table
		}
		if t.to == StatusClosed {
			st.Hailing, st.HailReason = false, ""
		}
		return t.verb, nil
	})
}

// Hail asks for a server at a seated table (the seating's customer).
func (s *Service) Hail(ctx context.Context, c caller, id, sid, reason string) (Seating, error) {
	return s.change(ctx, c, false, id, sid, func(st *Seating) (string, error) {
		if st.UserID != c.UserID {
			return "", fault.New(fault.Forbidden, "only the seating's customer hails")
		}
		if st.Status != StatusSeated {
			return "", conflict("hail from", st.Status, []string{StatusSeated})
		}
		st.Hailing, st.HailReason = true, reason
		return VerbHailed, nil
	})
}

// AcknowledgeHail clears the hail (the restaurant's staff).
func (s *Service) AcknowledgeHail(ctx context.Context, c caller, id, sid string) (Seating, error) {
	return s.change(ctx, c, false, id, sid, func(st *Seating) (string, error) {
		if err := requireStaff(c, id, "acknowledge a hail of"); err != nil {
			return "", err
		}
		if !st.Hailing {
			return "", fault.New(fault.Conflict, "the seating is not hailing (status %s)", st.Status)
		}
		st.Hailing, st.HailReason = false, ""
		return VerbHailAcknowledged, nil
	})
}

// SetOrderItems replaces a seated table's order (the restaurant's staff).
func (s *Service) SetOrderItems(ctx context.Context, c caller, id, sid string, items []string) (Seating, error) {
	return s.change(ctx, c, false, id, sid, func(st *Seating) (string, error) {
		if err := requireStaff(c, id, "take the order of"); err != nil {
			return "", err
		}
		if st.Status != StatusSeated {
			return "", conflict("take the order of", st.Status, []string{StatusSeated})
		}
		st.OrderItems = slices.Clone(items)
		return VerbOrderUpdated, nil
	})
}

// SeatingFilter selects a restaurant's seatings.
type SeatingFilter struct {
	From, To time.Time // To zero: no end
	Status   string
	Limit    int
	Cursor   string // the next cursor of the previous page
}

// ListSeatings lists restaurant id's seatings for its staff, ordered by
// seatingTime (then id), from f.From.
func (s *Service) ListSeatings(ctx context.Context, c caller, id string, f SeatingFilter) ([]Seating, string, error) {
	if _, err := s.staffRestaurant(ctx, s.db, c, id, false, "list its seatings"); err != nil {
		return nil, "", err
	}
	if f.From.IsZero() {
		f.From = s.startOfToday()
	}
	return s.querySeatings(ctx, "restaurant_id = ?", id, f)
}

// ListMySeatings lists c's own seatings, by seatingTime.
func (s *Service) ListMySeatings(ctx context.Context, c caller, f SeatingFilter) ([]Seating, string, error) {
	return s.querySeatings(ctx, "user_id = ?", c.UserID, f)
}

// startOfToday is midnight today in the restaurants' time zone.
func (s *Service) startOfToday() time.Time {
	n := s.now().In(s.opts.Location)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, s.opts.Location)
}

// querySeatings pages through seatings where col = val, by (seating_time, id).
func (s *Service) querySeatings(ctx context.Context, where, val string, f SeatingFilter) ([]Seating, string, error) {
	f.Limit = pageLimit(f.Limit)
	q := `SELECT ` + seatingColumns + ` FROM restaurants_seatings WHERE ` + where
	args := []any{val}
	if f.Cursor != "" {
		at, id, err := parseSeatingCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q += ` AND (seating_time > ? OR (seating_time = ? AND id > ?))`
		args = append(args, at, at, id)
	}
	if !f.From.IsZero() {
		q += ` AND seating_time >= ?`
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND seating_time < ?`
		args = append(args, micros(f.To))
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	q += ` ORDER BY seating_time, id LIMIT ?`
	args = append(args, f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", store.Normalize(err)
	}
	defer rows.Close()
	out := []Seating{}
	for rows.Next() {
		st, err := scanSeating(rows)
		if err != nil {
			return nil, "", store.Normalize(err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, "", store.Normalize(err)
	}
	out, next := store.TrimPage(out, f.Limit, func(st Seating) string { return fmt.Sprintf("%d.%s", micros(st.SeatingTime), st.ID) })
	return out, next, nil
}

func parseSeatingCursor(cur string) (int64, string, error) {
	var at int64
	t, id, ok := strings.Cut(cur, ".")
	if _, err := fmt.Sscan(t, &at); !ok || err != nil || id == "" {
		return 0, "", fault.WithFields("bad cursor", fault.FieldError{Location: "cursor", Value: cur, Message: "not a cursor of this list"})
	}
	return at, id, nil
}

// CustomerVisits counts customer userID's visits (SEATED or CLOSED
// seatings) to restaurant id in the last six months, for its staff.
func (s *Service) CustomerVisits(ctx context.Context, c caller, id, userID string) (Visits, error) {
	if _, err := s.staffRestaurant(ctx, s.db, c, id, false, "see its customers' visits"); err != nil {
		return Visits{}, err
	}
	now := s.now()
	var (
		v    Visits
		last *int64
	)
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FILTER (WHERE seating_time >= ?), MAX(seating_time) FROM restaurants_seatings
		WHERE restaurant_id = ? AND user_id = ? AND status IN ('SEATED', 'CLOSED') AND seating_time <= ?`,
		micros(now.AddDate(0, -6, 0)), id, userID, micros(now)).Scan(&v.VisitsLast6Months, &last)
	if err != nil {
		return Visits{}, store.Normalize(err)
	}
	if last != nil {
		t := fromMicros(*last)
		v.LastVisitAt = &t
	}
	return v, nil
}
