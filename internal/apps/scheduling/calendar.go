package scheduling

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// The iCalendar feed of a resource (RFC 5545), at a URL that carries the
// resource's secret token, so calendar apps can subscribe without a bearer
// token. The token is stored with the resource (every node checks it the
// same way) and only ever shown to the org's members.

// Feed window: the events a feed shows, around now.
const (
	feedPast   = 30 * 24 * time.Hour
	feedFuture = 366 * 24 * time.Hour
	feedMax    = 5000
)

type calendar struct{ svc *Service }

// ServeHTTP serves GET /scheduling/resources/{id}/calendar.ics?token=…; a
// wrong or missing token is 404, like an unknown resource.
func (h *calendar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cal, err := h.svc.CalendarFeed(r.Context(), r.PathValue("id"), r.URL.Query().Get("token"))
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=60")
	_ = cal.SerializeTo(w) // a write error is the client's going away
}

// CalendarFeed renders the feed of resource id if token is its calendar
// token (fault.NotFound otherwise): its events from 30 days ago to a year
// ahead, cancelled ones with STATUS:CANCELLED so subscribed calendars drop
// them.
func (s *Service) CalendarFeed(ctx context.Context, id, token string) (*ics.Calendar, error) {
	res, err := resourceByID(ctx, s.db, id)
	if err == nil && (token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(res.calendarToken)) != 1) {
		err = fault.New(fault.NotFound, "resource not found")
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	evs, err := listEvents(ctx, s.db, res.OrgID, EventFilter{From: now.Add(-feedPast), To: now.Add(feedFuture),
		ResourceIDs: []string{res.ID}, Page: Page{Limit: feedMax}}, 0, "")
	if err != nil {
		return nil, err
	}
	if len(evs) > feedMax {
		evs = evs[:feedMax]
	}
	cal := ics.NewCalendarFor("Tessera//scheduling")
	cal.SetMethod(ics.MethodPublish)
	cal.SetXWRCalName(res.Name)
	for _, e := range evs {
		v := cal.AddEvent(e.ID + "@tessera")
		v.SetDtStampTime(e.UpdatedAt)
		v.SetCreatedTime(e.CreatedAt)
		v.SetLastModifiedAt(e.UpdatedAt)
		v.SetSequence(int(e.Version))
		v.SetSummary(e.Title)
		if e.Notes != "" {
			v.SetDescription(e.Notes)
		}
		v.SetLocation(res.Name)
		if e.AllDay {
			v.SetAllDayStartAt(e.Start)
			v.SetAllDayEndAt(e.End)
		} else {
			v.SetStartAt(e.Start)
			v.SetEndAt(e.End)
		}
		switch e.Status {
		case StatusCancelled:
			v.SetStatus(ics.ObjectStatusCancelled)
		case StatusTentative:
			v.SetStatus(ics.ObjectStatusTentative)
		default:
			v.SetStatus(ics.ObjectStatusConfirmed)
		}
	}
	return cal, nil
}
