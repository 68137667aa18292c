package schema_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
)

// problem is an expected problem: its path and a fragment of its message.
type problem struct{ path, fragment string }

// parseProblems parses data, which must fail, and returns its problems.
func parseProblems(t *testing.T, data string) schema.Problems {
	t.Helper()
	s, err := schema.Parse([]byte(data))
	if err == nil {
		t.Fatalf("Parse accepted\n%s", data)
	}
	if s != nil {
		t.Error("Parse returned a schema with its error")
	}
	var ps schema.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("the error %v (%T) is not Problems", err, err)
	}
	return ps
}

// config wraps a "types" object into a config file.
func config(types string) string { return `{"version": 1, "types": ` + types + `}` }

func TestParseCollectsEveryProblem(t *testing.T) {
	const bad = `{
  "version": 2,
  "extra": true,
  "types": {
    "contract": {
      "plural": "contracts",
      "parent": "nowhere",
      "colour": "red",
      "parameters": {
        "kind": {"type": "color"},
        "status": {"type": "enum", "values": ["a", "b"], "default": "c"},
        "signed_on": {"type": "date", "default": "2026-02-31"},
        "id": {"type": "string"},
        "value": {"type": "number", "minimum": 10, "maximum": 5},
        "body": {"type": "text", "indexed": true},
        "title": {"type": "string", "max_length": 1000},
        "owner": {"type": "ref", "target": "person"},
        "size": {"type": "string", "minimum": 1, "colour": 1}
      },
      "actions": ["export", "print", "export"]
    },
    "deal": {"plural": "contracts"},
    "job": {},
    "a": {"parent": "b"},
    "b": {"parent": "a"},
    "Bad-Name": {}
  }
}`
	want := []problem{
		{"$.extra", `unknown key "extra"; allowed: types, version`},
		{"$.types.a.parent", "cycle: a → b → a"},
		{"$.types.b.parent", "cycle: b → a → b"},
		{"$.types.contract.actions[1]", `unknown action "print"; known: export`},
		{"$.types.contract.actions[2]", `duplicate action "export"`},
		{"$.types.contract.colour", `unknown key "colour"`},
		{"$.types.contract.parameters.body.indexed", "text parameters cannot be indexed"},
		{"$.types.contract.parameters.id", `parameter name "id" is reserved`},
		{"$.types.contract.parameters.kind.type", `unknown type "color"; one of: string, text, number`},
		{"$.types.contract.parameters.owner.target", `no type "person"`},
		{"$.types.contract.parameters.signed_on.default", `default "2026-02-31" is not a valid value: not a date`},
		{"$.types.contract.parameters.size.colour", `unknown key "colour"`},
		{"$.types.contract.parameters.size.minimum", `"minimum" does not apply to string parameters`},
		{"$.types.contract.parameters.status.default", `default "c" is not a valid value: must be one of a, b`},
		{"$.types.contract.parameters.title.max_length", "max_length 1000 is too large: at most 500 for an indexed string, as Postgres limits"},
		{"$.types.contract.parameters.value.minimum", "minimum 10 is greater than maximum 5"},
		{"$.types.contract.parent", `no type "nowhere"`},
		{"$.types.contract.plural", `plural "contracts" is also the plural of "deal"`},
		{"$.types.deal.plural", `plural "contracts" is also the plural of "contract"`},
		{"$.types.job.plural", `plural "jobs" is reserved`},
		{`$.types["Bad-Name"]`, `type name "Bad-Name" must match`},
		{"$.version", "version 2 is not supported: must be 1"},
	}
	got := parseProblems(t, bad)
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), list(got))
	}
	for i, w := range want {
		if i < len(got) && (got[i].Path != w.path || !strings.Contains(got[i].Message, w.fragment)) {
			t.Errorf("problem %d is %s\nwant %s: …%s…", i, got[i], w.path, w.fragment)
		}
	}
	if msg := got.Error(); !strings.HasPrefix(msg, "22 problems in the records config: $.extra: unknown key") ||
		!strings.HasSuffix(msg, "; …") || strings.Contains(msg, "\n") {
		t.Errorf("Error() = %q", msg)
	}
}

func list(ps schema.Problems) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintln(&b, p)
	}
	return b.String()
}

