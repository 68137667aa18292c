package realtime

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hub's Prometheus collectors.
type metrics struct {
	connections   prometheus.Gauge
	subscriptions prometheus.Gauge
	eventsRead    prometheus.Counter
	delivered     prometheus.Counter
	framesSent    prometheus.Counter
	slowCloses    prometheus.Counter
	floodCloses   prometheus.Counter
	idleCloses    prometheus.Counter
	resyncs       prometheus.Counter
	revoked       prometheus.Counter
	readErrors    prometheus.Counter
	wakeups       *prometheus.CounterVec
}

func newMetrics() *metrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "tessera_realtime_" + name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "tessera_realtime_" + name, Help: help})
	}
	return &metrics{
		connections:   g("connections", "Open websocket connections."),
		subscriptions: g("subscriptions", "Open subscriptions."),
		eventsRead:    c("events_read_total", "Events read from the log by the tailer."),
		delivered:     c("events_delivered_total", "Events queued to subscribers."),
		framesSent:    c("frames_sent_total", "Frames written to websockets."),
		slowCloses:    c("slow_client_closes_total", "Connections closed with 1013 because their send queue overflowed."),
		floodCloses:   c("flood_closes_total", "Connections closed with 1008 for exceeding the inbound rate."),
		idleCloses:    c("idle_closes_total", "Connections dropped after the idle timeout."),
		resyncs:       c("resyncs_total", "Subscriptions told to resync (cursor older than retention)."),
		revoked:       c("revoked_subscriptions_total", "Subscriptions dropped because Authorize failed."),
		readErrors:    c("log_read_errors_total", "Failed reads of the event log by the tailer."),
		wakeups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tessera_realtime_wakeups_total", Help: "Cross-node wake-ups by outcome.",
		}, []string{"kind"}),
	}
}

func (m *metrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.connections, m.subscriptions, m.eventsRead, m.delivered, m.framesSent,
		m.slowCloses, m.floodCloses, m.idleCloses, m.resyncs, m.revoked, m.readErrors, m.wakeups}
}

// RegisterMetrics registers the hub's collectors (tessera_realtime_*) on reg.
func (h *Hub) RegisterMetrics(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range h.metrics.all() {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("realtime: register metrics: %w", err)
	}
	return nil
}
