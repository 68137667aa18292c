//go:build linux

// Command wsrss measures the server's resident memory (RSS) per idle
// websocket connection of the realtime hub, the figure the issue targets
// (under 20 KiB per connection: 10,000 connections in under 200 MiB).
//
// The parent re-executes itself with -child to start the server in its own
// process: a realtime.Hub over an empty in-memory Source, serving /ws with
// the documented usage: the handler Accepts, subscribes the connection to
// one topic (with an Ack frame) and returns; the hub owns the connection
// from then on. That is the idle subscriber case. For each N in -n, a fresh
// child is started; the parent reads the child's VmRSS and RssAnon from
// /proc/<pid>/status before connecting, opens N websocket connections on
// 127.0.0.1 (github.com/coder/websocket), waits for every Ack (so every
// subscription is registered), reads RSS again, then asks the child to
// collect garbage (/debug/mem?gc=1), waits -settle for the background
// scavenger and reads RSS and the Go runtime's figures again, and finally
// asks it to return every free page to the OS (/debug/mem?gc=1&free=1),
// the floor. Only the child is measured: the clients live in the parent.
//
// Reproduce (Linux; about half a minute on 2 vCPU):
//
//	go run ./bench/wsrss -n 1000,10000
//
// Measured on a 2 vCPU AMD EPYC VM, go1.26.8, after GC + settle: N=1,000
// 11.0 KiB/conn; N=10,000 10.4 KiB/conn (116 MiB; 12.4 KiB/conn before the
// first GC, while net/http's discarded buffers are garbage): 4.3 KiB live
// heap (of which 1 KiB are the 512-byte buffers) and a 4 KiB stack (the
// hub's reader goroutine). Before the hub owned its connections (the
// handler blocked in Conn.Wait on net/http's serving goroutine, which kept
// an 8 KiB stack, its connection state and its 4 KiB read and write
// buffers, reused by the websocket after the hijack) it was 24.7 KiB/conn
// at N=10,000 (256 MiB, over the target).
//
// The open-files limit is raised to its hard limit (each process holds N
// sockets); the kernel's socket buffers are not part of a process's RSS and
// are reported separately from /proc/net/sockstat (both ends, loopback).
// 10,000 connections to one port of 127.0.0.1 use 10,000 ephemeral ports
// of the default 32768-60999 range: no tuning is needed below ~28,000.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

func main() {
	child := flag.Bool("child", false, "run the server (internal: the parent starts it)")
	ns := flag.String("n", "1000,10000", "comma-separated connection counts, one fresh server each")
	settle := flag.Duration("settle", 3*time.Second, "wait after the GC before reading the settled RSS")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run")
	flag.Parse()

	if *child {
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, "wsrss child:", err)
			os.Exit(1)
		}
		return
	}
	var counts []int
	for f := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "wsrss: bad -n %q\n", *ns)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, counts, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "wsrss:", err)
		os.Exit(1)
	}
}

// emptyLog is a Source with no events: the hub tails it and finds nothing.
type emptyLog struct{}

func (emptyLog) Read(context.Context, events.Cursor, events.Filter, int) ([]events.Event, error) {
	return nil, nil
}

func (emptyLog) Latest(context.Context) (events.Cursor, error) { return "", nil }

