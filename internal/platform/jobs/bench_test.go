package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

var engines = []store.Engine{store.EngineSQLite, store.EnginePostgres}

// BenchmarkEmitWithHandler measures events emitted per second (each in its
// own transaction, from parallel goroutines) with one durable handler
// registered and the runner working, and how long the handlers take to
// catch up.
func BenchmarkEmitWithHandler(b *testing.B) {
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			s := storetest.Open(b, engine)
			migrate(b, s)
			opts := jobs.Options{NoPurge: true} // production defaults otherwise
			l, r := newRunner(b, s, opts)
			var handled atomic.Int64
			if err := r.Register(jobs.Handler{Name: "bench.count", EventType: "testapp.item.created",
				Handle: func(context.Context, events.Event) error { handled.Add(1); return nil }}); err != nil {
				b.Fatal(err)
			}
			start(b, r)
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					emit(b, s, l, "testapp.item.created", false)
				}
			})
			emitted := time.Since(t0)
			waitFor(b, 5*time.Minute, "the handlers to catch up", func() bool { return handled.Load() >= int64(b.N) })
			all := time.Since(t0)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/emitted.Seconds(), "emits/s")
			b.ReportMetric(float64(b.N)/all.Seconds(), "handled/s")
		})
	}
}

// BenchmarkHandlerLatency measures, on an idle node, the time from an
// emitting transaction's commit to its handler's start (default options).
func BenchmarkHandlerLatency(b *testing.B) {
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			s := storetest.Open(b, engine)
			migrate(b, s)
			l, r := newRunner(b, s, jobs.Options{NoPurge: true})
			started := make(chan time.Time, 1)
			if err := r.Register(jobs.Handler{Name: "bench.latency", EventType: "testapp.item.created",
				Handle: func(context.Context, events.Event) error { started <- time.Now(); return nil }}); err != nil {
				b.Fatal(err)
			}
			start(b, r)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				emit(b, s, l, "testapp.item.created", false)
				committed := time.Now()
				lat = append(lat, (<-started).Sub(committed))
				time.Sleep(time.Duration(len(lat)%7) * 3 * time.Millisecond) // desynchronize from the poll
			}
			b.StopTimer()
			measure.ReportLatencies(b, lat, time.Millisecond)
		})
	}
}
