package nodetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

// childEnv marks the test binary's re-execution as a node process.
const childEnv = "TESSERA_NODETEST_CHILD"

// ChildMain makes the test binary able to run as a node process (Spawn):
// call it first in TestMain. In the child it serves a node of apps,
// configured by the TESSERA_* environment, until SIGTERM, and exits; in the
// test process it returns at once.
func ChildMain(apps ...app.App) {
	if os.Getenv(childEnv) != "1" {
		return
	}
	if err := serveChild(apps); err != nil {
		fmt.Fprintln(os.Stderr, "nodetest child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveChild(apps []app.App) error {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Name
	}
	cfg, err := config.Load(config.Sources{Environ: os.Environ(), KnownApps: names})
	if err != nil {
		return err
	}
	reg, err := app.NewRegistry(apps...)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	n, err := node.Open(ctx, cfg, reg, slog.New(slog.NewJSONHandler(os.Stderr, nil)), node.Options{})
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		_ = n.Close()
		return err
	}
	serveErr := n.Serve(ctx, ln)
	if err := n.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// Command returns the command that runs the test binary as a node process
// (see ChildMain) with the test's environment plus environ
// ("TESSERA_KEY=value": at least TESSERA_ADDR, TESSERA_DATABASE and
// TESSERA_DATA_DIR), not started. Spawn starts one; a cluster runner starts
// several.
func Command(ctx context.Context, environ ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$") //nolint:gosec // G204: the test binary itself
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), environ...)
	return cmd
}

// Proc is a node running in a child process of the test binary.
type Proc struct {
	// URL is the node's base URL.
	URL string

	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex // guards stderr (written by the process's copier)
	stderr bytes.Buffer
}

// Write collects the process's stderr (shown when it fails to start).
func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// Spawn starts a node process (the test binary re-executed; see ChildMain)
// with environ ("TESSERA_KEY=value": at least TESSERA_DATABASE and
// TESSERA_DATA_DIR) on a free port, waits until it is healthy, and kills it
// when the test ends.
func Spawn(t testing.TB, environ ...string) *Proc {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := &Proc{URL: "http://" + addr, done: make(chan struct{})}
	p.cmd = Command(context.Background(), append([]string{"TESSERA_ADDR=" + addr}, environ...)...)
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("node process exited: %s", p.output())
		default:
		}
		if healthy(p.URL) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("node process not healthy after 60s: %s", p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthy(base string) bool {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (p *Proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(p.stderr.String())
}

// Kill kills the process with SIGKILL (kill -9: no shutdown of any kind)
// and waits for it to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
