package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail, the body of every error response:
// {"type","title","status","detail","errors":[{"location","message","value"}]}.
//
// Handlers do not build it: they return a *fault.Error (or any error, which
// becomes an internal error) and the edge maps it. Huma's own errors
// (validation, parsing, huma.Error404NotFound, ...) are Problems too, because
// New installs this package's constructor as huma.NewError.
type Problem struct {
	Type   string              `json:"type" doc:"A URI reference naming the problem type; about:blank when the status says it all."`
	Title  string              `json:"title" doc:"A short summary of the problem type: the HTTP status text."`
	Status int                 `json:"status" doc:"The HTTP status code."`
	Detail string              `json:"detail" doc:"A human-readable explanation of this occurrence."`
	Errors []*huma.ErrorDetail `json:"errors" nullable:"false" doc:"The individual errors, e.g. one per invalid field; may be empty."`
	Reason string              `json:"reason,omitempty" doc:"A machine-readable reason where an app's protocol defines one (messaging: TOO_MANY_RULES, ROOM_FULL)."`

	// headers are set on the response unless the handler already set them
	// (Retry-After, WWW-Authenticate).
	headers http.Header
	// cause is logged, never shown.
	cause error
}

// Error implements error.
func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are
// application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return ProblemContentType
	}
	return ct
}

// StatusOf maps each fault code to its HTTP status: the one place it is
// done, for HTTP problems and websocket error frames alike. An unknown code
// is a bug: 500.
func StatusOf(code fault.Code) int {
	switch code {
	case fault.Invalid:
		return http.StatusUnprocessableEntity
	case fault.Malformed:
		return http.StatusBadRequest
	case fault.Unauthorized:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.Precondition:
		return http.StatusPreconditionFailed
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.Unsupported:
		return http.StatusUnsupportedMediaType
	case fault.RateLimited:
		return http.StatusTooManyRequests
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	default: // fault.Internal and unknown codes
		return http.StatusInternalServerError
	}
}

// Default Retry-After values, in seconds, when a fault sets none.
const (
	defaultRetryAfterRateLimited = 1
	defaultRetryAfterUnavailable = 5
)

// newProblem returns a problem with the status's title and no field errors.
func newProblem(status int, detail string) *Problem {
	return &Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Errors: []*huma.ErrorDetail{},
	}
}

// problemFromFault maps a fault; err is the error that carried it (it may wrap
// f), kept as the cause when there is something worth logging.
func problemFromFault(f *fault.Error, err error) *Problem {
	status := StatusOf(f.Code)
	p := newProblem(status, f.Message)
	p.Reason = f.Reason
	for _, fe := range f.Fields {
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: fe.Location, Message: fe.Message, Value: safeValue(fe.Value)})
	}
	switch status {
	case http.StatusInternalServerError:
		p.Errors = p.Errors[:0]
		p.cause = err
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if f.RetryAfter > 0 {
			p.headers = http.Header{"Retry-After": {strconv.Itoa(f.RetryAfter)}}
		}
	}
	if f.Err != nil {
		p.cause = err
	}
	return p
}

// problemFromError maps any error a handler returns: a fault by its code, a
// huma.StatusError by its status, a body over its limit to 413, and anything
// else to an internal error whose text is logged, never shown.
func problemFromError(err error) *Problem {
	if f := fault.As(err); f != nil {
		return problemFromFault(f, err)
	}
	var p *Problem
	if errors.As(err, &p) {
		cp := *p
		return &cp
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is too large (limit %d bytes)", mbe.Limit))
	}
	var se huma.StatusError
	if errors.As(err, &se) && se.GetStatus() >= 400 && se.GetStatus() < 500 {
		return newProblem(se.GetStatus(), se.Error())
	}
	p = newProblem(http.StatusInternalServerError, "")
	p.cause = err
	if err == nil {
		p.cause = errors.New("nil error passed to WriteProblem")
	}
	return p
}

// humaProblem is this package's huma.NewError: it turns Huma's (status, msg,
// errs) into a Problem, applying the contract where Huma's defaults differ:
//
//   - a handler error that is not a huma.StatusError reaches here as
//     (500, "unexpected error occurred", err): a fault is mapped by its code,
//     anything else stays internal with its text hidden (Huma would put it
//     in "errors");
//   - unknown JSON fields are reported by schema validation as 422
//     "unexpected property": the contract says 400;
//   - a body read failure other than the size limit (client gone, broken
//     chunking) is a 400, not Huma's 500; a *http.MaxBytesError is a 413;
//   - on any 5xx, error texts are never shown: they are kept as the cause.
func humaProblem(status int, msg string, errs ...error) huma.StatusError {
	if status == 0 {
		// Huma calls NewError(0, "") once to learn the error schema.
		return &Problem{}
	}
	if status == http.StatusInternalServerError {
		for _, err := range errs {
			if err == nil {
				continue
			}
			if fault.As(err) != nil {
				return problemFromFault(fault.As(err), err)
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return problemFromError(err)
			}
		}
		if msg == "cannot read request body" { // huma.readBody's message
			p := newProblem(http.StatusBadRequest, msg)
			p.cause = errors.Join(errs...)
			return p
		}
	}
	p := newProblem(status, msg)
	var hidden []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			detail := *d.ErrorDetail()
			if detail.Message == validation.MsgUnexpectedProperty && status == http.StatusUnprocessableEntity {
				p.Status, p.Title = http.StatusBadRequest, http.StatusText(http.StatusBadRequest)
				p.Detail = "request body has unknown fields"
				detail.Value = nil // Huma puts the whole object here
			}
			detail.Value = safeValue(detail.Value)
			if status < 500 {
				p.Errors = append(p.Errors, &detail)
				continue
			}
		}
		if status < 500 {
			p.Errors = append(p.Errors, &huma.ErrorDetail{Message: err.Error()})
			continue
		}
		hidden = append(hidden, err)
	}
	if len(hidden) > 0 {
		p.cause = errors.Join(hidden...)
	}
	if status == http.StatusInternalServerError && p.cause == nil {
		p.cause = errors.New(msg)
	}
	return p
}

