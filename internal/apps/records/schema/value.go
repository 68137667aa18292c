package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// DateTimeLayout is the canonical form of datetime values: UTC with exactly
// millisecond precision, so that stored strings sort chronologically.
const DateTimeLayout = "2006-01-02T15:04:05.000Z"

// RefValue is the value of a ref field, for the caller to check that the
// record exists, in the same org and of the Target type.
type RefValue struct {
	// Field is the parameter's name.
	Field string
	// Target is the type the record must be of.
	Target string
	// ID is the record's id, a canonical (lowercase) UUID.
	ID string
}

// Validate checks a record's fields against the type and returns them in
// canonical form (see Param.Normalize).
//
// On create, stored is nil and patch is the request's fields; defaults fill
// absent or null fields. On update, patch overlays stored and a null in patch
// removes the field. Either way the whole result is validated, stored values
// too (the config may have changed since they were written), so fields always
// fit the current type; a stored field the type no longer has is an error
// until the patch sets it to null.
//
// refs are the valid ref values the patch sets, sorted by field, for the
// caller to check that those records exist; Validate checks only the ids'
// syntax. errs lists every bad field, located "body.fields.<name>" and sorted
// by location; fields is nil when there are any.
func (t *Type) Validate(stored, patch map[string]json.RawMessage, create bool) (fields map[string]json.RawMessage, refs []RefValue, errs []fault.FieldError) {
	type entry struct {
		raw    json.RawMessage
		stored bool // the value comes from stored, not from the patch or a default
	}
	merged := map[string]entry{}
	if !create {
		for k, v := range stored {
			if !isNull(v) {
				merged[k] = entry{v, true}
			}
		}
	}
	for k, v := range patch {
		_, known := t.Param(k)
		_, wasStored := merged[k]
		switch {
		case !known && (!wasStored || !isNull(v)): // unless it removes a stored field
			errs = append(errs, fieldError(k, "unknown field; "+t.fieldList(), v))
			delete(merged, k)
		case isNull(v):
			delete(merged, k)
		default:
			merged[k] = entry{v, false}
		}
	}
	for k, e := range merged {
		if _, known := t.Param(k); !known {
			errs = append(errs, fieldError(k, fmt.Sprintf("no longer a field of %s; set it to null to remove it", t.Name), e.raw))
		}
	}

	fields = map[string]json.RawMessage{}
	for _, p := range t.Params {
		e, ok := merged[p.Name]
		if !ok && create && p.Default != nil {
			e, ok = entry{p.Default, false}, true
		}
		if !ok {
			if p.Required {
				errs = append(errs, fault.FieldError{Location: location(p.Name), Message: "required"})
			}
			continue
		}
		v, err := p.Normalize(e.raw)
		if err != nil {
			msg := err.Error()
			if e.stored {
				msg = "the stored value no longer fits: " + msg
			}
			errs = append(errs, fieldError(p.Name, msg, e.raw))
			continue
		}
		fields[p.Name] = v
		if p.Kind == KindRef && !e.stored {
			id, _ := stringValue(v)
			refs = append(refs, RefValue{Field: p.Name, Target: p.Target, ID: id})
		}
	}
	slices.SortFunc(refs, func(a, b RefValue) int { return strings.Compare(a.Field, b.Field) })
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b fault.FieldError) int { return strings.Compare(a.Location, b.Location) })
		return nil, refs, errs
	}
	return fields, refs, nil
}

// fieldList names the type's fields for an "unknown field" message.
func (t *Type) fieldList() string {
	if len(t.Params) == 0 {
		return t.Name + " has no fields"
	}
	names := make([]string, len(t.Params))
	for i, p := range t.Params {
		names[i] = p.Name
	}
	return t.Name + " has: " + strings.Join(names, ", ")
}

// location is where a field's error is reported.
func location(name string) string { return "body.fields." + name }

// fieldError is an error about field name, whose value is raw.
func fieldError(name, message string, raw json.RawMessage) fault.FieldError {
	return fault.FieldError{Location: location(name), Message: message, Value: decodeAny(raw)}
}

