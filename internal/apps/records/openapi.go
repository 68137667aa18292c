package records

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
)

// documentTypes rewrites the OpenAPI document of the generic routes
// (/records/{plural}…) as one set of operations per configured type, each
// with its own schemas: RecordsContract, RecordsContractFields,
// RecordsContractCreate, RecordsContractPatch, RecordsContractList. It
// describes the config at start; GET /records/types serves the one in
// force.
func documentTypes(api huma.API, sc *schema.Schema) {
	doc := api.OpenAPI()
	paths := doc.Paths
	generic := struct{ list, create, get, update, del, children, action *huma.Operation }{}
	if item := paths["/records/{plural}"]; item != nil {
		generic.list, generic.create = item.Get, item.Post
	}
	if item := paths["/records/{plural}/{id}"]; item != nil {
		generic.get, generic.update, generic.del = item.Get, item.Patch, item.Delete
	}
	if item := paths["/records/{plural}/{id}/{child}"]; item != nil {
		generic.children = item.Get
	}
	if item := paths["/records/{plural}/{id}/actions/{action}"]; item != nil {
		generic.action = item.Post
	}
	if generic.list == nil || generic.create == nil || generic.get == nil || generic.update == nil ||
		generic.del == nil || generic.children == nil || generic.action == nil {
		return // not registered on this API
	}
	for _, p := range []string{"/records/{plural}", "/records/{plural}/{id}", "/records/{plural}/{id}/{child}", "/records/{plural}/{id}/actions/{action}"} {
		delete(paths, p)
	}
	schemas := doc.Components.Schemas.Map()
	for _, name := range sc.Names() {
		t, _ := sc.Type(name)
		registerTypeSchemas(schemas, t)
	}
	for _, name := range sc.Names() {
		t, _ := sc.Type(name)
		base, one := "/records/"+t.Plural, "/records/"+t.Plural+"/{id}"
		paths[base] = &huma.PathItem{
			Get:  typedOp(generic.list, "records-list-"+t.Plural, "List "+t.Plural, listParams(t), nil, "200", ref(schemaName(t, "List"))),
			Post: typedOp(generic.create, "records-create-"+t.Name, "Create a "+t.DisplayName, nil, body(schemaName(t, "Create")), "201", ref(schemaName(t, ""))),
		}
		paths[one] = &huma.PathItem{
			Get:    typedOp(generic.get, "records-get-"+t.Name, "Get a "+t.DisplayName, nil, nil, "200", ref(schemaName(t, ""))),
			Patch:  typedOp(generic.update, "records-update-"+t.Name, "Update a "+t.DisplayName, nil, body(schemaName(t, "Patch")), "200", ref(schemaName(t, ""))),
			Delete: typedOp(generic.del, "records-delete-"+t.Name, "Delete a "+t.DisplayName+" and its descendants", nil, nil, "", nil),
		}
		for _, c := range sc.Children(t.Name) {
			paths[one+"/"+c.Plural] = &huma.PathItem{
				Get: typedOp(generic.children, "records-list-"+t.Name+"-"+c.Plural, "List a "+t.DisplayName+"'s "+c.Plural,
					listParams(c), nil, "200", ref(schemaName(c, "List"))),
			}
		}
		for _, a := range t.Actions {
			paths[one+"/actions/"+a] = &huma.PathItem{
				Post: typedOp(generic.action, "records-"+a+"-"+t.Name, strings.ToUpper(a[:1])+a[1:]+" a "+t.DisplayName, nil, nil, "", nil),
			}
		}
	}
}

// typedOp copies a generic operation for one type: its id and summary,
// without the {plural}, {child} and {action} path parameters, plus params;
// a non-nil rb replaces the request body, and resp the schema of the
// status response.
func typedOp(generic *huma.Operation, id, summary string, params []*huma.Param, rb *huma.RequestBody, status string, resp *huma.Schema) *huma.Operation {
	op := *generic
	op.OperationID, op.Summary = id, summary
	op.Parameters = slices.DeleteFunc(slices.Clone(op.Parameters), func(p *huma.Param) bool {
		return p.In == "path" && (p.Name == "plural" || p.Name == "child" || p.Name == "action")
	})
	op.Parameters = append(op.Parameters, params...)
	if rb != nil {
		op.RequestBody = rb
	}
	if resp != nil {
		responses := make(map[string]*huma.Response, len(op.Responses))
		for code, r := range op.Responses {
			if code == status {
				cp := *r
				cp.Content = map[string]*huma.MediaType{"application/json": {Schema: resp}}
				r = &cp
			}
			responses[code] = r
		}
		op.Responses = responses
	}
	return &op
}

func ref(name string) *huma.Schema { return &huma.Schema{Ref: "#/components/schemas/" + name} }

func body(name string) *huma.RequestBody {
	return &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: ref(name)}}}
}

