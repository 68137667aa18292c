// Package loadgen is the chat load generator behind bench/chatload (whose
// documentation describes the method: rooms over REST, members over the
// websocket protocol, paced sends, latency from the intended send time,
// loss per step) and bench/run's chat workload. Run drives one run.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/latency"
	"github.com/tessera-dev/tessera/internal/platform/authz"
)

// Config is one run. Every field must be set (Check), but Out and Log,
// which may be nil (discarded).
type Config struct {
	// URLs are the nodes' base URLs (ParseURLs): rooms are created on the
	// first, member i connects to URLs[i%len(URLs)].
	URLs []string
	// Secret is the HS256 shared secret of the members' tokens (the
	// server's TESSERA_MESSAGING_JWT_SECRET).
	Secret string
	// Scenario names the run in the table: a key of Scenarios or "custom".
	Scenario       string
	Rooms, Members int
	// Start and Max are the first and the last step's total publish rate
	// (msg/s); Step goes from one to the next.
	Start, Max float64
	Step       Stepper
	// Duration is each step's publishing time, Drain the wait after it
	// before counting its deliveries.
	Duration, Drain time.Duration
	// Settle is the wait, once every member is connected, before reading
	// the idle server's RSS (with PID).
	Settle time.Duration
	// P99 stops the stepping after a step with a higher p99.
	P99 time.Duration
	// PID, when positive, is the server process whose VmRSS is reported.
	PID int
	// Size pads each message's content to this many characters (0–4000).
	Size int
	// ConnLimit is the server's per-connection inbound limit (frames/s): no
	// member is made to send faster.
	ConnLimit float64
	// Parallel bounds the concurrent room creations and connection set-ups.
	Parallel int
	// WriteTimeout bounds one websocket write.
	WriteTimeout time.Duration
	// Out receives the Markdown table, Log the progress lines.
	Out, Log io.Writer
}

// Scenario is a named room layout and its rates.
type Scenario struct {
	Rooms, Members int
	Start, Max     float64
	About          string
}

// Scenarios are the named scenarios' rooms, members and rates.
var Scenarios = map[string]Scenario{
	"A": {1, 50, 250, 5000, "1 room × 50 members, rate stepped up"},
	"B": {50, 2, 250, 10000, "50 rooms × 2 members, rate stepped up"},
	"C": {200, 10, 100, 100, "200 rooms × 10 members (2,000 connections) at a fixed 100 msg/s"},
}

// ParseURLs reads comma-separated base URLs (http or https), without a
// trailing slash.
func ParseURLs(s string) ([]string, error) {
	var out []string
	for b := range strings.SplitSeq(s, ",") {
		u, err := url.Parse(strings.TrimSpace(b))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("bad URL %q: want http(s)://host:port[,http(s)://host:port…]", b)
		}
		out = append(out, strings.TrimSuffix(u.String(), "/"))
	}
	return out, nil
}

// chatURL is the chat's websocket URL on the node at base.
func chatURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("bad URL %q: want http or https", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/messaging/chat"
	return u.String(), nil
}

// Check reports the first field out of range.
func (c Config) Check() error {
	switch {
	case len(c.URLs) == 0:
		return errors.New("no server URL")
	case c.Secret == "":
		return errors.New("no shared secret (the server's TESSERA_MESSAGING_JWT_SECRET)")
	case c.Members < 1 || c.Rooms < 1 || c.Rooms*c.Members > 100000:
		return fmt.Errorf("bad size %d rooms × %d members", c.Rooms, c.Members)
	case c.Start <= 0 || c.Max <= 0:
		return errors.New("rates must be positive")
	case c.Step.mult <= 1 && c.Step.add <= 0:
		return errors.New("no rate step (ParseStep)")
	case c.Duration <= 0 || c.Drain < 0 || c.P99 <= 0 || c.ConnLimit <= 0 || c.Parallel < 1 || c.WriteTimeout <= 0:
		return errors.New("the step duration, the p99 bound, the connection limit, the parallelism and the write timeout must be positive, the drain not negative")
	case c.Size < 0 || c.Size > 4000:
		return errors.New("the message size must be within 0–4000")
	}
	for _, u := range c.URLs {
		if _, err := chatURL(u); err != nil {
			return err
		}
	}
	return nil
}

