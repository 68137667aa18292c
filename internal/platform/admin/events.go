package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// maxTypes bounds how many event types one audit-log query may name.
const maxTypes = 50

type listEventsInput struct {
	OrgID   string    `query:"org_id" maxLength:"255" doc:"Only events of this org."`
	Type    []string  `query:"type,explode" maxItems:"50" doc:"Only events of these types (<app>.<entity>.<verb>); repeat the parameter or separate types with commas."`
	App     string    `query:"app" maxLength:"100" doc:"Only events of this app."`
	Subject string    `query:"subject" maxLength:"1024" doc:"Only events about this subject (an entity id)."`
	Since   time.Time `query:"since" doc:"Only events at or after this time (RFC 3339)."`
	Until   time.Time `query:"until" doc:"Only events before this time (RFC 3339)."`
	Order   string    `query:"order" enum:"oldest,newest" default:"oldest" doc:"oldest: log (commit) order; newest: the reverse, the latest events first."`
	Limit   int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor  string    `query:"cursor" maxLength:"64" doc:"The next_cursor of the previous page (of the same order)."`
}

// filter validates in and returns the log filter it names.
func (in *listEventsInput) filter() (events.Filter, error) {
	f := events.Filter{App: in.App, OrgID: in.OrgID, Subject: in.Subject, Since: in.Since, Until: in.Until}
	var bad []fault.FieldError
	for _, v := range in.Type {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if !events.ValidType(t) {
				bad = append(bad, fault.FieldError{Location: "query.type", Message: "must be <app>.<entity>.<verb> in lower case", Value: t})
				continue
			}
			f.Types = append(f.Types, t)
		}
	}
	if len(f.Types) > maxTypes {
		bad = append(bad, fault.FieldError{Location: "query.type", Message: "names too many types (at most 50)"})
	}
	if !in.Since.IsZero() && !in.Until.IsZero() && !in.Until.After(in.Since) {
		bad = append(bad, fault.FieldError{Location: "query.until", Message: "must be after since", Value: in.Until.Format(time.RFC3339Nano)})
	}
	if !events.ValidCursor(events.Cursor(in.Cursor)) {
		bad = append(bad, badCursor(in.Cursor))
	}
	if len(bad) > 0 {
		return events.Filter{}, fault.WithFields("validation failed", bad...)
	}
	return f, nil
}

func (a *Admin) registerEvents(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "admin-list-events", Method: http.MethodGet, Path: "/events",
		Summary: "The audit log",
		Description: "Events in log (commit) order, oldest first, or newest first with order=newest; filtered by org, type, app, subject and time. " +
			"In log order, a cursor older than the log's retention is a 422: start again without one.",
		Tags: []string{"admin"},
	}, func(ctx context.Context, in *listEventsInput) (*httpapi.ListOutput[events.Event], error) {
		f, err := in.filter()
		if err != nil {
			return nil, err
		}
		limit := in.Limit
		if limit <= 0 {
			limit = DefaultLimit
		}
		read := a.events.Read
		if in.Order == "newest" {
			read = a.events.ReadNewest
		}
		evs, err := read(ctx, events.Cursor(in.Cursor), f, limit+1)
		if errors.Is(err, events.ErrResyncRequired) {
			return nil, fault.WithFields("validation failed", fault.FieldError{Location: "query.cursor",
				Message: "is older than the log's retention: start again without a cursor", Value: in.Cursor})
		}
		if err != nil {
			return nil, err
		}
		next := ""
		if len(evs) > limit {
			evs = evs[:limit]
			next = string(evs[limit-1].Cursor)
		}
		return httpapi.Page(evs, next), nil
	})
}
