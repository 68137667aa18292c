package backup

import (
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"
)

// progressEvery is the least time between two progress lines of one step.
const progressEvery = time.Second

// progress writes an operation's progress as lines ("backup: blobs: 120
// objects, 48 MiB") to w: one when a step ends and, while it runs, at most
// one a second (none in the first: a quick failure prints only its
// error). A nil w writes nothing. It is used by one goroutine.
type progress struct {
	w    io.Writer
	op   string
	last time.Time
}

func newProgress(w io.Writer, op string) *progress {
	return &progress{w: w, op: op, last: time.Now()}
}

// report writes the line format makes; done forces it (a step's end).
func (p *progress) report(done bool, format string, args ...any) {
	if p.w == nil || (!done && time.Since(p.last) < progressEvery) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, p.op+": "+format+"\n", args...)
}

// size formats a byte count (IEC units, "48 MiB").
func size(n int64) string {
	if n < 0 {
		n = 0
	}
	return humanize.IBytes(uint64(n))
}

// rate formats n bytes over d as a throughput.
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return size(int64(float64(n)/d.Seconds())) + "/s"
}
