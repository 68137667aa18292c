package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-dev/tessera/bench/chatload/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "bench/run:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "bench/run:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line.
type usageError struct{ error }

// allWorkloads are the workload names, in the order they run.
var allWorkloads = []string{
	"healthz", "auth-me", "records-create", "records-get", "events-create", "events-list",
	"files-upload", "files-download", "seatings-create", "chat",
}

// options are the command line.
type options struct {
	urls                 []string
	adminID, adminSecret string
	secret               string // the messaging shared secret
	storage, label       string
	duration, warmup     time.Duration
	settle               time.Duration
	concurrency          int
	workloads            map[string]bool
	uploadSize           int
	chatStart, chatMax   float64
	chatStep             loadgen.Stepper
	chatDrain, chatP99   time.Duration
	out                  string
	command              string // the command line as the section quotes it, secrets hidden
}

func parseFlags(args []string, output io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench/run", flag.ContinueOnError)
	fs.SetOutput(output)
	var o options
	var urls, adminKey, workloads, chatStep string
	fs.StringVar(&urls, "url", "http://127.0.0.1:8080", "base `URL`s of the running nodes (or of a proxy), comma-separated; worker w talks to URL w mod their number")
	fs.StringVar(&adminKey, "admin-key", os.Getenv("TESSERA_BENCH_ADMIN_KEY"), "admin key `KEY_ID:SECRET` (tessera admin-key create --json), to read the users' confirmation codes and the job queue (default: $TESSERA_BENCH_ADMIN_KEY)")
	fs.StringVar(&o.secret, "messaging-secret", os.Getenv("TESSERA_MESSAGING_JWT_SECRET"), "the nodes' messaging shared `secret`, for the chat (default: $TESSERA_MESSAGING_JWT_SECRET)")
	fs.StringVar(&o.storage, "storage", "", `the nodes' storage mode, for every row: "SQLite", "Postgres+Redis", "Postgres+Redis+S3"… (required; checked against /readyz for Redis)`)
	fs.StringVar(&o.label, "label", "", `the section's title, e.g. "single node SQLite" (default: the storage mode and the URL count)`)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each workload (and of each chat step)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each HTTP workload")
	fs.DurationVar(&o.settle, "settle", 2*time.Minute, "longest wait for the job queue to drain after a workload that writes")
	fs.IntVar(&o.concurrency, "concurrency", 16, "closed-loop workers of each HTTP workload")
	fs.StringVar(&workloads, "workloads", "all", "workloads to run, comma-separated: all or some of "+strings.Join(allWorkloads, ","))
	fs.IntVar(&o.uploadSize, "upload-size", 4096, "bytes of each uploaded file")
	fs.Float64Var(&o.chatStart, "chat-start", 1000, "the chat's first step, total msg/s")
	fs.StringVar(&chatStep, "chat-step", "+1000", "the chat's rate step: a multiplier (2, x1.5) or an addition (+1000)")
	fs.Float64Var(&o.chatMax, "chat-max", 10000, "the chat's last step, total msg/s (at most 100 msg/s per member: 10,000)")
	fs.DurationVar(&o.chatDrain, "chat-drain", 2*time.Second, "wait after a chat step before counting its deliveries")
	fs.DurationVar(&o.chatP99, "chat-p99", 50*time.Millisecond, "the chat stops stepping after a step with a higher p99 (or any loss)")
	fs.StringVar(&o.out, "out", "docs/performance.md", `file the section is appended to ("" or "-": standard output only)`)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/run -url http://127.0.0.1:8080[,http://…] -admin-key KEY_ID:SECRET -storage MODE [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	bad := func(format string, a ...any) (options, error) { return o, usageError{fmt.Errorf(format, a...)} }
	if fs.NArg() > 0 {
		return bad("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.urls, err = loadgen.ParseURLs(urls); err != nil {
		return bad("-url: %v", err)
	}
	var ok bool
	if o.adminID, o.adminSecret, ok = strings.Cut(adminKey, ":"); !ok || o.adminID == "" || o.adminSecret == "" {
		return bad("-admin-key: want KEY_ID:SECRET (tessera admin-key create --json prints both)")
	}
	if o.storage = strings.TrimSpace(o.storage); o.storage == "" || strings.ContainsAny(o.storage, "|\n") {
		return bad(`-storage: name the nodes' storage mode ("SQLite", "Postgres+Redis+S3"…), without "|"`)
	}
	if o.label == "" {
		o.label = fmt.Sprintf("%s, %d URL(s)", o.storage, len(o.urls))
	}
	if o.duration <= 0 || o.warmup < 0 || o.settle < 0 || o.concurrency < 1 || o.concurrency > 1000 {
		return bad("-duration and -concurrency (at most 1000) must be positive, -warmup and -settle not negative")
	}
	if o.uploadSize < 16 || o.uploadSize > 64<<20 {
		return bad("-upload-size must be within 16 B–64 MiB")
	}
	o.workloads = map[string]bool{}
	for name := range strings.SplitSeq(workloads, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "all":
			for _, w := range allWorkloads {
				o.workloads[w] = true
			}
		case slices.Contains(allWorkloads, name):
			o.workloads[name] = true
		default:
			return bad("-workloads: unknown %q: want all or some of %s", name, strings.Join(allWorkloads, ","))
		}
	}
	if o.workloads["chat"] {
		if o.secret == "" {
			return bad("-messaging-secret: the chat needs the nodes' TESSERA_MESSAGING_JWT_SECRET")
		}
		if o.chatStep, err = loadgen.ParseStep(chatStep); err != nil {
			return bad("-chat-step: %v", err)
		}
		if o.chatStart <= 0 || o.chatMax < o.chatStart || o.chatDrain < 0 || o.chatP99 <= 0 {
			return bad("-chat-start and -chat-p99 must be positive, -chat-max at least -chat-start, -chat-drain not negative")
		}
	}
	o.command = commandLine(fs)
	return o, nil
}

