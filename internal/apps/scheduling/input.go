package scheduling

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Inputs of the creates and updates: the websocket actions' data and the
// REST bodies. A nil field is left unchanged by an update; creates require
// the fields their doc says.

// ProjectInput creates (name required) or changes a project.
type ProjectInput struct {
	Name        *string `json:"name,omitempty" maxLength:"200"`
	Description *string `json:"description,omitempty" maxLength:"10000"`
	Color       *string `json:"color,omitempty" maxLength:"7" doc:"#rrggbb"`
}

// ResourceInput creates (name required) or changes a resource.
type ResourceInput struct {
	Name         *string           `json:"name,omitempty" maxLength:"200"`
	Kind         *string           `json:"kind,omitempty" maxLength:"50" doc:"room, machine, person… (free text)"`
	Capacity     *int              `json:"capacity,omitempty" minimum:"0" maximum:"1000000"`
	Attributes   map[string]string `json:"attributes,omitempty" doc:"Replaces the attributes when present (at most 50)."`
	AllowOverlap *bool             `json:"allow_overlap,omitempty" doc:"Let events overlap on this resource (default false)."`
}

// LayoutInput creates (name required) or changes a layout.
type LayoutInput struct {
	Name  *string       `json:"name,omitempty" maxLength:"200"`
	Items *[]LayoutItem `json:"items,omitempty" doc:"Replaces the items when present (at most 500)."`
}

// EventInput creates (title, start, end required) or changes an event.
type EventInput struct {
	ProjectID       *string    `json:"project_id,omitempty" doc:"An empty string detaches the event from its project."`
	Title           *string    `json:"title,omitempty" maxLength:"200"`
	Notes           *string    `json:"notes,omitempty" maxLength:"10000"`
	Start           *time.Time `json:"start,omitempty"`
	End             *time.Time `json:"end,omitempty" doc:"After start, at most 31 days later."`
	AllDay          *bool      `json:"all_day,omitempty"`
	ResourceIDs     *[]string  `json:"resource_ids,omitempty" doc:"Resources of the org (at most 100)."`
	AttendeeUserIDs *[]string  `json:"attendee_user_ids,omitempty" doc:"Members of the org (at most 100)."`
	Status          *string    `json:"status,omitempty" enum:"confirmed,tentative" doc:"Cancel with the cancel action."`
}

const maxLayoutItems = 500

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// checker gathers every bad field of an input.
type checker struct{ bad []fault.FieldError }

func (c *checker) add(field, msg string, v any) {
	c.bad = append(c.bad, fault.FieldError{Location: "body." + field, Message: msg, Value: v})
}

func (c *checker) err() error {
	if len(c.bad) == 0 {
		return nil
	}
	return fault.WithFields("validation failed", c.bad...)
}

// text trims *p and checks its length and characters; required refuses an
// empty value and, when create, an absent one. It returns the cleaned value.
func (c *checker) text(field string, p *string, max int, required, create, multiline bool) string {
	if p == nil {
		if required && create {
			c.add(field, "required", nil)
		}
		return ""
	}
	v := strings.TrimSpace(*p)
	switch {
	case !utf8.ValidString(v):
		c.add(field, "must be valid UTF-8", nil)
	case utf8.RuneCountInString(v) > max:
		c.add(field, "too long (at most "+itoa(int64(max))+" characters)", nil)
	case required && v == "":
		c.add(field, "must not be empty", v)
	case strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && (!multiline || r != '\n' && r != '\t' && r != '\r') }) >= 0:
		c.add(field, "must not contain control characters", nil)
	}
	*p = v
	return v
}

