// Package events is the platform's event log (the DynamoDB streams /
// EventBridge role): every state change of every app is an Event written with
// Emit in the same transaction as the change, so no committed change lacks its
// event and no rolled-back change has one. The log is read in commit order
// from a Cursor (for realtime resume and the admin audit log), and each event
// fans out to the durable handlers registered for its type (see package jobs).
package events

import (
	"encoding/json"
	"errors"
	"time"
)

// Event is one recorded state change. Type is "<app>.<entity>.<verb>"
// (restaurants.seating.created); App is its first part.
type Event struct {
	// Cursor is the event's position in the log, set when the log is read;
	// cursors compare in commit order (see Cursor).
	Cursor Cursor `json:"cursor"`
	// ID is a UUIDv7 set by Emit.
	ID      string          `json:"id"`
	App     string          `json:"app"`
	Type    string          `json:"type"`
	OrgID   string          `json:"org_id,omitempty"`
	Subject string          `json:"subject,omitempty"`
	Payload json.RawMessage `json:"payload"`
	Time    time.Time       `json:"time"`
}

// Cursor is an opaque position in the event log. The empty cursor is the
// start of the log. Clients receive cursors as strings and pass them back as
// `since`; only the log interprets them.
type Cursor string

// ErrResyncRequired is returned when a read starts from a cursor older than
// the log's retention: the reader missed events that are gone and must
// resynchronize from current state.
var ErrResyncRequired = errors.New("events: cursor is older than retention: resync required")

// Filter selects events of the log. Empty fields match everything.
type Filter struct {
	App     string
	Types   []string
	OrgID   string
	Subject string
	Since   time.Time // inclusive
	Until   time.Time // exclusive
}