// memReport is the child's view of its Go runtime, after the requested GC.
type memReport struct {
	HeapAlloc  uint64 `json:"heap_alloc"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Sys        uint64 `json:"sys"`
	NextGC     uint64 `json:"next_gc"`
	Goroutines int    `json:"goroutines"`
}

// serve runs the server: it prints its address on stdout, then serves until
// its stdin is closed (the parent exited or is done with it).
func serve() error {
	hub, err := realtime.New(realtime.Options{
		Source:  emptyLog{},
		Compare: func(a, b events.Cursor) int { return strings.Compare(string(a), string(b)) },
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := hub.Start(ctx); err != nil {
		return err
	}
	ack := map[string]string{"type": "subscribed"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := hub.Accept(w, r, realtime.AcceptOptions{})
		if err != nil {
			return
		}
		if err := c.Subscribe(realtime.Subscription{App: "bench", OrgID: "o1", Topics: []string{"room:1"}, Ack: ack}); err != nil {
			c.Close(websocket.StatusInternalError, "subscribe failed")
		}
	})
	mux.HandleFunc("GET /debug/mem", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") != "" {
			runtime.GC()
			runtime.GC()
		}
		if r.URL.Query().Get("free") != "" {
			debug.FreeOSMemory()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		_ = json.NewEncoder(w).Encode(memReport{
			HeapAlloc: m.HeapAlloc, HeapInuse: m.HeapInuse, StackInuse: m.StackInuse,
			Sys: m.Sys, NextGC: m.NextGC, Goroutines: runtime.NumGoroutine(),
		})
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		// The parent closes our stdin when done (or dies): exit then.
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	fmt.Println(ln.Addr().String())
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// server is a running child.
type server struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	addr  string
}

func startServer(ctx context.Context) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-child") // #nosec G204 -- re-executes this very binary
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("child did not report its address: %w", err)
	}
	return &server{cmd: cmd, stdin: stdin, addr: strings.TrimSpace(line)}, nil
}

func (s *server) stop() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func (s *server) mem(ctx context.Context, query string) (memReport, error) {
	var m memReport
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/debug/mem?"+query, nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&m)
	return m, err
}

// rss is a process's resident memory from /proc/<pid>/status, in bytes.
type rss struct{ total, anon uint64 }

func readRSS(pid int) (rss, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rss{}, err
	}
	var r rss
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &r.total
		case "RssAnon":
			dst = &r.anon
		default:
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return rss{}, fmt.Errorf("parse %s: %w", k, err)
		}
		*dst = kb << 10
	}
	return r, nil
}

// sockMem is the kernel's TCP buffer memory (all sockets), in bytes.
func sockMem() uint64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "TCP:" {
			for i := 1; i+1 < len(f); i += 2 {
				if f[i] == "mem" {
					pages, _ := strconv.ParseUint(f[i+1], 10, 64)
					if ps := os.Getpagesize(); ps > 0 {
						return pages * uint64(ps)
					}
					return 0
				}
			}
		}
	}
	return 0
}

// raiseFileLimit lifts the open-files soft limit to what n sockets need.
func raiseFileLimit(n int) error {
	if n < 0 {
		return fmt.Errorf("bad connection count %d", n)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	need := uint64(n) + 512
	if l.Max < need {
		l.Max = need // only root may raise the hard limit
	}
	if l.Cur < need {
		l.Cur = l.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("raise the open-files limit to %d: %w", need, err)
	}
	return nil
}

func run(ctx context.Context, counts []int, settle time.Duration) error {
	maxN := 0
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	// Before starting any child: the children inherit the limit.
	if err := raiseFileLimit(maxN); err != nil {
		return err
	}
	fmt.Printf("wsrss: %s/%s, %d CPU, %s; server = realtime hub, 1 subscription per idle connection\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	for _, n := range counts {
		if err := measure(ctx, n, settle); err != nil {
			return fmt.Errorf("with %d connections: %w", n, err)
		}
	}
	return nil
}

func measure(ctx context.Context, n int, settle time.Duration) error {
	srv, err := startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid

	// Baseline: the server has served a request (its mux, the HTTP machinery
	// and the hub's goroutines are warm), collected and settled.
	if _, err := srv.mem(ctx, "gc=1"); err != nil {
		return err
	}
	time.Sleep(settle)
	m0, err := srv.mem(ctx, "gc=1")
	if err != nil {
		return err
	}
	r0, err := readRSS(pid)
	if err != nil {
		return err
	}
	k0 := sockMem()

	start := time.Now()
	clients, err := connect(ctx, srv.addr, n)
	defer func() {
		for _, c := range clients {
			_ = c.CloseNow()
		}
	}()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	r1, err := readRSS(pid)
	if err != nil {
		return err
	}
	k1 := sockMem()

	m2, err := srv.mem(ctx, "gc=1")
	if err != nil {
		return err
	}
	time.Sleep(settle)
	r2, err := readRSS(pid)
	if err != nil {
		return err
	}
	m3, err := srv.mem(ctx, "gc=1&free=1")
	if err != nil {
		return err
	}
	r3, err := readRSS(pid)
	if err != nil {
		return err
	}

	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) / 1024 }
	fmt.Printf("\nN=%d idle connections (all subscribed in %v)\n", n, elapsed.Round(time.Millisecond))
	fmt.Printf("  baseline            VmRSS %7.1f MiB  RssAnon %7.1f MiB  heap %6.1f MiB  goroutines %d\n",
		mib(r0.total), mib(r0.anon), mib(m0.HeapAlloc), m0.Goroutines)
	row := func(name string, r rss) {
		fmt.Printf("  %-18s  VmRSS %7.1f MiB  (%5.1f KiB/conn)  RssAnon %5.1f KiB/conn\n",
			name, mib(r.total), per(r0.total, r.total), per(r0.anon, r.anon))
	}
	row("connected", r1)
	row("after GC + settle", r2)
	row("after FreeOSMemory", r3)
	fmt.Printf("  Go runtime (after GC): live heap %.1f KiB/conn, heap in use %.1f KiB/conn, stacks %.1f KiB/conn, "+
		"goroutines %.2f/conn, next GC at %.1f MiB\n",
		per(m0.HeapAlloc, m2.HeapAlloc), per(m0.HeapInuse, m2.HeapInuse), per(m0.StackInuse, m2.StackInuse),
		float64(m2.Goroutines-m0.Goroutines)/float64(n), mib(m2.NextGC))
	fmt.Printf("  after FreeOSMemory: live heap %.1f KiB/conn, Sys %.1f MiB\n", per(m0.HeapAlloc, m3.HeapAlloc), mib(m3.Sys))
	fmt.Printf("  kernel TCP buffer pages (/proc/net/sockstat mem, both ends; not RSS, socket structs not included): %.2f KiB/conn\n", per(k0, k1))
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// connect opens n websocket connections and reads each one's Ack; the
// connections then only answer pings and close frames (CloseRead).
func connect(ctx context.Context, addr string, n int) ([]*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	url := "ws://" + addr + "/ws"
	conns := make([]*websocket.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := dialOne(ctx, url)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i, err); cancel() })
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, firstErr
}

func dialOne(ctx context.Context, url string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	typ, msg, err := c.Read(ctx)
	if err != nil {
		_ = c.CloseNow()
		return nil, fmt.Errorf("read ack: %w", err)
	}
	if typ != websocket.MessageText || !strings.Contains(string(msg), `"subscribed"`) {
		_ = c.CloseNow()
		return nil, fmt.Errorf("unexpected first frame %q", msg)
	}
	c.CloseRead(context.Background())
	return c, nil
}
