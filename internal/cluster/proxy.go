package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// NodeHeader is the response header in which the proxy names the node that
// answered (its base URL), so a developer, or a test, sees where a request
// went.
const NodeHeader = "X-Tessera-Node"

// DefaultHealthInterval is how often the proxy checks each node's /healthz.
const DefaultHealthInterval = 500 * time.Millisecond

// healthTimeout bounds one /healthz check: generous, so a node slowed by a
// busy machine is not taken for a dead one (which refuses at once).
const healthTimeout = 3 * time.Second

// dialTimeout bounds a connection attempt to a node: on 127.0.0.1 a dead
// node refuses at once; this only guards against a hung one.
const dialTimeout = 2 * time.Second

// errNoNode is the answer when no node is healthy: 503, Retry-After: 1.
var errNoNode = &fault.Error{Code: fault.Unavailable, Message: "no node of the cluster is up", RetryAfter: 1}

// ProxyOptions tune a Proxy.
type ProxyOptions struct {
	// Interval is the health-check period of Run; 0 means
	// DefaultHealthInterval.
	Interval time.Duration
	// Logger receives nodes going down and up and failed requests; nil
	// discards them.
	Logger *slog.Logger
}

// Proxy is a round-robin reverse proxy over the nodes of a cluster
// (net/http/httputil.ReverseProxy, so websocket upgrades pass through).
//
// Requests go only to nodes marked healthy, in turn. A node is marked down
// when a connection to it fails (refused: the process is gone), and down or
// up by the health checks of Check and Run (GET /healthz). A request whose connection
// failed was never received, so an idempotent one (GET, HEAD or OPTIONS
// without a body) is retried on the next healthy node; any other gets 502.
// With no healthy node the answer is a 503 problem with Retry-After: 1.
//
// The node sees the Host the client asked for (websocket origin checks and
// links stay right) and X-Forwarded-For, -Host and -Proto set from the
// client's connection (any the client sent are dropped); responses carry
// NodeHeader.
type Proxy struct {
	// backends is fixed by NewProxy; each one's health is its own atomic.
	backends []*backend
	// next is the round-robin counter, shared by every request: an atomic.
	next      atomic.Uint64
	transport *http.Transport
	interval  time.Duration
	log       *slog.Logger
}

// backend is one node behind the proxy.
type backend struct {
	url   *url.URL
	proxy *httputil.ReverseProxy
	// healthy is written by the checks (Check, Run) and by any request whose
	// connection failed, and read by every request: an atomic, no lock.
	healthy atomic.Bool
}

// attempt is one request's state across its tries, reached through the
// request's context by the ErrorHandler, which runs on the request's own
// goroutine: no lock.
type attempt struct {
	retry   bool // the request may be sent again (idempotent, no body)
	refused bool // the last try's connection failed and the handler wrote nothing
}

type attemptKey struct{}

// NewProxy returns a proxy over the nodes at baseURLs (http://host:port),
// all taken as healthy until a connection or a check says otherwise. Run
// runs the health checks.
func NewProxy(baseURLs []string, opts ProxyOptions) (*Proxy, error) {
	if len(baseURLs) == 0 {
		return nil, errors.New("proxy: no node")
	}
	p := &Proxy{interval: opts.Interval, log: opts.Logger}
	if p.interval <= 0 {
		p.interval = DefaultHealthInterval
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	for _, raw := range baseURLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("proxy: node URL %q: want http://host:port", raw)
		}
		b := &backend{url: u}
		b.healthy.Store(true)
		b.proxy = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.Out.Host = pr.In.Host
				pr.SetXForwarded()
			},
			Transport: p.transport,
			ModifyResponse: func(resp *http.Response) error {
				resp.Header.Set(NodeHeader, u.String())
				return nil
			},
			ErrorHandler: p.errorHandler(b),
			ErrorLog:     slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		}
		p.backends = append(p.backends, b)
	}
	return p, nil
}

// ServeHTTP sends r to the next healthy node, trying the others in turn
// while an idempotent request finds connections refused.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &attempt{retry: (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions) && r.ContentLength == 0}
	r = r.WithContext(context.WithValue(r.Context(), attemptKey{}, a))
	for range p.backends {
		b := p.pick()
		if b == nil {
			break
		}
		a.refused = false
		b.proxy.ServeHTTP(w, r)
		if !a.refused {
			return
		}
	}
	httpapi.WriteProblem(w, r, errNoNode)
}

// pick returns the next healthy node in turn, or nil when none is.
func (p *Proxy) pick() *backend {
	n := uint64(len(p.backends))
	start := p.next.Add(1) - 1
	for i := range n {
		if b := p.backends[(start+i)%n]; b.healthy.Load() {
			return b
		}
	}
	return nil
}

// errorHandler handles a failed round trip to b: a failed connection marks
// b down and, for a request that may be retried, leaves the answer to the
// next node; anything else is a 502 problem.
func (p *Proxy) errorHandler(b *backend) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		a, _ := r.Context().Value(attemptKey{}).(*attempt)
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			p.setHealthy(b, false)
			if a != nil && a.retry {
				a.refused = true
				return
			}
		}
		if r.Context().Err() == nil {
			p.log.Warn("proxy: request failed", "node", b.url.String(), "method", r.Method, "path", r.URL.Path, "err", err)
		}
		httpapi.WriteProblem(w, r, &httpapi.Problem{Status: http.StatusBadGateway, Detail: "the node did not answer"})
	}
}

// setHealthy records b's health and logs a change.
func (p *Proxy) setHealthy(b *backend, healthy bool) {
	if b.healthy.Swap(healthy) == healthy {
		return
	}
	if healthy {
		p.log.Info("proxy: node up", "node", b.url.String())
	} else {
		p.log.Warn("proxy: node down", "node", b.url.String())
	}
}

// Check checks every node's /healthz once, marking it healthy on a 200 and
// down otherwise.
func (p *Proxy) Check(ctx context.Context) {
	client := &http.Client{Transport: p.transport, Timeout: healthTimeout}
	var wg sync.WaitGroup
	for _, b := range p.backends {
		wg.Go(func() {
			ok := healthz(ctx, client, b.url)
			if ctx.Err() == nil {
				p.setHealthy(b, ok)
			}
		})
	}
	wg.Wait()
}

// Run calls Check every interval until ctx is done.
func (p *Proxy) Run(ctx context.Context) {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.Check(ctx)
		}
	}
}

// healthz reports whether GET base/healthz answers 200.
func healthz(ctx context.Context, client *http.Client, base *url.URL) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath("healthz").String(), nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Close releases the proxy's idle connections to the nodes.
func (p *Proxy) Close() { p.transport.CloseIdleConnections() }
