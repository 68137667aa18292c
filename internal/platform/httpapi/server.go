// Package httpapi is Tessera's HTTP edge: the one http.Handler every app
// mounts on. It owns what every route shares:
//
//   - typed operations through Huma v2 (OpenAPI 3.1 at /openapi.json, an
//     offline reference at /docs) next to raw net/http routes on the same
//     Go 1.22 ServeMux (websockets, downloads);
//   - RFC 9457 problem+json for every failure, including Huma's validation
//     errors, unknown routes and methods, and panics, with *fault.Error codes
//     mapped to statuses in one place (problem.go);
//   - request ids, security headers, CORS, panic recovery, one JSON log line
//     and Prometheus metrics per request;
//   - /healthz, /readyz and /metrics, and Serve with graceful shutdown.
//
// An app registers operations on Group("/<app>") with huma.Register and raw
// handlers with Handle; main serves Handler() with Serve.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server. The zero value works: a closed CORS policy, no
// readiness checks, slog.Default and a new metrics registry.
type Options struct {
	// Title and Version are the OpenAPI document's info.
	Title, Version string
	// Logger receives the request log lines and internal errors; nil means
	// slog.Default(). It is wrapped with LogHandler.
	Logger *slog.Logger
	// CORSOrigins are the exact origins (scheme://host[:port]) allowed to
	// call the API from a browser. Empty means CORS is closed: no
	// Access-Control-Allow-Origin header is ever sent.
	CORSOrigins []string
	// TrustedProxies are the load balancers whose X-Forwarded-For names the
	// client (ParseTrustedProxies): the request's RemoteAddr becomes the
	// client's address, for logs and per-IP limits. Empty: none trusted.
	TrustedProxies []netip.Prefix
	// MediaOrigins are origins (scheme://host[:port]) besides the server's
	// own that its pages may fetch from and show images of: where the blob
	// store's signed URLs point. Anything else is ignored.
	MediaOrigins []string
	// Checks are run by /readyz.
	Checks []Check
	// Metrics is the registry /metrics serves and the HTTP metrics are
	// registered on; nil means a new registry with the Go and process
	// collectors.
	Metrics *prometheus.Registry
	// Authenticate, when set, wraps every matched route (the authorizer):
	// it runs inside the request id, logging, metrics and recovery, so its
	// problems carry the request id. Nil serves every route anonymously.
	Authenticate func(http.Handler) http.Handler
}

// Check is one readiness check: /readyz runs Check with a timeout
// (CheckTimeout) and reports Name as failed when it returns an error.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Server is the HTTP edge: a ServeMux holding Huma operations and raw
// routes, behind the middleware chain. Register every route before serving:
// the mux and the OpenAPI document are written during registration and only
// read afterwards (ServeMux itself is safe for concurrent use; the OpenAPI
// document is not, which is why /openapi.json is built once, on first use).
type Server struct {
	mux     *http.ServeMux
	routes  http.Handler // mux, behind Options.Authenticate when set
	api     huma.API
	log     *slog.Logger
	cors    corsPolicy
	csp     string // the Content-Security-Policy of every response
	proxies trustedProxies
	checks  []Check
	metrics *metrics
	openapi openAPIDoc
	handler http.Handler
}

// New returns a Server with the platform routes registered: /healthz,
// /readyz, /metrics, /openapi.json, /docs and /docs/assets/.
func New(opts Options) *Server {
	installHumaErrors()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(LogHandler(log.Handler()))
	title, version := opts.Title, opts.Version
	if title == "" {
		title = "Tessera"
	}
	if version == "" {
		version = "dev"
	}
	s := &Server{
		mux:     http.NewServeMux(),
		log:     log,
		cors:    newCORSPolicy(opts.CORSOrigins),
		csp:     contentSecurityPolicy(validOrigins(opts.MediaOrigins)),
		proxies: opts.TrustedProxies,
		checks:  opts.Checks,
		metrics: newMetrics(opts.Metrics),
	}
	s.routes = s.mux
	if opts.Authenticate != nil {
		s.routes = opts.Authenticate(s.mux)
	}
	s.api = humago.New(s.mux, humaConfig(title, version))
	s.api.UseMiddleware(guardValidation(s.api))
	s.handler = s.prepare(s.observe(s.recoverPanics(http.HandlerFunc(s.route))))

	s.registerHealth()
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.HandleFunc("GET /openapi.json", s.serveOpenAPI)
	registerDocs(s.mux)
	return s
}

// humaConfig is huma.DefaultConfig without what the contract rules out:
//   - Huma's /docs loads its renderer from a CDN; ours is embedded (docs.go);
//   - Huma's /openapi.json handler caches the document without a lock; ours
//     builds it once under a sync.Once (openapi.go);
//   - the schema link transformer adds a "$schema" field to every response
//     and /schemas routes: noise in responses a client may send back, where
//     an unknown field is a 400.
//
// It adds problemTransformer and the registration check of humaguard.go.
func humaConfig(title, version string) huma.Config {
	cfg := huma.DefaultConfig(title, version)
	cfg.DocsPath = ""
	cfg.OpenAPIPath = ""
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil
	cfg.Transformers = []huma.Transformer{problemTransformer}
	cfg.OnAddOperation = append(cfg.OnAddOperation, checkUniqueItems)
	return cfg
}

// API returns the root Huma API: operations registered on it are served at
// their path as given.
func (s *Server) API() huma.API { return s.api }

// Group returns the API under prefix (e.g. "/messaging"): an operation with
// path "/rooms" registered on it is served, and documented, at
// "/messaging/rooms". Operation ids are global: prefix them with the app.
func (s *Server) Group(prefix string) huma.API {
	return huma.NewGroup(s.api, strings.TrimSuffix(prefix, "/"))
}

// Handle registers a raw handler on the same mux and behind the same
// middleware as the Huma operations. pattern is a Go 1.22 ServeMux pattern
// ("GET /files/{id}/content"). Raw handlers report failures with
// WriteProblem and enforce their own body limits.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the mux wrapped in the middleware chain, outermost first:
// request id and security and CORS headers, logging and metrics, panic
// recovery, then routing (CORS preflights, problem+json 404/405).
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the registry /metrics serves, for other packages'
// collectors.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.registry }

// responseHeader returns the response headers of a Huma request.
func responseHeader(ctx huma.Context) http.Header {
	_, w := humago.Unwrap(ctx)
	return w.Header()
}
