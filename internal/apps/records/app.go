// Package records is the Tomorro seed: a REST API over record types that
// a config.json declares (parents, children, parameters, actions), each
// type at /records/<plural>, in the caller's org (the authorizer's
// X-Org-ID), with the admin service's view of every org under
// /admin/records. Fields are validated by their parameter's type, indexed
// fields are filterable and sortable with keyset pages, a delete takes
// the record's descendants in one transaction, and actions (export) run as
// durable jobs. The config is applied at start and again, atomically, on
// SIGHUP (see docs/records.md).
package records

import (
	"context"
	"embed"
	"os"
	"os/signal"
	"syscall"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const appName = "records"

//go:embed migrations/*.sql
var migrations embed.FS

// App declares the records app.
func App() app.App {
	return app.App{
		Name:       appName,
		Migrations: store.Embedded(appName, migrations, "migrations").FS,
		Mount:      mount,
	}
}

func mount(ctx context.Context, env app.Env) error {
	svc := NewService(env.DB, env.Events, env.Blobs, Options{ConfigPath: env.Config.Records.Config, Force: env.Config.Records.Force, Log: env.Log})
	sc, err := LoadSchema(svc.opts.ConfigPath)
	if err != nil {
		return err
	}
	if err := svc.Apply(ctx, sc, svc.opts.Force); err != nil {
		return err
	}
	if err := env.Jobs.Register(svc.handlers()...); err != nil {
		return err
	}
	if err := env.Jobs.Schedule(jobs.Schedule{Name: "records.jobs.purge", Cron: "@daily", Run: svc.PurgeJobs}); err != nil {
		return err
	}
	svc.registerREST(env.API)
	documentTypes(env.API, sc)
	svc.registerAdmin(env.Admin)
	go svc.reloadOnHangup(ctx)
	return nil
}

// reloadOnHangup applies the config file again at each SIGHUP until ctx
// ends; a config that fails leaves the one in force, and says why in the
// log.
func (s *Service) reloadOnHangup(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := s.Reload(ctx); err != nil {
				s.log.ErrorContext(ctx, "records: config reload refused, the previous config stays in force", "err", err)
				continue
			}
			s.log.InfoContext(ctx, "records: config reloaded", "types", s.schema().Names())
		}
	}
}
