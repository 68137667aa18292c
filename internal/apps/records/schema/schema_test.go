package schema_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
)

// specContract is the contract type exactly as records.md gives it.
const specContract = `{
  "display_name": "Contract",
  "plural": "contracts",
  "parent": null,
  "parameters": {
    "title":  {"type": "string", "required": true, "max_length": 200, "display_name": "Title"},
    "value":  {"type": "number", "minimum": 0},
    "status": {"type": "enum", "values": ["draft", "review", "signed", "expired"], "default": "draft"},
    "signed_on": {"type": "date"}
  },
  "actions": ["export"]
}`

func ptr(f float64) *float64 { return &f }

func TestDefaultIsValid(t *testing.T) {
	if _, err := schema.Parse(schema.DefaultJSON()); err != nil {
		t.Fatalf("default.json: %v", err)
	}
	if first, again := schema.Default(), schema.Default(); first != again {
		t.Error("Default() parses more than once")
	}
}

func TestDefaultContractIsTheSpecs(t *testing.T) {
	var file struct {
		Types map[string]any `json:"types"`
	}
	if err := json.Unmarshal(schema.DefaultJSON(), &file); err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal([]byte(specContract), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file.Types["contract"], want) {
		t.Errorf("default.json's contract is\n%v\nthe spec's is\n%v", file.Types["contract"], want)
	}

	c, ok := schema.Default().Type("contract")
	if !ok {
		t.Fatal("no contract type")
	}
	wantType := &schema.Type{
		Name:        "contract",
		DisplayName: "Contract",
		Plural:      "contracts",
		Params: []*schema.Param{
			{Name: "signed_on", DisplayName: "signed_on", Kind: schema.KindDate, Indexed: true},
			{
				Name: "status", DisplayName: "status", Kind: schema.KindEnum, Indexed: true,
				Values: []string{"draft", "review", "signed", "expired"}, Default: json.RawMessage(`"draft"`),
			},
			{Name: "title", DisplayName: "Title", Kind: schema.KindString, Required: true, MaxLength: 200, Indexed: true},
			{Name: "value", DisplayName: "value", Kind: schema.KindNumber, Minimum: ptr(0), Indexed: true},
		},
		Actions: []string{"export"},
	}
	if !reflect.DeepEqual(c, wantType) {
		got, _ := json.MarshalIndent(c, "", "  ")
		want, _ := json.MarshalIndent(wantType, "", "  ")
		t.Errorf("contract is\n%s\nwant\n%s", got, want)
	}
}

