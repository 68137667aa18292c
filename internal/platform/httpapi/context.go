package httpapi

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// reqInfo is the per-request state the edge keeps in the request context.
//
// Ownership: created by Server.prepare for one request. id and log never
// change after creation, so any goroutine the request starts may read them.
// route is written and read only by the request's own handler goroutine
// (set by Server.route before dispatch, read by Server.observe after it).
type reqInfo struct {
	id    string
	log   *slog.Logger
	route string
}

type reqInfoKey struct{}

func withReqInfo(ctx context.Context, info *reqInfo) context.Context {
	return context.WithValue(ctx, reqInfoKey{}, info)
}

func infoFrom(ctx context.Context) *reqInfo {
	info, _ := ctx.Value(reqInfoKey{}).(*reqInfo)
	return info
}

// RequestID returns the id of the request ctx belongs to (the X-Request-Id of
// its response), or "" outside a request served by a Server.
func RequestID(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// loggerFrom returns the request's logger, or slog.Default outside a request.
func loggerFrom(ctx context.Context) *slog.Logger {
	if info := infoFrom(ctx); info != nil {
		return info.log
	}
	return slog.Default()
}

// maxRequestIDLen bounds a client-supplied X-Request-Id.
const maxRequestIDLen = 128

// requestIDFrom returns the client's X-Request-Id when it is sane (1 to 128
// characters of [A-Za-z0-9._-]), else a new UUIDv7.
func requestIDFrom(header string) string {
	if validRequestID(header) {
		return header
	}
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does; a v4
		// (which panics in the same case) is no better, so fall back to
		// a fixed marker rather than crash the request.
		return "no-request-id"
	}
	return id.String()
}

func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// LogHandler wraps h so that every record logged with a request's context
// (InfoContext(ctx, ...) and friends) carries that request's "request_id".
// Wrapping twice is harmless: an already wrapped handler is returned as is.
// New applies it to Options.Logger; main may apply it to the root logger so
// that apps' and platform packages' lines carry the id too.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(ctxHandler); ok {
		return h
	}
	return ctxHandler{h}
}

// ctxHandler adds the request id found in the context to each record.
type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}
