// Package restaurants is the ROSS seed: customers find restaurants and
// reserve seatings, staff accept, seat, take orders and answer hails, every
// change is an event that mails the people concerned and feeds the live
// board, and managers get a weekly report (see docs/restaurants.md).
package restaurants

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const appName = "restaurants"

//go:embed migrations/*.sql
var migrations embed.FS

// App declares the restaurants app.
func App() app.App {
	return app.App{
		Name:       appName,
		Migrations: store.Embedded(appName, migrations, "migrations").FS,
		// Sign-up sets no attributes: restaurantId / restaurantRole are the
		// app's to set, in the transaction of the change they mirror.
		Clients: []identity.Client{{ID: ClientCustomer, App: appName}, {ID: ClientStaff, App: appName}},
		Mount:   mount,
	}
}

func mount(_ context.Context, env app.Env) error {
	cfg := env.Config.Restaurants
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("restaurants.time_zone: %w", err)
	}
	mails, err := parseMails()
	if err != nil {
		return err
	}
	svc := NewService(env.DB, env.Events, env.Mail, mails, env.Blobs, Options{Regions: cfg.Regions, Location: loc, ReportTo: cfg.ReportTo})
	if err := env.Jobs.Register(svc.handlers()...); err != nil {
		return err
	}
	err = env.Jobs.Schedule(jobs.Schedule{Name: "restaurants.report.weekly", Cron: ReportCron, TimeZone: cfg.TimeZone, Run: svc.scheduledReport})
	if err != nil {
		return err
	}
	if err := env.Jobs.Schedule(jobs.Schedule{Name: "restaurants.photo.sweep", Cron: "@hourly", Run: svc.sweepUploads}); err != nil {
		return err
	}
	// S3 has no object-created callback here: confirm uploads promptly. The
	// filesystem's signed URLs emit it themselves; the slow check there only
	// catches an event lost to a crash.
	confirm := ConfirmCron
	if strings.HasPrefix(env.Config.Blobs, "file://") {
		confirm = "@every 1m"
	}
	if err := env.Jobs.Schedule(jobs.Schedule{Name: "restaurants.photo.confirm", Cron: confirm, Run: svc.confirmUploads}); err != nil {
		return err
	}
	svc.registerREST(env.API)
	svc.registerAdmin(env.Admin)
	l := &live{svc: svc, hub: env.Hub, auth: env.Auth}
	env.Hub.Route(appName, route)
	env.Hub.Watch(appName, l.watch)
	env.Handle("GET /restaurants/ws", l)
	return nil
}

// handlers are the app's durable handlers: mails for seating events, the
// profile and welcome mail of confirmed sign-ups, photo processing and the
// on-demand weekly report.
func (s *Service) handlers() []jobs.Handler {
	var hs []jobs.Handler
	for _, m := range seatingMails {
		hs = append(hs, jobs.Handler{
			Name: "restaurants.mail." + m.verb, EventType: SeatingEvent(m.verb),
			Handle: func(ctx context.Context, e events.Event) error { return s.mailSeating(ctx, e, m) },
		})
	}
	return append(hs,
		jobs.Handler{Name: "restaurants.welcome", EventType: identity.EventUserConfirmed, Handle: s.welcome},
		jobs.Handler{Name: "restaurants.photo", EventType: blob.CreatedEvent, Handle: s.processPhoto},
		jobs.Handler{Name: "restaurants.report", EventType: EventReportRequested, Handle: s.reportRequested},
	)
}
