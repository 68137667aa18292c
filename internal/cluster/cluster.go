// Package cluster runs a Tessera cluster on one machine, for development and
// tests: Postgres and Redis (used when they answer, else started), versitygw
// as the S3 store, N node processes on 127.0.0.1 ports sharing the three,
// and a round-robin reverse proxy (Proxy) in front of the nodes. Stop
// stops the nodes gracefully, then the proxy and whatever services it
// started, never ones that were running already.
//
// Everything the cluster writes is under its directory: node-<i>/ (each
// node's data directory), s3/ (versitygw's buckets), logs/ (one file per
// process and the proxy's log) and mail/, the one mail sink of every node
// (node-<i>/mail links to it, so a confirmation code is found in one place
// whichever node's job sent it).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// StartTimeout bounds the wait for a node to be ready (/readyz): its first
// start migrates every app's schema.
const StartTimeout = 2 * time.Minute

// Options configure Start.
type Options struct {
	// Nodes is how many node processes run (at least 1).
	Nodes int
	// Addr is the proxy's listen address (host:port; port 0 picks one).
	Addr string
	// Dir holds the cluster's files (created if missing).
	Dir string
	// Postgres is the database URL of every node
	// (postgres://…/DATABASE; the database is created if missing).
	Postgres string
	// Redis is the Redis URL of every node.
	Redis string
	// S3, when set, is the blob store of the nodes instead of a versitygw
	// the runner starts (its bucket is created if missing).
	S3 *S3
	// Environ is the base environment of the nodes ("KEY=value"): every
	// variable passes through except the settings the cluster makes
	// (TESSERA_ADDR, _DATA_DIR, _DATABASE, _REDIS, _BLOBS, _S3_ACCESS_KEY,
	// _S3_SECRET_KEY and _PUBLIC_URL).
	Environ []string
	// Node returns the command of one node process with env, the complete
	// environment it must run with (Environ and the cluster's settings).
	// The runner starts it, so it must not be started; the runner also
	// stops it, with SIGTERM.
	Node func(env []string) *exec.Cmd
}

// validate checks opts before anything starts.
func (o Options) validate() error {
	if o.Nodes < 1 {
		return fmt.Errorf("nodes: want at least 1, got %d", o.Nodes)
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return fmt.Errorf("addr: want host:port, got %q", o.Addr)
	}
	if o.Dir == "" {
		return errors.New("dir: required")
	}
	u, err := url.Parse(o.Postgres)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("postgres: want postgres://user@host:port/database, got %q", o.Postgres)
	}
	if _, err := redis.ParseURL(o.Redis); err != nil {
		return fmt.Errorf("redis: want redis://host:port/db: %w", err)
	}
	if o.Node == nil {
		return errors.New("cluster: no node command")
	}
	return nil
}

// Cluster is a running cluster. Its fields are set by Start and read-only
// afterwards.
type Cluster struct {
	// URL is the proxy's base URL, also every node's public_url (the issuer
	// of its tokens and the base of its links).
	URL string
	// Nodes are the node processes, in order.
	Nodes []*Node
	// Dir is the cluster's directory.
	Dir string
	// Postgres and Redis are the URLs the nodes use; S3 is their blob store.
	Postgres string
	Redis    string
	S3       S3
	// Started names the services the runner started, and Stop stops:
	// "postgres", "redis-server", "versitygw". The others were running
	// already (or given).
	Started []string

	// stops undo the steps of Start, run last first by Stop. Start appends
	// to it; Stop runs it once (stopOnce).
	stops    []func() error
	stopOnce sync.Once
	stopErr  error
}

// Node is one node process of the cluster.
type Node struct {
	// URL is the node's own base URL (http://127.0.0.1:port).
	URL string
	// Dir is its data directory; Log the file its output is appended to.
	Dir string
	Log string

	proc *process
}

// Kill kills the node's process with SIGKILL (kill -9: no shutdown of any
// kind), as a fault test does; Stop does not count that exit as a failure.
func (n *Node) Kill() { n.proc.kill() }

