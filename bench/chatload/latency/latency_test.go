package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	// Every value lands in a bucket whose bounds hold it, bucket indexes
	// grow with the value, and a bucket is at most 1/32 wide.
	var vals []uint64
	for v := range uint64(5000) {
		vals = append(vals, v)
	}
	for e := range 33 {
		b := uint64(1) << e
		vals = append(vals, b-1, b, b+1)
	}
	vals = append(vals, MaxUS-1, MaxUS)
	prev := uint64(0)
	slices.Sort(vals)
	for _, v := range vals {
		i := Index(v)
		if i >= Buckets {
			t.Fatalf("Index(%d) = %d, out of %d buckets", v, i, Buckets)
		}
		if i < prev {
			t.Fatalf("Index(%d) = %d < %d of a smaller value", v, i, prev)
		}
		prev = i
		lo, hi := Bounds(i)
		cv := min(v, MaxUS)
		if cv < lo || cv > hi {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, i, lo, hi)
		}
		if v < 64 && (lo != v || hi != v) {
			t.Fatalf("value %d not exact: [%d, %d]", v, lo, hi)
		}
		if float64(hi-lo+1) > float64(lo)/32+1 {
			t.Fatalf("bucket %d [%d, %d] wider than 1/32", i, lo, hi)
		}
	}
	if Index(1<<40) != Buckets-1 {
		t.Fatalf("values above the range are not clamped to the last bucket")
	}
}

func TestQuantile(t *testing.T) {
	var s Sum
	if s.Quantile(0.99) != 0 {
		t.Fatal("empty histogram has a p99")
	}
	// 1..100 µs: exact below 64, within 1/32 above.
	var h Hist
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	s.Add(&h)
	if got := s.Quantile(0.50); got != 50 {
		t.Errorf("p50 of 1..100 = %d, want 50", got)
	}
	if got := s.Quantile(0.01); got != 1 {
		t.Errorf("p1 of 1..100 = %d, want 1", got)
	}
	if got := s.Quantile(0.99); got < 99 || got > 99+99/32+1 {
		t.Errorf("p99 of 1..100 = %d, want 99 (+3%%)", got)
	}
	if got := s.Quantile(1); got != 100 {
		t.Errorf("p100 = %d, want the max 100", got)
	}
	if s.Mean() != 50 {
		t.Errorf("mean = %d, want 50", s.Mean())
	}

	// A random sample against the exact (sorted) percentiles, merged from
	// several histograms the way a step merges its connections'.
	rng := rand.New(rand.NewPCG(1, 2))
	var all []uint64
	var sum Sum
	for range 7 {
		var h Hist
		for range 3000 {
			us := uint64(rng.ExpFloat64() * 2000) // mean 2 ms
			all = append(all, us)
			h.Record(time.Duration(us) * time.Microsecond)
		}
		sum.Add(&h)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(q*float64(len(all))+0.999999)-1]
		got := sum.Quantile(q)
		if got < exact || float64(got) > float64(exact)*(1+1.0/32)+1 {
			t.Errorf("q%.3f = %d µs, exact %d µs: not within [exact, exact+3.1%%]", q, got, exact)
		}
	}
	if sum.Max() != all[len(all)-1] || sum.Count() != uint64(len(all)) {
		t.Errorf("max %d n %d, want %d %d", sum.Max(), sum.Count(), all[len(all)-1], len(all))
	}

	// Negative latencies (clock noise) count as 0.
	var z Hist
	z.Record(-time.Millisecond)
	if z.counts[0] != 1 || z.Max() != 0 || z.Count() != 1 {
		t.Errorf("negative latency not recorded as 0")
	}
}

func TestFormat(t *testing.T) {
	for us, want := range map[uint64]string{0: "0µs", 999: "999µs", 1000: "1.00ms", 12345: "12.35ms", 9_999_999: "10000.00ms", 10_000_000: "10.0s"} {
		if got := Format(us); got != want {
			t.Errorf("Format(%d) = %q, want %q", us, got, want)
		}
	}
}