// ids checks a list of ids (UUIDs, no duplicates, at most max) and returns
// it deduplicated in input order.
func (c *checker) ids(field string, ids []string, max int) []string {
	if len(ids) > max {
		c.add(field, "at most "+itoa(int64(max))+" ids", len(ids))
		return nil
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if uuid.Validate(id) != nil {
			c.add(field, "not an id", id)
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (in *ProjectInput) check(create bool) error {
	var c checker
	c.text("name", in.Name, MaxNameLen, true, create, false)
	c.text("description", in.Description, MaxNotesLen, false, false, true)
	if in.Color != nil && *in.Color != "" && !colorRE.MatchString(*in.Color) {
		c.add("color", "must be #rrggbb", *in.Color)
	}
	return c.err()
}

func (in *ResourceInput) check(create bool) error {
	var c checker
	c.text("name", in.Name, MaxNameLen, true, create, false)
	c.text("kind", in.Kind, 50, false, false, false)
	if in.Capacity != nil && (*in.Capacity < 0 || *in.Capacity > 1_000_000) {
		c.add("capacity", "must be between 0 and 1000000", *in.Capacity)
	}
	if len(in.Attributes) > MaxAttributes {
		c.add("attributes", "at most 50 attributes", len(in.Attributes))
	}
	for k, v := range in.Attributes {
		if k == "" || len(k) > 100 || !utf8.ValidString(k) || len(v) > 1000 || !utf8.ValidString(v) {
			c.add("attributes", "keys of 1 to 100 bytes, values up to 1000 bytes, UTF-8", k)
			break
		}
	}
	return c.err()
}

func (in *LayoutInput) check(create bool) error {
	var c checker
	c.text("name", in.Name, MaxNameLen, true, create, false)
	if in.Items != nil {
		if len(*in.Items) > maxLayoutItems {
			c.add("items", "at most 500 items", len(*in.Items))
		}
		for i, it := range *in.Items {
			f := "items[" + itoa(int64(i)) + "]"
			if uuid.Validate(it.ResourceID) != nil {
				c.add(f+".resource_id", "not an id", it.ResourceID)
			}
			for _, v := range []float64{it.X, it.Y, it.W, it.H, it.Rotation} {
				if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e9 {
					c.add(f, "coordinates must be finite numbers", nil)
					break
				}
			}
			if it.W < 0 || it.H < 0 {
				c.add(f, "w and h must not be negative", nil)
			}
		}
	} else if create {
		in.Items = &[]LayoutItem{}
	}
	return c.err()
}

// apply checks the input and writes it over e (a new event when create).
func (in *EventInput) apply(e *Booking, create bool) error {
	var c checker
	if in.Title != nil || create {
		e.Title = c.text("title", in.Title, MaxNameLen, true, true, false)
	}
	if in.Notes != nil {
		e.Notes = c.text("notes", in.Notes, MaxNotesLen, false, false, true)
	}
	if in.ProjectID != nil {
		switch p := *in.ProjectID; {
		case p == "":
			e.ProjectID = nil
		case uuid.Validate(p) != nil:
			c.add("project_id", "not an id", p)
		default:
			e.ProjectID = &p
		}
	}
	if create && in.Start == nil {
		c.add("start", "required", nil)
	}
	if create && in.End == nil {
		c.add("end", "required", nil)
	}
	if in.Start != nil {
		e.Start = in.Start.UTC().Truncate(time.Microsecond)
	}
	if in.End != nil {
		e.End = in.End.UTC().Truncate(time.Microsecond)
	}
	if in.AllDay != nil {
		e.AllDay = *in.AllDay
	}
	if in.ResourceIDs != nil {
		e.ResourceIDs = c.ids("resource_ids", *in.ResourceIDs, MaxIDs)
	}
	if in.AttendeeUserIDs != nil {
		e.AttendeeUserIDs = c.ids("attendee_user_ids", *in.AttendeeUserIDs, MaxIDs)
	}
	if in.Status != nil {
		if *in.Status != StatusConfirmed && *in.Status != StatusTentative {
			c.add("status", "must be confirmed or tentative (cancel with the cancel action)", *in.Status)
		} else {
			e.Status = *in.Status
		}
	}
	if len(c.bad) == 0 {
		checkRange(&c, "end", e.Start, e.End, MaxEventLength, "31 days")
	}
	return c.err()
}

// checkRange refuses end <= start and ranges longer than max.
func checkRange(c *checker, field string, start, end time.Time, max time.Duration, maxText string) {
	switch {
	case start.Year() < 1970 || end.Year() > 9999:
		c.add(field, "out of the supported years (1970 to 9999)", nil)
	case !end.After(start):
		c.add(field, "must be after the start", end.Format(time.RFC3339))
	case end.Sub(start) > max:
		c.add(field, "the range must not be longer than "+maxText, end.Format(time.RFC3339))
	}
}

// checkWindow validates a read window [from, to) (lists, subscriptions,
// availability): to after from, at most MaxRange.
func checkWindow(from, to time.Time) error {
	var c checker
	checkRange(&c, "to", from, to, MaxRange, "1 year")
	return c.err()
}

// page normalizes a page request.
func page(limit int, cursor string) (Page, error) {
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return Page{}, fault.WithFields("bad limit", fault.FieldError{Location: "query.limit", Message: "must be between 1 and 500", Value: limit})
	}
	if len(cursor) > 200 {
		return Page{}, fault.WithFields("bad cursor", fault.FieldError{Location: "query.cursor", Message: "not a cursor of this list"})
	}
	return Page{Limit: limit, Cursor: cursor}, nil
}
