// Package app is the app registry: each of Tessera's apps declares itself as
// an App value (name, migrations, and a Mount function that registers its HTTP
// routes and websocket endpoints), the composition root lists them by hand,
// and the configuration's "apps" key enables a subset.
//
// Apps never import each other (depguard enforces it, and so does
// TestAppsImportNoOtherApp): they meet only through the platform.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/admin"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// App declares one app.
type App struct {
	// Name is the app's name: its URL prefix (/<name>), its database schema
	// and role on Postgres, and its table prefix (<name>_) on SQLite.
	Name string
	// Migrations holds the app's numbered SQL files (see store.MigrationSet);
	// nil when the app has no tables.
	Migrations fs.FS
	// Clients are the app's client_ids of the user pool (e.g.
	// restaurants-staff) with the attributes sign-up may set through them.
	Clients []identity.Client
	// Mount wires the app into a running server: it builds the app's service
	// on env.DB and registers its routes on env.API and its raw endpoints
	// (websockets, streamed downloads) with env.Handle. ctx lasts as long as
	// the node: background work started in Mount ends with it.
	Mount func(ctx context.Context, env Env) error
}

// Env is what the platform hands an app when it is mounted.
type Env struct {
	// DB is the app's own database handle (its role and schema on Postgres).
	DB *store.DB
	// Events records state changes: Emit in the same transaction as the
	// change (types "<app>.<entity>.<verb>").
	Events *events.Log
	// Jobs takes the app's durable event handlers and schedules during
	// Mount (names "<app>.…"); they run at least once, so they are idempotent.
	Jobs *jobs.Runner
	// Mail queues templated mails in the caller's transaction.
	Mail *mail.Outbox
	// Hub serves the app's websockets: Route its events to topics during
	// Mount, Accept connections and Subscribe them.
	Hub *realtime.Hub
	// Blobs is the blob store (filesystem or S3); apps name their keys
	// "<app>/…".
	Blobs blob.Store
	// Auth is the authorizer: HTTP routes get the caller with
	// authz.FromContext; websocket endpoints call Auth.AuthenticateUpgrade.
	Auth *authz.Authorizer
	// Users is the platform user pool: for apps offering another door to it
	// (a websocket with CreateAccount, SignIn, … under the same policy and
	// throttling as /auth), invitations (Invite) and lookups (GetUser,
	// GetUserByEmail). In the app's own transaction, use identity.LookupUser
	// and identity.SetAttributes instead.
	Users *identity.Pool
	// Orgs is the organizations and their members: Orgs.As(principal) for
	// caller-checked changes (the /orgs API's rights), the trusted reads
	// (Membership, Member, GetOrg) for the app's own checks.
	Orgs *orgs.Service
	// API registers typed operations; their paths are under /<name>.
	API huma.API
	// Admin registers the app's admin collections: paths under
	// /admin/<name>, for admin API keys only.
	Admin huma.API
	// Handle registers a raw handler; the pattern's path must be under /<name>/.
	Handle func(pattern string, h http.Handler)
	// Config is the effective configuration (read only).
	Config *config.Config
	// Log is the app's logger (with an "app" attribute).
	Log *slog.Logger
}

// Registry is the ordered list of apps the binary knows.
type Registry struct {
	apps []App
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9]{1,30}$`)

// reserved are the prefixes and schemas the platform owns.
var reserved = []string{"platform", "blobs", "mail", "auth", "orgs", "admin", "river", "idempotency", "healthz", "readyz", "metrics", "openapi", "docs", "well-known"}

// NewRegistry checks the declarations (name syntax, unique and not reserved
// names, a Mount function) and returns the registry.
func NewRegistry(apps ...App) (*Registry, error) {
	seen := map[string]bool{}
	for _, a := range apps {
		switch {
		case !validName.MatchString(a.Name):
			return nil, fmt.Errorf("app %q: name must match %s", a.Name, validName)
		case slices.Contains(reserved, a.Name):
			return nil, fmt.Errorf("app %q: name is reserved by the platform", a.Name)
		case seen[a.Name]:
			return nil, fmt.Errorf("app %q: declared twice", a.Name)
		case a.Mount == nil:
			return nil, fmt.Errorf("app %q: no Mount function", a.Name)
		}
		seen[a.Name] = true
	}
	return &Registry{apps: apps}, nil
}

// Names lists every registered app, in declaration order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.apps))
	for i, a := range r.apps {
		names[i] = a.Name
	}
	return names
}

// MigrationSets returns the migrations of every registered app, enabled or
// not, so a schema never depends on which apps a node serves.
func (r *Registry) MigrationSets() []store.MigrationSet {
	var sets []store.MigrationSet
	for _, a := range r.apps {
		if a.Migrations != nil {
			sets = append(sets, store.MigrationSet{Schema: a.Name, FS: a.Migrations})
		}
	}
	return sets
}

// Clients returns the user-pool clients of every registered app.
func (r *Registry) Clients() []identity.Client {
	var clients []identity.Client
	for _, a := range r.apps {
		clients = append(clients, a.Clients...)
	}
	return clients
}

// Router is where apps register: the HTTP edge implements it.
type Router interface {
	Group(prefix string) huma.API
	API() huma.API
	Handle(pattern string, h http.Handler)
}

// Platform is the set of shared services the registry hands to apps.
type Platform struct {
	Store  *store.Store
	Events *events.Log
	Jobs   *jobs.Runner
	Mail   *mail.Outbox
	Hub    *realtime.Hub
	Blobs  blob.Store
	Auth   *authz.Authorizer
	Users  *identity.Pool
	Orgs   *orgs.Service
}

// Mount mounts every app enabled by cfg on router, each with its own
// database handle and the platform's services.
func (r *Registry) Mount(ctx context.Context, cfg *config.Config, p Platform, router Router, log *slog.Logger) error {
	for _, a := range r.apps {
		if !cfg.AppEnabled(a.Name) {
			continue
		}
		prefix := "/" + a.Name
		env := Env{
			DB:     p.Store.App(a.Name),
			Events: p.Events,
			Jobs:   p.Jobs,
			Mail:   p.Mail,
			Hub:    p.Hub,
			Blobs:  p.Blobs,
			Auth:   p.Auth,
			Users:  p.Users,
			Orgs:   p.Orgs,
			API:    router.Group(prefix),
			Admin:  admin.Group(router.API(), a.Name),
			Handle: prefixedHandle(a.Name, router),
			Config: cfg,
			Log:    log.With("app", a.Name),
		}
		if err := a.Mount(ctx, env); err != nil {
			return fmt.Errorf("mount app %s: %w", a.Name, err)
		}
	}
	return nil
}

// prefixedHandle returns a Handle that refuses patterns outside the app's
// prefix, so an app cannot take over another app's or the platform's paths.
func prefixedHandle(name string, router Router) func(string, http.Handler) {
	return func(pattern string, h http.Handler) {
		path := pattern
		if i := strings.IndexByte(pattern, ' '); i >= 0 {
			path = pattern[i+1:]
		}
		if !strings.HasPrefix(path, "/"+name+"/") && path != "/"+name {
			// A wiring mistake in our own code, found by the app's first test.
			panic(fmt.Sprintf("app %s: pattern %q is outside /%s/", name, pattern, name))
		}
		router.Handle(pattern, h)
	}
}
