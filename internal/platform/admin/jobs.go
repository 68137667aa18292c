package admin

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// jobWindow is how many of the newest jobs a page after the first looks
// through: jobs.Runner.List takes no cursor and returns at most 1000 jobs,
// so pages are cut from the newest jobWindow of the state.
const jobWindow = 1000

// The events of admin writes on jobs.
const (
	JobRetriedEvent   = "admin.job.retried"
	JobCancelledEvent = "admin.job.cancelled"
)

type listJobsInput struct {
	State  string `query:"state" enum:"pending,running,failed,dead,completed,cancelled" doc:"Only jobs in this state; all states when absent."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"20" doc:"The next_cursor of the previous page."`
}

type jobPath struct {
	ID int64 `path:"id" minimum:"1" doc:"The job's id."`
}

type jobOutput struct {
	Body jobs.Job
}

func (a *Admin) registerJobs(api huma.API) {
	tags := []string{"admin"}
	huma.Register(api, huma.Operation{
		OperationID: "admin-list-jobs", Method: http.MethodGet, Path: "/jobs",
		Summary: "List durable jobs",
		Description: "Newest first. Pages after the first are cut from the newest 1000 jobs of the state " +
			"(the job runner lists no further).",
		Tags: tags,
	}, func(ctx context.Context, in *listJobsInput) (*httpapi.ListOutput[jobs.Job], error) {
		limit := in.Limit
		if limit <= 0 {
			limit = DefaultLimit
		}
		var before int64
		fetch := limit + 1
		if in.Cursor != "" {
			id, err := strconv.ParseInt(in.Cursor, 10, 64)
			if err != nil || id < 1 {
				return nil, fault.WithFields("validation failed", badCursor(in.Cursor))
			}
			before, fetch = id, jobWindow
		}
		js, err := a.jobs.List(ctx, in.State, fetch)
		if err != nil {
			return nil, err
		}
		if before > 0 {
			kept := js[:0]
			for _, j := range js {
				if j.ID < before {
					kept = append(kept, j)
				}
			}
			js = kept
		}
		next := ""
		if len(js) > limit {
			js = js[:limit]
			next = strconv.FormatInt(js[limit-1].ID, 10)
		}
		return httpapi.Page(js, next), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-get-job", Method: http.MethodGet, Path: "/jobs/{id}",
		Summary: "Get a job", Tags: tags,
	}, func(ctx context.Context, in *jobPath) (*jobOutput, error) {
		j, err := a.jobs.Get(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &jobOutput{Body: j}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-retry-job", Method: http.MethodPost, Path: "/jobs/{id}/retry",
		Summary: "Run a job again",
		Description: "A dead or failed job starts its attempts again; a completed or cancelled one runs once more; " +
			"a running one is left alone. Emits " + JobRetriedEvent + ". Answers the job as it is now.",
		Tags: tags,
	}, func(ctx context.Context, in *jobPath) (*jobOutput, error) {
		return a.jobWrite(ctx, in.ID, JobRetriedEvent, a.jobs.RetryTx)
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-cancel-job", Method: http.MethodPost, Path: "/jobs/{id}/cancel",
		Summary: "Cancel a job",
		Description: "A job that has not finished will not run (again); a running job's context is cancelled. " +
			"Emits " + JobCancelledEvent + ". Answers the job as it is now.",
		Tags: tags,
	}, func(ctx context.Context, in *jobPath) (*jobOutput, error) {
		return a.jobWrite(ctx, in.ID, JobCancelledEvent, a.jobs.CancelTx)
	})
}

// jobWrite runs op on job id and records the event typ in the same
// transaction (of the admin handle, which may change River's jobs): the
// change happens with its event or not at all.
func (a *Admin) jobWrite(ctx context.Context, id int64, typ string,
	op func(context.Context, *store.Tx, int64) (jobs.Job, error)) (*jobOutput, error) {
	before, err := a.jobs.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	var after jobs.Job
	err = a.adminDB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if after, err = op(tx.Context(), tx, id); err != nil {
			return err
		}
		return a.emitTx(tx.Context(), tx, typ, "", strconv.FormatInt(id, 10), map[string]any{
			"job_id": id, "kind": before.Kind, "name": before.Name,
			"previous_state": before.State, "state": after.State,
		})
	})
	if err != nil {
		return nil, err
	}
	return &jobOutput{Body: after}, nil
}
