// Package messaging is the nano-messaging seed: chat rooms with a
// permission table per room, message history, and a websocket chat driven
// by JSON commands (see docs/messaging.md). Messages are stored in group
// commits before they are echoed; the echo travels through the event log and
// the realtime hub, so every node delivers every message in order and a
// client resumes by message id.
package messaging

import (
	"context"
	"embed"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const appName = "messaging"

//go:embed migrations/*.sql
var migrations embed.FS

// App declares the messaging app.
func App() app.App {
	return app.App{Name: appName, Migrations: store.Embedded(appName, migrations, "migrations").FS, Mount: mount}
}

func mount(_ context.Context, env app.Env) error {
	svc := NewService(env.DB, env.Events, Options{
		MaxRules:    env.Config.Messaging.MaxRules,
		CreateLevel: env.Config.Messaging.CreateLevel,
	})
	svc.registerREST(env.API)
	svc.registerAdmin(env.Admin)
	env.Hub.Route(appName, route)
	env.Handle("GET /messaging/chat", &chat{svc: svc, hub: env.Hub, auth: env.Auth, log: env.Log})
	return nil
}