// Report is the run's result (chatload's -json output).
type Report struct {
	Scenario     string  `json:"scenario"`
	URL          string  `json:"url"`
	Rooms        int     `json:"rooms"`
	Members      int     `json:"members_per_room"`
	Connections  int     `json:"connections"`
	Step         string  `json:"step"`
	StepDuration string  `json:"step_duration"`
	Drain        string  `json:"drain"`
	P99Threshold string  `json:"p99_threshold"`
	ConnLimit    float64 `json:"conn_limit_per_s"`
	MessageSize  int     `json:"message_size,omitempty"`
	ClientCPUs   int     `json:"client_cpus"`
	GoVersion    string  `json:"go_version"`
	Latency      string  `json:"latency_measured_from"`

	SetupSeconds float64      `json:"setup_seconds"`
	RSS          *RSSReport   `json:"server_rss,omitempty"`
	Steps        []StepResult `json:"steps"`
	MaxSustained *StepSummary `json:"max_sustained,omitempty"`
	StopReason   string       `json:"stop_reason"`
	Notes        []string     `json:"notes,omitempty"`
}

// RSSReport is the server's resident memory, with Config.PID.
type RSSReport struct {
	PID             int     `json:"pid"`
	BeforeBytes     uint64  `json:"before_bytes"`
	RoomsBytes      uint64  `json:"rooms_created_bytes"`
	ConnectedBytes  uint64  `json:"connected_idle_bytes"`
	PerConnBytes    float64 `json:"per_idle_connection_bytes"`
	AfterStepsBytes uint64  `json:"end_bytes,omitempty"`
}

// StepSummary is the last step that met the latency and loss bounds.
type StepSummary struct {
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	P99US        uint64  `json:"p99_us"`
}

// StepResult is one step's measurements. Latencies are in microseconds.
type StepResult struct {
	Step            int               `json:"step"`
	TargetRate      float64           `json:"target_rate"`
	PerConnRate     float64           `json:"per_connection_rate"`
	Sent            uint64            `json:"sent"`
	SendFailed      uint64            `json:"send_failed"`
	AchievedRate    float64           `json:"achieved_rate"`
	Expected        uint64            `json:"expected_deliveries"`
	Delivered       uint64            `json:"delivered"`
	DeliveriesPerS  float64           `json:"deliveries_per_s"`
	Lost            uint64            `json:"lost"`
	Duplicates      uint64            `json:"extra_deliveries,omitempty"`
	Late            uint64            `json:"late_from_earlier_steps,omitempty"`
	OutOfOrder      uint64            `json:"out_of_order,omitempty"`
	P50US           uint64            `json:"p50_us"`
	P90US           uint64            `json:"p90_us"`
	P99US           uint64            `json:"p99_us"`
	MaxUS           uint64            `json:"max_us"`
	MeanUS          uint64            `json:"mean_us"`
	SentP99US       uint64            `json:"p99_from_actual_send_us"`
	MaxSendLagUS    int64             `json:"max_send_lag_us"`
	Errors          uint64            `json:"errors"`
	ErrorKinds      map[string]uint64 `json:"error_kinds,omitempty"`
	DeadConnections int               `json:"dead_connections,omitempty"`
	RSSBytes        uint64            `json:"server_rss_bytes,omitempty"`
	OK              bool              `json:"ok"`
	Interrupted     bool              `json:"interrupted,omitempty"`
}

// runner is one Run. Its fields are set before the first step and only
// read after; each member's receipts are the member's (its lock).
type runner struct {
	cfg     Config
	clk     clock
	rooms   []*room
	members []*member
	wsURLs  []string  // the chat's URL on each node of cfg.URLs
	out     io.Writer // the Markdown (Config.Out)
	log     io.Writer // progress (Config.Log)
	rep     *Report
}

