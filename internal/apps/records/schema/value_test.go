package schema_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// kindsConfig has a parameter of every kind, for the value tests.
const kindsConfig = `{"version": 1, "types": {
  "thing": {"parameters": {
    "s":   {"type": "string", "min_length": 2, "max_length": 5},
    "t":   {"type": "text", "max_length": 10},
    "n":   {"type": "number", "minimum": -1.5, "maximum": 1e6},
    "i":   {"type": "integer", "minimum": 1, "maximum": 5},
    "big": {"type": "integer"},
    "b":   {"type": "boolean"},
    "d":   {"type": "date"},
    "dt":  {"type": "datetime"},
    "e":   {"type": "enum", "values": ["draft", "review"]},
    "m":   {"type": "email"},
    "u":   {"type": "url"},
    "r":   {"type": "ref", "target": "thing"}
  }},
  "note": {"parameters": {
    "title":  {"type": "string", "required": true, "max_length": 10},
    "status": {"type": "enum", "values": ["open", "closed"], "default": "open", "required": true},
    "count":  {"type": "integer", "default": 0},
    "about":  {"type": "ref", "target": "thing"},
    "also":   {"type": "ref", "target": "note"},
    "due_on": {"type": "date"}
  }}
}}`

// kinds returns the parsed kindsConfig.
func kinds(t testing.TB) *schema.Schema {
	t.Helper()
	s, err := schema.Parse([]byte(kindsConfig))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// param returns a parameter of the thing type of kindsConfig.
func param(t testing.TB, name string) *schema.Param {
	t.Helper()
	thing, _ := kinds(t).Type("thing")
	p, ok := thing.Param(name)
	if !ok {
		t.Fatalf("no parameter %s", name)
	}
	return p
}

func TestNormalize(t *testing.T) {
	const id = "0190a8a2-5b7c-7def-8abc-0123456789ab"
	tests := []struct {
		param, in string
		want      string // the canonical value, or "!" and a fragment of the error
	}{
		{"s", `"ab"`, `"ab"`},
		{"s", `"héllo"`, `"héllo"`}, // 5 runes, 6 bytes
		{"s", `"<&>"`, `"<&>"`},
		{"s", `"a"`, "!too short: 1 characters (at least 2)"},
		{"s", `"héllo!"`, "!too long: 6 characters (at most 5)"},
		{"s", `"a\tb"`, "!control characters are not allowed"},
		{"s", `"a\u007fb"`, "!control characters"},
		{"s", `12`, "!expected a string"},
		{"s", `["ab"]`, "!expected a string"},
		{"s", `"ab`, "!not valid JSON"},
		{"t", `"a\nb\r\tc"`, `"a\nb\r\tc"`},
		{"t", `"a\u0000b"`, "!control characters other than newline"},
		{"t", `"` + strings.Repeat("ü", 10) + `"`, `"` + strings.Repeat("ü", 10) + `"`},
		{"t", `"` + strings.Repeat("ü", 11) + `"`, "!too long: 11 characters (at most 10)"},
		{"n", `12`, `12`},
		{"n", `12.50`, `12.5`},
		{"n", `1e3`, `1000`},
		{"n", `-0`, `0`},
		{"n", `-1.5`, `-1.5`},
		{"n", `0.0000001`, `1e-7`},
		{"n", `1e6`, `1000000`},
		{"n", `1000000.5`, "!must be at most 1000000"},
		{"n", `-2`, "!must be at least -1.5"},
		{"n", `"12"`, "!expected a number"},
		{"n", `"NaN"`, "!expected a number"},
		{"n", `true`, "!expected a number"},
		{"n", `1e400`, "!out of range"},
		{"i", `3`, `3`},
		{"i", `3.0`, `3`},
		{"i", `5e0`, `5`},
		{"i", `1.5`, "!expected an integer"},
		{"i", `6`, "!must be at most 5"},
		{"i", `0`, "!must be at least 1"},
		{"i", `"3"`, "!expected an integer"},
		{"big", `9223372036854775807`, `9223372036854775807`},
		{"big", `-9223372036854775808`, `-9223372036854775808`},
		{"big", `9223372036854775808`, "!out of range for an integer"},
		{"big", `1e19`, "!out of range for an integer"},
		{"big", `1e3`, `1000`},
		{"big", `-0.0`, `0`},
		{"b", `true`, `true`},
		{"b", `false`, `false`},
		{"b", `"true"`, "!expected true or false"},
		{"b", `1`, "!expected true or false"},
		{"d", `"2026-02-28"`, `"2026-02-28"`},
		{"d", `"2024-02-29"`, `"2024-02-29"`},
		{"d", `"2026-02-31"`, "!not a date (YYYY-MM-DD)"},
		{"d", `"2026-2-3"`, "!not a date"},
		{"d", `"0000-01-01"`, "!not a date"},
		{"d", `"2026-02-28T00:00:00Z"`, "!not a date"},
		{"d", `20260228`, "!expected a date string"},
		{"dt", `"2026-11-21T10:00:00Z"`, `"2026-11-21T10:00:00.000Z"`},
		{"dt", `"2026-11-21T10:00:00.123456+02:00"`, `"2026-11-21T08:00:00.123Z"`},
		{"dt", `"2026-11-21T10:00:00.9999-01:30"`, `"2026-11-21T11:30:00.999Z"`},
		{"dt", `"2026-12-31T23:30:00-01:00"`, `"2027-01-01T00:30:00.000Z"`},
		{"dt", `"2026-11-21 10:00:00Z"`, "!not a date-time (RFC 3339"},
		{"dt", `"2026-11-21T10:00:00"`, "!not a date-time"},
		{"dt", `"2026-02-31T10:00:00Z"`, "!not a date-time"},
		{"dt", `"0001-01-01T00:30:00+01:00"`, "!out of range: years 0001 to 9999"},
		{"dt", `"9999-12-31T23:30:00-01:00"`, "!out of range"},
		{"dt", `1700000000`, "!expected a date-time string"},
		{"e", `"draft"`, `"draft"`},
		{"e", `"Draft"`, "!must be one of draft, review"},
		{"e", `""`, "!must be one of draft, review"},
		{"e", `1`, "!expected one of draft, review"},
		{"m", `"ada@example.com"`, `"ada@example.com"`},
		{"m", `"Ada.Lovelace+x@Example.COM"`, `"Ada.Lovelace+x@Example.COM"`},
		{"m", `"Ada <ada@example.com>"`, "!not an email address"},
		{"m", `"<ada@example.com>"`, "!not an email address"},
		{"m", `"ada@example.com (Ada)"`, "!not an email address"},
		{"m", `"ada"`, "!not an email address"},
		{"m", `" ada@example.com"`, "!not an email address"},
		{"m", `"ada@example.com\n"`, "!not an email address"},
		{"m", `"` + strings.Repeat("a", 243) + `@example.com"`, "!too long: 255 characters (at most 254)"},
		{"u", `"https://example.com/a?b=c#d"`, `"https://example.com/a?b=c#d"`},
		{"u", `"HTTP://example.com"`, `"HTTP://example.com"`},
		{"u", `"http://localhost:8080"`, `"http://localhost:8080"`},
		{"u", `"/relative/path"`, "!not an absolute http or https URL"},
		{"u", `"example.com"`, "!not an absolute"},
		{"u", `"javascript:alert(1)"`, "!not an absolute"},
		{"u", `"ftp://example.com/file"`, "!not an absolute"},
		{"u", `"http:example.com"`, "!not an absolute"},
		{"u", `"http:///path"`, "!not an absolute"},
		{"u", `"https://exa mple.com"`, "!spaces and control characters must be percent-encoded"},
		{"u", `"https://example.com/` + strings.Repeat("a", 2029) + `"`, "!too long: 2049 characters (at most 2048)"},
		{"r", `"` + id + `"`, `"` + id + `"`},
		{"r", `"` + strings.ToUpper(id) + `"`, "!not a record id (a lowercase UUID)"},
		{"r", `"{` + id + `}"`, "!not a record id"},
		{"r", `"` + strings.ReplaceAll(id, "-", "") + `"`, "!not a record id"},
		{"r", `"urn:uuid:` + id + `"`, "!not a record id"},
		{"r", `42`, "!expected a record id"},
		{"r", `null`, "!expected a record id"},
	}
	for _, tt := range tests {
		p := param(t, tt.param)
		got, err := p.Normalize(json.RawMessage(tt.in))
		switch {
		case strings.HasPrefix(tt.want, "!"):
			if err == nil || !strings.Contains(err.Error(), tt.want[1:]) {
				t.Errorf("%s: Normalize(%s) = %s, %v; want an error with %q", tt.param, tt.in, got, err, tt.want[1:])
			}
		case err != nil || string(got) != tt.want:
			t.Errorf("%s: Normalize(%s) = %s, %v; want %s", tt.param, tt.in, got, err, tt.want)
		default:
			if again, err := p.Normalize(got); err != nil || string(again) != string(got) {
				t.Errorf("%s: Normalize(%s) = %s, %v: not idempotent", tt.param, got, again, err)
			}
		}
	}
}

// raws turns a JSON object into fields.
func raws(t *testing.T, obj string) map[string]json.RawMessage {
	t.Helper()
	if obj == "" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidate(t *testing.T) {
	const id = "0190a8a2-5b7c-7def-8abc-0123456789ab"
	const other = "0190a8a2-5b7c-7def-8abc-0123456789ac"
	tests := []struct {
		name          string
		stored, patch string
		create        bool
		want          string // the fields, when valid
		refs          []schema.RefValue
		errs          []fault.FieldError
	}{
		{
			name:   "create with defaults",
			patch:  `{"title": "Hello"}`,
			create: true,
			want:   `{"count": 0, "status": "open", "title": "Hello"}`,
		},
		{
			name:   "create with null for a default",
			patch:  `{"title": "Hello", "status": null, "count": 3, "due_on": null}`,
			create: true,
			want:   `{"count": 3, "status": "open", "title": "Hello"}`,
		},
		{
			name:   "create normalizes and returns refs",
			patch:  `{"title": "Hi", "status": "closed", "count": 2.0, "about": "` + id + `", "also": "` + other + `"}`,
			create: true,
			want:   `{"about": "` + id + `", "also": "` + other + `", "count": 2, "status": "closed", "title": "Hi"}`,
			refs:   []schema.RefValue{{Field: "about", Target: "thing", ID: id}, {Field: "also", Target: "note", ID: other}},
		},
		{
			name:   "create ignores stored",
			stored: `{"title": "Old", "gone": 1}`,
			patch:  `{"title": "New"}`,
			create: true,
			want:   `{"count": 0, "status": "open", "title": "New"}`,
		},
		{
			name:   "create with every kind of mistake",
			patch:  `{"status": "Open", "count": 1.5, "about": "nope", "due_on": "2026-02-31", "colour": "red", "size": null}`,
			create: true,
			refs:   nil,
			errs: []fault.FieldError{
				{Location: "body.fields.about", Message: "not a record id (a lowercase UUID)", Value: "nope"},
				{Location: "body.fields.colour", Message: "unknown field; note has: about, also, count, due_on, status, title", Value: "red"},
				{Location: "body.fields.count", Message: "expected an integer", Value: json.Number("1.5")},
				{Location: "body.fields.due_on", Message: "not a date (YYYY-MM-DD)", Value: "2026-02-31"},
				{Location: "body.fields.size", Message: "unknown field; note has: about, also, count, due_on, status, title"},
				{Location: "body.fields.status", Message: "must be one of open, closed", Value: "Open"},
				{Location: "body.fields.title", Message: "required"},
			},
		},
		{
			name:   "create keeps the valid refs beside errors",
			patch:  `{"about": "` + id + `"}`,
			create: true,
			refs:   []schema.RefValue{{Field: "about", Target: "thing", ID: id}},
			errs:   []fault.FieldError{{Location: "body.fields.title", Message: "required"}},
		},
		{
			name:   "create with a huge integer",
			patch:  `{"title": "x", "count": 123456789012345678901234567890}`,
			create: true,
			errs: []fault.FieldError{{
				Location: "body.fields.count",
				Message:  "out of range for an integer (-9223372036854775808 to 9223372036854775807)",
				Value:    json.Number("123456789012345678901234567890"),
			}},
		},
		{
			name:   "update overlays the patch",
			stored: `{"title": "Old", "status": "open", "count": 1, "about": "` + id + `"}`,
			patch:  `{"title": "New", "count": null, "also": "` + other + `"}`,
			want:   `{"about": "` + id + `", "also": "` + other + `", "status": "open", "title": "New"}`,
			refs:   []schema.RefValue{{Field: "also", Target: "note", ID: other}},
		},
		{
			name:   "update applies no defaults",
			stored: `{"title": "Old"}`,
			patch:  `{"title": "New"}`,
			want:   `{"title": "New"}`,
			errs:   []fault.FieldError{{Location: "body.fields.status", Message: "required"}},
		},
		{
			name:   "update cannot remove a required field",
			stored: `{"title": "Old", "status": "open"}`,
			patch:  `{"title": null}`,
			errs:   []fault.FieldError{{Location: "body.fields.title", Message: "required"}},
		},
		{
			name:   "update validates stored misfits",
			stored: `{"title": "Much too long a title", "status": "archived", "due_on": "2026-01-01", "gone": [1]}`,
			patch:  `{"due_on": "2026-02-01"}`,
			errs: []fault.FieldError{
				{Location: "body.fields.gone", Message: "no longer a field of note; set it to null to remove it", Value: []any{json.Number("1")}},
				{Location: "body.fields.status", Message: "the stored value no longer fits: must be one of open, closed", Value: "archived"},
				{Location: "body.fields.title", Message: "the stored value no longer fits: too long: 21 characters (at most 10)", Value: "Much too long a title"},
			},
		},
		{
			name:   "update repairs stored misfits",
			stored: `{"title": "Much too long a title", "status": "archived", "gone": [1], "about": "` + id + `"}`,
			patch:  `{"title": "Short", "status": "closed", "gone": null}`,
			want:   `{"about": "` + id + `", "status": "closed", "title": "Short"}`,
		},
		{
			name:   "update with an unknown field",
			stored: `{"title": "Old", "status": "open"}`,
			patch:  `{"gone": null, "colour": 1}`,
			errs: []fault.FieldError{
				{Location: "body.fields.colour", Message: "unknown field; note has: about, also, count, due_on, status, title", Value: json.Number("1")},
				{Location: "body.fields.gone", Message: "unknown field; note has: about, also, count, due_on, status, title"},
			},
		},
		{
			name:   "update setting a stored unknown field",
			stored: `{"title": "Old", "status": "open", "gone": 1}`,
			patch:  `{"gone": 2}`,
			errs: []fault.FieldError{
				{Location: "body.fields.gone", Message: "unknown field; note has: about, also, count, due_on, status, title", Value: json.Number("2")},
			},
		},
		{
			name:   "update normalizes stored values",
			stored: `{"title": "Old", "status": "open", "count": 1e1, "due_on": null}`,
			patch:  `{}`,
			want:   `{"count": 10, "status": "open", "title": "Old"}`,
		},
	}
	note, _ := kinds(t).Type("note")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, refs, errs := note.Validate(raws(t, tt.stored), raws(t, tt.patch), tt.create)
			if !reflect.DeepEqual(errs, tt.errs) {
				got, _ := json.MarshalIndent(errs, "", "  ")
				want, _ := json.MarshalIndent(tt.errs, "", "  ")
				t.Errorf("errs =\n%s\nwant\n%s", got, want)
			}
			if !reflect.DeepEqual(refs, tt.refs) {
				t.Errorf("refs = %v, want %v", refs, tt.refs)
			}
			if tt.errs != nil {
				if fields != nil {
					t.Errorf("fields = %v beside errors", fields)
				}
				return
			}
			if !reflect.DeepEqual(fields, raws(t, tt.want)) {
				got, _ := json.Marshal(fields)
				t.Errorf("fields = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidateNoFields(t *testing.T) {
	s, err := schema.Parse([]byte(`{"version": 1, "types": {"tag": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := s.Type("tag")
	fields, refs, errs := tag.Validate(nil, raws(t, `{"x": 1}`), true)
	want := []fault.FieldError{{Location: "body.fields.x", Message: "unknown field; tag has no fields", Value: json.Number("1")}}
	if fields != nil || refs != nil || !reflect.DeepEqual(errs, want) {
		t.Errorf("Validate = %v, %v, %v", fields, refs, errs)
	}
	fields, _, errs = tag.Validate(nil, nil, true)
	if len(fields) != 0 || fields == nil || errs != nil {
		t.Errorf("Validate of nothing = %v, %v", fields, errs)
	}
}

func TestParseFilterAndDecode(t *testing.T) {
	tests := []struct {
		param, in string
		want      any    // the value, nil for an error
		err       string // a fragment of the error
	}{
		{"s", "ab", "ab", ""},
		{"m", "Ada@Example.com", "Ada@Example.com", ""},
		{"n", "12.50", 12.5, ""},
		{"n", "-0", 0.0, ""},
		{"n", "1e3", 1000.0, ""},
		{"n", "NaN", nil, "expected a number"},
		{"n", "0x10", nil, "expected a number"},
		{"n", `"12"`, nil, "expected a number"},
		{"n", " 12", nil, "expected a number"},
		{"i", "3", int64(3), ""},
		{"i", "3.0", int64(3), ""},
		{"i", "3.5", nil, "expected an integer"},
		{"i", "9", nil, "must be at most 5"},
		{"big", "-9223372036854775808", int64(-9223372036854775808), ""},
		{"b", "true", true, ""},
		{"b", "false", false, ""},
		{"b", "1", nil, "expected true or false"},
		{"b", "True", nil, "expected true or false"},
		{"d", "2026-02-28", "2026-02-28", ""},
		{"d", "2026-02-31", nil, "not a date"},
		{"dt", "2026-11-21T10:00:00.123456+02:00", "2026-11-21T08:00:00.123Z", ""},
		{"dt", "2026-11-21T08:00:00Z", "2026-11-21T08:00:00.000Z", ""},
		{"dt", "yesterday", nil, "not a date-time"},
		{"e", "review", "review", ""},
		{"e", "done", nil, "must be one of draft, review"},
		{"r", "0190a8a2-5b7c-7def-8abc-0123456789ab", "0190a8a2-5b7c-7def-8abc-0123456789ab", ""},
		{"r", "0190A8A2-5B7C-7DEF-8ABC-0123456789AB", nil, "not a record id"},
		{"t", "hello", nil, "t is not indexed: it cannot be filtered or sorted"},
		{"u", "https://example.com", nil, "u is not indexed"},
	}
	for _, tt := range tests {
		p := param(t, tt.param)
		got, err := p.ParseFilter(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: ParseFilter(%q) = %v, %v; want an error with %q", tt.param, tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseFilter(%q) = %#v, %v; want %#v", tt.param, tt.in, got, err, tt.want)
			continue
		}
		// The stored value decodes to what the filter parses to.
		var raw json.RawMessage
		switch tt.param {
		case "n", "i", "big", "b":
			raw = json.RawMessage(tt.in)
		default:
			raw, _ = json.Marshal(tt.in)
		}
		stored, err := p.Normalize(raw)
		if err != nil {
			t.Errorf("%s: Normalize(%s): %v", tt.param, raw, err)
			continue
		}
		if d := p.Decode(stored); d != got {
			t.Errorf("%s: Decode(%s) = %#v, ParseFilter(%q) = %#v", tt.param, stored, d, tt.in, got)
		}
	}
}

func TestParseFilterTakesStringsAsTheyAre(t *testing.T) {
	// A string no stored value can equal is no error: it matches nothing.
	for _, name := range []string{"s", "m"} {
		if got, err := param(t, name).ParseFilter("a b\tc d e f"); err != nil || got != "a b\tc d e f" {
			t.Errorf("%s: ParseFilter = %#v, %v", name, got, err)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		param, raw string
		want       any
	}{
		{"n", `1.5`, 1.5},
		{"n", `null`, nil},
		{"n", `"1"`, nil},
		{"i", `7`, int64(7)},
		{"i", `7.5`, nil},
		{"i", `null`, nil},
		{"b", `true`, true},
		{"b", `null`, nil},
		{"b", `"true"`, nil},
		{"s", `"x"`, "x"},
		{"s", `null`, nil},
		{"s", `1`, nil},
		{"s", ``, nil},
		{"t", `"long text"`, "long text"},
		{"dt", `"2026-11-21T08:00:00.123Z"`, "2026-11-21T08:00:00.123Z"},
	}
	for _, tt := range tests {
		if got := param(t, tt.param).Decode(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("%s: Decode(%s) = %#v, want %#v", tt.param, tt.raw, got, tt.want)
		}
	}
}

func TestDateTimesSortChronologically(t *testing.T) {
	p := param(t, "dt")
	in := []string{
		"2026-11-21T10:00:00+02:00",      // 08:00:00.000Z
		"2026-11-21T08:00:00.5Z",         // 08:00:00.500Z
		"2026-11-21T07:59:59.999-00:00",  // 07:59:59.999Z
		"2026-11-21T08:00:00.0501+00:00", // 08:00:00.050Z
	}
	want := []string{
		"2026-11-21T07:59:59.999Z", "2026-11-21T08:00:00.000Z", "2026-11-21T08:00:00.050Z", "2026-11-21T08:00:00.500Z",
	}
	var got []string
	for _, s := range in {
		v, err := p.ParseFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v.(string))
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted: %v, want %v", got, want)
	}
}
