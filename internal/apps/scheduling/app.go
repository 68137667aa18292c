// Package scheduling is the Colander Cloud seed: organizations book their
// resources (rooms, machines, people) with events, over a websocket first
// (GET /scheduling/ws) with live subscriptions to a date range of
// resources and to the org's catalog, and the same reads and writes over
// REST. Changes are committed with their event, and everything that follows
// (cancelling the events of an archived resource, dropping a removed
// member, mailing attendees) reacts to committed events (see
// docs/scheduling.md).
package scheduling

import (
	"context"
	"embed"
	"encoding/json"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const appName = "scheduling"

//go:embed migrations/*.sql
var migrations embed.FS

// App declares the scheduling app.
func App() app.App {
	return app.App{
		Name:       appName,
		Migrations: store.Embedded(appName, migrations, "migrations").FS,
		Clients:    []identity.Client{{ID: ClientID, App: appName}},
		Mount:      mount,
	}
}

func mount(_ context.Context, env app.Env) error {
	mails, err := parseMails()
	if err != nil {
		return err
	}
	svc := NewService(env.DB, env.Events, env.Mail, mails, env.Users, env.Orgs, Options{PublicURL: env.Config.PublicURL,
		DigestWindow: time.Duration(env.Config.Scheduling.DigestWindow)})
	if err := env.Jobs.Register(svc.handlers()...); err != nil {
		return err
	}
	if err := env.Jobs.Schedule(jobs.Schedule{Name: "scheduling.digest", Cron: DigestCron, Run: svc.flushDigests}); err != nil {
		return err
	}
	sock := newSocket(svc, env.Hub, env.Auth)
	env.Hub.Route(appName, Route)
	// A removed member's sockets close at once, on every node.
	env.Hub.Watch("orgs", func(ev events.Event) {
		if ev.Type != orgsMemberRemoved {
			return
		}
		var p struct {
			UserID string `json:"user_id"`
		}
		if json.Unmarshal(ev.Payload, &p) == nil && p.UserID != "" {
			sock.closeRemoved(ev.OrgID, p.UserID)
		}
	})
	env.Handle("GET /scheduling/ws", sock)
	env.Handle("GET /scheduling/anonymous", newAnonymous(env.Hub, env.Users))
	env.Handle("GET /scheduling/resources/{id}/calendar.ics", &calendar{svc: svc})
	svc.registerREST(env.API)
	svc.registerAdmin(env.Admin)
	return nil
}