// Run creates the rooms, connects the members and steps the rate up until
// a step misses the latency or loss bound or the last rate has run. The
// report holds every step run so far, also with an error (set-up) or when
// ctx ends (interrupted).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, clk: newClock(), out: orDiscard(cfg.Out), log: orDiscard(cfg.Log)}
	for _, u := range cfg.URLs {
		ws, err := chatURL(u)
		if err != nil {
			return nil, err
		}
		r.wsURLs = append(r.wsURLs, ws)
	}
	n := cfg.Rooms * cfg.Members
	r.rep = &Report{
		Scenario: cfg.Scenario, URL: strings.Join(cfg.URLs, ","), Rooms: cfg.Rooms, Members: cfg.Members, Connections: n,
		Step: cfg.Step.String(), StepDuration: cfg.Duration.String(), Drain: cfg.Drain.String(),
		P99Threshold: cfg.P99.String(), ConnLimit: cfg.ConnLimit, MessageSize: cfg.Size,
		ClientCPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Latency: "intended send time (the paced schedule), so generator delays count; p99_from_actual_send_us is from the write",
	}

	// The rates, capped so that no member exceeds the server's per-connection limit.
	maxRate := cfg.Max
	if limit := cfg.ConnLimit * float64(n); maxRate > limit {
		r.note(fmt.Sprintf("-max %.0f msg/s would make each of the %d connections send %.1f msg/s, over the server's per-connection limit of %.0f/s: capped at %.0f msg/s",
			maxRate, n, maxRate/float64(n), cfg.ConnLimit, limit))
		maxRate = limit
	}
	start := min(cfg.Start, maxRate)
	rates, err := cfg.Step.rates(start, maxRate)
	if err != nil {
		return nil, err
	}

	if err := raiseFileLimit(n); err != nil {
		r.note("open-files limit: " + err.Error())
	}
	var rss RSSReport
	if cfg.PID > 0 {
		v, err := readVmRSS(cfg.PID)
		if err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.PID, err)
		}
		rss = RSSReport{PID: cfg.PID, BeforeBytes: v}
	}

	setupStart := time.Now()
	readCtx, stopReaders := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	defer func() {
		r.closeAll(readCtx)
		stopReaders()
		done := make(chan struct{})
		go func() { readers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}()
	// The per-connection figure starts once the rooms exist: creating them
	// (REST, database pages) is not a connection's cost.
	roomsReady := func() {
		if cfg.PID > 0 {
			sleepCtx(ctx, 2*time.Second)
			if v, err := readVmRSS(cfg.PID); err == nil {
				rss.RoomsBytes = v
			}
		}
	}
	if err := r.setup(ctx, readCtx, &readers, roomsReady); err != nil {
		return r.rep, err
	}
	r.rep.SetupSeconds = time.Since(setupStart).Seconds()
	r.logf("%d rooms, %d connections ready in %.1fs\n", cfg.Rooms, n, r.rep.SetupSeconds)

	if cfg.PID > 0 {
		sleepCtx(ctx, cfg.Settle)
		v, err := readVmRSS(cfg.PID)
		if err != nil {
			return r.rep, fmt.Errorf("-pid %d: %w", cfg.PID, err)
		}
		rss.ConnectedBytes = v
		rss.PerConnBytes = (float64(v) - float64(max(rss.RoomsBytes, rss.BeforeBytes))) / float64(n)
		r.rep.RSS = &rss
	}
	r.header(rates)

	for i, rate := range rates {
		if ctx.Err() != nil {
			r.rep.StopReason = "interrupted"
			break
		}
		res := r.step(ctx, i+1, rate)
		r.rep.Steps = append(r.rep.Steps, res)
		r.row(res)
		if res.OK {
			r.rep.MaxSustained = &StepSummary{TargetRate: rate, AchievedRate: res.AchievedRate, P99US: res.P99US}
		}
		if reason := stopReason(res, cfg.P99, i == len(rates)-1); reason != "" {
			r.rep.StopReason = reason
			break
		}
	}
	if cfg.PID > 0 {
		if v, err := readVmRSS(cfg.PID); err == nil {
			r.rep.RSS.AfterStepsBytes = v
		}
	}
	r.footer()
	return r.rep, nil
}

// orDiscard is w, or io.Discard for nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// logf writes a progress line.
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "chatload: "+format, args...)
}

func (r *runner) note(s string) {
	r.rep.Notes = append(r.rep.Notes, s)
	r.logf("note: %s\n", s)
}

