package servicetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 30 * time.Second

// Redis is a private redis-server process without persistence (no RDB
// snapshot, no append-only file): a restart starts empty, as a Redis used
// only for fan-out and rate limits may.
type Redis struct {
	t    testing.TB
	path string
	port int
	proc *redisProc // the running process; nil while stopped
}

// redisProc is one run of redis-server.
type redisProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	mu   sync.Mutex    // guards out (written by the process's copier)
	out  bytes.Buffer
}

// Write collects the process's output (shown when it fails to start).
func (p *redisProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *redisProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(p.out.String())
}

// StartRedis starts a redis-server on a free port of 127.0.0.1, waits until
// it answers PING, and stops it when the test ends. It skips the test when
// redis-server is not installed.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	r := &Redis{t: t, path: path, port: freePort(t)}
	t.Cleanup(r.kill)
	r.Start()
	return r
}

// URL is the server's address for TESSERA_REDIS: redis://127.0.0.1:port/0.
func (r *Redis) URL() string {
	return "redis://" + hostPort(r.port) + "/0"
}

// Stop kills the server (SIGKILL: an abrupt outage, every connection
// dropped) and waits for it to be gone. The port stays the server's: Start
// listens on it again.
func (r *Redis) Stop() {
	r.t.Helper()
	if r.proc == nil {
		r.t.Fatal("servicetest: Redis.Stop: the server is not running")
	}
	r.kill()
}

// kill stops the process, if any.
func (r *Redis) kill() {
	if r.proc == nil {
		return
	}
	_ = r.proc.cmd.Process.Kill()
	<-r.proc.done
	r.proc = nil
}

// Start starts the server (again) on its port and waits until it answers
// PING.
func (r *Redis) Start() {
	r.t.Helper()
	if r.proc != nil {
		r.t.Fatal("servicetest: Redis.Start: the server is already running")
	}
	p := &redisProc{done: make(chan struct{})}
	p.cmd = exec.CommandContext(context.Background(), r.path, //nolint:gosec // G204: redis-server from PATH, fixed arguments
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		r.t.Fatalf("servicetest: start redis-server: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	r.proc = p
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.done:
			r.proc = nil
			r.t.Fatalf("servicetest: redis-server on port %d exited: %s", r.port, p.output())
		default:
		}
		if ping(hostPort(r.port)) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("servicetest: redis-server on port %d not answering after %s: %s", r.port, startTimeout, p.output())
		}
	}
}

// Restart stops the server and starts it again on the same port.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Stop()
	r.Start()
}

// ping reports whether a Redis at addr answers PING with PONG.
func ping(addr string) bool {
	c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return false
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return false
	}
	if _, err := fmt.Fprint(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}
