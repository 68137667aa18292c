package main

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/latency"
)

// request is a worker's next request; buf is the worker's own.
type request func(ctx context.Context, buf *bytes.Buffer) error

// result is one closed-loop run.
type result struct {
	ok, errors uint64
	firstErr   string
	wall       time.Duration // from the start to the last answer
	lat        latency.Sum   // of the successful requests
}

// drive runs workers closed-loop for d: worker w (0 ≤ w < n) sends next(w)'s
// requests one after the other until d has passed.
func drive(ctx context.Context, n int, d time.Duration, next func(w int) request) result {
	type tally struct {
		ok, errors uint64
		firstErr   string
		lat        latency.Hist
		last       time.Time
	}
	tallies := make([]tally, n) // tallies[w] is worker w's alone until wg.Wait
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range n {
		req := next(w)
		wg.Go(func() {
			t := &tallies[w]
			var buf bytes.Buffer
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				err := req(ctx, &buf)
				t.last = time.Now()
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					t.errors++
					if t.firstErr == "" {
						t.firstErr = err.Error()
					}
					continue
				}
				t.ok++
				t.lat.Record(t.last.Sub(t0))
			}
		})
	}
	wg.Wait()
	var r result
	last := start
	for i := range tallies {
		t := &tallies[i]
		r.ok += t.ok
		r.errors += t.errors
		if r.firstErr == "" {
			r.firstErr = t.firstErr
		}
		r.lat.Add(&t.lat)
		if t.last.After(last) {
			last = t.last
		}
	}
	r.wall = last.Sub(start)
	return r
}