// Start starts a cluster of opts: the services, the proxy on opts.Addr,
// then the nodes, and returns once every node is ready. On failure, or when
// ctx is done first, it stops what it started and returns the error.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: opts.Dir, Postgres: opts.Postgres, Redis: opts.Redis}
	if err := c.start(ctx, opts); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opts Options) error {
	for _, dir := range []string{c.Dir, c.LogDir(), c.MailDir()} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	// Listen first: the proxy's URL is every node's public URL, and a taken
	// port fails before anything starts.
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	c.push(func() error { // closed by the proxy's server once it serves
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	c.URL = "http://" + publicAddr(ln.Addr().(*net.TCPAddr))

	if err := c.startPostgres(ctx, opts.Postgres); err != nil {
		return err
	}
	if err := c.startRedis(ctx, opts.Redis); err != nil {
		return err
	}
	if err := c.startS3(ctx, opts.S3); err != nil {
		return err
	}
	urls := make([]string, opts.Nodes)
	for i := range urls {
		addr, err := freeAddr(ctx)
		if err != nil {
			return err
		}
		urls[i] = "http://" + addr
	}
	// The proxy serves before the nodes start so that Stop, which runs the
	// steps last first, stops the nodes before it.
	watch, err := c.serveProxy(ln, urls)
	if err != nil {
		return err
	}
	if err := c.startNodes(opts, urls); err != nil {
		return err
	}
	for i, n := range c.Nodes {
		err := n.proc.waitFor(ctx, StartTimeout, func(ctx context.Context) error { return ready(ctx, n.URL) })
		if err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
	}
	watch(ctx)
	return nil
}

// publicAddr is addr as a client reaches it: 127.0.0.1 for an unspecified
// (all interfaces) address.
func publicAddr(addr *net.TCPAddr) string {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// startNodes starts a node process listening at each of urls (Stop stops
// them all at once).
func (c *Cluster) startNodes(opts Options, urls []string) error {
	c.push(c.stopNodes)
	for i, u := range urls {
		name := "node-" + strconv.Itoa(i+1)
		n := &Node{URL: u, Dir: filepath.Join(c.Dir, name), Log: c.logPath(name)}
		if err := os.MkdirAll(n.Dir, 0o750); err != nil {
			return err
		}
		if err := os.Symlink(filepath.Join("..", "mail"), filepath.Join(n.Dir, "mail")); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: mail directory: %w", name, err)
		}
		env := mergeEnv(opts.Environ,
			"TESSERA_ADDR="+strings.TrimPrefix(u, "http://"),
			"TESSERA_DATA_DIR="+n.Dir,
			"TESSERA_DATABASE="+c.Postgres,
			"TESSERA_REDIS="+c.Redis,
			"TESSERA_BLOBS="+c.S3.URL,
			"TESSERA_S3_ACCESS_KEY="+c.S3.AccessKey,
			"TESSERA_S3_SECRET_KEY="+c.S3.SecretKey,
			"TESSERA_PUBLIC_URL="+c.URL,
			// The proxy is on loopback: nodes take the client's address from
			// its X-Forwarded-For, so per-IP limits see clients.
			"TESSERA_TRUSTED_PROXIES=127.0.0.1,::1",
		)
		var err error
		if n.proc, err = startProcess(name, opts.Node(env), n.Log); err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, n)
	}
	return nil
}

// mergeEnv returns base without the variables set names, then set.
func mergeEnv(base []string, set ...string) []string {
	key := func(kv string) string { k, _, _ := strings.Cut(kv, "="); return k }
	env := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		return slices.ContainsFunc(set, func(s string) bool { return key(s) == key(kv) })
	})
	return append(env, set...)
}

// stopNodes sends every node SIGTERM at once and waits for all of them,
// killing those still running after StopTimeout.
func (c *Cluster) stopNodes() error {
	for _, n := range c.Nodes {
		n.proc.terminate()
	}
	deadline := time.Now().Add(StopTimeout)
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.proc.wait(deadline))
	}
	return errors.Join(errs...)
}

// serveProxy serves a Proxy over urls on ln, its log in logs/proxy.log,
// until Stop. Requests that arrive while the nodes start meet refused
// connections: 503. Once the nodes are ready, watch checks them all (so the
// proxy sends them requests) and starts the periodic checks.
func (c *Cluster) serveProxy(ln net.Listener, urls []string) (watch func(context.Context), err error) {
	f, err := os.OpenFile(c.logPath("proxy"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // G304: a fixed name under the cluster directory
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(f, nil))
	proxy, err := NewProxy(urls, ProxyOptions{Logger: log})
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- httpapi.Serve(ctx, ln, proxy, log) }()
	var checks sync.WaitGroup
	c.push(func() error {
		cancel()
		err := <-served
		checks.Wait()
		proxy.Close()
		return errors.Join(err, f.Close())
	})
	return func(start context.Context) {
		proxy.Check(start)
		checks.Go(func() { proxy.Run(ctx) })
	}, nil
}

// ready reports whether the node at base answers /readyz with 200.
func ready(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// push adds an undo step for Stop.
func (c *Cluster) push(stop func() error) { c.stops = append(c.stops, stop) }

// started records a service the runner started, and how Stop stops it.
func (c *Cluster) started(name string, stop func() error) {
	c.Started = append(c.Started, name)
	c.push(stop)
}

// LogDir holds the log file of each process (<name>.log) and the proxy's
// (proxy.log).
func (c *Cluster) LogDir() string { return filepath.Join(c.Dir, "logs") }

// logPath is the log file of the process name.
func (c *Cluster) logPath(name string) string { return filepath.Join(c.LogDir(), name+".log") }

// MailDir is the mail sink of every node (.eml files).
func (c *Cluster) MailDir() string { return filepath.Join(c.Dir, "mail") }

// Stop stops the cluster: the nodes gracefully (SIGTERM, at most
// StopTimeout, then SIGKILL), the proxy, then the services the runner
// started. It returns what went wrong (a node that did not exit cleanly);
// later calls return the same.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		for i := len(c.stops) - 1; i >= 0; i-- {
			errs = append(errs, c.stops[i]())
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}
