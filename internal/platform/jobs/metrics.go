package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tessera-dev/tessera/internal/platform/events"
)

// Outcomes of one attempt of a job, the outcome label of
// tessera_jobs_attempts_total.
const (
	outcomeOK        = "ok"
	outcomeFailed    = "failed"    // to be retried
	outcomeDead      = "dead"      // the last attempt failed
	outcomeCancelled = "cancelled" // no handler of that name in this release
)

// metrics are the runner's Prometheus collectors. The counter vector is safe
// for concurrent use; queue is read at scrape time.
type metrics struct {
	attempts *prometheus.CounterVec
	queue    *queueCollector
}

func newMetrics(r *Runner) *metrics {
	return &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tessera_jobs_attempts_total",
			Help: "Attempts of durable handlers and schedules run on this node, by kind (handler, schedule), name and outcome (ok, failed, dead, cancelled).",
		}, []string{"kind", "name", "outcome"}),
		queue: &queueCollector{r: r, desc: prometheus.NewDesc("tessera_jobs_queue_depth",
			"Jobs waiting in the shared queue (all nodes), by state: available (due now), scheduled (due later), retryable (waiting for a retry), running.",
			[]string{"state"}, nil)},
	}
}

// observe counts one attempt's outcome.
func (m *metrics) observe(kind, name string, attempt, maxAttempts int, err error) {
	outcome := outcomeOK
	switch {
	case err == nil:
	case isJobCancel(err):
		outcome = outcomeCancelled
	case attempt >= maxAttempts:
		outcome = outcomeDead
	default:
		outcome = outcomeFailed
	}
	m.attempts.WithLabelValues(kind, name, outcome).Inc()
}

// RegisterMetrics registers the runner's collectors (tessera_jobs_*) on reg.
func (r *Runner) RegisterMetrics(reg prometheus.Registerer) error {
	if err := errors.Join(reg.Register(r.metrics.attempts), reg.Register(r.metrics.queue)); err != nil {
		return fmt.Errorf("jobs: register metrics: %w", err)
	}
	return nil
}

// queueStates are the states counted by tessera_jobs_queue_depth.
var queueStates = []string{"available", "scheduled", "retryable", "running"}

// queueCollector counts the shared job table's waiting jobs at scrape time
// (one indexed GROUP BY; River's table keeps finished jobs a while, which
// the WHERE leaves out).
type queueCollector struct {
	r    *Runner
	desc *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A failed count reports an
// invalid metric (the scrape shows the error) rather than zeros.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, fmt.Errorf("jobs: count queue: %w", err))
		return
	}
	for _, s := range queueStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, counts[s], s)
	}
}

// count reads the waiting jobs by state.
func (c *queueCollector) count(ctx context.Context) (map[string]float64, error) {
	rows, err := c.r.st.App(events.Schema).SQL().QueryContext(ctx,
		"SELECT state, count(*) FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY state")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := make(map[string]float64, len(queueStates))
	for rows.Next() {
		var state string
		var n float64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		counts[state] = n
	}
	return counts, rows.Err()
}
