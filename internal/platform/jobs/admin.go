package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The states List takes and Job reports: the admin API's vocabulary over
// River's states.
const (
	StatePending   = "pending"   // waiting to run: available, scheduled (River's pending too)
	StateRunning   = "running"   // being worked
	StateFailed    = "failed"    // failed, will be retried (River's retryable)
	StateDead      = "dead"      // failed its last attempt (River's discarded): Retry re-runs it
	StateCompleted = "completed" // done (kept for a day by River's cleaner)
	StateCancelled = "cancelled" // cancelled (Cancel, or its handler no longer exists)
)

var riverStates = map[string][]rivertype.JobState{
	StatePending:   {rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending},
	StateRunning:   {rivertype.JobStateRunning},
	StateFailed:    {rivertype.JobStateRetryable},
	StateDead:      {rivertype.JobStateDiscarded},
	StateCompleted: {rivertype.JobStateCompleted},
	StateCancelled: {rivertype.JobStateCancelled},
}

func stateOf(s rivertype.JobState) string {
	for name, states := range riverStates {
		for _, rs := range states {
			if rs == s {
				return name
			}
		}
	}
	return string(s)
}

// Job is one durable job as the admin API shows it.
type Job struct {
	ID int64 `json:"id"`
	// Kind is "handler" (an event's durable handler) or "schedule".
	Kind string `json:"kind"`
	// Name is the handler's or the schedule's name.
	Name string `json:"name"`
	// EventID and EventType identify a handler's event.
	EventID     string     `json:"event_id,omitempty"`
	EventType   string     `json:"event_type,omitempty"`
	State       string     `json:"state"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	FinalizedAt *time.Time `json:"finalized_at,omitempty"`
}

func jobOf(row *rivertype.JobRow) Job {
	j := Job{ID: row.ID, State: stateOf(row.State), Attempt: row.Attempt, MaxAttempts: row.MaxAttempts,
		CreatedAt: row.CreatedAt.UTC(), ScheduledAt: row.ScheduledAt.UTC(), FinalizedAt: row.FinalizedAt}
	switch row.Kind {
	case kindEvent:
		var a eventArgs
		if err := json.Unmarshal(row.EncodedArgs, &a); err == nil {
			j.Kind, j.Name, j.EventID, j.EventType = "handler", a.Handler, a.Event.ID, a.Event.Type
		}
	case kindSchedule:
		var a scheduleArgs
		if err := json.Unmarshal(row.EncodedArgs, &a); err == nil {
			j.Kind, j.Name = "schedule", a.Name
		}
	default:
		j.Kind = row.Kind
	}
	if n := len(row.Errors); n > 0 {
		j.LastError = row.Errors[n-1].Error
	}
	return j
}

// List returns up to limit jobs in state (one of the State constants; ""
// for all), newest first. limit <= 0 means 100, capped at 1000. An unknown
// state is fault.Invalid.
func (r *Runner) List(ctx context.Context, state string, limit int) ([]Job, error) {
	if limit <= 0 {
		limit = 100
	}
	p := river.NewJobListParams().First(min(limit, 1000)).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if state != "" {
		states, ok := riverStates[state]
		if !ok {
			return nil, fault.New(fault.Invalid, "jobs: unknown state %q", state)
		}
		p = p.States(states...)
	} else {
		var all []rivertype.JobState
		for _, s := range riverStates {
			all = append(all, s...)
		}
		p = p.States(all...)
	}
	res, err := r.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	jobs := make([]Job, len(res.Jobs))
	for i, row := range res.Jobs {
		jobs[i] = jobOf(row)
	}
	return jobs, nil
}

// Get returns one job; fault.NotFound if there is none with that id.
func (r *Runner) Get(ctx context.Context, id int64) (Job, error) {
	row, err := r.client.JobGet(ctx, id)
	if err != nil {
		return Job{}, notFound(err, id)
	}
	return jobOf(row), nil
}

// Retry makes a job run again as soon as possible: a dead or failed job
// (its attempts start again), or a completed or cancelled one (which runs
// once more). A running job is left alone. fault.NotFound if there is no
// such job.
func (r *Runner) Retry(ctx context.Context, id int64) error {
	_, err := r.client.JobRetry(ctx, id)
	return notFound(err, id)
}

// Cancel cancels a job that has not finished: it will not run (again); a
// running job's context is cancelled. fault.NotFound if there is no such job.
func (r *Runner) Cancel(ctx context.Context, id int64) error {
	_, err := r.client.JobCancel(ctx, id)
	return notFound(err, id)
}

// RetryTx is Retry in tx, an admin-handle transaction (store.Admin) that
// also records the retry's event: the job runs again only if tx commits. It
// returns the job as it is in tx.
func (r *Runner) RetryTx(ctx context.Context, tx *store.Tx, id int64) (Job, error) {
	row, err := r.client.JobRetryTx(ctx, tx.SQL(), id)
	if err != nil {
		return Job{}, notFound(err, id)
	}
	return jobOf(row), nil
}

// CancelTx is Cancel in tx (see RetryTx).
func (r *Runner) CancelTx(ctx context.Context, tx *store.Tx, id int64) (Job, error) {
	row, err := r.client.JobCancelTx(ctx, tx.SQL(), id)
	if err != nil {
		return Job{}, notFound(err, id)
	}
	return jobOf(row), nil
}

func notFound(err error, id int64) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rivertype.ErrNotFound):
		return fault.New(fault.NotFound, "job %d not found", id)
	}
	return fmt.Errorf("jobs: job %d: %w", id, err)
}
