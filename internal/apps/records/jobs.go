package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Fire-and-forget actions (records.md, API): POST …/actions/{action}
// stores a job and its event in one transaction and answers 202; the
// durable handler of that event does the work, at least once, and the job
// row tells how it went. The only action is export: the record and its
// descendants as a JSON or CSV file in the blob store.

// Job statuses.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Export formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// DownloadTTL is how long a job's download URL is valid; each GET of the
// job signs a new one.
const DownloadTTL = 15 * time.Minute

// JobRetention is how long finished jobs and their files are kept.
const JobRetention = 7 * 24 * time.Hour

// eventJobQueued is the event of a new job; its handler runs the job.
const eventJobQueued = "records.job.queued"

// ActionJob is a fire-and-forget action's progress.
type ActionJob struct {
	ID        string        `json:"id"`
	Action    string        `json:"action"`
	RecordID  string        `json:"record_id"`
	Type      string        `json:"type" doc:"The record's type."`
	Status    string        `json:"status" enum:"queued,running,succeeded,failed"`
	Result    *ActionResult `json:"result,omitempty" doc:"Set once the job succeeded."`
	Error     string        `json:"error,omitempty" doc:"Why the job failed."`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// ActionResult is an export's file.
type ActionResult struct {
	DownloadURL string    `json:"download_url" doc:"A signed URL of the file, valid until expires_at; read the job again for a fresh one."`
	ExpiresAt   time.Time `json:"expires_at"`
	Format      string    `json:"format" enum:"json,csv"`
	Records     int64     `json:"records" doc:"How many records the file holds (the record and its descendants)."`
	Bytes       int64     `json:"bytes"`
}

// exportFile is what the job row keeps of an export's file.
type exportFile struct {
	Key     string `json:"key"`
	Format  string `json:"format"`
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
}

// ExportParams are the export action's parameters.
type ExportParams struct {
	Format string `json:"format,omitempty" enum:"json,csv" default:"json" doc:"The file's format."`
}

// StartAction queues action on record id of type t and returns the job.
func (s *Service) StartAction(ctx context.Context, c Caller, t *schema.Type, id, action string, params ExportParams) (ActionJob, error) {
	if !t.HasAction(action) {
		return ActionJob{}, fault.New(fault.NotFound, "%s has no action %q (actions: %s)", t.Name, action, strings.Join(t.Actions, ", "))
	}
	if params.Format == "" {
		params.Format = FormatJSON
	}
	if params.Format != FormatJSON && params.Format != FormatCSV {
		return ActionJob{}, fault.WithFields("invalid parameters", fault.FieldError{Location: "body.format", Message: "must be json or csv", Value: params.Format})
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return ActionJob{}, fmt.Errorf("records: job params: %w", err)
	}
	now := s.now()
	job := ActionJob{ID: uuid.Must(uuid.NewV7()).String(), Action: action, RecordID: id, Type: t.Name, Status: JobQueued, CreatedAt: now, UpdatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		rec, err := s.load(ctx, tx, c, t, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO records_jobs (id, org_id, record_id, type, action, params, status, actor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, job.ID, rec.OrgID, id, t.Name, action, string(raw), JobQueued, c.Actor, now.UnixMicro(), now.UnixMicro()); err != nil {
			return err
		}
		payload, err := json.Marshal(map[string]any{"action": action, "record_id": id, "type": t.Name, "params": params, "actor": c.Actor})
		if err != nil {
			return fmt.Errorf("records: event payload: %w", err)
		}
		return s.events.Emit(ctx, tx, events.Event{Type: eventJobQueued, OrgID: rec.OrgID, Subject: job.ID, Payload: payload})
	})
	return job, err
}

// jobRow is a stored job.
type jobRow struct {
	ActionJob
	orgID  string
	params ExportParams
	file   *exportFile
}

const jobCols = `id, org_id, record_id, type, action, params, status, result, error, created_at, updated_at`

func scanJob(r store.Scanner) (jobRow, error) {
	var j jobRow
	var params string
	var result, errText sql.NullString
	var created, updated int64
	if err := r.Scan(&j.ID, &j.orgID, &j.RecordID, &j.Type, &j.Action, &params, &j.Status, &result, &errText, &created, &updated); err != nil {
		return jobRow{}, err
	}
	if err := json.Unmarshal([]byte(params), &j.params); err != nil {
		return jobRow{}, fmt.Errorf("records: job params: %w", err)
	}
	if result.Valid {
		j.file = &exportFile{}
		if err := json.Unmarshal([]byte(result.String), j.file); err != nil {
			return jobRow{}, fmt.Errorf("records: job result: %w", err)
		}
	}
	j.Error = errText.String
	j.CreatedAt, j.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return j, nil
}

// GetJob returns job id of c's org, with a fresh download URL once it
// succeeded.
func (s *Service) GetJob(ctx context.Context, c Caller, id string) (ActionJob, error) {
	notFound := fault.New(fault.NotFound, "no job with this id")
	if !validID(id) {
		return ActionJob{}, notFound
	}
	where, args := c.orgClause([]any{id})
	j, err := scanJob(s.db.QueryRow(ctx, `SELECT `+jobCols+` FROM records_jobs WHERE id = ?`+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return ActionJob{}, notFound
	}
	if err != nil {
		return ActionJob{}, store.Normalize(err)
	}
	if j.Status == JobSucceeded && j.file != nil {
		url, err := s.blobs.SignedGetURL(j.file.Key, DownloadTTL, j.Type+"-"+j.RecordID+"."+j.file.Format)
		if err != nil {
			return ActionJob{}, err
		}
		j.Result = &ActionResult{DownloadURL: url, ExpiresAt: time.Now().Add(DownloadTTL).UTC().Truncate(time.Second),
			Format: j.file.Format, Records: j.file.Records, Bytes: j.file.Bytes}
	}
	return j.ActionJob, nil
}

// handlers are the app's durable event handlers.
func (s *Service) handlers() []jobs.Handler {
	return []jobs.Handler{{
		Name: "records.jobs.run", EventType: eventJobQueued, Handle: s.runJob,
		OnDead: func(ctx context.Context, e events.Event, _ error) error {
			return s.finishJob(ctx, e.Subject, JobFailed, nil, "the export failed after every retry; start it again")
		},
	}}
}

// runJob does the job of a records.job.queued event. A job already
// finished (the event delivered again) is left as it is.
func (s *Service) runJob(ctx context.Context, e events.Event) error {
	j, err := scanJob(s.db.QueryRow(ctx, `SELECT `+jobCols+` FROM records_jobs WHERE id = ?`, e.Subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil // purged
	}
	if err != nil {
		return store.Normalize(err)
	}
	if j.Status == JobSucceeded || j.Status == JobFailed {
		return nil
	}
	if _, err := s.db.Exec(ctx, `UPDATE records_jobs SET status = ?, updated_at = ? WHERE id = ? AND status IN (?, ?)`,
		JobRunning, s.now().UnixMicro(), j.ID, JobQueued, JobRunning); err != nil {
		return err
	}
	file, err := s.export(ctx, j)
	if errors.Is(err, errRecordGone) {
		return s.finishJob(ctx, j.ID, JobFailed, nil, "the record was deleted before its export ran")
	}
	if err != nil {
		return err
	}
	return s.finishJob(ctx, j.ID, JobSucceeded, file, "")
}

// finishJob records a job's outcome and its event.
func (s *Service) finishJob(ctx context.Context, id, status string, file *exportFile, why string) error {
	var result any
	if file != nil {
		b, err := json.Marshal(file)
		if err != nil {
			return fmt.Errorf("records: job result: %w", err)
		}
		result = string(b)
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var orgID string
		err := tx.QueryRow(ctx, `UPDATE records_jobs SET status = ?, result = ?, error = ?, updated_at = ? WHERE id = ? AND status IN (?, ?) RETURNING org_id`,
			status, result, nullIfEmpty(why), s.now().UnixMicro(), id, JobQueued, JobRunning).Scan(&orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // finished already
		}
		if err != nil {
			return store.Normalize(err)
		}
		payload, err := json.Marshal(map[string]any{"status": status, "error": why})
		if err != nil {
			return fmt.Errorf("records: event payload: %w", err)
		}
		return s.events.Emit(ctx, tx, events.Event{Type: "records.job." + status, OrgID: orgID, Subject: id, Payload: payload})
	})
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// export writes record j.RecordID and its descendants to the blob store,
// streaming them from one query (one snapshot) into the file.
func (s *Service) export(ctx context.Context, j jobRow) (*exportFile, error) {
	key, ctype := "records/exports/"+j.ID+"."+j.params.Format, "application/json"
	if j.params.Format == FormatCSV {
		ctype = "text/csv; charset=utf-8"
	}
	pr, pw := io.Pipe()
	var n int64
	var werr error // the writer's, read after Put returned (the pipe orders it)
	go func() {
		n, werr = s.writeExport(ctx, pw, j)
		pw.CloseWithError(werr)
	}()
	obj, err := s.blobs.Put(ctx, key, pr, blob.PutOptions{ContentType: ctype})
	_ = pr.CloseWithError(io.ErrClosedPipe) // stops the writer if Put gave up early
	if werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	return &exportFile{Key: key, Format: j.params.Format, Records: n, Bytes: obj.Size}, nil
}

// errRecordGone is an export whose record was deleted.
var errRecordGone = fault.New(fault.NotFound, "record gone")

// writeExport writes j's file to w and returns how many records it holds.
func (s *Service) writeExport(ctx context.Context, w io.Writer, j jobRow) (int64, error) {
	rows, err := s.db.Query(ctx, `WITH RECURSIVE tree(id, depth) AS (
			SELECT id, 0 FROM records_records WHERE id = ? AND org_id = ?
			UNION ALL SELECT r.id, tree.depth + 1 FROM records_records r JOIN tree ON r.parent_id = tree.id)
		SELECT `+prefixed("r.", recordCols)+` FROM records_records r JOIN tree ON r.id = tree.id
		ORDER BY tree.depth, r.type, r.created_at, r.id`, j.RecordID, j.orgID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var out exportWriter
	if j.params.Format == FormatCSV {
		out = newCSVExport(w, exportTypes(s.schema(), j.Type))
	} else {
		out = newJSONExport(w, j.RecordID, s.now())
	}
	var n int64
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return n, store.Normalize(err)
		}
		if err := out.write(rec); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, store.Normalize(err)
	}
	if n == 0 {
		return 0, errRecordGone
	}
	return n, out.close()
}

// PurgeJobs deletes the jobs finished more than JobRetention ago and
// their files.
func (s *Service) PurgeJobs(ctx context.Context) error {
	cutoff := s.now().Add(-JobRetention).UnixMicro()
	old, err := store.Collect(ctx, s.db, scanJob, `SELECT `+jobCols+` FROM records_jobs WHERE updated_at < ? AND status IN (?, ?)`,
		cutoff, JobSucceeded, JobFailed)
	if err != nil {
		return err
	}
	for _, j := range old {
		if j.file != nil {
			if err := s.blobs.Delete(ctx, j.file.Key); err != nil {
				return err
			}
		}
		if _, err := s.db.Exec(ctx, `DELETE FROM records_jobs WHERE id = ?`, j.ID); err != nil {
			return err
		}
	}
	return nil
}

// exportTypes lists the types whose fields an export of a record of type
// root can hold: root and its descendant types, root first.
func exportTypes(sc *schema.Schema, root string) []*schema.Type {
	var out []*schema.Type
	queue := []string{root}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		t, ok := sc.Type(name)
		if !ok || slices.Contains(out, t) {
			continue
		}
		out = append(out, t)
		for _, c := range sc.Children(name) {
			queue = append(queue, c.Name)
		}
	}
	return out
}
