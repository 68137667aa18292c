package httpapi

import (
	"fmt"
	"net/http"
	"runtime/debug"
)

// recoverPanics turns a panic in any handler (Huma or raw) into a 500
// problem. The panic value and stack trace go to the log only, with the
// request id; the client sees the generic internal error. It must wrap the
// *recorder that observe installs: it needs to know whether the response
// head went out. http.ErrAbortHandler is re-panicked, as net/http expects;
// so is any panic after the head went out, as ErrAbortHandler, to cut the
// connection rather than let a truncated response look complete.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			rec, ok := w.(*recorder)
			if !ok || rec.wroteHeader() {
				panic(http.ErrAbortHandler)
			}
			h := w.Header()
			clear(h)
			s.setEdgeHeaders(h, r)
			writeProblem(w, r, newProblem(http.StatusInternalServerError, ""))
		}()
		next.ServeHTTP(w, r)
	})
}
