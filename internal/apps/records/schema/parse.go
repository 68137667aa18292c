package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a config file, at a JSON path.
type Problem struct {
	// Path locates the problem, like $.types.contract.parameters.value.minimum.
	// Keys that are not identifiers are written ["key"] (JSON-quoted), array
	// elements [i]; "$" is the whole file.
	Path string
	// Message says what is wrong, naming the bad value and, where useful,
	// the allowed ones.
	Message string
}

// String returns "path: message", one line.
func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is every problem found in a config file, sorted by path. Parse
// returns it as its error, as a value: errors.As(err, new(Problems)) finds it.
type Problems []Problem

// Error returns a one-line summary: the number of problems and the first one.
func (ps Problems) Error() string {
	switch len(ps) {
	case 0:
		return "no problems in the records config"
	case 1:
		return "1 problem in the records config: " + ps[0].String()
	}
	return fmt.Sprintf("%d problems in the records config: %s; …", len(ps), ps[0])
}

// The limits of a config file.
const (
	maxTypes       = 200
	maxParams      = 100
	maxDisplayName = 100 // characters
	maxDescription = 1000
	maxEnumValue   = 100
	// The lengths of strings, in characters: max_length's default and
	// greatest value per kind, and the fixed ones.
	defaultStringLength = 255
	maxStringLength     = 65535 // a string that is not indexed
	maxIndexedLen       = 500   // an indexed string: Postgres's index entries are limited
	defaultTextLength   = 65535
	maxTextLength       = 1048576
	emailLength         = 254
	urlLength           = 2048
)

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,29}$`)
	identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// nameRule explains namePattern in problem messages.
const nameRule = "a lowercase letter, then up to 29 lowercase letters, digits or underscores"

// The keys each level of a config file may have, sorted, and the names that
// are not free.
var (
	fileKeys  = []string{"types", "version"}
	typeKeys  = []string{"actions", "description", "display_name", "parameters", "parent", "plural"}
	paramKeys = []string{
		"default", "description", "display_name", "indexed", "max_length", "maximum",
		"min_length", "minimum", "required", "target", "type", "values",
	}
	// reservedPlurals are /records routes of their own.
	reservedPlurals = []string{"jobs", "types"}
	// reservedParams are the members of a record beside its fields.
	reservedParams = []string{"created_at", "fields", "id", "org_id", "parent_id", "type", "updated_at", "version"}
	// kindKeys are the parameter keys that apply to some kinds only.
	kindKeys = map[string][]Kind{
		"max_length": {KindString, KindText},
		"min_length": {KindString, KindText},
		"minimum":    {KindNumber, KindInteger},
		"maximum":    {KindNumber, KindInteger},
		"values":     {KindEnum},
		"target":     {KindRef},
	}
)

// Parse reads and checks a config file. On failure the error is Problems,
// listing every problem found, and the Schema is nil.
func Parse(data []byte) (*Schema, error) {
	var ps parser
	s := ps.file(data)
	if len(ps.problems) > 0 {
		slices.SortStableFunc(ps.problems, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
		return nil, ps.problems
	}
	return s, nil
}

// path is a JSON path into a config file.
type path string

// root is the path of the whole file.
const root path = "$"

// key returns the path of member k of the object at p.
func (p path) key(k string) path {
	if identPattern.MatchString(k) {
		return p + "." + path(k)
	}
	return p + "[" + path(quote(k)) + "]"
}

// index returns the path of element i of the array at p.
func (p path) index(i int) path { return p + path("["+strconv.Itoa(i)+"]") }

// parser collects the problems of one config file.
type parser struct{ problems Problems }

// add records a problem at a path.
func (ps *parser) add(at path, format string, args ...any) {
	ps.problems = append(ps.problems, Problem{Path: string(at), Message: fmt.Sprintf(format, args...)})
}

// file checks a whole config file and returns its schema, which is only
// complete when no problem was found.
func (ps *parser) file(data []byte) *Schema {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		ps.add(root, "not JSON: %s", syntaxMessage(data, err))
		return nil
	}
	obj := ps.object(root, raw, `must be an object with "version" and "types"`)
	if obj == nil {
		return nil
	}
	ps.unknownKeys(root, obj, fileKeys)
	if v, ok := present(obj, "version"); !ok {
		ps.add(root.key("version"), "missing: must be 1")
	} else if n, err := integer(v); err != nil || n != 1 {
		ps.add(root.key("version"), "version %s is not supported: must be 1", show(v))
	}

	at := root.key("types")
	v, ok := present(obj, "types")
	if !ok {
		ps.add(at, "missing: the record types by name")
		return nil
	}
	raws := ps.object(at, v, "must be an object of record types by name")
	if raws == nil {
		return nil
	}
	switch {
	case len(raws) == 0:
		ps.add(at, "must declare at least one record type")
	case len(raws) > maxTypes:
		ps.add(at, "too many types: %d (at most %d)", len(raws), maxTypes)
	}
	s := &Schema{Version: 1, Types: map[string]*Type{}, byPlural: map[string]*Type{}}
	for _, name := range sortedKeys(raws) {
		if t := ps.typ(at.key(name), name, raws[name], raws); t != nil {
			s.Types[name] = t
		}
	}
	ps.plurals(at, s.Types)
	ps.cycles(at, s.Types)
	s.names = sortedKeys(s.Types)
	for _, t := range s.Types {
		s.byPlural[t.Plural] = t
	}
	return s
}

// typ checks one record type; all are the raw types by name, for parents
// and ref targets. It returns nil when the type is not even an object.
func (ps *parser) typ(at path, name string, raw json.RawMessage, all map[string]json.RawMessage) *Type {
	if !namePattern.MatchString(name) {
		ps.add(at, "type name %s must match %s (%s)", quote(name), namePattern, nameRule)
	}
	obj := ps.object(at, raw, "must be an object")
	if obj == nil {
		return nil
	}
	ps.unknownKeys(at, obj, typeKeys)
	t := &Type{
		Name:        name,
		DisplayName: ps.text(at, obj, "display_name", name, maxDisplayName, true),
		Description: ps.text(at, obj, "description", "", maxDescription, false),
		Plural:      ps.plural(at, obj, name),
		Parent:      ps.parent(at, obj, name, all),
	}
	if v, ok := present(obj, "parameters"); ok {
		t.Params = ps.params(at.key("parameters"), v, all)
	}
	if v, ok := present(obj, "actions"); ok {
		t.Actions = ps.actions(at.key("actions"), v)
	}
	return t
}

// text returns the string member key of obj, or fallback when it is absent.
// It must be at most limit characters, and not blank when nonEmpty.
func (ps *parser) text(at path, obj map[string]json.RawMessage, key, fallback string, limit int, nonEmpty bool) string {
	v, ok := present(obj, key)
	if !ok {
		return fallback
	}
	at = at.key(key)
	s, ok := ps.str(at, v)
	switch n := utf8.RuneCountInString(s); {
	case !ok:
		return fallback
	case nonEmpty && strings.TrimSpace(s) == "":
		ps.add(at, "must not be empty")
	case n > limit:
		ps.add(at, "too long: %d characters (at most %d)", n, limit)
	}
	return s
}

// plural returns the type's plural, its own or the default name + "s".
func (ps *parser) plural(at path, obj map[string]json.RawMessage, name string) string {
	at = at.key("plural")
	plural, hint := name+"s", `; set "plural" (the default is the name + "s")`
	if v, ok := present(obj, "plural"); ok {
		s, ok := ps.str(at, v)
		if !ok {
			return ""
		}
		plural, hint = s, ""
		if !namePattern.MatchString(s) {
			ps.add(at, "plural %s must match %s (%s)", quote(s), namePattern, nameRule)
		}
	} else if namePattern.MatchString(name) && !namePattern.MatchString(plural) {
		ps.add(at, "plural %s is too long%s", quote(plural), hint)
	}
	if slices.Contains(reservedPlurals, plural) {
		ps.add(at, "plural %s is reserved: /records/%s is a route of its own%s", quote(plural), plural, hint)
	}
	return plural
}

// parent returns the type's parent, "" when it has none or a bad one.
func (ps *parser) parent(at path, obj map[string]json.RawMessage, name string, all map[string]json.RawMessage) string {
	v, ok := present(obj, "parent")
	if !ok {
		return ""
	}
	at = at.key("parent")
	s, ok := stringValue(v)
	switch {
	case !ok:
		ps.add(at, "must be null or the name of another type")
	case s == name:
		ps.add(at, "a type cannot be its own parent")
	case all[s] == nil:
		ps.add(at, "no type %s; types: %s", quote(s), labels(sortedKeys(all), ", "))
	default:
		return s
	}
	return ""
}

// plurals reports plurals that more than one type uses.
func (ps *parser) plurals(at path, types map[string]*Type) {
	users := map[string][]string{}
	names := sortedKeys(types)
	for _, name := range names {
		if p := types[name].Plural; p != "" {
			users[p] = append(users[p], name)
		}
	}
	for _, name := range names {
		t := types[name]
		others := slices.DeleteFunc(slices.Clone(users[t.Plural]), func(n string) bool { return n == name })
		if len(others) > 0 {
			ps.add(at.key(name).key("plural"), "plural %s is also the plural of %s", quote(t.Plural), quoteAll(others))
		}
	}
}

// cycles reports every type whose chain of parents comes back to it.
func (ps *parser) cycles(at path, types map[string]*Type) {
	for _, name := range sortedKeys(types) {
		chain := []string{name}
		for cur := name; len(chain) <= len(types); {
			t, ok := types[cur]
			if !ok || t.Parent == "" {
				break
			}
			cur = t.Parent
			chain = append(chain, cur)
			if cur == name {
				ps.add(at.key(name).key("parent"), "cycle: %s", labels(chain, " → "))
				break
			}
		}
	}
}

// params checks a type's parameters and returns them in name order.
func (ps *parser) params(at path, raw json.RawMessage, all map[string]json.RawMessage) []*Param {
	obj := ps.object(at, raw, "must be an object of parameters by name")
	if len(obj) > maxParams {
		ps.add(at, "too many parameters: %d (at most %d)", len(obj), maxParams)
	}
	var out []*Param
	for _, name := range sortedKeys(obj) {
		pat := at.key(name)
		if !namePattern.MatchString(name) {
			ps.add(pat, "parameter name %s must match %s (%s)", quote(name), namePattern, nameRule)
		}
		if slices.Contains(reservedParams, name) {
			ps.add(pat, "parameter name %s is reserved for a record's own members (reserved: %s)",
				quote(name), strings.Join(reservedParams, ", "))
		}
		if p := ps.param(pat, name, obj[name], all); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// param checks one parameter. It returns nil when it is not even an object.
func (ps *parser) param(at path, name string, raw json.RawMessage, all map[string]json.RawMessage) *Param {
	obj := ps.object(at, raw, `must be an object with at least a "type"`)
	if obj == nil {
		return nil
	}
	ps.unknownKeys(at, obj, paramKeys)
	p := &Param{
		Name:        name,
		DisplayName: ps.text(at, obj, "display_name", name, maxDisplayName, true),
		Description: ps.text(at, obj, "description", "", maxDescription, false),
		Kind:        ps.kind(at, obj),
	}
	p.Required, _ = ps.flag(at, obj, "required")
	indexed, indexSet := ps.flag(at, obj, "indexed")
	if p.Kind == "" {
		return p
	}
	before := len(ps.problems) // the default is only checked when the kind's keys are sound
	for _, key := range sortedKeys(obj) {
		if ks, ok := kindKeys[key]; ok && !slices.Contains(ks, p.Kind) {
			ps.add(at.key(key), "%s does not apply to %s parameters (only to %s)", quote(key), p.Kind, joinKinds(ks))
		}
	}
	p.Indexed = p.Kind != KindText && p.Kind != KindURL
	if indexSet {
		if indexed && !p.Indexed {
			ps.add(at.key("indexed"), "%s parameters cannot be indexed: their values may be too long for an index", p.Kind)
		}
		p.Indexed = indexed && p.Indexed
	}
	switch p.Kind {
	case KindString, KindText:
		ps.lengths(at, obj, p)
	case KindEmail:
		p.MaxLength = emailLength
	case KindURL:
		p.MaxLength = urlLength
	case KindNumber, KindInteger:
		ps.bounds(at, obj, p)
	case KindEnum:
		p.Values = ps.values(at, obj)
	case KindRef:
		p.Target = ps.target(at, obj, all)
	}
	if v, ok := present(obj, "default"); ok {
		switch {
		case p.Kind == KindRef:
			ps.add(at.key("default"), "a ref parameter cannot have a default")
		case len(ps.problems) == before:
			d, err := p.Normalize(v)
			if err != nil {
				ps.add(at.key("default"), "default %s is not a valid value: %v", show(v), err)
			}
			p.Default = d
		}
	}
	return p
}

// kind returns a parameter's kind, "" when missing or unknown.
func (ps *parser) kind(at path, obj map[string]json.RawMessage) Kind {
	v, ok := present(obj, "type")
	if !ok {
		ps.add(at.key("type"), "missing; one of: %s", joinKinds(kinds))
		return ""
	}
	s, _ := stringValue(v)
	if k := Kind(s); slices.Contains(kinds, k) {
		return k
	}
	ps.add(at.key("type"), "unknown type %s; one of: %s", show(v), joinKinds(kinds))
	return ""
}

// flag returns the boolean member key of obj and whether it is set.
func (ps *parser) flag(at path, obj map[string]json.RawMessage, key string) (value, set bool) {
	v, ok := present(obj, key)
	if !ok {
		return false, false
	}
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	ps.add(at.key(key), "must be true or false, not %s", show(v))
	return false, false
}

// lengths sets a string or text parameter's length bounds.
func (ps *parser) lengths(at path, obj map[string]json.RawMessage, p *Param) {
	limit, what := maxTextLength, "a text parameter"
	p.MaxLength = defaultTextLength
	if p.Kind == KindString {
		limit, what = maxStringLength, "a string parameter that is not indexed"
		p.MaxLength = defaultStringLength
		if p.Indexed {
			limit, what = maxIndexedLen, fmt.Sprintf(
				`an indexed string, as Postgres limits the size of an index entry (set "indexed": false to allow up to %d)`,
				maxStringLength)
		}
	}
	if v, ok := present(obj, "max_length"); ok {
		if n, ok := ps.positive(at.key("max_length"), v); ok && n > int64(limit) {
			ps.add(at.key("max_length"), "max_length %d is too large: at most %d for %s", n, limit, what)
		} else if ok {
			p.MaxLength = int(n)
		}
	}
	if v, ok := present(obj, "min_length"); ok {
		if n, ok := ps.positive(at.key("min_length"), v); ok && n > int64(p.MaxLength) {
			ps.add(at.key("min_length"), "min_length %d is greater than max_length %d", n, p.MaxLength)
		} else if ok {
			p.MinLength = int(n)
		}
	}
}

// positive returns a positive integer config value.
func (ps *parser) positive(at path, v json.RawMessage) (int64, bool) {
	n, err := integer(v)
	if err != nil || n < 1 {
		ps.add(at, "must be a positive integer, not %s", show(v))
		return 0, false
	}
	return n, true
}

// bounds sets a number or integer parameter's minimum and maximum.
func (ps *parser) bounds(at path, obj map[string]json.RawMessage, p *Param) {
	p.Minimum = ps.bound(at, obj, "minimum", p.Kind)
	p.Maximum = ps.bound(at, obj, "maximum", p.Kind)
	if p.Minimum != nil && p.Maximum != nil && *p.Minimum > *p.Maximum {
		ps.add(at.key("minimum"), "minimum %s is greater than maximum %s", formatNumber(*p.Minimum), formatNumber(*p.Maximum))
	}
}

// bound returns the number member key of obj, nil when absent or bad.
func (ps *parser) bound(at path, obj map[string]json.RawMessage, key string, kind Kind) *float64 {
	v, ok := present(obj, key)
	if !ok {
		return nil
	}
	if kind == KindInteger {
		n, err := integer(v)
		if err != nil {
			ps.add(at.key(key), "must be an integer for an integer parameter, not %s", show(v))
			return nil
		}
		f := float64(n)
		return &f
	}
	f, err := number(v)
	if err != nil {
		ps.add(at.key(key), "must be a finite number, not %s", show(v))
		return nil
	}
	return &f
}

// values returns an enum's values.
func (ps *parser) values(at path, obj map[string]json.RawMessage) []string {
	at = at.key("values")
	v, ok := present(obj, "values")
	if !ok {
		ps.add(at, `missing: an enum parameter needs "values", a non-empty array of strings`)
		return nil
	}
	items, ok := array(v)
	if !ok || len(items) == 0 {
		ps.add(at, "must be a non-empty array of strings, not %s", show(v))
		return nil
	}
	var out []string
	for i, item := range items {
		s, ok := ps.str(at.index(i), item)
		switch n := utf8.RuneCountInString(s); {
		case !ok:
			continue
		case s == "":
			ps.add(at.index(i), "must not be empty")
		case n > maxEnumValue:
			ps.add(at.index(i), "too long: %d characters (at most %d)", n, maxEnumValue)
		case slices.Contains(out, s):
			ps.add(at.index(i), "duplicate value %s", quote(s))
		}
		out = append(out, s)
	}
	return out
}

// target returns a ref's target type.
func (ps *parser) target(at path, obj map[string]json.RawMessage, all map[string]json.RawMessage) string {
	at = at.key("target")
	v, ok := present(obj, "target")
	if !ok {
		ps.add(at, `missing: a ref parameter needs a "target" type`)
		return ""
	}
	s, ok := ps.str(at, v)
	if ok && all[s] == nil {
		ps.add(at, "no type %s; types: %s", quote(s), labels(sortedKeys(all), ", "))
	}
	return s
}

// actions returns a type's actions, sorted.
func (ps *parser) actions(at path, v json.RawMessage) []string {
	known := Actions()
	items, ok := array(v)
	if !ok {
		ps.add(at, "must be an array of action names (known: %s)", strings.Join(known, ", "))
		return nil
	}
	var out []string
	for i, item := range items {
		s, ok := ps.str(at.index(i), item)
		switch {
		case !ok:
		case !slices.Contains(known, s):
			ps.add(at.index(i), "unknown action %s; known: %s", quote(s), strings.Join(known, ", "))
		case slices.Contains(out, s):
			ps.add(at.index(i), "duplicate action %s", quote(s))
		default:
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// unknownKeys reports the members of obj that allowed does not list.
func (ps *parser) unknownKeys(at path, obj map[string]json.RawMessage, allowed []string) {
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(allowed, k) {
			ps.add(at.key(k), "unknown key %s; allowed: %s", quote(k), strings.Join(allowed, ", "))
		}
	}
}

// str returns a JSON string's value, or reports that it is not a string.
func (ps *parser) str(at path, v json.RawMessage) (string, bool) {
	s, ok := stringValue(v)
	if !ok {
		ps.add(at, "must be a string, not %s", show(v))
	}
	return s, ok
}

// object returns the members of a JSON object, or reports problem (and
// returns nil) when raw is not an object. Duplicate keys are problems.
func (ps *parser) object(at path, raw json.RawMessage, problem string) map[string]json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		ps.add(at, "%s, not %s", problem, show(raw))
		return nil
	}
	obj := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		var v json.RawMessage
		if err != nil || !ok || dec.Decode(&v) != nil {
			ps.add(at, "%s, not %s", problem, show(raw))
			return nil
		}
		if _, dup := obj[key]; dup {
			ps.add(at.key(key), "duplicate key %s", quote(key))
			continue
		}
		obj[key] = v
	}
	return obj
}

// present returns obj's member key unless it is absent or null.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	v, ok := obj[key]
	return v, ok && string(v) != "null"
}

// array returns the elements of a JSON array.
func array(v json.RawMessage) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil {
		return nil, false
	}
	return items, true
}

// syntaxMessage describes why data is not JSON, with the line and column.
func syntaxMessage(data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err.Error()
	}
	i := min(max(int(se.Offset)-1, 0), len(data)) // the offending byte
	before := data[:i]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := i - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("%s (line %d, column %d)", se, line, col)
}

// show returns a raw JSON value for a message: compacted, and cut short
// when long.
func show(raw []byte) string {
	var b bytes.Buffer
	s := string(raw)
	if json.Compact(&b, raw) == nil {
		s = b.String()
	}
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return s
}

// quoteAll JSON-quotes names and joins them with commas.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// labels joins type names with sep for a message, JSON-quoting the names
// that are not valid, which might hold any character.
func labels(names []string, sep string) string {
	l := make([]string, len(names))
	for i, n := range names {
		l[i] = n
		if !namePattern.MatchString(n) {
			l[i] = quote(n)
		}
	}
	return strings.Join(l, sep)
}

// joinKinds joins kinds with commas.
func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
