// Package files is the file sharing seed: users upload files (streamed, or
// straight to a signed URL) and share them with users, their org or a space
// of it, with immutable versions, a trash and public links. Permissions
// and metadata live in the database; a permission check and the change it
// guards commit in one transaction, memberships are read at request time,
// and the current-version pointer moves under If-Match (see
// docs/files.md).
package files

import (
	"context"
	"embed"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const appName = "files"

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed mails/*.tmpl
var mailFiles embed.FS

// App declares the files app.
func App() app.App {
	return app.App{
		Name:       appName,
		Migrations: store.Embedded(appName, migrations, "migrations").FS,
		Mount:      mount,
	}
}

func mount(_ context.Context, env app.Env) error {
	mails, err := mail.ParseTemplates(mailFiles, "mails")
	if err != nil {
		return err
	}
	a := env.Config.Auth.Argon2
	svc := NewService(env.DB, env.Events, env.Blobs, env.Mail, mails, Options{
		MaxUpload: int64(env.Config.Files.MaxUpload), Quota: int64(env.Config.Files.Quota), PublicURL: env.Config.PublicURL,
		Argon2: identity.Argon2Params{Time: a.Time, Memory: a.Memory, Threads: a.Threads,
			KeyLen: identity.DefaultArgon2.KeyLen, SaltLen: identity.DefaultArgon2.SaltLen},
	})
	if err := env.Jobs.Register(svc.handlers()...); err != nil {
		return err
	}
	// S3 cannot call back when a signed upload lands: pending uploads are
	// looked for often. The filesystem's signed URLs emit the event
	// themselves; the slow look there only catches one lost to a crash.
	confirm := ConfirmCron
	if strings.HasPrefix(env.Config.Blobs, "file://") {
		confirm = "@every 1m"
	}
	for _, sc := range []jobs.Schedule{
		{Name: "files.uploads.confirm", Cron: confirm, Run: svc.confirmUploads},
		{Name: "files.trash.purge", Cron: "@hourly", Run: svc.purgeTrash},
		{Name: "files.blobs.sweep", Cron: "@daily", Run: func(ctx context.Context) error {
			_, err := svc.Sweep(ctx, SweepAge)
			return err
		}},
	} {
		if err := env.Jobs.Schedule(sc); err != nil {
			return err
		}
	}
	svc.registerREST(env.API)
	svc.registerAdmin(env.Admin)
	return nil
}
