package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// pace is one member's share of a step: it sends count messages, the i-th
// intended at the step's start + offset + i·interval.
type pace struct {
	interval, offset time.Duration
	count            int
}

// plan spreads a total rate (msg/s) over n members evenly: each member sends
// rate/n per second, and member idx is shifted by idx/n of the interval, so
// that the room-wide (and run-wide) publish times are evenly spaced too. A
// member sends every message whose intended time falls within the step's
// duration d, so the step publishes rate·d messages (±n for rounding).
func plan(rate float64, n, idx int, d time.Duration) pace {
	if rate <= 0 || n <= 0 || d <= 0 {
		return pace{}
	}
	interval := time.Duration(float64(n) / rate * float64(time.Second))
	if interval <= 0 {
		interval = 1
	}
	offset := time.Duration(float64(interval) * float64(idx) / float64(n))
	if offset >= d {
		return pace{interval: interval, offset: offset}
	}
	count := int((d - offset + interval - 1) / interval) // ceil
	return pace{interval: interval, offset: offset, count: count}
}

// accountLoss compares what a step should have delivered with what arrived
// in time (during the step or its drain). Deliveries beyond the expected
// are duplicates, not negative loss.
func accountLoss(expected, delivered uint64) (lost, extra uint64) {
	if delivered >= expected {
		return 0, delivered - expected
	}
	return expected - delivered, 0
}

// expectedDeliveries is what a set of rooms should deliver: every message
// sent successfully reaches every member of its room, sender included.
// sent[r] is the messages sent into room r, size[r] its members.
func expectedDeliveries(sent []uint64, size []int) uint64 {
	var n uint64
	for r, s := range sent {
		if size[r] > 0 {
			n += s * uint64(size[r])
		}
	}
	return n
}

// Stepper makes the sequence of target rates (ParseStep).
type Stepper struct {
	mult float64 // > 1 when multiplicative
	add  float64 // > 0 when additive
}

// ParseStep reads a step: "2", "x2" or "*2" multiply the rate by 2 at each
// step; "+500" adds 500 msg/s.
func ParseStep(s string) (Stepper, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		v, err := strconv.ParseFloat(rest, 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) {
			return Stepper{}, fmt.Errorf("bad additive rate step %q: want +N with N > 0", s)
		}
		return Stepper{add: v}, nil
	}
	s = strings.TrimLeft(s, "x*")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 1 || math.IsInf(v, 0) {
		return Stepper{}, fmt.Errorf("bad rate step %q: want a multiplier > 1 (2, x1.5) or +N", s)
	}
	return Stepper{mult: v}, nil
}

func (s Stepper) String() string {
	if s.add > 0 {
		return "+" + strconv.FormatFloat(s.add, 'g', -1, 64) + " msg/s"
	}
	return "×" + strconv.FormatFloat(s.mult, 'g', -1, 64)
}

// rates is the target rates from start up to maxRate: start, then each step
// applied, and maxRate itself as the last step when the sequence jumps past
// it.
func (s Stepper) rates(start, maxRate float64) ([]float64, error) {
	if start <= 0 || maxRate <= 0 {
		return nil, errors.New("rates must be positive")
	}
	if start > maxRate {
		return nil, fmt.Errorf("the first rate %g is above the highest %g", start, maxRate)
	}
	out := []float64{start}
	for r := start; len(out) < 1000; {
		if s.add > 0 {
			r += s.add
		} else {
			r *= s.mult
		}
		if r >= maxRate {
			if out[len(out)-1] < maxRate {
				out = append(out, maxRate)
			}
			return out, nil
		}
		out = append(out, r)
	}
	return out, nil
}

// msgID is what a message's content carries:
// "<step>:<sender>:<seq>:<intended-unix-ns>:<sent-unix-ns>", optionally
// followed by ":" and padding.
type msgID struct {
	step, sender       int
	seq                int64
	intended, sentUnix int64
}

func appendContent(b []byte, m msgID, pad int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, int64(m.step), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(m.sender), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, m.seq, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, m.intended, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, m.sentUnix, 10)
	if n := pad - (len(b) - start); n > 0 {
		b = append(b, ':')
		for range n - 1 {
			b = append(b, 'x')
		}
	}
	return b
}

func parseContent(s string) (msgID, bool) {
	var f [5]int64
	for i := range f {
		var field string
		if i < len(f)-1 {
			var ok bool
			field, s, ok = strings.Cut(s, ":")
			if !ok {
				return msgID{}, false
			}
		} else {
			field, _, _ = strings.Cut(s, ":")
		}
		v, err := strconv.ParseInt(field, 10, 64)
		if err != nil || v < 0 {
			return msgID{}, false
		}
		f[i] = v
	}
	if f[0] > math.MaxInt32 || f[1] > math.MaxInt32 {
		return msgID{}, false
	}
	return msgID{step: int(f[0]), sender: int(f[1]), seq: f[2], intended: f[3], sentUnix: f[4]}, true
}

// clock turns monotonic readings into Unix nanoseconds: latencies are
// differences of readings of this one process's monotonic clock, immune
// to wall-clock steps, while the content still carries Unix times.
type clock struct {
	epoch   time.Time
	epochNS int64
}

func newClock() clock {
	now := time.Now()
	return clock{epoch: now, epochNS: now.UnixNano()}
}

func (c clock) ns(t time.Time) int64 { return c.epochNS + int64(t.Sub(c.epoch)) }
