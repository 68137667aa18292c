package realtime

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// StatusCode is a websocket close code.
type StatusCode = websocket.StatusCode

// Close codes the hub uses; apps add their own (4001 token expired, 4003
// removed from the org).
const (
	StatusNormalClosure   StatusCode = websocket.StatusNormalClosure   // 1000
	StatusGoingAway       StatusCode = websocket.StatusGoingAway       // 1001: shutdown
	StatusPolicyViolation StatusCode = websocket.StatusPolicyViolation // 1008: flood
	StatusMessageTooBig   StatusCode = websocket.StatusMessageTooBig   // 1009: frame over ReadLimit
	StatusInternalError   StatusCode = websocket.StatusInternalError   // 1011: an app callback panicked
	StatusTryAgainLater   StatusCode = websocket.StatusTryAgainLater   // 1013: send queue overflow
)

// Problem is the data of an error frame: the fields of an HTTP problem
// (RFC 9457), as README.md asks of websocket errors.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []any  `json:"errors"`
	// Reason is the fault's machine-readable reason, when it has one
	// ("stale_version", "double_booking").
	Reason string `json:"reason,omitempty"`
	// RetryAfter is the seconds to wait before retrying (the HTTP
	// Retry-After) of a rate-limited or unavailable answer.
	RetryAfter int `json:"retry_after,omitempty"`
}

// NewProblem returns the problem for status with detail and type about:blank.
func NewProblem(status int, detail string) Problem {
	return Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: []any{}}
}

// ProblemOf maps an error to a Problem the way the HTTP edge does: a
// *fault.Error by its code with its safe message, anything else as a generic
// 500 (the error itself is never shown).
func ProblemOf(err error) Problem {
	f := fault.As(err)
	if f == nil {
		return NewProblem(http.StatusInternalServerError, "internal error")
	}
	p := NewProblem(httpapi.StatusOf(f.Code), f.Message)
	p.Reason, p.RetryAfter = f.Reason, f.RetryAfter
	for _, fe := range f.Fields {
		p.Errors = append(p.Errors, fe)
	}
	return p
}

func resyncProblem() Problem {
	return Problem{
		Type:   "resync-required",
		Title:  "Resync Required",
		Status: http.StatusGone,
		Detail: "the cursor is older than the event log's retention: reload current state and subscribe again",
		Errors: []any{},
	}
}

// errorFrame is `{"type":"error","request_id"?,"subscription_id"?,"data":{problem}}`.
type errorFrame struct {
	Type           string  `json:"type"`
	RequestID      string  `json:"request_id,omitempty"`
	SubscriptionID string  `json:"subscription_id,omitempty"`
	Data           Problem `json:"data"`
}

func encodeError(requestID, subscriptionID string, p Problem) []byte {
	if p.Errors == nil {
		p.Errors = []any{}
	}
	b, err := json.Marshal(errorFrame{Type: "error", RequestID: requestID, SubscriptionID: subscriptionID, Data: p})
	if err != nil { // only an unmarshalable Errors entry
		p.Errors = []any{}
		b, _ = json.Marshal(errorFrame{Type: "error", RequestID: requestID, SubscriptionID: subscriptionID, Data: p})
	}
	return b
}

// eventData renders an event's push data once per dispatch, shared by every
// subscription that receives it.
type eventData struct {
	data []byte
}

func (d *eventData) get(r routed) []byte {
	if r.Data != nil {
		return r.Data
	}
	if d.data == nil {
		d.data = renderData(r.ev)
	}
	return d.data
}

// renderData builds `{"event":"<type>","subject":"<id>",…payload fields}`.
// A payload that is a JSON object contributes its fields (it should not use
// the names event and subject); any other non-null payload goes under
// "payload".
func renderData(ev events.Event) []byte {
	var b bytes.Buffer
	b.WriteString(`{"event":`)
	writeJSONString(&b, ev.Type)
	b.WriteString(`,"subject":`)
	writeJSONString(&b, ev.Subject)
	p := bytes.TrimSpace(ev.Payload)
	switch {
	case len(p) >= 2 && p[0] == '{':
		inner := bytes.TrimSpace(p[1:])
		if len(inner) > 0 && inner[0] != '}' {
			b.WriteByte(',')
			b.Write(inner)
			return b.Bytes()
		}
	case len(p) > 0 && !bytes.Equal(p, []byte("null")):
		b.WriteString(`,"payload":`)
		b.Write(p)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// pushFrame builds `{"type":"event","subscription_id"?,"cursor","data"}`.
func pushFrame(subID string, cursor events.Cursor, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + len(subID) + len(cursor) + 64)
	b.WriteString(`{"type":"event",`)
	if subID != "" {
		b.WriteString(`"subscription_id":`)
		writeJSONString(&b, subID)
		b.WriteByte(',')
	}
	b.WriteString(`"cursor":`)
	writeJSONString(&b, string(cursor))
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteByte('}')
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}
