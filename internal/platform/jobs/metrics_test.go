package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestMetrics: the queue depth counts jobs waiting in the shared table, the
// attempts counter each outcome, and the emitted counter committed events
// only.
func TestMetrics(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		l, r := newRunner(t, s, fastOptions())
		reg := prometheus.NewRegistry()
		if err := r.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		if err := l.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		err := r.Register(jobs.Handler{Name: "test.twice", EventType: "testapp.item.created",
			Handle: func(context.Context, events.Event) error {
				if calls.Add(1) <= 2 {
					return errors.New("not yet")
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		emit(t, s, l, "testapp.item.created", false)
		emit(t, s, l, "testapp.item.created", true) // rolled back: no event, no job

		// Not started: the one job waits as available.
		want := `
# HELP tessera_jobs_queue_depth Jobs waiting in the shared queue (all nodes), by state: available (due now), scheduled (due later), retryable (waiting for a retry), running.
# TYPE tessera_jobs_queue_depth gauge
tessera_jobs_queue_depth{state="available"} 1
tessera_jobs_queue_depth{state="retryable"} 0
tessera_jobs_queue_depth{state="running"} 0
tessera_jobs_queue_depth{state="scheduled"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tessera_jobs_queue_depth"); err != nil {
			t.Error(err)
		}
		if got := sum(t, reg, "tessera_events_emitted_total", "app", "testapp"); got != 1 {
			t.Errorf("events emitted = %v, want 1 (the rolled-back one not counted)", got)
		}

		start(t, r)
		waitFor(t, 10*time.Second, "the third attempt to succeed", func() bool {
			return sum(t, reg, "tessera_jobs_attempts_total", "outcome", "ok") == 1
		})
		if got := sum(t, reg, "tessera_jobs_attempts_total", "outcome", "failed"); got != 2 {
			t.Errorf("failed attempts = %v, want 2", got)
		}
		waitFor(t, 10*time.Second, "an empty queue", func() bool {
			return sum(t, reg, "tessera_jobs_queue_depth", "state", "available") == 0
		})
	})
}

// sum adds the values of the metrics of family name whose label has value.
func sum(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return total
}
