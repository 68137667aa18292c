package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
)

// config is the run, after flags and scenario defaults.
type config struct {
	baseURL        string
	wsURLs         []string // one per node of -url; member i connects to wsURLs[i%len]
	secret         string
	scenario       string
	rooms, members int
	start, maxRate float64
	step           stepper
	stepFlag       string
	duration       time.Duration
	drain          time.Duration
	settle         time.Duration
	p99            time.Duration
	pid            int
	jsonOut        bool
	size           int
	connLimit      float64
	parallel       int
	writeTimeout   time.Duration
	cpuProfile     string
}

// scenarioDefaults are the rooms, members and rates of the named scenarios.
var scenarioDefaults = map[string]struct {
	rooms, members int
	start, max     float64
	about          string
}{
	"A": {1, 50, 250, 5000, "1 room × 50 members, rate stepped up"},
	"B": {50, 2, 250, 10000, "50 rooms × 2 members, rate stepped up"},
	"C": {200, 10, 100, 100, "200 rooms × 10 members (2,000 connections) at a fixed 100 msg/s"},
}

func main() {
	exit := 0
	defer func() { os.Exit(exit) }()
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatload:", err)
		exit = 2
		return
	}
	if cfg.cpuProfile != "" {
		stopProfile, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chatload:", err)
			exit = 2
			return
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, cfg)
	stop()
	if rep != nil && cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if e := enc.Encode(rep); e != nil {
			fmt.Fprintln(os.Stderr, "chatload: write json:", e)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatload:", err)
		exit = 1
	}
}

// startCPUProfile profiles the generator (to tell its cost from the
// server's when both share a machine).
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path) // #nosec G304 -- the operator's own -cpuprofile path
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "chatload: cpuprofile:", err)
		}
	}, nil
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.baseURL, "url", "http://127.0.0.1:8080", "base `URL` of the running server (http or https); several nodes comma-separated: rooms are created on the first, members connect round-robin")
	fs.StringVar(&c.secret, "secret", os.Getenv("TESSERA_MESSAGING_JWT_SECRET"), "HS256 shared `secret` (the server's TESSERA_MESSAGING_JWT_SECRET; default: that variable)")
	fs.StringVar(&c.scenario, "scenario", "A", "A (1×50, stepped), B (50×2, stepped), C (200×10 at 100 msg/s, RSS per connection) or custom")
	fs.IntVar(&c.rooms, "rooms", 0, "rooms (-scenario custom)")
	fs.IntVar(&c.members, "members", 0, "members per room (-scenario custom)")
	fs.Float64Var(&c.start, "start", 0, "initial total publish `rate` in msg/s (default: the scenario's)")
	fs.StringVar(&c.stepFlag, "step", "2", "rate step: a multiplier (2, x1.5) or an addition (+500 msg/s)")
	fs.Float64Var(&c.maxRate, "max", 0, "highest total publish `rate` in msg/s (default: the scenario's, at most -conn-limit per member)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "publishing time per step")
	fs.DurationVar(&c.drain, "drain", 2*time.Second, "wait after a step's last send before counting its deliveries")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "wait once all members are connected before reading the idle RSS")
	fs.DurationVar(&c.p99, "p99", 50*time.Millisecond, "stop when a step's p99 latency exceeds this")
	fs.IntVar(&c.pid, "pid", 0, "server `pid`: report its VmRSS (/proc/<pid>/status)")
	fs.BoolVar(&c.jsonOut, "json", false, "write a JSON report to stdout (the Markdown table then goes to stderr)")
	fs.IntVar(&c.size, "size", 0, "pad each message's content to this many characters (max 4000)")
	fs.Float64Var(&c.connLimit, "conn-limit", 100, "the server's per-connection inbound limit (frames/s); no member is made to send faster")
	fs.IntVar(&c.parallel, "parallel", 64, "concurrent room creations and connection set-ups")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 5*time.Second, "bound on one websocket write")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this `file`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/chatload -url http://127.0.0.1:8080 -secret S -scenario A|B|C|custom [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	c.scenario = strings.ToUpper(c.scenario)
	if c.scenario == "CUSTOM" {
		c.scenario = "custom"
		if c.rooms <= 0 || c.members <= 0 {
			return c, errors.New("-scenario custom needs -rooms and -members > 0")
		}
		if !set["start"] {
			c.start = 100
		}
	} else {
		d, ok := scenarioDefaults[c.scenario]
		if !ok {
			return c, fmt.Errorf("unknown -scenario %q: want A, B, C or custom", c.scenario)
		}
		if set["rooms"] || set["members"] {
			return c, errors.New("-rooms and -members apply to -scenario custom")
		}
		c.rooms, c.members = d.rooms, d.members
		if !set["start"] {
			c.start = d.start
		}
		if !set["max"] {
			c.maxRate = d.max
		}
		if c.scenario == "C" && !set["max"] && set["start"] {
			c.maxRate = c.start
		}
	}
	if c.maxRate == 0 {
		c.maxRate = c.connLimit * float64(c.rooms*c.members)
	}
	var err error
	if c.step, err = parseStep(c.stepFlag); err != nil {
		return c, err
	}
	if c.secret == "" {
		return c, errors.New("no -secret (nor TESSERA_MESSAGING_JWT_SECRET)")
	}
	if c.members < 1 || c.rooms < 1 || c.rooms*c.members > 100000 {
		return c, fmt.Errorf("bad size %d rooms × %d members", c.rooms, c.members)
	}
	if c.duration <= 0 || c.drain < 0 || c.p99 <= 0 || c.connLimit <= 0 || c.parallel < 1 || c.writeTimeout <= 0 {
		return c, errors.New("-duration, -p99, -conn-limit, -parallel and -write-timeout must be positive, -drain not negative")
	}
	if c.size < 0 || c.size > 4000 {
		return c, errors.New("-size must be within 0–4000")
	}
	bases := strings.Split(c.baseURL, ",")
	for i, b := range bases {
		u, err := url.Parse(strings.TrimSpace(b))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("bad -url %q: want http(s)://host:port[,http(s)://host:port…]", b)
		}
		if i == 0 {
			c.baseURL = strings.TrimSuffix(u.String(), "/")
		}
		ws := *u
		ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		ws.Path = strings.TrimSuffix(u.Path, "/") + "/messaging/chat"
		c.wsURLs = append(c.wsURLs, ws.String())
	}
	return c, nil
}

