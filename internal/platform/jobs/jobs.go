// Package jobs runs the platform's durable work on River (riverqueue.com), in
// the same database as everything else: the durable handlers of events (each
// (event, handler) pair runs at least once after the emitting transaction
// commits, with exponential back-off retries, then lands in a dead-letter
// state from which the admin API can retry it) and scheduled jobs (cron
// style, once per schedule across all nodes: River runs periodic jobs on its
// elected leader only).
//
// Jobs are enqueued by events.Log.Emit inside the emitting transaction
// (River's InsertManyFastTx on the store's *sql.Tx), so a rolled-back change
// enqueues nothing and a committed one cannot lose its jobs. The queue lives
// in River's tables: in schema "platform" on Postgres (driver
// riverdatabasesql on the platform's pool, which polls: database/sql has no
// LISTEN), in the SQLite file otherwise (driver riversqlite on the store's
// single writer connection). River's own migrations run through Migrate.
//
// # Handlers are idempotent
//
// At least once means sometimes twice: a node that dies after a handler's
// side effect but before River records its completion runs it again on
// another node (River's rescuer, after Options.RescueAfter). Handlers must
// therefore be idempotent: key their effects on the event's ID (a unique row,
// an "already sent" mark written in the same transaction as the effect).
//
// # Wiring (package node)
//
//	err := jobs.Migrate(ctx, st, logger)           // platform: events + River; before the apps' Migrate
//	log := events.New(st, events.Options{})
//	r, err := jobs.New(st, log, jobs.Options{Logger: logger})
//	err = r.Register(app.Handlers...)             // every app's, before Start
//	err = r.Schedule(app.Schedules...)
//	err = r.Start(ctx)                            // after the HTTP server is ready
//	…
//	err = r.Stop(shutdownCtx)                     // on SIGTERM, after the HTTP server stopped
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Handler is a durable reaction to events of one type. Each event of type
// EventType emitted after Register runs Handle at least once, after the
// emitting transaction commits; an error (or panic) is retried with
// exponential back-off up to Options.MaxAttempts attempts, after which the
// job is "dead" (see List and Retry). Handle must be idempotent (see the
// package doc) and should honour ctx (cancelled after Options.JobTimeout and
// when a Stop runs out of time).
type Handler struct {
	// Name identifies the handler in stored jobs: unique in the process and
	// stable across releases ("mail.welcome"). A job whose handler no longer
	// exists is cancelled.
	Name      string
	EventType string
	Handle    func(ctx context.Context, e events.Event) error
	// OnDead, when set, is called after the last attempt failed, just before
	// the job becomes dead, with that attempt's error (the mail outbox marks
	// the mail failed). It runs once per death; a job retried from the admin
	// API that dies again calls it again. Its error is logged.
	OnDead func(ctx context.Context, e events.Event, err error) error
}

// Schedule is a job run on a cron schedule, once per tick across all nodes.
type Schedule struct {
	// Name identifies the schedule: unique and stable across releases.
	Name string
	// Cron is a standard 5-field cron spec ("0 6 * * MON"), a 6-field one
	// with seconds first ("*/1 * * * * *"), or a descriptor ("@hourly",
	// "@every 10m").
	Cron string
	// TimeZone is the IANA zone the spec is read in ("Europe/Paris"); empty
	// means UTC. (The binary should import time/tzdata.)
	TimeZone string
	// Run does the work; an error is retried like a handler's. Idempotent.
	Run func(ctx context.Context) error
}

// Defaults for Options.
const (
	DefaultMaxAttempts  = 8
	DefaultPollInterval = 25 * time.Millisecond
	DefaultWorkers      = 20
	DefaultJobTimeout   = 5 * time.Minute
	DefaultRescueAfter  = 10 * time.Minute // DefaultJobTimeout and 5 minutes to spare
	// PurgeSchedule is the built-in schedule that purges the event log.
	PurgeSchedule = "platform.events.purge"
)