// maxValueLen bounds a string echoed back in an error's "value".
const maxValueLen = 128

// safeValue returns v if it is a short scalar worth echoing to the client:
// strings are cut to maxValueLen bytes, objects and arrays are dropped (Huma
// may put a whole request body there).
func safeValue(v any) any {
	switch x := v.(type) {
	case nil, bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return x
	case string:
		if len(x) <= maxValueLen {
			return x
		}
		cut := maxValueLen
		for cut > 0 && !utf8.RuneStart(x[cut]) {
			cut--
		}
		return x[:cut] + "…"
	default:
		return nil
	}
}

// finish completes a problem for one request: it fills the request id into
// an internal error's detail, adds the default headers of its status unless
// the handler set them already, and logs its cause. It returns a copy: p
// may be shared (a package-level error value).
func finish(ctx context.Context, h http.Header, p *Problem) *Problem {
	cp := *p
	if cp.Errors == nil {
		cp.Errors = []*huma.ErrorDetail{}
	}
	if cp.Type == "" {
		cp.Type = "about:blank"
	}
	if cp.Title == "" {
		cp.Title = http.StatusText(cp.Status)
	}
	id := RequestID(ctx)
	if cp.Status == http.StatusInternalServerError {
		cp.Detail = "internal error; request id " + id
		cp.Errors = []*huma.ErrorDetail{}
	}
	for k, vs := range p.headers {
		if h.Get(k) == "" {
			h[k] = vs
		}
	}
	switch cp.Status {
	case http.StatusUnauthorized:
		setDefault(h, "WWW-Authenticate", "Bearer")
	case http.StatusTooManyRequests:
		setDefault(h, "Retry-After", strconv.Itoa(defaultRetryAfterRateLimited))
	case http.StatusServiceUnavailable:
		setDefault(h, "Retry-After", strconv.Itoa(defaultRetryAfterUnavailable))
	}
	if cp.cause != nil {
		level := slog.LevelInfo
		if cp.Status >= 500 {
			level = slog.LevelError
		}
		loggerFrom(ctx).Log(ctx, level, "request failed", "status", cp.Status, "error", cp.cause.Error())
	}
	return &cp
}

func setDefault(h http.Header, key, value string) {
	if h.Get(key) == "" {
		h.Set(key, value)
	}
}

// WriteProblem writes err as an application/problem+json response, with the
// same mapping as Huma operations: a *fault.Error (or an error wrapping one)
// by its code, anything else as a 500 whose text is logged with the request
// id and never shown. Raw handlers (websockets, downloads) use it for every
// failure.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFromError(err)
	var he huma.HeadersError
	if errors.As(err, &he) {
		for k, vs := range he.GetHeaders() {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
	}
	writeProblem(w, r, p)
}

// writeProblem finishes p for r and writes it.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p = finish(r.Context(), w.Header(), p)
	body, err := json.Marshal(p)
	if err != nil {
		// Only an unmarshalable Value could cause it; safeValue prevents it.
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal error","errors":[]}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// problemTransformer is a Huma transformer: it finishes every Problem a
// Huma operation or middleware is about to write (see finish).
func problemTransformer(ctx huma.Context, _ string, v any) (any, error) {
	p, ok := v.(*Problem)
	if !ok {
		return v, nil
	}
	return finish(ctx.Context(), responseHeader(ctx), p), nil
}

// installHumaErrors makes Huma build Problems. huma.NewError and
// huma.NewErrorWithContext are package variables of Huma: the only hook for
// replacing its error type, and a process-wide one. They are set once, to
// functions that depend on nothing but their arguments, so every Server (and
// any test API) shares them safely; everything request-specific (request id,
// logging, headers) happens later in problemTransformer.
var installHumaErrors = sync.OnceFunc(func() {
	huma.NewError = humaProblem
	huma.NewErrorWithContext = func(_ huma.Context, status int, msg string, errs ...error) huma.StatusError {
		return humaProblem(status, msg, errs...)
	}
	// Field names are matched exactly: a client sending "Name" for "name"
	// made a typo, which the contract says must not pass silently.
	huma.ValidateStrictCasing = true
})
