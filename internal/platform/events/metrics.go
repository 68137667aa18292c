package events

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterMetrics registers tessera_events_emitted_total on reg: the events
// committed through this node, by app and type (both bounded: types are
// named in code). It counts from an OnCommit listener, so a rolled-back
// emit is not counted.
func (l *Log) RegisterMetrics(reg prometheus.Registerer) error {
	emitted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tessera_events_emitted_total",
		Help: "Events committed through this node, by app and type.",
	}, []string{"app", "type"})
	if err := reg.Register(emitted); err != nil {
		return fmt.Errorf("events: register metrics: %w", err)
	}
	l.OnCommit(func(e Event) { emitted.WithLabelValues(e.App, e.Type).Inc() })
	return nil
}