func TestParseProblems(t *testing.T) {
	many := func(n int, item func(i int) string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = item(i)
		}
		return "{" + strings.Join(items, ",") + "}"
	}
	tests := []struct {
		name string
		data string
		want []problem
	}{
		{"empty file", ``, []problem{{"$", "not JSON: unexpected end of JSON input"}}},
		{"syntax error", "{\n  \"version\": 1,\n  \"types\": {x}\n}", []problem{{"$", "(line 3, column 13)"}}},
		{"trailing data", `{"version": 1, "types": {"a": {}}} {}`, []problem{{"$", "not JSON"}}},
		{"not an object", `[1, 2]`, []problem{{"$", `must be an object with "version" and "types", not [1,2]`}}},
		{"null", `null`, []problem{{"$", "must be an object"}}},
		{"version and types missing", `{}`, []problem{{"$.types", "missing"}, {"$.version", "missing: must be 1"}}},
		{"version a string", `{"version": "1", "types": {"a": {}}}`, []problem{{"$.version", `version "1" is not supported`}}},
		{"version 1.5", `{"version": 1.5, "types": {"a": {}}}`, []problem{{"$.version", "version 1.5 is not supported"}}},
		{"duplicate key", `{"version": 1, "version": 1, "types": {"a": {}}}`, []problem{{"$.version", `duplicate key "version"`}}},
		{"types empty", config(`{}`), []problem{{"$.types", "at least one record type"}}},
		{"types an array", config(`[]`), []problem{{"$.types", "must be an object of record types by name, not []"}}},
		{"too many types", config(many(201, func(i int) string { return fmt.Sprintf(`"t%d": {}`, i) })),
			[]problem{{"$.types", "too many types: 201 (at most 200)"}}},
		{"type not an object", config(`{"a": []}`), []problem{{"$.types.a", "must be an object, not []"}}},
		{"type name with a capital", config(`{"Contract": {"plural": "contracts"}}`),
			[]problem{{"$.types.Contract", `type name "Contract" must match`}}},
		{"type name too long", config(`{"a234567890123456789012345678901": {"plural": "x"}}`),
			[]problem{{"$.types.a234567890123456789012345678901", "must match"}}},
		{"type name with a space", config(`{"a b": {"plural": "abs"}}`), []problem{{`$.types["a b"]`, `type name "a b"`}}},
		{"type name with a quote", config(`{"a\"b": {"plural": "abs"}}`), []problem{{`$.types["a\"b"]`, "must match"}}},
		{"unknown type key", config(`{"a": {"fields": {}}}`),
			[]problem{{"$.types.a.fields", `unknown key "fields"; allowed: actions, description, display_name, parameters, parent, plural`}}},
		{"display name empty", config(`{"a": {"display_name": " "}}`), []problem{{"$.types.a.display_name", "must not be empty"}}},
		{"display name too long", config(`{"a": {"display_name": "` + strings.Repeat("é", 101) + `"}}`),
			[]problem{{"$.types.a.display_name", "too long: 101 characters (at most 100)"}}},
		{"display name a number", config(`{"a": {"display_name": 1}}`), []problem{{"$.types.a.display_name", "must be a string, not 1"}}},
		{"description too long", config(`{"a": {"description": "` + strings.Repeat("x", 1001) + `"}}`),
			[]problem{{"$.types.a.description", "too long"}}},
		{"plural not a name", config(`{"a": {"plural": "As"}}`), []problem{{"$.types.a.plural", `plural "As" must match`}}},
		{"plural types", config(`{"type": {}}`), []problem{{"$.types.type.plural", `plural "types" is reserved: /records/types is a route of its own; set "plural"`}}},
		{"plural jobs", config(`{"work": {"plural": "jobs"}}`), []problem{{"$.types.work.plural", `plural "jobs" is reserved`}}},
		{"default plural too long", config(`{"a23456789012345678901234567890": {}}`),
			[]problem{{"$.types.a23456789012345678901234567890.plural", `is too long; set "plural"`}}},
		{"parent itself", config(`{"a": {"parent": "a"}}`), []problem{{"$.types.a.parent", "a type cannot be its own parent"}}},
		{"parent a number", config(`{"a": {"parent": 1}}`), []problem{{"$.types.a.parent", "must be null or the name of another type"}}},
		{"parent unknown", config(`{"a": {"parent": "b"}}`), []problem{{"$.types.a.parent", `no type "b"; types: a`}}},
		{"cycle of three", config(`{"a": {"parent": "c"}, "b": {"parent": "a"}, "c": {"parent": "b"}, "d": {"parent": "a"}}`),
			[]problem{
				{"$.types.a.parent", "cycle: a → c → b → a"},
				{"$.types.b.parent", "cycle: b → a → c → b"},
				{"$.types.c.parent", "cycle: c → b → a → c"},
			}},
		{"parameters an array", config(`{"a": {"parameters": []}}`), []problem{{"$.types.a.parameters", "must be an object of parameters by name"}}},
		{"too many parameters", config(`{"a": {"parameters": ` + many(101, func(i int) string { return fmt.Sprintf(`"p%d": {"type": "boolean"}`, i) }) + `}}`),
			[]problem{{"$.types.a.parameters", "too many parameters: 101 (at most 100)"}}},
		{"parameter name", config(`{"a": {"parameters": {"Title": {"type": "string"}}}}`),
			[]problem{{"$.types.a.parameters.Title", `parameter name "Title" must match`}}},
		{"reserved parameter names", config(`{"a": {"parameters": {"created_at": {"type": "datetime"}, "fields": {"type": "text"}}}}`),
			[]problem{
				{"$.types.a.parameters.created_at", "is reserved"},
				{"$.types.a.parameters.fields", "is reserved"},
			}},
		{"parameter not an object", config(`{"a": {"parameters": {"p": "string"}}}`),
			[]problem{{"$.types.a.parameters.p", `must be an object with at least a "type", not "string"`}}},
		{"parameter type missing", config(`{"a": {"parameters": {"p": {"required": true}}}}`),
			[]problem{{"$.types.a.parameters.p.type", "missing; one of: string, text, number, integer, boolean, date, datetime, enum, email, url, ref"}}},
		{"parameter type not a string", config(`{"a": {"parameters": {"p": {"type": 1}}}}`),
			[]problem{{"$.types.a.parameters.p.type", "unknown type 1"}}},
		{"required a string", config(`{"a": {"parameters": {"p": {"type": "string", "required": "yes"}}}}`),
			[]problem{{"$.types.a.parameters.p.required", `must be true or false, not "yes"`}}},
		{"indexed a number", config(`{"a": {"parameters": {"p": {"type": "string", "indexed": 1}}}}`),
			[]problem{{"$.types.a.parameters.p.indexed", "must be true or false, not 1"}}},
		{"indexed url", config(`{"a": {"parameters": {"p": {"type": "url", "indexed": true}}}}`),
			[]problem{{"$.types.a.parameters.p.indexed", "url parameters cannot be indexed"}}},
		{"max_length zero", config(`{"a": {"parameters": {"p": {"type": "string", "max_length": 0}}}}`),
			[]problem{{"$.types.a.parameters.p.max_length", "must be a positive integer, not 0"}}},
		{"max_length fractional", config(`{"a": {"parameters": {"p": {"type": "string", "max_length": 10.5}}}}`),
			[]problem{{"$.types.a.parameters.p.max_length", "must be a positive integer, not 10.5"}}},
		{"max_length on email", config(`{"a": {"parameters": {"p": {"type": "email", "max_length": 100}}}}`),
			[]problem{{"$.types.a.parameters.p.max_length", `"max_length" does not apply to email parameters (only to string, text)`}}},
		{"min_length on url", config(`{"a": {"parameters": {"p": {"type": "url", "min_length": 10}}}}`),
			[]problem{{"$.types.a.parameters.p.min_length", "does not apply to url parameters"}}},
		{"unindexed string too long", config(`{"a": {"parameters": {"p": {"type": "string", "indexed": false, "max_length": 65536}}}}`),
			[]problem{{"$.types.a.parameters.p.max_length", "at most 65535 for a string parameter that is not indexed"}}},
		{"text too long", config(`{"a": {"parameters": {"p": {"type": "text", "max_length": 1048577}}}}`),
			[]problem{{"$.types.a.parameters.p.max_length", "at most 1048576 for a text parameter"}}},
		{"min_length above max_length", config(`{"a": {"parameters": {"p": {"type": "string", "min_length": 20, "max_length": 10}}}}`),
			[]problem{{"$.types.a.parameters.p.min_length", "min_length 20 is greater than max_length 10"}}},
		{"min_length above the default max_length", config(`{"a": {"parameters": {"p": {"type": "string", "min_length": 256}}}}`),
			[]problem{{"$.types.a.parameters.p.min_length", "min_length 256 is greater than max_length 255"}}},
		{"minimum a string", config(`{"a": {"parameters": {"p": {"type": "number", "minimum": "0"}}}}`),
			[]problem{{"$.types.a.parameters.p.minimum", `must be a finite number, not "0"`}}},
		{"maximum too large", config(`{"a": {"parameters": {"p": {"type": "number", "maximum": 1e400}}}}`),
			[]problem{{"$.types.a.parameters.p.maximum", "must be a finite number, not 1e400"}}},
		{"integer minimum fractional", config(`{"a": {"parameters": {"p": {"type": "integer", "minimum": 1.5}}}}`),
			[]problem{{"$.types.a.parameters.p.minimum", "must be an integer for an integer parameter, not 1.5"}}},
		{"values on a number", config(`{"a": {"parameters": {"p": {"type": "number", "values": [1]}}}}`),
			[]problem{{"$.types.a.parameters.p.values", `"values" does not apply to number parameters (only to enum)`}}},
		{"target on a string", config(`{"a": {"parameters": {"p": {"type": "string", "target": "a"}}}}`),
			[]problem{{"$.types.a.parameters.p.target", `"target" does not apply to string parameters`}}},
		{"enum without values", config(`{"a": {"parameters": {"p": {"type": "enum"}}}}`),
			[]problem{{"$.types.a.parameters.p.values", `missing: an enum parameter needs "values"`}}},
		{"enum values empty", config(`{"a": {"parameters": {"p": {"type": "enum", "values": []}}}}`),
			[]problem{{"$.types.a.parameters.p.values", "must be a non-empty array of strings, not []"}}},
		{"enum values bad", config(`{"a": {"parameters": {"p": {"type": "enum", "values": ["x", "", 3, "x", "` + strings.Repeat("v", 101) + `"]}}}}`),
			[]problem{
				{"$.types.a.parameters.p.values[1]", "must not be empty"},
				{"$.types.a.parameters.p.values[2]", "must be a string, not 3"},
				{"$.types.a.parameters.p.values[3]", `duplicate value "x"`},
				{"$.types.a.parameters.p.values[4]", "too long: 101 characters (at most 100)"},
			}},
		{"ref without target", config(`{"a": {"parameters": {"p": {"type": "ref"}}}}`),
			[]problem{{"$.types.a.parameters.p.target", `missing: a ref parameter needs a "target" type`}}},
		{"ref with a default", config(`{"a": {"parameters": {"p": {"type": "ref", "target": "a", "default": "0190a8a2-0000-7000-8000-000000000000"}}}}`),
			[]problem{{"$.types.a.parameters.p.default", "a ref parameter cannot have a default"}}},
		{"number default a string", config(`{"a": {"parameters": {"p": {"type": "number", "default": "12"}}}}`),
			[]problem{{"$.types.a.parameters.p.default", `default "12" is not a valid value: expected a number`}}},
		{"integer default below minimum", config(`{"a": {"parameters": {"p": {"type": "integer", "minimum": 1, "default": 0}}}}`),
			[]problem{{"$.types.a.parameters.p.default", "must be at least 1"}}},
		{"string default too long", config(`{"a": {"parameters": {"p": {"type": "string", "max_length": 3, "default": "abcd"}}}}`),
			[]problem{{"$.types.a.parameters.p.default", "too long: 4 characters (at most 3)"}}},
		{"unknown parameter key", config(`{"a": {"parameters": {"p": {"type": "string", "unique": true}}}}`),
			[]problem{{"$.types.a.parameters.p.unique", `unknown key "unique"; allowed: default, description`}}},
		{"a default checked beside an unknown key", config(`{"a": {"parameters": {"p": {"type": "date", "default": "2026-02-31", "colour": 1}}}}`),
			[]problem{
				{"$.types.a.parameters.p.colour", `unknown key "colour"`},
				{"$.types.a.parameters.p.default", "not a date"},
			}},
		{"indexed checked beside an unknown type", config(`{"a": {"parameters": {"p": {"type": "colour", "indexed": "yes"}}}}`),
			[]problem{
				{"$.types.a.parameters.p.indexed", "must be true or false"},
				{"$.types.a.parameters.p.type", `unknown type "colour"`},
			}},
		{"names quoted in messages", config(`{"a\nb": {"plural": "abs"}, "c": {"parent": "d"}}`),
			[]problem{
				{"$.types.c.parent", `no type "d"; types: "a\nb", c`},
				{`$.types["a\nb"]`, `type name "a\nb" must match`},
			}},
		{"actions an object", config(`{"a": {"actions": {"export": true}}}`),
			[]problem{{"$.types.a.actions", "must be an array of action names (known: export)"}}},
		{"action not a string", config(`{"a": {"actions": [1]}}`), []problem{{"$.types.a.actions[0]", "must be a string, not 1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.data)
			if len(got) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(got), len(tt.want), list(got))
			}
			for i, w := range tt.want {
				if i < len(got) && (got[i].Path != w.path || !strings.Contains(got[i].Message, w.fragment)) {
					t.Errorf("problem %d is %s\nwant %s: …%s…", i, got[i], w.path, w.fragment)
				}
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := schema.Parse([]byte(config(`{
	  "box": {"parameters": {
	    "s":   {"type": "string"},
	    "su":  {"type": "string", "indexed": false, "max_length": 65535, "min_length": 2},
	    "t":   {"type": "text", "max_length": 1048576},
	    "td":  {"type": "text", "indexed": false},
	    "e":   {"type": "email"},
	    "u":   {"type": "url", "indexed": false},
	    "n":   {"type": "number", "default": 1.50, "minimum": -1e3, "maximum": 2.5e3},
	    "i":   {"type": "integer", "default": 1e1, "maximum": 1e2},
	    "dt":  {"type": "datetime", "default": "2026-11-21T10:00:00.123456+02:00"},
	    "b":   {"type": "boolean", "indexed": false, "description": null, "default": null},
	    "r":   {"type": "ref", "target": "box", "required": false}
	  }},
	  "bag": {"parent": null, "parameters": null, "actions": []},
	  "bin": {"parent": "box", "display_name": "Bin", "description": "Where things go."}
	}`)))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := s.Type("box")
	if box.DisplayName != "box" || box.Plural != "boxs" || box.Parent != "" || box.Actions != nil {
		t.Errorf("box = %+v", box)
	}
	bag, _ := s.Type("bag")
	if bag.Params != nil || len(bag.Actions) != 0 || bag.Parent != "" {
		t.Errorf("bag = %+v", bag)
	}
	bin, _ := s.Type("bin")
	if bin.DisplayName != "Bin" || bin.Description != "Where things go." || bin.Parent != "box" {
		t.Errorf("bin = %+v", bin)
	}
	tests := []struct {
		name     string
		indexed  bool
		min, max int
		dflt     string
		lo, hi   string
	}{
		{name: "s", indexed: true, max: 255},
		{name: "su", min: 2, max: 65535},
		{name: "t", max: 1048576},
		{name: "td", max: 65535},
		{name: "e", indexed: true, max: 254},
		{name: "u", max: 2048},
		{name: "n", indexed: true, dflt: "1.5", lo: "-1000", hi: "2500"},
		{name: "i", indexed: true, dflt: "10", hi: "100"},
		{name: "dt", indexed: true, dflt: `"2026-11-21T08:00:00.123Z"`},
		{name: "b"},
		{name: "r", indexed: true},
	}
	bound := func(f *float64) string {
		if f == nil {
			return ""
		}
		return fmt.Sprint(*f)
	}
	for _, tt := range tests {
		p, ok := box.Param(tt.name)
		if !ok {
			t.Errorf("no parameter %s", tt.name)
			continue
		}
		if p.DisplayName != tt.name || p.Indexed != tt.indexed || p.MinLength != tt.min || p.MaxLength != tt.max ||
			string(p.Default) != tt.dflt || bound(p.Minimum) != tt.lo || bound(p.Maximum) != tt.hi {
			got, _ := json.Marshal(p)
			t.Errorf("%s = %s, want %+v", tt.name, got, tt)
		}
	}
}

func TestProblemsError(t *testing.T) {
	ps := schema.Problems{{Path: "$.version", Message: "missing: must be 1"}}
	if got, want := ps.Error(), "1 problem in the records config: $.version: missing: must be 1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (schema.Problems{}).Error(); got != "no problems in the records config" {
		t.Errorf("Error() of none = %q", got)
	}
	wrapped := fmt.Errorf("loading records.json: %w", ps)
	var found schema.Problems
	if !errors.As(wrapped, &found) || len(found) != 1 {
		t.Errorf("errors.As did not find the problems in %v", wrapped)
	}
}
