// Package measure is how benchmarks and memory tests measure, once: latency
// percentiles reported to a benchmark, and the peak memory growth while a
// function runs. Figures from it go to docs/performance.md; tests never
// assert timings (the machine is shared), only memory bounds.
package measure

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"
)

// ReportLatencies sorts lat and reports its p50, p99 and max to b, in unit
// (time.Millisecond: "p50-ms"…; time.Microsecond: "p50-µs"…). Nothing is
// reported for no samples.
func ReportLatencies(b *testing.B, lat []time.Duration, unit time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	suffix := map[time.Duration]string{time.Millisecond: "ms", time.Microsecond: "µs", time.Nanosecond: "ns"}[unit]
	if suffix == "" {
		b.Fatalf("measure: unit %s is not ms, µs or ns", unit)
	}
	slices.Sort(lat)
	in := func(d time.Duration) float64 { return float64(d) / float64(unit) }
	b.ReportMetric(in(lat[len(lat)/2]), "p50-"+suffix)
	b.ReportMetric(in(lat[len(lat)*99/100]), "p99-"+suffix)
	b.ReportMetric(in(lat[len(lat)-1]), "max-"+suffix)
}

// Peak is the highest growth, in bytes, of the heap's live objects and of
// the process's resident set over their level before the measured function.
type Peak struct {
	Heap, RSS uint64
}

// heapObjects is the runtime metric read: the bytes of heap objects, live
// or not yet swept (runtime.MemStats.HeapAlloc, without stopping the world).
const heapObjects = "/memory/classes/heap/objects:bytes"

// PeakDuring runs fn after a GC and samples the heap and the resident set
// every interval while it runs.
func PeakDuring(every time.Duration, fn func()) Peak {
	runtime.GC()
	base := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(base)
	baseHeap, baseRSS := base[0].Value.Uint64(), RSS()
	var peak Peak // written by probe only, read after Sampling returns
	s := []metrics.Sample{{Name: heapObjects}}
	Sampling(every, func() {
		metrics.Read(s)
		if h := s[0].Value.Uint64(); h > baseHeap {
			peak.Heap = max(peak.Heap, h-baseHeap)
		}
		if r := RSS(); r > baseRSS {
			peak.RSS = max(peak.RSS, r-baseRSS)
		}
	}, fn)
	return peak
}

// Sampling runs fn while a goroutine calls probe at once and then every
// interval until fn returns; probe's last call happens before Sampling
// returns, so what probe wrote may be read then.
func Sampling(every time.Duration, probe, fn func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			probe()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
}

// RSS is the process's resident set in bytes (Linux /proc), 0 where unknown.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res uint64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * uint64(os.Getpagesize()) // #nosec G115 -- a page size
}
