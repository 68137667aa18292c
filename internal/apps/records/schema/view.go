package schema

import "encoding/json"

// View is the config as the API serves it (GET /records/types).
type View struct {
	// Version is the config format's version; always 1.
	Version int `json:"version"`
	// Types are the record types, sorted by name.
	Types []TypeView `json:"types"`
}

// TypeView is a record type as the API serves it.
type TypeView struct {
	// Name is the type's name.
	Name string `json:"name"`
	// DisplayName is the name shown to people.
	DisplayName string `json:"display_name"`
	// Description is an optional longer explanation.
	Description string `json:"description,omitempty"`
	// Plural names the type's collection: /records/{plural}.
	Plural string `json:"plural"`
	// Parent is the parent type's name; null for a top-level type.
	Parent *string `json:"parent"`
	// Children are the names of the child types, sorted.
	Children []string `json:"children"`
	// Parameters are the type's fields, sorted by name.
	Parameters []ParamView `json:"parameters"`
	// Actions are the actions records of the type offer, sorted.
	Actions []string `json:"actions"`
}

// ParamView is a parameter as the API serves it. Bounds, values and target
// appear only for the kinds they apply to, and only when set.
type ParamView struct {
	// Name is the field's name.
	Name string `json:"name"`
	// DisplayName is the name shown to people.
	DisplayName string `json:"display_name"`
	// Type is the parameter's kind.
	Type Kind `json:"type"`
	// Required fields must be present and not null.
	Required bool `json:"required"`
	// Indexed fields can be filtered and sorted on.
	Indexed bool `json:"indexed"`
	// Description is an optional longer explanation.
	Description string `json:"description,omitempty"`
	// Default is the value a new record gets when the field is absent.
	Default json.RawMessage `json:"default,omitempty"`
	// MinLength is the least number of characters of a string or text.
	MinLength int `json:"min_length,omitempty"`
	// MaxLength is the greatest number of characters of a string, text,
	// email or url.
	MaxLength int `json:"max_length,omitempty"`
	// Minimum is the least value of a number or integer.
	Minimum *float64 `json:"minimum,omitempty"`
	// Maximum is the greatest value of a number or integer.
	Maximum *float64 `json:"maximum,omitempty"`
	// Values are an enum's allowed values.
	Values []string `json:"values,omitempty"`
	// Target is the type a ref refers to.
	Target string `json:"target,omitempty"`
}

// View returns the config as the API serves it. It shares memory with s:
// treat it as read-only.
func (s *Schema) View() View {
	v := View{Version: s.Version, Types: make([]TypeView, 0, len(s.names))}
	for _, name := range s.names {
		t := s.Types[name]
		tv := TypeView{
			Name:        t.Name,
			DisplayName: t.DisplayName,
			Description: t.Description,
			Plural:      t.Plural,
			Children:    []string{},
			Parameters:  make([]ParamView, 0, len(t.Params)),
			Actions:     append([]string{}, t.Actions...),
		}
		if t.Parent != "" {
			parent := t.Parent
			tv.Parent = &parent
		}
		for _, c := range s.Children(name) {
			tv.Children = append(tv.Children, c.Name)
		}
		for _, p := range t.Params {
			tv.Parameters = append(tv.Parameters, ParamView{
				Name:        p.Name,
				DisplayName: p.DisplayName,
				Type:        p.Kind,
				Required:    p.Required,
				Indexed:     p.Indexed,
				Description: p.Description,
				Default:     p.Default,
				MinLength:   p.MinLength,
				MaxLength:   p.MaxLength,
				Minimum:     p.Minimum,
				Maximum:     p.Maximum,
				Values:      p.Values,
				Target:      p.Target,
			})
		}
		v.Types = append(v.Types, tv)
	}
	return v
}

// MarshalJSON writes the config as the API serves it: its View.
func (s *Schema) MarshalJSON() ([]byte, error) { return json.Marshal(s.View()) }