// commandLine is the run's command as the section quotes it: the flags
// set, with the secrets hidden.
func commandLine(fs *flag.FlagSet) string {
	parts := []string{"go run ./bench/run"}
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		if f.Name == "admin-key" || f.Name == "messaging-secret" {
			v = "…"
		}
		if v == "" || strings.ContainsAny(v, " \"'") {
			v = fmt.Sprintf("%q", v)
		}
		parts = append(parts, "-"+f.Name+" "+v)
	})
	return strings.Join(parts, " ")
}

// run is the command: parse, measure, write the section.
func run(ctx context.Context, args []string, stdout, log io.Writer) error {
	o, err := parseFlags(args, log)
	if err != nil {
		return err
	}
	var id [4]byte
	_, _ = rand.Read(id[:]) // never fails
	b := &bench{o: o, c: newClient(o.urls, o.adminID, o.adminSecret, o.concurrency), log: log, runID: hex.EncodeToString(id[:])}
	defer b.c.close()

	if err := b.checkStorage(ctx); err != nil {
		return err
	}
	m := describeMachine()
	started := time.Now()
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("set-up: %w", err)
	}
	b.settleQueue(ctx, "the set-up")
	var rows []row
	for _, w := range b.workloads() {
		if !o.workloads[w.name] {
			continue
		}
		r, err := b.measure(ctx, w)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		rows = append(rows, r)
	}
	var steps []string
	if o.workloads["chat"] {
		r, s, err := b.chat(ctx)
		if err != nil {
			return fmt.Errorf("chat: %w", err)
		}
		rows, steps = append(rows, r), s
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	m.loadAfter = loadAverage()
	sec := section{opts: o, machine: m, started: started, elapsed: time.Since(started), rows: rows, chatSteps: steps, notes: b.notes}
	text := sec.markdown()
	if _, err := io.WriteString(stdout, text); err != nil {
		return err
	}
	if o.out == "" || o.out == "-" {
		return nil
	}
	if err := appendSection(o.out, text); err != nil {
		return err
	}
	fmt.Fprintf(log, "bench/run: section appended to %s\n", o.out)
	return nil
}
