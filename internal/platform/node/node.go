// Package node assembles one Tessera node from its configuration: the store
// (migrated unless told not to), the event log and the job runner, the mail
// outbox, the blob store, the realtime hub, the HTTP edge with its readiness checks, and the
// enabled apps mounted on it. cmd/tessera only parses the command line and
// calls into here.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/idempotency"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/web"
)

// Options tune how a node starts.
type Options struct {
	// NoMigrate skips applying migrations at start (serve --no-migrate).
	NoMigrate bool
	// Version is reported in the OpenAPI document.
	Version string
	// Jobs tunes the job runner (tests shorten its timings); the logger is
	// the node's.
	Jobs jobs.Options
	// HubPollInterval overrides the realtime hub's fallback poll (tests
	// lengthen it to prove the Redis wake-ups).
	HubPollInterval time.Duration
}

// Node is one running Tessera process's platform and apps.
type Node struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Store
	events  *events.Log
	jobs    *jobs.Runner
	mail    *mail.Outbox
	hub     *realtime.Hub
	id      *Identity
	auth    *authz.Authorizer
	edge    *httpapi.Server
	closers []func() error // run last first by Close
}

// Open builds a node: it opens (and unless opts.NoMigrate, migrates) the
// store, builds the platform services and the edge, mounts every enabled app
// and starts the job runner. Close stops and releases it.
func Open(ctx context.Context, cfg *config.Config, registry *app.Registry, log *slog.Logger, opts Options) (n *Node, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, &config.Error{Key: "data_dir", Msg: err.Error()}
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	// life is the node's lifetime, handed to the apps' Mount: it ends when
	// ctx does or when Close runs (an app's background work stops with it).
	life, endLife := context.WithCancel(ctx)
	opened := &Node{cfg: cfg, log: log, store: st, closers: []func() error{st.Close, func() error { endLife(); return nil }}}
	n = opened
	defer func() {
		if err != nil {
			err = errors.Join(err, opened.Close()) // n is nil by now
		}
	}()
	if !opts.NoMigrate {
		if err := Migrate(ctx, st, registry, log); err != nil {
			return nil, err
		}
	}

	if n.id, err = OpenIdentity(cfg, st, registry.Clients()); err != nil {
		return nil, err
	}
	n.events, n.mail = n.id.Events, n.id.Mail
	jobOpts := opts.Jobs
	jobOpts.Logger = log
	if jobOpts.MaxAttempts == 0 {
		jobOpts.MaxAttempts = cfg.Jobs.MaxAttempts
	}
	if n.jobs, err = jobs.New(st, n.events, jobOpts); err != nil {
		return nil, err
	}
	if err := n.jobs.Register(n.mail.DeliveryHandler()); err != nil {
		return nil, err
	}
	if err := n.openAuth(); err != nil {
		return nil, err
	}
	blobs, err := n.openBlobs(ctx)
	if err != nil {
		return nil, err
	}

	checks := []httpapi.Check{{Name: "database", Check: st.Ping}, {Name: "blobs", Check: blobs.Ping}}
	if checks, err = n.openHub(opts, checks); err != nil {
		return nil, err
	}
	n.events.OnCommit(func(events.Event) { n.hub.Notify() })

	keys := idempotency.New(st, log)
	err = n.jobs.Schedule(jobs.Schedule{Name: "platform.idempotency.purge", Cron: "@hourly", Run: func(ctx context.Context) error {
		_, err := keys.Purge(ctx)
		return err
	}})
	if err != nil {
		return nil, err
	}
	// Leftovers of interrupted blob writes; 24 h outlasts any upload, so none in progress is swept.
	err = n.jobs.Schedule(jobs.Schedule{Name: "platform.blobs.sweep", Cron: "@hourly", Run: func(ctx context.Context) error {
		return blobs.Sweep(ctx, 24*time.Hour)
	}})
	if err != nil {
		return nil, err
	}
	proxies, err := config.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, &config.Error{Key: "trusted_proxies", Msg: err.Error()}
	}
	n.edge = httpapi.New(httpapi.Options{
		Title:          "Tessera",
		Version:        opts.Version,
		Logger:         log,
		CORSOrigins:    cfg.CORS.Origins,
		TrustedProxies: proxies,
		// The console PUTs direct uploads to the blob store's signed URLs
		// and shows images from them.
		MediaOrigins: []string{blob.SignedURLOrigin(cfg.Blobs, blob.Options{PublicURL: cfg.PublicURL})},
		Checks:       checks,
		// The authorizer, then idempotency keys (kept per caller).
		Authenticate: func(h http.Handler) http.Handler { return n.auth.Handler(keys.Middleware(h)) },
	})
	for _, register := range []func(prometheus.Registerer) error{n.hub.RegisterMetrics, n.events.RegisterMetrics, n.jobs.RegisterMetrics} {
		if err := register(n.edge.Metrics()); err != nil {
			return nil, err
		}
	}
	n.edge.Handle(blob.PathPrefix, blob.Handler(blobs))
	web.Register(n.edge.Handle) // the console: GET / and GET /console/
	n.mountAuth()
	platform := app.Platform{Store: st, Events: n.events, Jobs: n.jobs, Mail: n.mail, Hub: n.hub, Blobs: blobs, Auth: n.auth,
		Users: n.id.Users, Orgs: n.id.Orgs}
	if err := registry.Mount(life, cfg, platform, n.edge, log); err != nil {
		return nil, err
	}

	if err := n.hub.Start(ctx); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.stopHub)
	if err := n.jobs.Start(ctx); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.stopJobs)
	return n, nil
}

