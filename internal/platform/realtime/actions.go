package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// ActionTimeout bounds the work of one action.
const ActionTimeout = 10 * time.Second

// ActionFunc handles one action of the README envelope. The returned value
// is the result frame's data (NoReply: the handler answered itself, e.g.
// as a subscription's Ack); an error becomes an error frame with the same
// fields as an HTTP problem (ProblemOf).
type ActionFunc func(ctx context.Context, req Request) (any, error)

// Request is one action message.
type Request struct {
	Conn *Conn
	// ID is the message's request_id.
	ID string
	// Data is the envelope's "data" ("null" when absent; decode it with
	// DecodeData).
	Data json.RawMessage
}

// Result returns the result frame answering req with data, for handlers
// that answer through a Subscription's Ack (so that the result precedes
// every pushed event).
func (req Request) Result(data any) any {
	return resultFrame{Type: "result", RequestID: req.ID, Data: data}
}

// NoReply is the result of an action that answered by itself.
var NoReply = &struct{ noReply bool }{true}

// Actions routes the envelope {"action", "request_id", "data"} of the apps'
// websockets to handlers by action name and answers each message with
// {"type": "result", "request_id", "data"} or {"type": "error", "request_id",
// "data": {problem}}. Unknown envelope fields, a missing request_id and an
// unknown action are error frames; the connection stays usable. Its Handle
// method is an AcceptOptions.OnMessage.
type Actions map[string]ActionFunc

// envelope is an inbound action message.
type envelope struct {
	Action    string          `json:"action"`
	RequestID string          `json:"request_id"`
	Data      json.RawMessage `json:"data"`
}

// resultFrame is the answer to a successful action.
type resultFrame struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Data      any    `json:"data"`
}

// maxRequestID bounds the request_id echoed back.
const maxRequestID = 128

// Handle decodes msg, runs its action with a context bound to the
// connection and ActionTimeout, and queues the answer.
func (a Actions) Handle(c *Conn, msg []byte) {
	var env envelope
	if err := decodeStrict(msg, &env); err != nil {
		_ = c.SendError(requestIDOf(msg), fault.Wrap(err, fault.Malformed, "malformed message: %v", err))
		return
	}
	var bad []fault.FieldError
	if env.RequestID == "" || len(env.RequestID) > maxRequestID {
		bad = append(bad, fault.FieldError{Location: "request_id", Message: "required, at most 128 bytes", Value: truncate(env.RequestID)})
		env.RequestID = ""
	}
	fn, ok := a[env.Action]
	if !ok {
		bad = append(bad, fault.FieldError{Location: "action", Message: "unknown action", Value: truncate(env.Action)})
	}
	if len(bad) > 0 {
		_ = c.SendProblem(env.RequestID, badRequest(bad))
		return
	}
	if len(env.Data) == 0 {
		env.Data = json.RawMessage("null")
	}
	ctx, cancel := context.WithTimeout(c.Context(), ActionTimeout)
	defer cancel()
	res, err := fn(ctx, Request{Conn: c, ID: env.RequestID, Data: env.Data})
	if err != nil {
		_ = c.SendError(env.RequestID, err)
		return
	}
	if res == any(NoReply) {
		return
	}
	if res == nil {
		res = struct{}{}
	}
	_ = c.Send(resultFrame{Type: "result", RequestID: env.RequestID, Data: res})
}

func badRequest(fields []fault.FieldError) Problem {
	p := NewProblem(http.StatusBadRequest, "malformed message")
	for _, f := range fields {
		p.Errors = append(p.Errors, f)
	}
	return p
}

// requestIDOf digs the request_id out of a message that failed strict
// decoding, so the client can still pair the error with its request.
func requestIDOf(msg []byte) string {
	var v struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(msg, &v) != nil || len(v.RequestID) > maxRequestID {
		return ""
	}
	return v.RequestID
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// DecodeData decodes an action's data into v, rejecting unknown fields and
// trailing data with a fault.Malformed naming the field ("data.<name>").
// A null or absent data decodes as an empty object.
func DecodeData(data json.RawMessage, v any) error {
	if len(data) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		data = json.RawMessage("{}")
	}
	if err := decodeStrict(data, v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &fault.Error{Code: fault.Malformed, Message: "malformed data", Err: err,
				Fields: []fault.FieldError{{Location: "data." + ute.Field, Message: "must be a " + ute.Type.String()}}}
		}
		return fault.Wrap(err, fault.Malformed, "malformed data: %v", err)
	}
	return nil
}

// decodeStrict decodes one JSON value into v with unknown fields refused.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
