package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/latency"
)

// section is one run's Markdown.
type section struct {
	opts      options
	machine   machine
	started   time.Time
	elapsed   time.Duration
	rows      []row
	chatSteps []string
	notes     []string
}

// tableHeader is the table's header and separator rows.
const tableHeader = "| workload | storage | concurrency | requests | throughput/s | p50 | p99 | errors |\n" +
	"|---|---|---:|---:|---:|---:|---:|---:|\n"

func (s section) markdown() string {
	o, m := s.opts, s.machine
	var w strings.Builder
	fmt.Fprintf(&w, "## %s — bench/run: %s\n\n", s.started.UTC().Format("2006-01-02 15:04 UTC"), o.label)
	fmt.Fprintf(&w, "Machine (the runner's, and the nodes' when local): %s, %d CPUs, %s RAM, Linux %s; %s. "+
		"Load average (1 / 5 / 15 min) %s before, %s after.\n\n",
		m.cpu, m.cpus, m.memory, m.kernel, m.goVersion, m.loadBefore, m.loadAfter)
	fmt.Fprintf(&w, "Nodes: %s; storage: %s. Each HTTP workload: %d closed-loop workers (worker w on URL w mod %d), "+
		"%s warm-up, %s measured; latency per successful request (log-linear histogram, bucket upper bounds ≤ 3.1 %% high); "+
		"the job queue drained between workloads. Run took %s. Command:\n\n",
		strings.Join(o.urls, ", "), o.storage, o.concurrency, len(o.urls), o.warmup, o.duration, s.elapsed.Round(time.Second))
	fmt.Fprintf(&w, "```sh\n%s\n```\n\n", o.command)
	w.WriteString(tableHeader)
	for _, r := range s.rows {
		fmt.Fprintf(&w, "| `%s`: %s | %s | %s | %d | %.0f | %s | %s | %d |\n",
			r.name, cell(r.about), cell(o.storage), r.concurrency, r.ops, r.throughput, latency.Format(r.p50), latency.Format(r.p99), r.errors)
	}
	w.WriteString("\n")
	for _, r := range s.rows {
		if r.firstErr != "" {
			fmt.Fprintf(&w, "- `%s`, first error: %s\n", r.name, cell(r.firstErr))
		}
	}
	if len(s.chatSteps) > 0 {
		fmt.Fprintf(&w, "- chat steps (%s each, %s drain):\n", o.duration, o.chatDrain)
		for _, l := range s.chatSteps {
			fmt.Fprintf(&w, "  - %s\n", l)
		}
	}
	for _, n := range s.notes {
		fmt.Fprintf(&w, "- %s\n", n)
	}
	return w.String()
}

// cell is s fit for a table cell: on one line, "|" escaped.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// appendSection appends text to the file at path (created if missing),
// after a blank line.
func appendSection(path, text string) (err error) {
	old, err := os.ReadFile(path) // #nosec G304 -- the operator's -out
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644) // #nosec G302 G304 -- a document in the repository
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	var sep string
	switch {
	case len(old) == 0:
	case strings.HasSuffix(string(old), "\n\n"):
	case strings.HasSuffix(string(old), "\n"):
		sep = "\n"
	default:
		sep = "\n\n"
	}
	_, err = io.WriteString(f, sep+text)
	return err
}