// openHub builds the realtime hub, with one Redis client for its cross-node
// wake-ups when Redis is configured; that client's ping joins checks.
func (n *Node) openHub(opts Options, checks []httpapi.Check) ([]httpapi.Check, error) {
	hubOpts := realtime.Options{
		Source: n.events, Compare: events.CompareCursor,
		AllowedOrigins: n.cfg.CORS.Origins, Logger: n.log,
		PollInterval: opts.HubPollInterval,
	}
	if n.cfg.Redis != "" {
		ropts, err := redis.ParseURL(n.cfg.Redis)
		if err != nil {
			return nil, &config.Error{Key: "redis", Msg: err.Error()}
		}
		rdb := redis.NewClient(ropts)
		n.closers = append(n.closers, rdb.Close)
		hubOpts.Redis = rdb
		// Pub/sub ignores database numbers: the channel names this one, so
		// deployments sharing a Redis on different databases do not wake
		// each other.
		hubOpts.RedisChannel = WakeChannel(ropts.DB)
		checks = append(checks, httpapi.Check{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	}
	var err error
	if n.hub, err = realtime.New(hubOpts); err != nil {
		return nil, &config.Error{Key: "redis", Msg: err.Error()}
	}
	return checks, nil
}

// WakeChannel is the Redis pub/sub channel of the realtime wake-ups of the
// nodes using Redis database db.
func WakeChannel(db int) string { return fmt.Sprintf("tessera:%d:realtime:wake", db) }

// OpenStore opens the configured database.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Database, store.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// Migrate applies the platform's migrations (event log and job queue, mail
// outbox, identity keys, admin keys, organizations), then every registered
// app's.
func Migrate(ctx context.Context, st *store.Store, registry *app.Registry, log *slog.Logger) error {
	if err := jobs.Migrate(ctx, st, log); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sets := append([]store.MigrationSet{mail.Migrations(), identity.Migrations(), authz.Migrations(), orgs.Migrations(), idempotency.Migrations()},
		registry.MigrationSets()...)
	if err := st.Migrate(ctx, sets...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// openMail builds the outbox: SMTP when configured, else .eml files under
// <data_dir>/mail.
func openMail(cfg *config.Config, st *store.Store, log *events.Log) (*mail.Outbox, error) {
	from, host := mail.DefaultFrom(cfg.PublicURL)
	sender, err := mail.NewSender(cfg.SMTP, cfg.MailDir(), from)
	if err != nil {
		return nil, &config.Error{Key: "smtp", Msg: err.Error()}
	}
	return mail.NewOutbox(st, sender, mail.Options{Domain: host, Events: log}), nil
}

// openBlobs opens the configured blob store; objects uploaded through signed
// URLs become blob.CreatedEvent events.
func (n *Node) openBlobs(ctx context.Context) (blob.Store, error) {
	key, err := localKey(n.cfg.DataDir, "blobs")
	if err != nil {
		return nil, &config.Error{Key: "data_dir", Msg: err.Error()}
	}
	blobs, err := blob.Open(ctx, n.cfg.Blobs, blob.Options{
		AccessKey: n.cfg.S3.AccessKey, SecretKey: n.cfg.S3.SecretKey,
		PublicURL: n.cfg.PublicURL, SigningKey: key,
		OnCreated: n.emitBlobCreated,
	})
	if err != nil {
		return nil, &config.Error{Key: "blobs", Msg: err.Error()}
	}
	return blobs, nil
}

// emitBlobCreated records an object-created event. OnCreated has no error
// path: a failure is logged, and the app's Confirm of the upload emits again.
func (n *Node) emitBlobCreated(ctx context.Context, o blob.Object) {
	payload, err := json.Marshal(o)
	if err == nil {
		err = n.store.App(events.Schema).InTx(ctx, func(tx *store.Tx) error {
			return n.events.Emit(ctx, tx, events.Event{App: "blob", Type: blob.CreatedEvent, Subject: o.Key, Payload: payload})
		})
	}
	if err != nil {
		n.log.ErrorContext(ctx, "blob: object-created event not recorded", "key", o.Key, "err", err)
	}
}

// stopJobs stops the job runner, letting running jobs finish within the
// shutdown bound.
func (n *Node) stopJobs() error {
	ctx, cancel := context.WithTimeout(context.Background(), httpapi.ShutdownTimeout)
	defer cancel()
	return n.jobs.Stop(ctx)
}

// stopHub closes every websocket (1001) and stops the hub; a no-op when
// Serve's shutdown already did.
func (n *Node) stopHub() error {
	ctx, cancel := context.WithTimeout(context.Background(), httpapi.ShutdownTimeout)
	defer cancel()
	return n.hub.Shutdown(ctx)
}

// Handler is the node's HTTP handler (every route behind the middleware).
func (n *Node) Handler() http.Handler { return n.edge.Handler() }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	n.log.Info("serving", "addr", ln.Addr().String(), "database", string(n.store.Engine()), "public_url", n.cfg.PublicURL)
	closeSockets := func(ctx context.Context) {
		if err := n.hub.Shutdown(ctx); err != nil {
			n.log.Warn("realtime shutdown", "err", err)
		}
	}
	return httpapi.Serve(ctx, ln, n.Handler(), n.log, closeSockets)
}

// Close stops the node's services and releases its resources, last opened
// first.
func (n *Node) Close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	return errors.Join(errs...)
}

// Identity returns the node's identity services (users, orgs, signing keys):
// tests and the CLI mint tokens and create users with them.
func (n *Node) Identity() *Identity { return n.id }

// Jobs returns the node's job runner: tests run a schedule now
// (RunSchedule) instead of waiting for its time.
func (n *Node) Jobs() *jobs.Runner { return n.jobs }

// Store returns the node's database: tests inspect and age rows with it.
func (n *Node) Store() *store.Store { return n.store }
