package scheduling

import (
	"time"
)

// Statuses of an event (a Booking).
const (
	StatusConfirmed = "confirmed"
	StatusTentative = "tentative"
	StatusCancelled = "cancelled"
)

// Limits of the model and of the reads.
const (
	MaxEventLength  = 31 * 24 * time.Hour  // end - start of an event
	MaxRange        = 366 * 24 * time.Hour // a list, subscription or availability window
	MaxNameLen      = 200                  // names and titles, in characters
	MaxNotesLen     = 10_000               // notes and descriptions, in characters
	MaxIDs          = 100                  // resource_ids / attendee_user_ids / layout items per request
	MaxAttributes   = 50                   // attributes of a resource
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Project groups events (a job, a client, a course).
type Project struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Color       string    `json:"color"`
	Archived    bool      `json:"archived"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Resource is something events book: a room, a machine, a person.
type Resource struct {
	ID           string            `json:"id"`
	OrgID        string            `json:"org_id"`
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`
	Capacity     int               `json:"capacity"`
	Attributes   map[string]string `json:"attributes"`
	AllowOverlap bool              `json:"allow_overlap"`
	Archived     bool              `json:"archived"`
	// CalendarURL is the resource's iCalendar feed, readable without a token.
	CalendarURL string    `json:"calendar_url"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	calendarToken string
}

// LayoutItem places a resource on a layout.
type LayoutItem struct {
	ResourceID string  `json:"resource_id"`
	X          float64 `json:"x"`
	Y          float64 `json:"y"`
	W          float64 `json:"w"`
	H          float64 `json:"h"`
	Rotation   float64 `json:"rotation"`
}

// Layout arranges resources (a floor plan, a shop floor).
type Layout struct {
	ID        string       `json:"id"`
	OrgID     string       `json:"org_id"`
	Name      string       `json:"name"`
	Items     []LayoutItem `json:"items" nullable:"false"`
	Version   int64        `json:"version"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Booking is an event: it books resources over [Start, End). (The Go name
// keeps it apart from the platform's events.Event in the OpenAPI schemas.)
type Booking struct {
	ID              string    `json:"id"`
	OrgID           string    `json:"org_id"`
	ProjectID       *string   `json:"project_id"`
	Title           string    `json:"title"`
	Notes           string    `json:"notes"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	AllDay          bool      `json:"all_day"`
	ResourceIDs     []string  `json:"resource_ids" nullable:"false"`
	AttendeeUserIDs []string  `json:"attendee_user_ids" nullable:"false"`
	Status          string    `json:"status" enum:"confirmed,tentative,cancelled"`
	Version         int64     `json:"version"`
	CreatedBy       string    `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// active reports whether the event holds its resources.
func (e Booking) active() bool { return e.Status != StatusCancelled }

// User is an org member as the app shows it.
type User struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role" enum:"owner,admin,member"`
}

// Org is the caller's organization.
type Org struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Slot is a free time range.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Page selects one page of a list.
type Page struct {
	Limit  int
	Cursor string
}

// EventFilter selects events for a list: those overlapping [From, To), of
// any of ResourceIDs (all when empty) and of ProjectID (any when empty).
type EventFilter struct {
	From, To    time.Time
	ResourceIDs []string
	ProjectID   string
	Page
}
