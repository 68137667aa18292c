// Package schema is the records app's config.json: the record types, their
// parent/child hierarchy and parameters, the checks of a config file (every
// problem with its JSON path), and the validation of records' field values
// against their type.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// Kind is a parameter's type.
type Kind string

// The parameter kinds a config may use.
const (
	KindString   Kind = "string"
	KindText     Kind = "text"
	KindNumber   Kind = "number"
	KindInteger  Kind = "integer"
	KindBoolean  Kind = "boolean"
	KindDate     Kind = "date"
	KindDateTime Kind = "datetime"
	KindEnum     Kind = "enum"
	KindEmail    Kind = "email"
	KindURL      Kind = "url"
	KindRef      Kind = "ref"
)

// kinds lists every Kind, in the order problem messages name them.
var kinds = []Kind{
	KindString, KindText, KindNumber, KindInteger, KindBoolean, KindDate,
	KindDateTime, KindEnum, KindEmail, KindURL, KindRef,
}

// ActionExport is the action that exports a record (and its descendants).
const ActionExport = "export"

// Actions returns the names of the actions a type may declare.
func Actions() []string { return []string{ActionExport} }

// Schema is a parsed config: the record types by name. A Schema is built by
// Parse and is read-only afterwards, so it may be shared between goroutines.
type Schema struct {
	// Version is the config format's version; always 1.
	Version int
	// Types are the record types by name.
	Types map[string]*Type

	names    []string         // the keys of Types, sorted
	byPlural map[string]*Type // Types by their plural
}

// Type returns the type with the given name.
func (s *Schema) Type(name string) (*Type, bool) {
	t, ok := s.Types[name]
	return t, ok
}

// ByPlural returns the type whose plural (its URL segment) is plural.
func (s *Schema) ByPlural(plural string) (*Type, bool) {
	t, ok := s.byPlural[plural]
	return t, ok
}

// Names returns the type names, sorted. The slice is the caller's.
func (s *Schema) Names() []string { return slices.Clone(s.names) }

// Children returns the types whose parent is name, sorted by name;
// Children("") returns the top-level types.
func (s *Schema) Children(name string) []*Type {
	var out []*Type
	for _, n := range s.names {
		if t := s.Types[n]; t.Parent == name {
			out = append(out, t)
		}
	}
	return out
}

// Ancestors returns the names of name's parent, grandparent, and so on up to
// a top-level type; nil for a top-level or unknown type.
func (s *Schema) Ancestors(name string) []string {
	var out []string
	// Parse refuses cycles; the length bound keeps a hand-built cyclic
	// schema from looping forever.
	for t, ok := s.Types[name]; ok && t.Parent != "" && len(out) < len(s.Types); t, ok = s.Types[t.Parent] {
		out = append(out, t.Parent)
	}
	return out
}

// Type is a record type.
type Type struct {
	// Name is the type's name, as records' "type" member carries it.
	Name string
	// DisplayName is the name shown to people; the name when not configured.
	DisplayName string
	// Description is an optional longer explanation, shown to people.
	Description string
	// Plural names the type's collection in URLs (/records/{plural}).
	Plural string
	// Parent is the parent type's name; "" for a top-level type.
	Parent string
	// Params are the type's parameters, in name order.
	Params []*Param
	// Actions are the actions records of this type offer, sorted.
	Actions []string
}

// Param returns the parameter with the given name.
func (t *Type) Param(name string) (*Param, bool) {
	i := slices.IndexFunc(t.Params, func(p *Param) bool { return p.Name == name })
	if i < 0 {
		return nil, false
	}
	return t.Params[i], true
}

// HasAction reports whether the type offers action a.
func (t *Type) HasAction(a string) bool { return slices.Contains(t.Actions, a) }

// Param is a parameter of a record type: one field of its records.
type Param struct {
	// Name is the field's name in records' "fields".
	Name string
	// DisplayName is the name shown to people; the name when not configured.
	DisplayName string
	// Description is an optional longer explanation, shown to people.
	Description string
	// Kind is the parameter's type.
	Kind Kind
	// Required fields must be present and not null.
	Required bool
	// Default, when not nil, is the canonical JSON value (see Normalize) a
	// new record gets when the field is absent or null.
	Default json.RawMessage
	// MinLength and MaxLength bound string, text, email and url values, in
	// characters (runes). Parse always sets MaxLength for those kinds; 0
	// means unbounded.
	MinLength, MaxLength int
	// Minimum and Maximum bound number and integer values; nil is unbounded.
	Minimum, Maximum *float64
	// Values are an enum's allowed values, in config order.
	Values []string
	// Target is the name of the type a ref refers to.
	Target string
	// Indexed fields can be filtered and sorted on.
	Indexed bool
}

//go:embed default.json
var defaultJSON []byte

// DefaultJSON returns the shipped default config: a contract-management
// hierarchy. The slice is the caller's.
func DefaultJSON() []byte { return bytes.Clone(defaultJSON) }

// defaultSchema parses the embedded default once. A test asserts that it is
// valid, so the panic marks a broken build, never bad input.
var defaultSchema = sync.OnceValue(func() *Schema {
	s, err := Parse(defaultJSON)
	if err != nil {
		panic(fmt.Sprintf("records: the embedded default.json is invalid: %v", err))
	}
	return s
})

// Default returns the parsed default config (see DefaultJSON). It is shared:
// do not modify it.
func Default() *Schema { return defaultSchema() }