// decodeAny returns raw as a Go value, numbers kept exact; nil if invalid.
func decodeAny(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

// isNull reports whether a field's raw value is null (or empty).
func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// Normalize checks a value of the parameter and returns its canonical JSON
// form: strings as JSON strings (without HTML escaping), numbers in the
// shortest form that reads back the same, integers without fraction or
// exponent, datetimes in UTC as DateTimeLayout. The error's message is safe
// to show a client, like "expected a number" or "not a date (YYYY-MM-DD)".
func (p *Param) Normalize(raw json.RawMessage) (json.RawMessage, error) {
	if !json.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	switch p.Kind {
	case KindNumber:
		f, err := number(raw)
		if err != nil {
			return nil, err
		}
		if err := p.inBounds(f); err != nil {
			return nil, err
		}
		return json.RawMessage(formatNumber(f)), nil
	case KindInteger:
		n, err := integer(raw)
		if err != nil {
			return nil, err
		}
		if err := p.inBounds(float64(n)); err != nil {
			return nil, err
		}
		return json.RawMessage(strconv.FormatInt(n, 10)), nil
	case KindBoolean:
		if s := string(raw); s == "true" || s == "false" {
			return json.RawMessage(s), nil
		}
		return nil, errors.New("expected true or false")
	}
	s, ok := stringValue(raw)
	if !ok {
		return nil, p.expected()
	}
	s, err := p.normalizeString(s)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(quote(s)), nil
}

// expected is the error for a value that is not even a JSON string, for
// the kinds whose values are strings.
func (p *Param) expected() error {
	switch p.Kind {
	case KindString, KindText:
		return errors.New("expected a string")
	case KindDate:
		return errors.New("expected a date string (YYYY-MM-DD)")
	case KindDateTime:
		return errors.New("expected a date-time string (RFC 3339)")
	case KindEnum:
		return fmt.Errorf("expected one of %s", strings.Join(p.Values, ", "))
	case KindEmail:
		return errors.New("expected an email address string")
	case KindURL:
		return errors.New("expected a URL string")
	case KindRef:
		return errors.New("expected a record id (a UUID string)")
	}
	return fmt.Errorf("unknown parameter type %q", p.Kind)
}

// normalizeString checks the string value of a parameter whose values are
// strings and returns its canonical form.
func (p *Param) normalizeString(s string) (string, error) {
	switch p.Kind {
	case KindString, KindText:
		if strings.ContainsFunc(s, p.badControl) {
			if p.Kind == KindText {
				return "", errors.New("control characters other than newline, carriage return and tab are not allowed")
			}
			return "", errors.New("control characters are not allowed")
		}
		return s, p.lengthOK(s)
	case KindDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || d.Year() < 1 || d.Format(time.DateOnly) != s {
			return "", errors.New("not a date (YYYY-MM-DD)")
		}
		return s, nil
	case KindDateTime:
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "", errors.New("not a date-time (RFC 3339, like 2026-11-21T10:00:00Z)")
		}
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return "", errors.New("out of range: years 0001 to 9999 (in UTC)")
		}
		return t.UTC().Format(DateTimeLayout), nil
	case KindEnum:
		if !slices.Contains(p.Values, s) {
			return "", fmt.Errorf("must be one of %s", strings.Join(p.Values, ", "))
		}
		return s, nil
	case KindEmail:
		if err := p.lengthOK(s); err != nil {
			return "", err
		}
		if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
			return "", errors.New("not an email address (like name@example.com, without a display name)")
		}
		return s, nil
	case KindURL:
		if err := p.lengthOK(s); err != nil {
			return "", err
		}
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return "", errors.New("not a URL: spaces and control characters must be percent-encoded")
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "" {
			return "", errors.New("not an absolute http or https URL")
		}
		return s, nil
	case KindRef:
		if id, err := uuid.Parse(s); err != nil || id.String() != s {
			return "", errors.New("not a record id (a lowercase UUID)")
		}
		return s, nil
	}
	return "", p.expected()
}

// badControl reports whether r is a control character the parameter's
// values may not contain: text allows newline, carriage return and tab.
func (p *Param) badControl(r rune) bool {
	return unicode.IsControl(r) && (p.Kind != KindText || (r != '\n' && r != '\r' && r != '\t'))
}

