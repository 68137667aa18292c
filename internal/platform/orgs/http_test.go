package orgs

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// serve starts the edge with the orgs API behind a test authorizer: the
// X-Test-User header makes the request a platform user's, X-Test-Admin an
// admin key's; neither leaves it anonymous.
func serve(t *testing.T, st *store.Store) (*httptest.Server, *Service) {
	t.Helper()
	svc, _ := open(t, st)
	edge := httpapi.New(httpapi.Options{Title: "test", Version: "0", Logger: slog.New(slog.DiscardHandler)})
	svc.Register(edge.API())
	h := edge.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("X-Test-Admin") != "":
			r = r.WithContext(authz.WithPrincipal(r.Context(), admin))
		case r.Header.Get("X-Test-User") != "":
			r = r.WithContext(authz.WithPrincipal(r.Context(), user(r.Header.Get("X-Test-User"))))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, svc
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, srv *httptest.Server, as, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch as {
	case "":
	case "ADMIN":
		req.Header.Set("X-Test-Admin", "1")
	default:
		req.Header.Set("X-Test-User", as)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return out
}

func errorLocations(r response) []string {
	var locs []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			loc, _ := m["location"].(string)
			locs = append(locs, loc)
		}
	}
	return locs
}

func TestHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		srv, _ := serve(t, st)

		r := do(t, srv, "", "GET", "/orgs", "")
		if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("anonymous: %d %v", r.status, r.header)
		}
		r = do(t, srv, "alice", "POST", "/orgs", `{"name":"Acme","external_id":"ext-acme"}`)
		if r.status != 201 {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
		org, _ := r.body["id"].(string)
		if loc := r.header.Get("Location"); loc != "/orgs/"+org || org == "" {
			t.Fatalf("Location %q for %q", loc, org)
		}
		r = do(t, srv, "mallory", "POST", "/orgs", `{"name":"Evil"}`)
		evil, _ := r.body["id"].(string)

		steps := []struct {
			name, as, method, path, body string
			status                       int
			locations                    []string // of a 422, in order
		}{
			{"owner reads", "alice", "GET", "/orgs/" + org, "", 200, nil},
			{"outsider cannot see", "mallory", "GET", "/orgs/" + org, "", 404, nil},
			{"missing org looks the same", "mallory", "GET", "/orgs/0190a0a0-0000-7000-8000-000000000000", "", 404, nil},
			{"outsider cannot add itself", "mallory", "PUT", "/orgs/" + org + "/members/mallory", `{"role":"owner"}`, 404, nil},
			{"outsider cannot list members", "mallory", "GET", "/orgs/" + org + "/members", "", 404, nil},
			{"outsider cannot list groups", "mallory", "GET", "/orgs/" + org + "/groups", "", 404, nil},
			{"outsider cannot patch", "mallory", "PATCH", "/orgs/" + org, `{"name":"mine"}`, 404, nil},
			{"unknown field", "alice", "POST", "/orgs", `{"name":"X","title":"typo"}`, 400, nil},
			{"unknown member field", "alice", "PUT", "/orgs/" + org + "/members/bob", `{"role":"member","rank":3}`, 400, nil},
			{"every bad field", "alice", "PUT", "/orgs/" + org + "/members/bob", `{"role":"boss","level":1000001}`, 422, []string{"body.level", "body.role"}},
			{"negative level", "alice", "PUT", "/orgs/" + org + "/members/bob", `{"role":"member","level":-1}`, 422, []string{"body.level"}},
			{"add bob", "alice", "PUT", "/orgs/" + org + "/members/bob", `{"role":"member","level":1000000}`, 201, nil},
			{"change bob", "alice", "PUT", "/orgs/" + org + "/members/bob", `{"role":"admin","level":3}`, 200, nil},
			{"bob adds carol", "bob", "PUT", "/orgs/" + org + "/members/carol", `{"role":"member"}`, 201, nil},
			{"bob cannot make carol owner", "bob", "PUT", "/orgs/" + org + "/members/carol", `{"role":"owner"}`, 403, nil},
			{"carol cannot manage", "carol", "PUT", "/orgs/" + org + "/members/dave", `{"role":"member"}`, 403, nil},
			{"last owner cannot leave", "alice", "DELETE", "/orgs/" + org + "/members/alice", "", 409, nil},
			{"last owner cannot step down", "alice", "PUT", "/orgs/" + org + "/members/alice", `{"role":"admin"}`, 409, nil},
			{"same external_id is no change", "alice", "PATCH", "/orgs/" + org, `{"external_id":"ext-acme"}`, 200, nil},
			{"external_id of another org", "mallory", "PATCH", "/orgs/" + evil, `{"external_id":"ext-acme"}`, 409, nil},
			{"patch name", "bob", "PATCH", "/orgs/" + org, `{"name":"Acme Inc"}`, 200, nil},
			{"member cannot patch", "carol", "PATCH", "/orgs/" + org, `{"name":"Carol's"}`, 403, nil},
			{"empty group name", "bob", "POST", "/orgs/" + org + "/groups", `{"name":""}`, 422, []string{"body.name"}},
			{"bad limit", "alice", "GET", "/orgs?limit=501", "", 422, []string{"query.limit"}},
			{"bad cursor", "alice", "GET", "/orgs?cursor=%25%25", "", 422, []string{"query.cursor"}},
			{"admin key sees any org", "ADMIN", "GET", "/orgs/" + evil, "", 200, nil},
			{"carol leaves", "carol", "DELETE", "/orgs/" + org + "/members/carol", "", 204, nil},
			{"carol is gone", "carol", "GET", "/orgs/" + org, "", 404, nil},
		}
		for _, s := range steps {
			r := do(t, srv, s.as, s.method, s.path, s.body)
			if r.status != s.status {
				t.Fatalf("%s: status %d, want %d: %v", s.name, r.status, s.status, r.body)
			}
			if s.locations != nil {
				got := errorLocations(r)
				if strings.Join(got, ",") != strings.Join(s.locations, ",") {
					t.Fatalf("%s: errors at %v, want %v", s.name, got, s.locations)
				}
			}
		}

		// Groups: create (201 + Location), add a member, list.
		r = do(t, srv, "bob", "POST", "/orgs/"+org+"/groups", `{"name":"Design"}`)
		group, _ := r.body["id"].(string)
		if r.status != 201 || r.header.Get("Location") != "/orgs/"+org+"/groups/"+group {
			t.Fatalf("create group: %d %v %v", r.status, r.header.Get("Location"), r.body)
		}
		gm := "/orgs/" + org + "/groups/" + group + "/members/"
		for _, s := range []struct {
			as, method, who string
			status          int
		}{
			{"bob", "PUT", "bob", 201}, {"bob", "PUT", "bob", 200}, {"bob", "PUT", "carol", 422},
			{"mallory", "PUT", "mallory", 404}, {"alice", "DELETE", "bob", 204}, {"alice", "DELETE", "bob", 404},
			{"alice", "PUT", "alice", 201},
		} {
			if r := do(t, srv, s.as, s.method, gm+s.who, ""); r.status != s.status {
				t.Fatalf("%s %s %s: %d, want %d: %v", s.as, s.method, s.who, r.status, s.status, r.body)
			}
		}
		r = do(t, srv, "alice", "GET", "/orgs/"+org+"/groups", "")
		if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 1 {
			t.Fatalf("groups: %d %v", r.status, r.body)
		}
		// Lists page with next_cursor, absent on the last page.
		r = do(t, srv, "alice", "GET", "/orgs/"+org+"/members?limit=1", "")
		next, _ := r.body["next_cursor"].(string)
		if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 1 || next == "" {
			t.Fatalf("members page 1: %d %v", r.status, r.body)
		}
		r = do(t, srv, "alice", "GET", "/orgs/"+org+"/members?limit=1&cursor="+next, "")
		if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 1 {
			t.Fatalf("members page 2: %d %v", r.status, r.body)
		}
		if _, has := r.body["next_cursor"]; has {
			t.Fatalf("last page carries next_cursor: %v", r.body)
		}
		// Members come with their groups in the org, sorted, [] for none;
		// a change shows on the next list.
		r = do(t, srv, "bob", "POST", "/orgs/"+org+"/groups", `{"name":"Ops"}`)
		ops, _ := r.body["id"].(string)
		for _, step := range []struct{ method, path, body string }{
			{"PUT", "/orgs/" + org + "/groups/" + ops + "/members/bob", ""},
			{"PUT", "/orgs/" + org + "/groups/" + ops + "/members/alice", ""},
			{"PUT", "/orgs/" + org + "/members/dave", `{"role":"member"}`},
		} {
			if r := do(t, srv, "alice", step.method, step.path, step.body); r.status != 201 {
				t.Fatalf("%s %s: %d %v", step.method, step.path, r.status, r.body)
			}
		}
		groupsOf := func() map[string]string {
			t.Helper()
			r := do(t, srv, "dave", "GET", "/orgs/"+org+"/members?limit=2", "")
			out := map[string]string{}
			for r.status == 200 {
				items, _ := r.body["items"].([]any)
				for _, it := range items {
					m, _ := it.(map[string]any)
					gs, ok := m["groups"].([]any)
					if !ok {
						t.Fatalf("member without a groups array: %v", m)
					}
					out[fmt.Sprint(m["user_id"])] = fmt.Sprint(gs...)
				}
				next, _ := r.body["next_cursor"].(string)
				if next == "" {
					return out
				}
				r = do(t, srv, "dave", "GET", "/orgs/"+org+"/members?limit=2&cursor="+next, "")
			}
			t.Fatalf("members: %d %v", r.status, r.body)
			return nil
		}
		sorted := slices.Sorted(slices.Values([]string{ops, group}))
		want := map[string]string{"alice": fmt.Sprint(sorted[0], sorted[1]), "bob": ops, "dave": ""}
		if got := groupsOf(); !maps.Equal(got, want) {
			t.Fatalf("members' groups %v, want %v", got, want)
		}
		if r := do(t, srv, "alice", "DELETE", "/orgs/"+org+"/groups/"+ops+"/members/bob", ""); r.status != 204 {
			t.Fatalf("remove bob from ops: %d %v", r.status, r.body)
		}
		want["bob"] = ""
		if got := groupsOf(); !maps.Equal(got, want) {
			t.Fatalf("members' groups after a removal %v, want %v", got, want)
		}
		r = do(t, srv, "alice", "GET", "/orgs", "")
		if items, _ := r.body["items"].([]any); len(items) != 1 {
			t.Fatalf("alice's orgs: %v", r.body)
		}
		r = do(t, srv, "ADMIN", "GET", "/orgs", "")
		if items, _ := r.body["items"].([]any); len(items) != 2 {
			t.Fatalf("admin's orgs: %v", r.body)
		}
		// An admin key creates an org for a named owner; it must name one.
		if r := do(t, srv, "ADMIN", "POST", "/orgs", `{"name":"Ops"}`); r.status != 422 {
			t.Fatalf("admin without owner: %d %v", r.status, r.body)
		}
		if r := do(t, srv, "ADMIN", "POST", "/orgs", `{"name":"Ops","owner_id":"zed"}`); r.status != 201 {
			t.Fatalf("admin with owner: %d %v", r.status, r.body)
		}
	})
}
