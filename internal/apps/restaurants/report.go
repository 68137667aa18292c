package restaurants

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// EventReportRequested asks for the weekly report of a week (the admin
// API's on-demand run); its durable handler mails it.
const EventReportRequested = "restaurants.report.requested"

// ReportCron is when the weekly report runs, in the restaurants' time zone.
const ReportCron = "0 6 * * 1"

const dateLayout = "2006-01-02"

// weekdays in report order.
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// dayCount is one line of a report.
type dayCount struct {
	Day   string
	Count int
}

// weekCounts are the seatings of one week by weekday (Monday first).
type weekCounts [7]int

func (w *weekCounts) add(t time.Time) { w[(int(t.Weekday())+6)%7]++ }

func (w weekCounts) total() int {
	n := 0
	for _, c := range w {
		n += c
	}
	return n
}

func (w weekCounts) days() []dayCount {
	out := make([]dayCount, 7)
	for i, d := range weekdays {
		out[i] = dayCount{Day: d.String(), Count: w[i]}
	}
	return out
}

// lastWeek is the Monday starting the week before the one now is in.
func (s *Service) lastWeek() time.Time {
	n := s.now().In(s.opts.Location)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, s.opts.Location)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, -7)
}

// ParseWeekStart parses an on-demand report's week: a Monday, YYYY-MM-DD.
func (s *Service) ParseWeekStart(v string) (time.Time, error) {
	d, err := time.ParseInLocation(dateLayout, v, s.opts.Location)
	if err != nil {
		return time.Time{}, fault.WithFields("bad week_start", fault.FieldError{Location: "body.week_start", Value: v, Message: "must be a date, YYYY-MM-DD"})
	}
	if d.Weekday() != time.Monday {
		return time.Time{}, fault.WithFields("bad week_start", fault.FieldError{Location: "body.week_start", Value: v,
			Message: fmt.Sprintf("must be a Monday (%s is a %s)", v, d.Weekday())})
	}
	return d, nil
}

// RequestReport records a request for the report of the week starting on
// monday; a durable handler mails it (202 semantics).
func (s *Service) RequestReport(ctx context.Context, monday time.Time) (string, error) {
	var id string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		b, err := json.Marshal(map[string]string{"week_start": monday.Format(dateLayout)})
		if err != nil {
			return err
		}
		e, err := s.events.Record(tx.Context(), tx, events.Event{Type: EventReportRequested, Subject: monday.Format(dateLayout), Payload: b})
		id = e.ID
		return err
	})
	return id, err
}

// reportRequested runs an on-demand report: its mails are keyed on the
// request's event, so each request mails each recipient once.
func (s *Service) reportRequested(ctx context.Context, e events.Event) error {
	monday, err := s.ParseWeekStart(e.Subject)
	if err != nil {
		return nil // not ours to retry: the request was checked when made
	}
	return s.Report(ctx, monday, e.ID)
}

// scheduledReport is the Monday 06:00 run: last week's report, keyed on the
// week so that a second run (another node, a retry) mails nobody twice.
func (s *Service) scheduledReport(ctx context.Context) error {
	monday := s.lastWeek()
	return s.Report(ctx, monday, "weekly:"+monday.Format(dateLayout))
}

type reportRestaurant struct {
	ID, Name, Region string
	Counts           weekCounts
	Total            int
}

// Report mails the report of the week starting on monday (in the
// restaurants' time zone): to each restaurant's managers their restaurant's
// counts, to restaurants.report_to every restaurant's. key makes the mails
// idempotent.
func (s *Service) Report(ctx context.Context, monday time.Time, key string) error {
	start, end := monday, monday.AddDate(0, 0, 7)
	restaurants, err := s.reportCounts(ctx, start, end)
	if err != nil {
		return err
	}
	week := map[string]any{
		"WeekStart": start.Format(dateLayout), "WeekEnd": end.AddDate(0, 0, -1).Format(dateLayout),
		"TimeZone": s.opts.Location.String(),
	}
	var all weekCounts
	for _, r := range restaurants {
		for i, n := range r.Counts {
			all[i] += n
		}
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			ctx := tx.Context()
			managers, err := s.staff(ctx, tx, r.ID, RoleManager)
			if err != nil {
				return err
			}
			data := merge(week, map[string]any{"Restaurant": r.Name, "Total": r.Total, "Days": r.Counts.days()})
			for _, m := range managers {
				if err := s.enqueue(ctx, tx, key+":weekly_report:"+r.ID+":"+m.UserID, "weekly_report", m.Email, data); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(s.opts.ReportTo) == 0 {
		return nil
	}
	data := merge(week, map[string]any{"Total": all.total(), "Days": all.days(), "Restaurants": restaurants})
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, to := range s.opts.ReportTo {
			if err := s.enqueue(tx.Context(), tx, key+":weekly_report_all:"+to, "weekly_report_all", to, data); err != nil {
				return err
			}
		}
		return nil
	})
}

// reportCounts counts every restaurant's seatings in [start, end) by
// weekday, except declined and cancelled ones; restaurants by name.
func (s *Service) reportCounts(ctx context.Context, start, end time.Time) ([]*reportRestaurant, error) {
	list, byID, err := s.reportRestaurants(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT restaurant_id, seating_time FROM restaurants_seatings
		WHERE seating_time >= ? AND seating_time < ? AND status NOT IN ('DECLINED', 'CANCELLED')`, micros(start), micros(end))
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			at int64
		)
		if err := rows.Scan(&id, &at); err != nil {
			return nil, store.Normalize(err)
		}
		if r := byID[id]; r != nil {
			r.Counts.add(fromMicros(at).In(s.opts.Location))
		}
	}
	for _, r := range list {
		r.Total = r.Counts.total()
	}
	return list, store.Normalize(rows.Err())
}

// reportRestaurants lists every restaurant, by name.
func (s *Service) reportRestaurants(ctx context.Context) ([]*reportRestaurant, map[string]*reportRestaurant, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, region FROM restaurants_restaurants ORDER BY name, id`)
	if err != nil {
		return nil, nil, store.Normalize(err)
	}
	defer rows.Close()
	var list []*reportRestaurant
	byID := map[string]*reportRestaurant{}
	for rows.Next() {
		r := &reportRestaurant{}
		if err := rows.Scan(&r.ID, &r.Name, &r.Region); err != nil {
			return nil, nil, store.Normalize(err)
		}
		list, byID[r.ID] = append(list, r), r
	}
	return list, byID, store.Normalize(rows.Err())
}

func merge(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