// report is the run's result (the -json output).
type report struct {
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
	RSS          *rssReport   `json:"server_rss,omitempty"`
	Steps        []stepResult `json:"steps"`
	MaxSustained *stepSummary `json:"max_sustained,omitempty"`
	StopReason   string       `json:"stop_reason"`
	Notes        []string     `json:"notes,omitempty"`
}

type rssReport struct {
	PID             int     `json:"pid"`
	BeforeBytes     uint64  `json:"before_bytes"`
	RoomsBytes      uint64  `json:"rooms_created_bytes"`
	ConnectedBytes  uint64  `json:"connected_idle_bytes"`
	PerConnBytes    float64 `json:"per_idle_connection_bytes"`
	AfterStepsBytes uint64  `json:"end_bytes,omitempty"`
}

type stepSummary struct {
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	P99US        uint64  `json:"p99_us"`
}

// stepResult is one step's measurements. Latencies are in microseconds.
type stepResult struct {
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

type runner struct {
	cfg     config
	clk     clock
	rooms   []*room
	members []*member
	out     io.Writer // the Markdown
	rep     *report
}

func run(ctx context.Context, cfg config) (*report, error) {
	r := &runner{cfg: cfg, clk: newClock(), out: os.Stdout}
	if cfg.jsonOut {
		r.out = os.Stderr
	}
	n := cfg.rooms * cfg.members
	r.rep = &report{
		Scenario: cfg.scenario, URL: cfg.baseURL, Rooms: cfg.rooms, Members: cfg.members, Connections: n,
		Step: cfg.step.String(), StepDuration: cfg.duration.String(), Drain: cfg.drain.String(),
		P99Threshold: cfg.p99.String(), ConnLimit: cfg.connLimit, MessageSize: cfg.size,
		ClientCPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Latency: "intended send time (the paced schedule), so generator delays count; p99_from_actual_send_us is from the write",
	}

	// The rates, capped so that no member exceeds the server's per-connection limit.
	maxRate := cfg.maxRate
	if limit := cfg.connLimit * float64(n); maxRate > limit {
		r.note(fmt.Sprintf("-max %.0f msg/s would make each of the %d connections send %.1f msg/s, over the server's per-connection limit of %.0f/s: capped at %.0f msg/s",
			maxRate, n, maxRate/float64(n), cfg.connLimit, limit))
		maxRate = limit
	}
	start := min(cfg.start, maxRate)
	rates, err := cfg.step.rates(start, maxRate)
	if err != nil {
		return nil, err
	}

	if err := raiseFileLimit(n); err != nil {
		r.note("open-files limit: " + err.Error())
	}
	var rss rssReport
	if cfg.pid > 0 {
		v, err := readVmRSS(cfg.pid)
		if err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
		rss = rssReport{PID: cfg.pid, BeforeBytes: v}
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
		if cfg.pid > 0 {
			sleepCtx(ctx, 2*time.Second)
			if v, err := readVmRSS(cfg.pid); err == nil {
				rss.RoomsBytes = v
			}
		}
	}
	if err := r.setup(ctx, readCtx, &readers, roomsReady); err != nil {
		return r.rep, err
	}
	r.rep.SetupSeconds = time.Since(setupStart).Seconds()
	fmt.Fprintf(os.Stderr, "chatload: %d rooms, %d connections ready in %.1fs\n", cfg.rooms, n, r.rep.SetupSeconds)

	if cfg.pid > 0 {
		sleepCtx(ctx, cfg.settle)
		v, err := readVmRSS(cfg.pid)
		if err != nil {
			return r.rep, fmt.Errorf("-pid %d: %w", cfg.pid, err)
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
			r.rep.MaxSustained = &stepSummary{TargetRate: rate, AchievedRate: res.AchievedRate, P99US: res.P99US}
		}
		if reason := stopReason(res, cfg.p99, i == len(rates)-1); reason != "" {
			r.rep.StopReason = reason
			break
		}
	}
	if cfg.pid > 0 {
		if v, err := readVmRSS(cfg.pid); err == nil {
			r.rep.RSS.AfterStepsBytes = v
		}
	}
	r.footer()
	return r.rep, nil
}

func (r *runner) note(s string) {
	r.rep.Notes = append(r.rep.Notes, s)
	fmt.Fprintln(os.Stderr, "chatload: note:", s)
}

// setup makes the users, creates the rooms and connects every member.
func (r *runner) setup(ctx, readCtx context.Context, readers *sync.WaitGroup, roomsReady func()) error {
	cfg := r.cfg
	entity := newUUID()
	expires := time.Now().Add(2 * time.Hour)
	for ri := range cfg.rooms {
		rm := &room{index: ri, name: fmt.Sprintf("bench-%d", ri+1)}
		for li := range cfg.members {
			m := &member{idx: len(r.members), local: li, room: rm, user: newUUID(), lastSeq: make([]int64, cfg.members)}
			for k := range m.lastSeq {
				m.lastSeq[k] = -1
			}
			tok, err := authz.SignShared(cfg.secret, authz.SharedClaims{
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
	err := forEach(ctx, cfg.parallel, len(r.rooms), func(ctx context.Context, i int) error {
		if err := createRoom(ctx, hc, cfg.baseURL, r.rooms[i]); err != nil {
			return fmt.Errorf("room %s: %w", r.rooms[i].name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "chatload: %d rooms created, connecting %d members\n", len(r.rooms), len(r.members))
	roomsReady()

	return forEach(ctx, cfg.parallel, len(r.members), func(ctx context.Context, i int) error {
		m := r.members[i]
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := m.connect(cctx, cfg.wsURLs[i%len(cfg.wsURLs)]); err != nil {
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
func (r *runner) step(ctx context.Context, num int, rate float64) stepResult {
	cfg := r.cfg
	n := len(r.members)
	fmt.Fprintf(os.Stderr, "chatload: step %d: %.0f msg/s for %s\n", num, rate, cfg.duration)
	res := stepResult{Step: num, TargetRate: rate, PerConnRate: rate / float64(n)}

	results := make([]sendResult, n)
	start := time.Now().Add(50 * time.Millisecond) // every sender ready before the first send
	var wg sync.WaitGroup
	for i, m := range r.members {
		p := plan(rate, n, i, cfg.duration)
		wg.Go(func() {
			results[i] = m.send(ctx, r.clk, num, start, p, cfg.size, cfg.writeTimeout)
		})
	}
	wg.Wait()
	res.Interrupted = ctx.Err() != nil
	sendEnd := start.Add(cfg.duration)
	if !res.Interrupted {
		sleepCtx(ctx, cfg.drain)
	}

	// Close the step on every connection, then account.
	var lat, latSent histSum
	sentPerRoom := make([]uint64, len(r.rooms))
	size := make([]int, len(r.rooms))
	kinds := map[string]uint64{}
	var lastRecv time.Time
	for i, m := range r.members {
		rec := m.collect(num + 1)
		lat.add(&rec.lat)
		latSent.add(&rec.latSent)
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
	res.P50US, res.P90US, res.P99US = lat.quantile(0.50), lat.quantile(0.90), lat.quantile(0.99)
	res.MaxUS, res.MeanUS = lat.max, lat.mean()
	res.SentP99US = latSent.quantile(0.99)
	if cfg.pid > 0 {
		if v, err := readVmRSS(cfg.pid); err == nil {
			res.RSSBytes = v
		}
	}
	res.OK = !res.Interrupted && res.Lost == 0 && res.P99US <= durUS(cfg.p99) && res.DeadConnections == 0
	return res
}

// stopReason is why stepping ends after res, "" to go on.
func stopReason(res stepResult, p99 time.Duration, last bool) string {
	switch {
	case res.Interrupted:
		return "interrupted"
	case res.DeadConnections > 0:
		return fmt.Sprintf("%d connections ended", res.DeadConnections)
	case res.P99US > durUS(p99):
		return fmt.Sprintf("p99 %s > %s", fmtUS(res.P99US), p99)
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
	_ = forEach(ctx, r.cfg.parallel, len(r.members), func(ctx context.Context, i int) error {
		r.members[i].quit(ctx)
		return nil
	})
}

func (r *runner) header(rates []float64) {
	cfg, rep := r.cfg, r.rep
	w := r.out
	about := fmt.Sprintf("%d rooms × %d members", cfg.rooms, cfg.members)
	if d, ok := scenarioDefaults[cfg.scenario]; ok {
		about = d.about
	}
	fmt.Fprintf(w, "### chatload scenario %s: %s\n\n", cfg.scenario, about)
	fmt.Fprintf(w, "- server %s; %d connections; steps %s of %s (+%s drain); stop at p99 > %s or any loss\n",
		cfg.baseURL, rep.Connections, fmtRates(rates), cfg.duration, cfg.drain, cfg.p99)
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

func (r *runner) row(s stepResult) {
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
		fmtUS(s.P50US), fmtUS(s.P90US), fmtUS(s.P99US), fmtUS(s.MaxUS), fmtUS(s.SentP99US),
		s.Lost, fmtErrors(s.Errors, s.ErrorKinds), rss, ok)
}

func (r *runner) footer() {
	rep := r.rep
	w := r.out
	fmt.Fprintln(w)
	if m := rep.MaxSustained; m != nil {
		fmt.Fprintf(w, "Max sustained rate: %.0f msg/s target (%.1f msg/s achieved, p99 %s, no loss). ", m.TargetRate, m.AchievedRate, fmtUS(m.P99US))
	} else {
		fmt.Fprintf(w, "Max sustained rate: none (no step met p99 ≤ %s with no loss). ", r.cfg.p99)
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

func fmtUS(us uint64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us < 10_000_000:
		return fmt.Sprintf("%.2fms", float64(us)/1000)
	default:
		return fmt.Sprintf("%.1fs", float64(us)/1e6)
	}
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
