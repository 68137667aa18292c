package app

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tessera-dev/tessera"

// TestAppsImportNoOtherApp walks the source tree: a file under
// internal/apps/<a>/ may not import internal/apps/<b>, and nothing under
// internal/platform may import any app. internal/apps/all, the list of
// every app, is the one package that imports them all; no app imports it.
func TestAppsImportNoOtherApp(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			target, ok := strings.CutPrefix(p, module+"/internal/apps/")
			if !ok {
				continue
			}
			targetApp := strings.SplitN(target, "/", 2)[0]
			switch {
			case parts[0] == "platform":
				t.Errorf("%s imports app package %s: the platform imports no app", rel, p)
			case parts[0] == "apps" && parts[1] != targetApp && parts[1] != "all":
				t.Errorf("%s imports %s: apps never import each other", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("walked no Go files: wrong root")
	}
	if _, err := os.Stat(filepath.Join(root, "platform")); err != nil {
		t.Fatalf("root %s is not internal/: %v", root, err)
	}
}
