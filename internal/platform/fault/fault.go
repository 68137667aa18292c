// Package fault is Tessera's one coded error type. Services return faults that
// carry their meaning (not found, conflict, invalid with fields, ...) and a
// message that is safe to show a client; transports map the code to a status
// in one place (httpapi for HTTP, the realtime hub for websockets).
//
// Errors that are not faults are internal: transports log them with a request
// id and show the client only a generic message.
package fault

import (
	"errors"
	"fmt"
)

// Code names the kind of failure. The set is closed: transports map each code
// to exactly one HTTP status.
type Code string

// The codes, with the HTTP status each maps to.
const (
	Invalid      Code = "invalid"      // 422 (400 when the input is malformed)
	Malformed    Code = "malformed"    // 400
	Unauthorized Code = "unauthorized" // 401
	Forbidden    Code = "forbidden"    // 403
	NotFound     Code = "not_found"    // 404
	Conflict     Code = "conflict"     // 409
	Precondition Code = "precondition" // 412
	TooLarge     Code = "too_large"    // 413
	Unsupported  Code = "unsupported"  // 415
	RateLimited  Code = "rate_limited" // 429
	Unavailable  Code = "unavailable"  // 503
	Internal     Code = "internal"     // 500
)

// FieldError describes one bad input value: where it is (for example
// "body.name" or "query.limit"), what is wrong with it, and the value seen.
type FieldError struct {
	Location string `json:"location,omitempty"`
	Message  string `json:"message"`
	Value    any    `json:"value,omitempty"`
}

// Error is a failure with a code and a client-safe message. Err, when set, is
// the underlying cause: it is logged, never shown.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Reason, when set, is a machine-readable reason kept from a seed's
	// protocol ("TOO_MANY_RULES"), shown as the problem's "reason" member.
	Reason string
	// RetryAfter, in seconds, is sent as Retry-After for rate_limited and
	// unavailable errors when positive.
	RetryAfter int
	Err        error
}

// Error implements error. It includes the cause for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns a fault with the given code and client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a fault with the given code and message whose cause is err.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// WithFields returns a validation fault listing every bad field.
func WithFields(message string, fields ...FieldError) *Error {
	return &Error{Code: Invalid, Message: message, Fields: fields}
}

// CodeOf returns the code of the first fault in err's chain, or Internal.
func CodeOf(err error) Code {
	var f *Error
	if errors.As(err, &f) {
		return f.Code
	}
	return Internal
}

// Is reports whether err carries a fault with the given code.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}

// As returns the first fault in err's chain, or nil.
func As(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}
