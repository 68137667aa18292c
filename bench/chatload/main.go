package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/loadgen"
)

// options are the command line, after flags and scenario defaults.
type options struct {
	cfg        loadgen.Config
	jsonOut    bool
	cpuProfile string
}

func main() {
	exit := 0
	defer func() { os.Exit(exit) }()
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatload:", err)
		exit = 2
		return
	}
	if opts.cpuProfile != "" {
		stopProfile, err := startCPUProfile(opts.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chatload:", err)
			exit = 2
			return
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := loadgen.Run(ctx, opts.cfg)
	stop()
	if rep != nil && opts.jsonOut {
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

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	var o options
	c := &o.cfg
	var urls, step string
	fs.StringVar(&urls, "url", "http://127.0.0.1:8080", "base `URL` of the running server (http or https); several nodes comma-separated: rooms are created on the first, members connect round-robin")
	fs.StringVar(&c.Secret, "secret", os.Getenv("TESSERA_MESSAGING_JWT_SECRET"), "HS256 shared `secret` (the server's TESSERA_MESSAGING_JWT_SECRET; default: that variable)")
	fs.StringVar(&c.Scenario, "scenario", "A", "A (1×50, stepped), B (50×2, stepped), C (200×10 at 100 msg/s, RSS per connection) or custom")
	fs.IntVar(&c.Rooms, "rooms", 0, "rooms (-scenario custom)")
	fs.IntVar(&c.Members, "members", 0, "members per room (-scenario custom)")
	fs.Float64Var(&c.Start, "start", 0, "initial total publish `rate` in msg/s (default: the scenario's)")
	fs.StringVar(&step, "step", "2", "rate step: a multiplier (2, x1.5) or an addition (+500 msg/s)")
	fs.Float64Var(&c.Max, "max", 0, "highest total publish `rate` in msg/s (default: the scenario's, at most -conn-limit per member)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "publishing time per step")
	fs.DurationVar(&c.Drain, "drain", 2*time.Second, "wait after a step's last send before counting its deliveries")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "wait once all members are connected before reading the idle RSS")
	fs.DurationVar(&c.P99, "p99", 50*time.Millisecond, "stop when a step's p99 latency exceeds this")
	fs.IntVar(&c.PID, "pid", 0, "server `pid`: report its VmRSS (/proc/<pid>/status)")
	fs.BoolVar(&o.jsonOut, "json", false, "write a JSON report to stdout (the Markdown table then goes to stderr)")
	fs.IntVar(&c.Size, "size", 0, "pad each message's content to this many characters (max 4000)")
	fs.Float64Var(&c.ConnLimit, "conn-limit", 100, "the server's per-connection inbound limit (frames/s); no member is made to send faster")
	fs.IntVar(&c.Parallel, "parallel", 64, "concurrent room creations and connection set-ups")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 5*time.Second, "bound on one websocket write")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this `file`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/chatload -url http://127.0.0.1:8080 -secret S -scenario A|B|C|custom [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	c.Scenario = strings.ToUpper(c.Scenario)
	if c.Scenario == "CUSTOM" {
		c.Scenario = "custom"
		if c.Rooms <= 0 || c.Members <= 0 {
			return o, errors.New("-scenario custom needs -rooms and -members > 0")
		}
		if !set["start"] {
			c.Start = 100
		}
	} else {
		d, ok := loadgen.Scenarios[c.Scenario]
		if !ok {
			return o, fmt.Errorf("unknown -scenario %q: want A, B, C or custom", c.Scenario)
		}
		if set["rooms"] || set["members"] {
			return o, errors.New("-rooms and -members apply to -scenario custom")
		}
		c.Rooms, c.Members = d.Rooms, d.Members
		if !set["start"] {
			c.Start = d.Start
		}
		if !set["max"] {
			c.Max = d.Max
		}
		if c.Scenario == "C" && !set["max"] && set["start"] {
			c.Max = c.Start
		}
	}
	if c.Max == 0 {
		c.Max = c.ConnLimit * float64(c.Rooms*c.Members)
	}
	var err error
	if c.Step, err = loadgen.ParseStep(step); err != nil {
		return o, fmt.Errorf("-step: %w", err)
	}
	if c.Secret == "" {
		return o, errors.New("no -secret (nor TESSERA_MESSAGING_JWT_SECRET)")
	}
	if c.URLs, err = loadgen.ParseURLs(urls); err != nil {
		return o, fmt.Errorf("-url: %w", err)
	}
	o.cfg.Out, o.cfg.Log = os.Stdout, os.Stderr
	if o.jsonOut {
		o.cfg.Out = os.Stderr
	}
	return o, c.Check()
}