// Options tune a Runner. The zero value is ready to use.
type Options struct {
	// MaxAttempts bounds a job's attempts before it is dead; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is the pause after a failed attempt (1-based); nil means
	// River's default, attempt⁴ seconds with ±10 % jitter (1 s, 16 s, 81 s,
	// … about 80 minutes in all over 8 attempts).
	Backoff func(attempt int) time.Duration
	// Logger receives River's logs; nil discards.
	Logger *slog.Logger
	// PollInterval is how often an idle node looks for new jobs, so about
	// the worst latency from commit to handler start; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
	// Workers is how many jobs a node runs at once; 0 means DefaultWorkers.
	Workers int
	// JobTimeout cancels a job's context after this long; 0 means
	// DefaultJobTimeout, -1 never.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it is deemed
	// abandoned (its node died) and run again; it must exceed JobTimeout; 0
	// means DefaultRescueAfter.
	RescueAfter time.Duration
	// ID names this node in River's records; empty means River's default
	// (host name and time).
	ID string
	// NoPurge leaves out the built-in hourly purge of the event log.
	NoPurge bool
}

// Runner runs the handlers and schedules of one node. Register and Schedule
// before Start; Emit may enqueue before Start (the jobs wait in the
// database). It is safe for concurrent use.
type Runner struct {
	st      *store.Store
	log     *events.Log
	opts    Options
	client  *river.Client[*sql.Tx]
	metrics *metrics

	mu        sync.RWMutex
	started   bool
	handlers  map[string]Handler  // by name
	byType    map[string][]string // event type → handler names
	schedules map[string]Schedule // by name
}

// Job kinds stored in River's table.
const (
	kindEvent    = "tessera_event"
	kindSchedule = "tessera_schedule"
)

// eventArgs is an event handler's job: the whole event travels with it, so a
// handler still runs after the log purged the event. The payload travels as a
// string so that its bytes survive Postgres' jsonb (which reformats JSON).
type eventArgs struct {
	Handler string       `json:"handler"`
	Event   events.Event `json:"event"`
	Payload string       `json:"payload"`
}

func (eventArgs) Kind() string { return kindEvent }

type scheduleArgs struct {
	Name string `json:"name"`
}

func (scheduleArgs) Kind() string { return kindSchedule }

// New returns the Runner of st and makes log enqueue the registered
// handlers of each emitted event (log.SetEnqueuer). Migrate must have run.
func New(st *store.Store, log *events.Log, opts Options) (*Runner, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.JobTimeout == 0 {
		opts.JobTimeout = DefaultJobTimeout
	}
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = max(DefaultRescueAfter, opts.JobTimeout+5*time.Minute)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{st: st, log: log, opts: opts,
		handlers: map[string]Handler{}, byType: map[string][]string{}, schedules: map[string]Schedule{}}
	r.metrics = newMetrics(r)

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, river.WorkFunc(r.workEvent)); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, river.WorkFunc(r.workSchedule)); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	cfg := &river.Config{
		ID:                   opts.ID,
		FetchCooldown:        min(opts.PollInterval, 10*time.Millisecond),
		FetchPollInterval:    opts.PollInterval,
		JobTimeout:           opts.JobTimeout,
		Logger:               opts.Logger,
		MaxAttempts:          opts.MaxAttempts,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		RescueStuckJobsAfter: opts.RescueAfter,
		Workers:              workers,
	}
	if opts.Backoff != nil {
		cfg.RetryPolicy = backoffPolicy(opts.Backoff)
	}
	driver, schema := riverDriver(st)
	cfg.Schema = schema
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.client = client
	log.SetEnqueuer(r.enqueue)
	if !opts.NoPurge {
		err := r.Schedule(Schedule{Name: PurgeSchedule, Cron: "@hourly", Run: func(ctx context.Context) error {
			n, err := log.Purge(ctx)
			if n > 0 {
				opts.Logger.InfoContext(ctx, "jobs: purged events", "count", n)
			}
			return err
		}})
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// riverDriver returns River's driver for st, on the platform's connections,
// and the schema River's tables are in.
func riverDriver(st *store.Store) (riverdriver.Driver[*sql.Tx], string) {
	db := st.App(events.Schema).SQL()
	if st.Engine() == store.EnginePostgres {
		return riverdatabasesql.New(db), events.Schema
	}
	return riversqlite.New(db), ""
}

// backoffPolicy is a River retry policy from a back-off function.
type backoffPolicy func(attempt int) time.Duration

func (f backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(f(job.Attempt))
}

// name is what a handler or schedule may be called.
var name = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// ErrStarted is returned by Register and Schedule after Start.
var ErrStarted = errors.New("jobs: runner already started: register handlers and schedules before Start")

// Register adds durable handlers. Names must be unique (lower-case dotted
// words, "mail.welcome") and event types valid ("<app>.<entity>.<verb>").
func (r *Runner) Register(hs ...Handler) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return ErrStarted
	}
	for _, h := range hs {
		switch {
		case !name.MatchString(h.Name):
			return fmt.Errorf("jobs: invalid handler name %q: want lower-case dotted words", h.Name)
		case r.handlers[h.Name].Handle != nil:
			return fmt.Errorf("jobs: handler %q registered twice", h.Name)
		case !events.ValidType(h.EventType):
			return fmt.Errorf("jobs: handler %q: invalid event type %q", h.Name, h.EventType)
		case h.Handle == nil:
			return fmt.Errorf("jobs: handler %q has no Handle", h.Name)
		}
		r.handlers[h.Name] = h
		r.byType[h.EventType] = append(r.byType[h.EventType], h.Name)
	}
	return nil
}

