package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
)

// StopTimeout bounds a process's graceful stop after SIGTERM; past it the
// process is killed. It is above a node's own shutdown bound: requests
// drain for up to httpapi.ShutdownTimeout, then running jobs for as long
// again plus jobs.StopGrace.
const StopTimeout = 2*httpapi.ShutdownTimeout + jobs.StopGrace + 5*time.Second

// pollInterval is how often a starting process is checked.
const pollInterval = 50 * time.Millisecond

// process is a child process of the runner, its output appended to a log
// file. A goroutine waits for it and closes done.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	// done is closed once the process has exited; err (Wait's result) is
	// written before and read only after.
	done chan struct{}
	err  error
	// killed is set by kill: the exit it causes is no failure.
	killed atomic.Bool
}

// startProcess starts cmd, named name in errors, with its stdout and stderr
// appended to logPath, in a process group of its own: Ctrl-C in a terminal
// reaches the runner only, which stops its processes in order.
func startProcess(name string, cmd *exec.Cmd, logPath string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // G304: a fixed name under the cluster directory
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	defer func() { _ = f.Close() }() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = f, f
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// failure describes the exit of a process that has exited: its status and
// the last line of its log, where a failing command says why.
func (p *process) failure() error {
	status := p.err
	if status == nil {
		status = errors.New("exit status 0")
	}
	return fmt.Errorf("%s exited (%w): %s (log %s)", p.name, status, lastLine(p.log), p.log)
}

// terminate asks the process to stop (SIGTERM).
func (p *process) terminate() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only when it has exited already
}

// wait waits until deadline for the process to exit, then kills it. It
// returns an error unless the process exited with status 0 or was killed by
// kill.
func (p *process) wait(deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed (log %s)", p.name, StopTimeout, p.log)
	}
	if p.err != nil && !p.killed.Load() {
		return p.failure()
	}
	return nil
}

// stop stops the process gracefully (SIGTERM, then SIGKILL after
// StopTimeout) and waits for it.
func (p *process) stop() error {
	p.terminate()
	return p.wait(time.Now().Add(StopTimeout))
}

// kill kills the process (SIGKILL) and waits for it.
func (p *process) kill() {
	p.killed.Store(true)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitFor polls check until it succeeds, failing when the process exits,
// when timeout passes (with check's last error) or when ctx is done.
func (p *process) waitFor(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.failure()
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", p.name, ctx.Err())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s: %w (log %s)", p.name, timeout, err, p.log)
		}
	}
}

// lastLine returns the last non-empty line of the file at path (read from
// its last 4 KiB), or "" when there is none.
func lastLine(path string) string {
	f, err := os.Open(path) //nolint:gosec // G304: a log file the runner created
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && st.Size() > 4096 {
		if _, err := f.Seek(-4096, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return strings.TrimSpace(string(b))
}
