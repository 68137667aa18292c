package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// contentSecurityPolicy returns the policy for an API whose pages are
// same-origin: the /docs reference (scripts and styles from /docs/assets,
// inline styles set by its renderer, data: images) and the web console.
// Nothing may frame a page, and no plugin or foreign script runs. Pages may
// also fetch from and show images of mediaOrigins (the blob store's signed
// URLs when they are not the node's own). A handler may set its own.
func contentSecurityPolicy(mediaOrigins []string) string {
	media := ""
	for _, o := range mediaOrigins {
		media += " " + o
	}
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:" + media + "; font-src 'self' data:; connect-src 'self'" + media + "; object-src 'none'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// originOf returns the origin (scheme://host[:port]) of an http(s) URL; ""
// for anything else.
func originOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// validOrigins keeps the origins that are exactly an http(s) origin, once
// each: nothing else may reach a policy header.
func validOrigins(origins []string) []string {
	var out []string
	for _, o := range origins {
		if o != "" && originOf(o) == o && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// hsts is sent only on requests that came over TLS (RFC 6797 §7.2).
const hsts = "max-age=63072000; includeSubDomains"

// prepare is the outermost middleware: it gives the request its id and
// reqInfo and sets the headers every response carries.
func (s *Server) prepare(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr := s.proxies.clientAddr(r); addr != r.RemoteAddr {
			r = r.WithContext(r.Context()) // a shallow copy, not the caller's request
			r.RemoteAddr = addr
		}
		info := &reqInfo{id: requestIDFrom(r.Header.Get("X-Request-Id")), log: s.log}
		r = r.WithContext(withReqInfo(r.Context(), info))
		s.setEdgeHeaders(w.Header(), r)
		next.ServeHTTP(w, r)
	})
}

// setEdgeHeaders sets the headers owed to every response: the request id,
// the security headers and, for an allowed origin, CORS. It depends only on
// the request, so recovery can clear a panicking handler's headers and call
// it again.
func (s *Server) setEdgeHeaders(h http.Header, r *http.Request) {
	h.Set("X-Request-Id", RequestID(r.Context()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", s.csp)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", hsts)
	}
	s.cors.setHeaders(h, r)
}

// route dispatches to the mux. Requests no pattern matches get the mux's
// answer (404, 405 with Allow, or a redirect to the cleaned path) turned
// into problem+json; CORS preflights are answered here.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	info := infoFrom(r.Context())
	if isPreflight(r) {
		info.route = routePreflight
		s.cors.preflight(w, r)
		return
	}
	if r.RequestURI == "*" {
		writeProblem(w, r, newProblem(http.StatusBadRequest, "the * request target is not supported"))
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		h.ServeHTTP(&unmatchedWriter{ResponseWriter: w, r: r}, r)
		return
	}
	info.route = pattern
	s.routes.ServeHTTP(w, r)
}

// unmatchedWriter turns the plain-text error the mux writes for a request no
// pattern matches into a problem. Redirects pass through.
//
// Ownership: one request's goroutine.
type unmatchedWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (u *unmatchedWriter) WriteHeader(code int) {
	if code < 400 {
		u.ResponseWriter.WriteHeader(code)
		return
	}
	u.replaced = true
	detail := "no route matches " + u.r.URL.Path
	if code == http.StatusMethodNotAllowed {
		detail = "method " + u.r.Method + " is not allowed on " + u.r.URL.Path
	}
	writeProblem(u.ResponseWriter, u.r, newProblem(code, detail))
}

func (u *unmatchedWriter) Write(b []byte) (int, error) {
	if u.replaced {
		return len(b), nil // the mux's text body, already replaced
	}
	return u.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (u *unmatchedWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// methodLabel bounds the method label's cardinality: clients may send any
// token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// routeLabel is the metrics and log label of a matched pattern: the pattern
// without its method ("GET /rooms/{id}" → "/rooms/{id}"), or "unmatched".
func routeLabel(pattern string) string {
	if pattern == "" {
		return routeUnmatched
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}

const (
	routeUnmatched = "unmatched"
	routePreflight = "preflight"
)
