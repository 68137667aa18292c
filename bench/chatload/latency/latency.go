// Package latency is the load generators' latency histogram (bench/chatload
// and bench/run): log-linear over microseconds, mergeable, with percentiles
// that are bucket upper bounds.
//
// Values below 64 µs are exact; above, every power of two is split into 32
// buckets, so a bucket's upper bound (what a percentile reports) overstates
// the value by under 1/32 (3.1 %). Values are clamped to 2^32-1 µs (71
// minutes). A Hist is 3.5 KiB (uint32 counts), small enough for one per
// connection or per worker; a Sum (uint64 counts) merges them.
package latency

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

const (
	sub = 5 // log2 of the buckets per power of two
	// Buckets is the number of buckets: the index of MaxUS is Buckets-1.
	Buckets = (32 - sub + 1) << sub // 896
	// MaxUS is the largest value kept, in µs; larger ones are clamped.
	MaxUS = 1<<32 - 1
)

// Index is the bucket of v µs.
func Index(v uint64) uint64 {
	v = min(v, MaxUS)
	var e uint
	if l := bits.Len64(v); l > sub+1 {
		e = uint(l - sub - 1)
	}
	return uint64(e)<<sub + v>>e
}

// Bounds are the smallest and largest values of bucket i, in µs.
func Bounds(i uint64) (lo, hi uint64) {
	if i < 2<<sub {
		return i, i
	}
	e := i>>sub - 1
	s := i - e<<sub
	return s << e, (s+1)<<e - 1
}

// US is d in whole microseconds, 0 if negative.
func US(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / time.Microsecond)
}

// Hist is one recorder's histogram (a connection's, a worker's). It is not
// safe for concurrent use: its owner records, or callers hold the owner's
// lock.
type Hist struct {
	counts [Buckets]uint32
	n      uint64
	sum    uint64 // µs
	max    uint64 // µs, exact
}

// Record adds one latency (a negative one, clock noise, counts as 0).
func (h *Hist) Record(d time.Duration) {
	us := US(d)
	h.counts[Index(us)]++
	h.n++
	h.sum += us
	h.max = max(h.max, us)
}

// Count is the number of values recorded.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest value recorded, in µs (exact).
func (h *Hist) Max() uint64 { return h.max }

// Sum is the merge of histograms. It is not safe for concurrent use.
type Sum struct {
	counts [Buckets]uint64
	n      uint64
	sum    uint64
	max    uint64
}

// Add merges h into s.
func (s *Sum) Add(h *Hist) {
	for i, c := range h.counts {
		s.counts[i] += uint64(c)
	}
	s.n += h.n
	s.sum += h.sum
	s.max = max(s.max, h.max)
}

// Count is the number of values merged.
func (s *Sum) Count() uint64 { return s.n }

// Max is the largest value merged, in µs (exact).
func (s *Sum) Max() uint64 { return s.max }

// Quantile is the q-quantile (0 < q ≤ 1) in µs: the upper bound of the
// bucket holding the sample of rank ceil(q·n), capped by the exact maximum.
// 0 with no samples.
func (s *Sum) Quantile(q float64) uint64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	rank = min(max(rank, 1), s.n)
	var seen, i uint64
	for _, c := range s.counts {
		seen += c
		if seen >= rank {
			_, hi := Bounds(i)
			return min(hi, s.max)
		}
		i++
	}
	return s.max
}

// Mean is the mean in µs, 0 with no samples.
func (s *Sum) Mean() uint64 {
	if s.n == 0 {
		return 0
	}
	return s.sum / s.n
}

// Format writes us µs for a table: "850µs", "12.34ms", "12.3s".
func Format(us uint64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us < 10_000_000:
		return fmt.Sprintf("%.2fms", float64(us)/1000)
	default:
		return fmt.Sprintf("%.1fs", float64(us)/1e6)
	}
}
