package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// observe logs one line and records the metrics of every request, after it
// is served, including when a panic aborts it.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inFlight.Inc()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			s.metrics.inFlight.Dec()
			elapsed := time.Since(start)
			info := infoFrom(r.Context())
			route, method, status := routeLabel(info.route), methodLabel(r.Method), rec.statusOrOK()
			s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes", rec.bytes),
				slog.String("remote", r.RemoteAddr),
			)
		}()
		next.ServeHTTP(rec, r)
	})
}
