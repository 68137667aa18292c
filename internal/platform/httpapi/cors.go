package httpapi

import (
	"net/http"
	"strings"
)

// corsPolicy allows exact origins. With none, CORS is closed: no response
// ever carries Access-Control-Allow-Origin. Wildcards are not supported.
// Credentials (cookies) are not allowed: the API authenticates with the
// Authorization header, which a page sends without them.
//
// Ownership: built by New, read-only afterwards.
type corsPolicy struct {
	origins map[string]bool
}

// Headers of CORS responses.
const (
	corsAllowMethods  = "GET, HEAD, POST, PUT, PATCH, DELETE"
	corsExposeHeaders = "X-Request-Id, Location, Retry-After, ETag, WWW-Authenticate"
	corsMaxAge        = "600"
	// maxRequestHeadersLen bounds the echoed Access-Control-Request-Headers.
	maxRequestHeadersLen = 1024
)

func newCORSPolicy(origins []string) corsPolicy {
	p := corsPolicy{origins: map[string]bool{}}
	for _, o := range origins {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o != "" {
			p.origins[o] = true
		}
	}
	return p
}

func (p corsPolicy) allowed(origin string) bool {
	return origin != "" && p.origins[origin]
}

// setHeaders adds the headers of a CORS response to an actual (not
// preflight) request. Vary: Origin is always set, so a cache never serves one
// origin's answer to another.
func (p corsPolicy) setHeaders(h http.Header, r *http.Request) {
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !p.allowed(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight: 204 with the allowed methods and the
// requested headers for an allowed origin, a 403 problem without any CORS
// header otherwise.
func (p corsPolicy) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if !p.allowed(r.Header.Get("Origin")) {
		writeProblem(w, r, newProblem(http.StatusForbidden, "origin not allowed"))
		return
	}
	h.Del("Access-Control-Expose-Headers") // only meaningful on actual responses
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	if req := requestedHeaders(r.Header.Values("Access-Control-Request-Headers")); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// requestedHeaders returns the header names a preflight asks for, cleaned:
// only valid tokens are echoed back, and the list is bounded. The origin is
// trusted, so any header it asks for is allowed.
func requestedHeaders(values []string) string {
	var names []string
	total := 0
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" || !isToken(name) {
				continue
			}
			total += len(name) + 2
			if total > maxRequestHeadersLen {
				return strings.Join(names, ", ")
			}
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}