// lengthOK checks s against the parameter's length bounds, in characters.
func (p *Param) lengthOK(s string) error {
	switch n := utf8.RuneCountInString(s); {
	case p.MaxLength > 0 && n > p.MaxLength:
		return fmt.Errorf("too long: %d characters (at most %d)", n, p.MaxLength)
	case n < p.MinLength:
		return fmt.Errorf("too short: %d characters (at least %d)", n, p.MinLength)
	}
	return nil
}

// inBounds checks a number against the parameter's minimum and maximum.
func (p *Param) inBounds(f float64) error {
	switch {
	case p.Minimum != nil && f < *p.Minimum:
		return fmt.Errorf("must be at least %s", formatNumber(*p.Minimum))
	case p.Maximum != nil && f > *p.Maximum:
		return fmt.Errorf("must be at most %s", formatNumber(*p.Maximum))
	}
	return nil
}

// ParseFilter parses a query-string value of the parameter, for an equality
// filter or a cursor, into the Go type Decode returns: float64 for a number,
// int64 for an integer, bool for a boolean ("true" or "false"), and a string
// for the other kinds, normalized like stored values (a datetime in
// DateTimeLayout, a ref a lowercase UUID). Strings and emails are taken as
// they are. A parameter that is not indexed cannot be filtered on.
func (p *Param) ParseFilter(s string) (any, error) {
	if !p.Indexed {
		return nil, fmt.Errorf("%s is not indexed: it cannot be filtered or sorted", p.Name)
	}
	raw := json.RawMessage(s)
	switch p.Kind {
	case KindString, KindEmail:
		return s, nil
	case KindNumber, KindInteger, KindBoolean:
		// The query value is the JSON literal itself.
		if !json.Valid(raw) {
			return nil, fmt.Errorf("expected %s", map[Kind]string{KindNumber: "a number", KindInteger: "an integer", KindBoolean: "true or false"}[p.Kind])
		}
	default:
		raw = json.RawMessage(quote(s))
	}
	v, err := p.Normalize(raw)
	if err != nil {
		return nil, err
	}
	return p.Decode(v), nil
}

// Decode returns the Go value of a stored canonical value of the parameter,
// in the types ParseFilter returns; nil for null or a value of another kind.
func (p *Param) Decode(raw json.RawMessage) any {
	switch p.Kind {
	case KindNumber:
		if f, err := number(raw); err == nil {
			return f
		}
	case KindInteger:
		if n, err := integer(raw); err == nil {
			return n
		}
	case KindBoolean:
		if s := string(raw); s == "true" || s == "false" {
			return s == "true"
		}
	default:
		if s, ok := stringValue(raw); ok {
			return s
		}
	}
	return nil
}

// isNumber reports whether raw is a JSON number.
func isNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') && json.Valid(raw)
}

// number returns the value of a JSON number.
func number(raw []byte) (float64, error) {
	if !isNumber(raw) {
		return 0, errors.New("expected a number")
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, errors.New("out of range for a number")
	}
	return f, nil
}

// integer returns the value of a JSON number that is an integer in the
// int64 range, written plainly (12), with a zero fraction (12.0) or with an
// exponent (1.2e1).
func integer(raw []byte) (int64, error) {
	if !isNumber(raw) {
		return 0, errors.New("expected an integer")
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	switch {
	case err == nil && f != math.Trunc(f):
		return 0, errors.New("expected an integer")
	case err != nil || f < math.MinInt64 || f >= math.MaxInt64:
		return 0, fmt.Errorf("out of range for an integer (%d to %d)", math.MinInt64, math.MaxInt64)
	}
	return int64(f), nil
}

// formatNumber writes a number as encoding/json does: without an exponent
// unless it is very small or very large, and 0 for negative zero.
func formatNumber(f float64) string {
	if f == 0 {
		return "0"
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	s := strconv.FormatFloat(f, format, -1, 64)
	if n := len(s); format == 'e' && n >= 4 && s[n-4] == 'e' && s[n-3] == '-' && s[n-2] == '0' {
		s = s[:n-2] + s[n-1:] // e-09 to e-9
	}
	return s
}

// stringValue returns the value of a JSON string.
func stringValue(raw []byte) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// quote returns s as a JSON string, without escaping HTML characters.
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}