// schemaName is a type's schema name: "Records" + CamelCase type + suffix.
func schemaName(t *schema.Type, suffix string) string {
	var b strings.Builder
	b.WriteString("Records")
	for _, part := range strings.Split(t.Name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + suffix
}

// listParams are the filter[field] query parameters of t's indexed
// fields.
func listParams(t *schema.Type) []*huma.Param {
	var out []*huma.Param
	for _, p := range t.Params {
		if p.Indexed {
			s := fieldSchema(p)
			s.Default = nil
			out = append(out, &huma.Param{Name: "filter[" + p.Name + "]", In: "query", Schema: s,
				Description: "Only records whose " + p.Name + " equals this value."})
		}
	}
	return out
}

// registerTypeSchemas adds t's schemas to the document's components.
func registerTypeSchemas(schemas map[string]*huma.Schema, t *schema.Type) {
	fields := &huma.Schema{Type: "object", Title: t.DisplayName, Properties: map[string]*huma.Schema{}, AdditionalProperties: false}
	patch := &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{}, AdditionalProperties: false,
		Description: "The fields to change; null removes one."}
	for _, p := range t.Params {
		fields.Properties[p.Name] = fieldSchema(p)
		nullable := fieldSchema(p)
		nullable.Nullable, nullable.Default = true, nil
		patch.Properties[p.Name] = nullable
		if p.Required {
			fields.Required = append(fields.Required, p.Name)
		}
	}
	schemas[schemaName(t, "Fields")] = fields
	schemas[schemaName(t, "Patch")] = &huma.Schema{Type: "object", AdditionalProperties: false, Required: []string{"fields"},
		Properties: map[string]*huma.Schema{"fields": patch}}
	create := &huma.Schema{Type: "object", AdditionalProperties: false, Properties: map[string]*huma.Schema{"fields": ref(schemaName(t, "Fields"))}}
	if t.Parent != "" {
		create.Properties["parent_id"] = &huma.Schema{Type: "string", Format: "uuid", Description: "A " + t.Parent + " of your org."}
		create.Required = []string{"parent_id"}
	}
	if len(fields.Required) > 0 {
		create.Required = append(create.Required, "fields")
	}
	schemas[schemaName(t, "Create")] = create
	parent := &huma.Schema{Type: "string", Format: "uuid", Nullable: true, Description: "Null: " + t.Name + " has no parent type."}
	if t.Parent != "" {
		parent = &huma.Schema{Type: "string", Format: "uuid", Description: "The " + t.Parent + "."}
	}
	schemas[schemaName(t, "")] = &huma.Schema{Type: "object", Title: t.DisplayName,
		Required: []string{"id", "type", "org_id", "parent_id", "fields", "created_at", "updated_at", "version"},
		Properties: map[string]*huma.Schema{
			"id":         {Type: "string", Format: "uuid"},
			"type":       {Type: "string", Enum: []any{t.Name}},
			"org_id":     {Type: "string"},
			"parent_id":  parent,
			"fields":     ref(schemaName(t, "Fields")),
			"created_at": {Type: "string", Format: "date-time"},
			"updated_at": {Type: "string", Format: "date-time"},
			"version":    {Type: "integer", Format: "int64", Description: "Bumped by every change: the ETag."},
		}}
	schemas[schemaName(t, "List")] = &huma.Schema{Type: "object", Required: []string{"items"},
		Properties: map[string]*huma.Schema{
			"items":       {Type: "array", Items: ref(schemaName(t, ""))},
			"next_cursor": {Type: "string", Description: "Absent on the last page."},
		}}
}

// fieldSchema is the JSON schema of a parameter's values.
func fieldSchema(p *schema.Param) *huma.Schema {
	s := &huma.Schema{Title: p.DisplayName, Description: p.Description}
	if p.Default != nil {
		var v any
		if json.Unmarshal(p.Default, &v) == nil {
			s.Default = v
		}
	}
	length := func() {
		if p.MinLength > 0 {
			s.MinLength = &p.MinLength
		}
		if p.MaxLength > 0 {
			s.MaxLength = &p.MaxLength
		}
	}
	switch p.Kind {
	case schema.KindNumber, schema.KindInteger:
		s.Type, s.Minimum, s.Maximum = "number", p.Minimum, p.Maximum
		if p.Kind == schema.KindInteger {
			s.Type, s.Format = "integer", "int64"
		}
	case schema.KindBoolean:
		s.Type = "boolean"
	case schema.KindDate:
		s.Type, s.Format = "string", "date"
	case schema.KindDateTime:
		s.Type, s.Format = "string", "date-time"
	case schema.KindEnum:
		s.Type = "string"
		for _, v := range p.Values {
			s.Enum = append(s.Enum, v)
		}
	case schema.KindEmail:
		s.Type, s.Format = "string", "email"
		length()
	case schema.KindURL:
		s.Type, s.Format = "string", "uri"
		length()
	case schema.KindRef:
		s.Type, s.Format = "string", "uuid"
		if s.Description == "" {
			s.Description = "The id of a " + p.Target + " of your org."
		}
	default:
		s.Type = "string"
		length()
	}
	return s
}
