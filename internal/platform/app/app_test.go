package app

import (
	"context"
	"net/http"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

func TestRegistryRefusesBadDeclarations(t *testing.T) {
	t.Parallel()
	mount := func(context.Context, Env) error { return nil }
	cases := map[string][]App{
		"upper case":   {{Name: "Notes", Mount: mount}},
		"reserved":     {{Name: "admin", Mount: mount}},
		"platform":     {{Name: "platform", Mount: mount}},
		"twice":        {{Name: "notes", Mount: mount}, {Name: "notes", Mount: mount}},
		"no mount":     {{Name: "notes"}},
		"with a slash": {{Name: "no/tes", Mount: mount}},
	}
	for name, apps := range cases {
		if _, err := NewRegistry(apps...); err == nil {
			t.Errorf("%s: registry accepted %+v", name, apps)
		}
	}
	reg, err := NewRegistry(App{Name: "notes", Mount: mount}, App{Name: "todo", Mount: mount})
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Names(); len(got) != 2 || got[0] != "notes" || got[1] != "todo" {
		t.Fatalf("names in declaration order: %v", got)
	}
}

type recordingRouter struct{ patterns []string }

func (r *recordingRouter) Group(string) huma.API { return nil }
func (r *recordingRouter) API() huma.API         { return nil }
func (r *recordingRouter) Handle(pattern string, _ http.Handler) {
	r.patterns = append(r.patterns, pattern)
}

func TestHandleStaysUnderTheAppPrefix(t *testing.T) {
	t.Parallel()
	router := &recordingRouter{}
	handle := prefixedHandle("notes", router)
	handle("GET /notes/ws", http.NotFoundHandler())
	handle("/notes", http.NotFoundHandler())
	for _, pattern := range []string{"GET /admin/x", "GET /notesx/ws", "/", "POST /todo/notes/"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("pattern %q outside /notes/ was accepted", pattern)
				}
			}()
			handle(pattern, http.NotFoundHandler())
		}()
	}
	if len(router.patterns) != 2 {
		t.Fatalf("registered %v", router.patterns)
	}
}
