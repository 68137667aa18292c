package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

func FuzzParse(f *testing.F) {
	hiring, err := os.ReadFile("testdata/hiring.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		schema.DefaultJSON(), hiring, []byte(kindsConfig), nil, []byte(`{}`), []byte(`[`),
		[]byte(config(`{"a": {"parent": "b"}, "b": {"parent": "a"}}`)),
		[]byte(config(`{"a": {"parameters": {"p": {"type": "enum", "values": ["x"], "default": "y"}}}}`)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.Parse(data)
		if err != nil {
			var ps schema.Problems
			if s != nil || !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("Parse = %v, %v", s, err)
			}
			if !slices.IsSortedFunc(ps, func(a, b schema.Problem) int { return strings.Compare(a.Path, b.Path) }) {
				t.Errorf("problems not sorted: %v", ps)
			}
			for _, p := range ps {
				if !strings.HasPrefix(p.Path, "$") || p.Message == "" || strings.Contains(p.String(), "\n") {
					t.Errorf("bad problem %q", p)
				}
			}
			return
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatal(err)
		}
		for _, name := range s.Names() {
			typ, _ := s.Type(name)
			if got, ok := s.ByPlural(typ.Plural); !ok || got != typ {
				t.Errorf("ByPlural(%q) is not %s", typ.Plural, name)
			}
			if len(s.Ancestors(name)) >= len(s.Types) {
				t.Errorf("%s has %d ancestors", name, len(s.Ancestors(name)))
			}
			for _, p := range typ.Params {
				if p.Default != nil {
					if d, err := p.Normalize(p.Default); err != nil || !bytes.Equal(d, p.Default) {
						t.Errorf("%s.%s's default %s is not canonical: %s, %v", name, p.Name, p.Default, d, err)
					}
				}
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"title": "Old", "status": "open"}`), []byte(`{"title": null, "count": 1e2}`), false, "x")
	f.Add([]byte(``), []byte(`{"title": "x", "about": "0190a8a2-5b7c-7def-8abc-0123456789ab"}`), true, "2026-11-21T10:00:00Z")
	f.Add([]byte(`{"dt": "2026-11-21T10:00:00.123456+02:00", "u": "http://a"}`), []byte(`{"n": -0, "i": 5, "d": "2024-02-29"}`), false, "1.5")
	f.Add([]byte(`{}`), []byte(`{"m": "a@b.c", "e": "draft", "b": true, "s": "héllo", "t": "a\nb"}`), true, "true")
	s := kinds(f)
	types := []*schema.Type{}
	for _, name := range s.Names() {
		typ, _ := s.Type(name)
		types = append(types, typ)
	}
	contract, _ := schema.Default().Type("contract")
	types = append(types, contract)
	f.Fuzz(func(t *testing.T, storedJSON, patchJSON []byte, create bool, filter string) {
		var stored, patch map[string]json.RawMessage
		_ = json.Unmarshal(storedJSON, &stored)
		if json.Unmarshal(patchJSON, &patch) != nil {
			return
		}
		for _, typ := range types {
			fields, refs, errs := typ.Validate(stored, patch, create)
			if (fields == nil) == (errs == nil) {
				t.Fatalf("%s: fields %v beside errs %v", typ.Name, fields, errs)
			}
			if !slices.IsSortedFunc(errs, func(a, b fault.FieldError) int { return strings.Compare(a.Location, b.Location) }) {
				t.Errorf("%s: errs not sorted: %v", typ.Name, errs)
			}
			for name, v := range fields {
				p, ok := typ.Param(name)
				if !ok {
					t.Fatalf("%s: returned unknown field %s", typ.Name, name)
				}
				if again, err := p.Normalize(v); err != nil || !bytes.Equal(again, v) {
					t.Errorf("%s.%s: %s is not canonical: %s, %v", typ.Name, name, v, again, err)
				}
			}
			for _, r := range refs {
				if p, ok := typ.Param(r.Field); !ok || p.Kind != schema.KindRef || p.Target != r.Target {
					t.Errorf("%s: bad ref %+v", typ.Name, r)
				}
			}
			for _, p := range typ.Params {
				if v, err := p.ParseFilter(filter); err == nil && v == nil {
					t.Errorf("%s.%s: ParseFilter(%q) = nil", typ.Name, p.Name, filter)
				}
				p.Decode(json.RawMessage(filter))
				if _, err := p.Normalize(patch[p.Name]); err == nil && p.Decode(patch[p.Name]) == nil {
					t.Errorf("%s.%s: a valid %s decodes to nil", typ.Name, p.Name, patch[p.Name])
				}
			}
		}
	})
}