// setup makes the users, creates the rooms and connects every member.
func (r *runner) setup(ctx, readCtx context.Context, readers *sync.WaitGroup, roomsReady func()) error {
	cfg := r.cfg
	entity := newUUID()
	expires := time.Now().Add(2 * time.Hour)
	for ri := range cfg.Rooms {
		rm := &room{index: ri, name: fmt.Sprintf("bench-%d", ri+1)}
		for li := range cfg.Members {
			m := &member{idx: len(r.members), local: li, room: rm, user: newUUID(), lastSeq: make([]int64, cfg.Members)}
			for k := range m.lastSeq {
				m.lastSeq[k] = -1
			}
			tok, err := authz.SignShared(cfg.Secret, authz.SharedClaims{
				UserUUID: m.user, EntityUUID: entity, Level: 100, Expires: expires,
			})
			if err != nil {
				return err
			}
			m.token = tok
			m.step = 1
			rm.members = append(rm.members, m)
			r.members = append(r.members, m)
		}
		r.rooms = append(r.rooms, rm)
	}

	// The rooms: each creator's entity gets a rule (level 100, rw,
	// accepted) that admits every member, all of that entity at level 100.
	hc := &http.Client{Timeout: 30 * time.Second}
	err := forEach(ctx, cfg.Parallel, len(r.rooms), func(ctx context.Context, i int) error {
		if err := createRoom(ctx, hc, cfg.URLs[0], r.rooms[i]); err != nil {
			return fmt.Errorf("room %s: %w", r.rooms[i].name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.logf("%d rooms created, connecting %d members\n", len(r.rooms), len(r.members))
	roomsReady()

	return forEach(ctx, cfg.Parallel, len(r.members), func(ctx context.Context, i int) error {
		m := r.members[i]
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := m.connect(cctx, r.wsURLs[i%len(r.wsURLs)]); err != nil {
			return fmt.Errorf("member %d (room %s): %w", i, m.room.name, err)
		}
		readers.Go(func() { m.read(readCtx, r.clk) })
		return nil
	})
}

// forEach runs f(0..n-1) with at most par at a time; the first error
// cancels the rest and is returned.
func forEach(ctx context.Context, par, n int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// step publishes at rate (msg/s, all members together) for the step's
// duration, waits the drain, and accounts for it.
func (r *runner) step(ctx context.Context, num int, rate float64) StepResult {
	cfg := r.cfg
	n := len(r.members)
	r.logf("step %d: %.0f msg/s for %s\n", num, rate, cfg.Duration)
	res := StepResult{Step: num, TargetRate: rate, PerConnRate: rate / float64(n)}

	results := make([]sendResult, n)
	start := time.Now().Add(50 * time.Millisecond) // every sender ready before the first send
	var wg sync.WaitGroup
	for i, m := range r.members {
		p := plan(rate, n, i, cfg.Duration)
		wg.Go(func() {
			results[i] = m.send(ctx, r.clk, num, start, p, cfg.Size, cfg.WriteTimeout)
		})
	}
	wg.Wait()
	res.Interrupted = ctx.Err() != nil
	sendEnd := start.Add(cfg.Duration)
	if !res.Interrupted {
		sleepCtx(ctx, cfg.Drain)
	}

	// Close the step on every connection, then account.
	var lat, latSent latency.Sum
	sentPerRoom := make([]uint64, len(r.rooms))
	size := make([]int, len(r.rooms))
	kinds := map[string]uint64{}
	var lastRecv time.Time
	for i, m := range r.members {
		rec := m.collect(num + 1)
		lat.Add(&rec.lat)
		latSent.Add(&rec.latSent)
		res.Delivered += rec.received
		res.Late += rec.late
		res.OutOfOrder += rec.outOfOrder
		for k, v := range rec.errors {
			kinds[k] += v
		}
		if rec.last.After(lastRecv) {
			lastRecv = rec.last
		}
		s := results[i]
		res.Sent += s.sent
		res.SendFailed += s.failed
		if s.errKind != "" {
			kinds[s.errKind] += s.failed
		}
		if s.lastSend.After(sendEnd) {
			sendEnd = s.lastSend
		}
		res.MaxSendLagUS = max(res.MaxSendLagUS, int64(s.maxLag/time.Microsecond))
		sentPerRoom[m.room.index] += s.sent
		size[m.room.index] = len(m.room.members)
		if m.dead.Load() {
			res.DeadConnections++
		}
	}
	for _, v := range kinds {
		res.Errors += v
	}
	if len(kinds) > 0 {
		res.ErrorKinds = kinds
	}
	res.AchievedRate = float64(res.Sent) / sendEnd.Sub(start).Seconds()
	if lastRecv.After(start) {
		res.DeliveriesPerS = float64(res.Delivered) / lastRecv.Sub(start).Seconds()
	}
	res.Expected = expectedDeliveries(sentPerRoom, size)
	res.Lost, res.Duplicates = accountLoss(res.Expected, res.Delivered)
	res.P50US, res.P90US, res.P99US = lat.Quantile(0.50), lat.Quantile(0.90), lat.Quantile(0.99)
	res.MaxUS, res.MeanUS = lat.Max(), lat.Mean()
	res.SentP99US = latSent.Quantile(0.99)
	if cfg.PID > 0 {
		if v, err := readVmRSS(cfg.PID); err == nil {
			res.RSSBytes = v
		}
	}
	res.OK = !res.Interrupted && res.Lost == 0 && res.P99US <= latency.US(cfg.P99) && res.DeadConnections == 0
	return res
}

// stopReason is why stepping ends after res, "" to go on.
func stopReason(res StepResult, p99 time.Duration, last bool) string {
	switch {
	case res.Interrupted:
		return "interrupted"
	case res.DeadConnections > 0:
		return fmt.Sprintf("%d connections ended", res.DeadConnections)
	case res.P99US > latency.US(p99):
		return fmt.Sprintf("p99 %s > %s", latency.Format(res.P99US), p99)
	case res.Lost > 0:
		return fmt.Sprintf("%d deliveries lost", res.Lost)
	case last:
		return fmt.Sprintf("reached -max %.0f msg/s", res.TargetRate)
	}
	return ""
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// closeAll sends quit on every connection and closes it.
func (r *runner) closeAll(ctx context.Context) {
	_ = forEach(ctx, r.cfg.Parallel, len(r.members), func(ctx context.Context, i int) error {
		r.members[i].quit(ctx)
		return nil
	})
}

func (r *runner) header(rates []float64) {
	cfg, rep := r.cfg, r.rep
	w := r.out
	about := fmt.Sprintf("%d rooms × %d members", cfg.Rooms, cfg.Members)
	if d, ok := Scenarios[cfg.Scenario]; ok {
		about = d.About
	}
	fmt.Fprintf(w, "### chatload scenario %s: %s\n\n", cfg.Scenario, about)
	fmt.Fprintf(w, "- server %s; %d connections; steps %s of %s (+%s drain); stop at p99 > %s or any loss\n",
		rep.URL, rep.Connections, fmtRates(rates), cfg.Duration, cfg.Drain, cfg.P99)
	fmt.Fprintf(w, "- client %s/%s, %d CPU, %s; latency from the intended send time\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if rss := rep.RSS; rss != nil {
		fmt.Fprintf(w, "- server RSS (pid %d): %s at start, %s with the rooms created, %s with all %d members connected and idle: %.1f KiB per idle connection\n",
			rss.PID, fmtMiB(rss.BeforeBytes), fmtMiB(rss.RoomsBytes), fmtMiB(rss.ConnectedBytes), rep.Connections, rss.PerConnBytes/1024)
		if rss.PerConnBytes < 0 || rep.Connections < 500 {
			fmt.Fprintln(w, "  (the per-connection figure is noise with few connections, or on a server that is still returning an earlier run's memory: measure it on a freshly started server, as scenario C)")
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "- note: %s\n", n)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| step | target msg/s | per conn msg/s | sent msg/s | deliveries/s | p50 | p90 | p99 | max | p99 (from write) | lost | errors | server RSS | ok |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|")
}

func (r *runner) row(s StepResult) {
	rss := "–"
	if s.RSSBytes > 0 {
		rss = fmtMiB(s.RSSBytes)
	}
	ok := "yes"
	if !s.OK {
		ok = "**no**"
	}
	fmt.Fprintf(r.out, "| %d | %.0f | %.2f | %.1f | %.0f | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n",
		s.Step, s.TargetRate, s.PerConnRate, s.AchievedRate, s.DeliveriesPerS,
		latency.Format(s.P50US), latency.Format(s.P90US), latency.Format(s.P99US), latency.Format(s.MaxUS), latency.Format(s.SentP99US),
		s.Lost, fmtErrors(s.Errors, s.ErrorKinds), rss, ok)
}

func (r *runner) footer() {
	rep := r.rep
	w := r.out
	fmt.Fprintln(w)
	if m := rep.MaxSustained; m != nil {
		fmt.Fprintf(w, "Max sustained rate: %.0f msg/s target (%.1f msg/s achieved, p99 %s, no loss). ", m.TargetRate, m.AchievedRate, latency.Format(m.P99US))
	} else {
		fmt.Fprintf(w, "Max sustained rate: none (no step met p99 ≤ %s with no loss). ", r.cfg.P99)
	}
	fmt.Fprintf(w, "Stopped: %s.\n", rep.StopReason)
	if rss := rep.RSS; rss != nil && rss.AfterStepsBytes > 0 {
		fmt.Fprintf(w, "Server RSS at the end: %s.\n", fmtMiB(rss.AfterStepsBytes))
	}
}

func fmtRates(rates []float64) string {
	parts := make([]string, len(rates))
	for i, r := range rates {
		parts[i] = fmt.Sprintf("%.0f", r)
	}
	return strings.Join(parts, ", ") + " msg/s"
}

func fmtMiB(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// fmtErrors is the error count with its kinds, most frequent first.
func fmtErrors(total uint64, kinds map[string]uint64) string {
	if total == 0 {
		return "0"
	}
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if kinds[keys[i]] != kinds[keys[j]] {
			return kinds[keys[i]] > kinds[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, min(3, len(keys)))
	for _, k := range keys[:min(3, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s ×%d", strings.ReplaceAll(k, "|", "/"), kinds[k]))
	}
	more := ""
	if len(keys) > 3 {
		more = ", …"
	}
	return fmt.Sprintf("%d (%s%s)", total, strings.Join(parts, ", "), more)
}
