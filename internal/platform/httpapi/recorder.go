package httpapi

import (
	"bufio"
	"net"
	"net/http"
)

// recorder wraps a ResponseWriter to learn the status and size of the
// response, for the log line, the metrics and panic recovery. It passes
// Flush and Hijack through, and Unwrap lets http.ResponseController (and
// libraries such as coder/websocket) reach the connection.
//
// Ownership: one request's goroutine.
type recorder struct {
	http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 || (w.status >= 100 && w.status < 200 && code >= 200) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// wroteHeader reports whether the response head may have gone out: after
// that, a failure can only abort the connection. A 1xx head is interim:
// a final one can still follow.
func (w *recorder) wroteHeader() bool {
	return w.hijacked || w.status >= 200
}

// Flush implements http.Flusher.
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return conn, rw, err
}

// Unwrap returns the wrapped writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOrOK is the status the client saw: 200 when the handler wrote
// nothing.
func (w *recorder) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
