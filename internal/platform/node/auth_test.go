package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// TestPlatformTokensReachOrgs: a node publishes its signing keys, accepts the
// tokens they sign at /orgs, refuses bad ones, and decides X-Org-ID by
// membership. On both engines.
func TestPlatformTokensReachOrgs(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, engine)
			reg, err := app.NewRegistry()
			if err != nil {
				t.Fatal(err)
			}
			n, err := Open(context.Background(), cfg, reg, slog.New(slog.DiscardHandler), Options{})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(n.Handler())
			t.Cleanup(func() { srv.Close(); _ = n.Close() })

			token := func(user string) string {
				tok, err := n.id.Keys.Mint(context.Background(), identity.Claims{UserID: user})
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			call := func(method, path, bearer, orgID, body string) (int, string) {
				return testhttp.Do(t, method, srv.URL+path, body, func(r *http.Request) {
					if bearer != "" {
						r.Header.Set("Authorization", "Bearer "+bearer)
					}
					if orgID != "" {
						r.Header.Set("X-Org-ID", orgID)
					}
				})
			}

			tok := token("user-1")
			status, body := call("GET", "/.well-known/jwks.json", "", "", "")
			var jwks struct{ Keys []map[string]any }
			if status != http.StatusOK || json.Unmarshal([]byte(body), &jwks) != nil || len(jwks.Keys) == 0 || jwks.Keys[0]["kid"] == nil {
				t.Fatalf("jwks: %d %s", status, body)
			}
			if status, body := call("GET", "/.well-known/openid-configuration", "", "", ""); status != http.StatusOK || !strings.Contains(body, `"jwks_uri"`) {
				t.Fatalf("openid-configuration: %d %s", status, body)
			}

			status, body = call("POST", "/orgs", tok, "", `{"name":"Acme"}`)
			var org struct{ ID string }
			if status != http.StatusCreated || json.Unmarshal([]byte(body), &org) != nil || org.ID == "" {
				t.Fatalf("create org: %d %s", status, body)
			}
			if status, body := call("GET", "/orgs/"+org.ID, tok, "", ""); status != http.StatusOK || !strings.Contains(body, "Acme") {
				t.Fatalf("get own org: %d %s", status, body)
			}
			if status, _ := call("GET", "/orgs/"+org.ID, token("user-2"), "", ""); status != http.StatusNotFound {
				t.Errorf("another user's org: %d, want 404", status)
			}
			if status, _ := call("GET", "/orgs", tok[:len(tok)-4]+"AAAA", "", ""); status != http.StatusUnauthorized {
				t.Errorf("tampered token: %d, want 401", status)
			}
			if status, _ := call("GET", "/orgs", "", "", ""); status != http.StatusUnauthorized {
				t.Errorf("no token: %d, want 401", status)
			}
			if status, _ := call("GET", "/orgs", token("user-2"), org.ID, ""); status != http.StatusForbidden {
				t.Errorf("X-Org-ID of an org the user is not in: %d, want 403", status)
			}
			if status, _ := call("GET", "/orgs", tok, org.ID, ""); status != http.StatusOK {
				t.Errorf("X-Org-ID of the user's own org: %d, want 200", status)
			}

			// The admin API takes admin keys only.
			key, secret, err := authz.NewAdminKeys(n.store.App(authz.Schema)).Create(context.Background(), "ops")
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/admin/orgs", "/admin/events", "/admin/jobs", "/admin/mails"} {
				status, body := testhttp.Do(t, "GET", srv.URL+path, "", testhttp.Basic(key.ID, secret))
				if status != http.StatusOK {
					t.Errorf("admin key GET %s: %d %s", path, status, body)
				}
			}
			if status, _ := call("GET", "/admin/orgs", tok, "", ""); status != http.StatusForbidden {
				t.Errorf("platform token on /admin: %d, want 403", status)
			}
		})
	}
}

// TestAppAdminCollection: an app's admin collection answers admin keys only.
func TestAppAdminCollection(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, store.EngineSQLite)
	reg, err := app.NewRegistry(notesApp())
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(context.Background(), cfg, reg, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(func() { srv.Close(); _ = n.Close() })
	key, secret, err := n.id.AdminKeys.Create(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := n.id.Keys.Mint(context.Background(), identity.Claims{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		auth   func(*http.Request)
		status int
	}{
		{"anonymous", func(*http.Request) {}, http.StatusUnauthorized},
		{"platform token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, http.StatusForbidden},
		{"admin key", testhttp.Basic(key.ID, secret), http.StatusOK},
	} {
		if status, body := testhttp.Do(t, "GET", srv.URL+"/admin/notes/notes", "", c.auth); status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.status)
		}
	}
}

// TestAppsGetUsersAndOrgs: a mounted app's Env carries the node's user pool
// and org service.
func TestAppsGetUsersAndOrgs(t *testing.T) {
	t.Parallel()
	var env app.Env
	notes := app.App{Name: "notes", Mount: func(_ context.Context, e app.Env) error {
		env = e
		return nil
	}}
	reg, err := app.NewRegistry(notes)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(context.Background(), testConfig(t, store.EngineSQLite), reg, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	if env.Users == nil || env.Users != n.Identity().Users || env.Orgs == nil || env.Orgs != n.Identity().Orgs {
		t.Fatalf("env users %p orgs %p, node's %p %p", env.Users, env.Orgs, n.Identity().Users, n.Identity().Orgs)
	}
}