// enqueue is the log's Enqueuer: one job per handler of e.Type, in tx.
func (r *Runner) enqueue(ctx context.Context, tx *store.Tx, e events.Event) error {
	r.mu.RLock()
	names := r.byType[e.Type]
	r.mu.RUnlock()
	if len(names) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(names))
	for i, n := range names {
		args := eventArgs{Handler: n, Event: e, Payload: string(e.Payload)}
		args.Event.Payload = nil
		params[i] = river.InsertManyParams{Args: args}
	}
	if _, err := r.client.InsertManyFastTx(ctx, tx.SQL(), params); err != nil {
		return store.Normalize(fmt.Errorf("jobs: enqueue: %w", err))
	}
	return nil
}

func (r *Runner) workEvent(ctx context.Context, job *river.Job[eventArgs]) error {
	r.mu.RLock()
	h, ok := r.handlers[job.Args.Handler]
	r.mu.RUnlock()
	if !ok {
		err := river.JobCancel(fmt.Errorf("jobs: no handler named %q in this release", job.Args.Handler))
		r.metrics.observe("handler", job.Args.Handler, job.Attempt, job.MaxAttempts, err)
		return err
	}
	e := job.Args.Event
	e.Payload = json.RawMessage(job.Args.Payload)
	err := h.Handle(ctx, e)
	r.metrics.observe("handler", h.Name, job.Attempt, job.MaxAttempts, err)
	if err != nil && h.OnDead != nil && job.Attempt >= job.MaxAttempts && !isJobCancel(err) {
		if dErr := h.OnDead(context.WithoutCancel(ctx), e, err); dErr != nil {
			r.opts.Logger.WarnContext(ctx, "jobs: OnDead failed", "handler", h.Name, "event", e.ID, "error", dErr)
		}
	}
	return err
}

// isJobCancel reports whether err asks River to cancel the job (not a death).
func isJobCancel(err error) bool {
	var c *river.JobCancelError
	return errors.As(err, &c)
}

func (r *Runner) workSchedule(ctx context.Context, job *river.Job[scheduleArgs]) error {
	r.mu.RLock()
	s, ok := r.schedules[job.Args.Name]
	r.mu.RUnlock()
	if !ok {
		err := river.JobCancel(fmt.Errorf("jobs: no schedule named %q in this release", job.Args.Name))
		r.metrics.observe("schedule", job.Args.Name, job.Attempt, job.MaxAttempts, err)
		return err
	}
	err := s.Run(ctx)
	r.metrics.observe("schedule", s.Name, job.Attempt, job.MaxAttempts, err)
	return err
}

// Start starts working jobs and, on the node elected leader, the schedules,
// the rescue of abandoned jobs and River's cleanup. ctx bounds only the
// start; Stop stops.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// StopGrace is how long Stop waits for cancelled jobs to return once its
// context has ended.
const StopGrace = 5 * time.Second

// Stop stops fetching jobs and waits for the running ones to finish, until
// ctx ends; then it cancels their contexts and waits at most StopGrace more.
// A job cut short is not lost: it is retried (or rescued) later.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopGrace)
	defer cancel()
	if err := r.client.StopAndCancel(cctx); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}