func TestDefaultHierarchy(t *testing.T) {
	s := schema.Default()
	if got, want := s.Names(), []string{"clause", "contract", "obligation", "signatory"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	children := map[string][]string{
		"":           {"contract"},
		"contract":   {"clause", "signatory"},
		"clause":     {"obligation"},
		"obligation": nil,
		"signatory":  nil,
		"nope":       nil,
	}
	for parent, want := range children {
		var got []string
		for _, c := range s.Children(parent) {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Children(%q) = %v, want %v", parent, got, want)
		}
	}
	ancestors := map[string][]string{
		"contract":   nil,
		"clause":     {"contract"},
		"obligation": {"clause", "contract"},
		"signatory":  {"contract"},
		"nope":       nil,
	}
	for name, want := range ancestors {
		if got := s.Ancestors(name); !slices.Equal(got, want) {
			t.Errorf("Ancestors(%q) = %v, want %v", name, got, want)
		}
	}
	for name, plural := range map[string]string{
		"contract": "contracts", "clause": "clauses", "obligation": "obligations", "signatory": "signatories",
	} {
		typ, ok := s.ByPlural(plural)
		if !ok || typ.Name != name {
			t.Errorf("ByPlural(%q) = %v, %v; want %s", plural, typ, ok, name)
		}
		if typ.DisplayName == name {
			t.Errorf("%s has no display name", name)
		}
	}
	if _, ok := s.ByPlural("contract"); ok {
		t.Error(`ByPlural("contract") found a type`)
	}
	if _, ok := s.Type("contracts"); ok {
		t.Error(`Type("contracts") found a type`)
	}
	ob, _ := s.Type("obligation")
	done, ok := ob.Param("done")
	if !ok || done.Kind != schema.KindBoolean || string(done.Default) != "false" {
		t.Errorf("obligation.done = %+v", done)
	}
	if _, ok := ob.Param("title"); ok {
		t.Error("obligation has a title")
	}
	contract, _ := s.Type("contract")
	if !contract.HasAction("export") || ob.HasAction("export") || contract.HasAction("print") {
		t.Error("HasAction is wrong")
	}
}

func TestNamesIsACopy(t *testing.T) {
	s := schema.Default()
	s.Names()[0] = "changed"
	if s.Names()[0] != "clause" {
		t.Error("Names() returns the schema's own slice")
	}
	schema.DefaultJSON()[0] = 'x'
	if schema.DefaultJSON()[0] != '{' {
		t.Error("DefaultJSON() returns the embedded bytes themselves")
	}
}

func TestHiring(t *testing.T) {
	data, err := os.ReadFile("testdata/hiring.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.Parse(data)
	if err != nil {
		t.Fatalf("hiring.json: %v", err)
	}
	if got, want := s.Ancestors("interview"), []string{"application", "position"}; !slices.Equal(got, want) {
		t.Errorf("Ancestors(interview) = %v, want %v", got, want)
	}
	referral, _ := s.Type("referral")
	app, ok := referral.Param("application")
	if referral.Parent != "" || !ok || app.Kind != schema.KindRef || app.Target != "application" {
		t.Errorf("referral = %+v, its application = %+v", referral, app)
	}
	interview, _ := s.Type("interview")
	score, _ := interview.Param("score")
	if *score.Minimum != 1 || *score.Maximum != 5 {
		t.Errorf("interview.score bounds = %v..%v", *score.Minimum, *score.Maximum)
	}
	position, _ := s.Type("position")
	if !position.HasAction("export") || position.Description == "" {
		t.Errorf("position = %+v", position)
	}
}

func TestMarshalJSON(t *testing.T) {
	data, err := json.Marshal(schema.Default())
	if err != nil {
		t.Fatal(err)
	}
	var served struct {
		Version int              `json:"version"`
		Types   []map[string]any `json:"types"`
	}
	if err := json.Unmarshal(data, &served); err != nil {
		t.Fatal(err)
	}
	if served.Version != 1 || len(served.Types) != 4 {
		t.Fatalf("served %s", data)
	}
	var names []string
	byName := map[string]map[string]any{}
	for _, typ := range served.Types {
		name, _ := typ["name"].(string)
		names = append(names, name)
		byName[name] = typ
	}
	if !slices.Equal(names, []string{"clause", "contract", "obligation", "signatory"}) {
		t.Errorf("types served in the order %v", names)
	}
	contract := byName["contract"]
	wantContract := `{
	  "name": "contract", "display_name": "Contract", "plural": "contracts", "parent": null,
	  "children": ["clause", "signatory"],
	  "parameters": [
	    {"name": "signed_on", "display_name": "signed_on", "type": "date", "required": false, "indexed": true},
	    {"name": "status", "display_name": "status", "type": "enum", "required": false, "indexed": true,
	     "default": "draft", "values": ["draft", "review", "signed", "expired"]},
	    {"name": "title", "display_name": "Title", "type": "string", "required": true, "indexed": true, "max_length": 200},
	    {"name": "value", "display_name": "value", "type": "number", "required": false, "indexed": true, "minimum": 0}
	  ],
	  "actions": ["export"]
	}`
	var want map[string]any
	if err := json.Unmarshal([]byte(wantContract), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(contract, want) {
		t.Errorf("contract served as\n%v\nwant\n%v", contract, want)
	}
	if byName["clause"]["parent"] != "contract" {
		t.Errorf("clause's parent served as %v", byName["clause"]["parent"])
	}
	if actions, ok := byName["clause"]["actions"].([]any); !ok || len(actions) != 0 {
		t.Errorf("clause's actions served as %v, want []", byName["clause"]["actions"])
	}
	if children, ok := byName["signatory"]["children"].([]any); !ok || len(children) != 0 {
		t.Errorf("signatory's children served as %v, want []", byName["signatory"]["children"])
	}
}
