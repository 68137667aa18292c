package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
)

// hiringConfig is the records app's second sample domain.
const hiringConfig = "../../internal/apps/records/schema/testdata/hiring.json"

// badRecordsConfig has eight problems, at the paths badRecordsPaths lists.
const badRecordsConfig = `{
  "version": 2,
  "types": {
    "contract": {
      "display_name": "Contract",
      "parent": "nowhere",
      "parameters": {
        "value": {"type": "money"},
        "status": {"type": "enum", "values": ["draft", "signed"], "default": "lost"}
      },
      "actions": ["print"]
    },
    "a": {"parent": "b"},
    "b": {"parent": "a"},
    "Bad Name": {}
  }
}`

var badRecordsPaths = []string{
	"$.types.a.parent",
	"$.types.b.parent",
	"$.types.contract.actions[0]",
	"$.types.contract.parameters.status.default",
	"$.types.contract.parameters.value.type",
	"$.types.contract.parent",
	`$.types["Bad Name"]`,
	"$.version",
}

// writeTemp writes content to a file named name in a fresh directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// oneErrorLine checks that stderr is exactly one line, "tessera: …"
// containing every want.
func oneErrorLine(t *testing.T, what, stderr string, want ...string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "tessera: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("%s: stderr %q, want one line starting with \"tessera: \"", what, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr %q does not mention %q", what, stderr, w)
		}
	}
}

// TestRecordsValidateConfig: `tessera records validate-config FILE` says ok
// for a good file (exit 0); for a bad one it prints every problem with its
// JSON path on stdout and one summary line on stderr (exit 1); an
// unreadable file or a missing argument is one line on stderr (exit 1).
func TestRecordsValidateConfig(t *testing.T) {
	t.Parallel()

	t.Run("good file", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCLI(t, nil, "records", "validate-config", hiringConfig)
		if code != 0 || errOut != "" || !strings.Contains(out, "ok") || !strings.Contains(out, "4 types") || strings.Count(out, "\n") != 1 {
			t.Fatalf("validate-config %s: code %d stdout %q stderr %q, want 0 and one ok line", hiringConfig, code, out, errOut)
		}
	})

	t.Run("every problem with its path", func(t *testing.T) {
		t.Parallel()
		path := writeTemp(t, "bad.json", badRecordsConfig)
		code, out, errOut := runCLI(t, nil, "records", "validate-config", path)
		if code != 1 {
			t.Fatalf("validate-config of a bad file: code %d, want 1 (stdout %q stderr %q)", code, out, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		var paths []string
		for _, l := range lines {
			p, msg, ok := strings.Cut(l, ": ")
			if !ok || !strings.HasPrefix(p, "$") || strings.TrimSpace(msg) == "" {
				t.Errorf("problem line %q is not \"<JSON path>: <message>\"", l)
			}
			paths = append(paths, p)
		}
		if !slices.Equal(paths, badRecordsPaths) {
			t.Errorf("problem paths:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(badRecordsPaths, "\n"))
		}
		for _, want := range []string{`"money"`, `"lost"`, `"nowhere"`, `"print"`, "cycle", "version 2"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout does not mention %s:\n%s", want, out)
			}
		}
		oneErrorLine(t, "bad file", errOut, path, strconv.Itoa(len(badRecordsPaths))+" problem")
	})

	t.Run("not JSON", func(t *testing.T) {
		t.Parallel()
		path := writeTemp(t, "broken.json", `{"version": 1, "types": {`)
		code, out, errOut := runCLI(t, nil, "records", "validate-config", path)
		if code != 1 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "$: ") || !strings.Contains(out, "JSON") {
			t.Fatalf("validate-config of a broken file: code %d stdout %q stderr %q, want 1 and one problem at $", code, out, errOut)
		}
		oneErrorLine(t, "broken file", errOut, path, "1 problem")
	})

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "absent.json")
		code, out, errOut := runCLI(t, nil, "records", "validate-config", path)
		if code != 1 || out != "" {
			t.Fatalf("validate-config of a missing file: code %d stdout %q, want 1 and nothing on stdout", code, out)
		}
		oneErrorLine(t, "missing file", errOut, path)
	})

	t.Run("no file named", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCLI(t, nil, "records", "validate-config")
		if code != 1 || out != "" {
			t.Fatalf("validate-config without a file: code %d stdout %q, want 1", code, out)
		}
		oneErrorLine(t, "no file", errOut)
	})
}

// TestRecordsDefaultConfig: `tessera records default-config` prints the
// embedded contract hierarchy as JSON that parses and validates, with
// validate-config as with the schema package.
func TestRecordsDefaultConfig(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "records", "default-config")
	if code != 0 || errOut != "" {
		t.Fatalf("default-config: code %d stderr %q", code, errOut)
	}
	var doc struct {
		Version int                        `json:"version"`
		Types   map[string]json.RawMessage `json:"types"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("default-config is not JSON: %v\n%s", err, out)
	}
	for _, want := range []string{"contract", "clause", "obligation", "signatory"} {
		if doc.Types[want] == nil {
			t.Errorf("default-config lacks type %s", want)
		}
	}
	if doc.Version != 1 {
		t.Errorf("default-config version %d, want 1", doc.Version)
	}
	sc, err := schema.Parse([]byte(out))
	if err != nil {
		t.Fatalf("default-config does not parse: %v", err)
	}
	if got, want := sc.Names(), schema.Default().Names(); !slices.Equal(got, want) {
		t.Errorf("default-config types %v, embedded default %v", got, want)
	}

	path := writeTemp(t, "default.json", out)
	code, vout, verr := runCLI(t, nil, "records", "validate-config", path)
	if code != 0 || verr != "" || !strings.Contains(vout, "ok, "+strconv.Itoa(len(doc.Types))+" types") {
		t.Fatalf("validate-config of default-config's output: code %d stdout %q stderr %q", code, vout, verr)
	}
}
