package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// wantFail checks a command failed with exit 1, nothing on stdout and one
// line on stderr starting with prefix.
func wantFail(t *testing.T, prefix string, environ []string, args ...string) {
	t.Helper()
	code, out, errOut := runCLI(t, environ, args...)
	if code != 1 || out != "" || !strings.HasPrefix(errOut, prefix) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("%v: code %d stdout %q stderr %q; want exit 1 and one line starting %q", args, code, out, errOut, prefix)
	}
}

// mustRun runs a command that must succeed with nothing on stderr.
func mustRun(t *testing.T, environ []string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, environ, args...)
	if code != 0 || errOut != "" {
		t.Fatalf("%v: code %d stdout %q stderr %q", args, code, out, errOut)
	}
	return out
}

func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one JSON line, got %q", out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
}

func TestPlatformCommandsHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"org", "--help"}, {"org", "create", "--help"}, {"org", "list", "--help"},
		{"admin-key", "--help"}, {"admin-key", "create", "--help"}, {"admin-key", "list", "--help"},
		{"admin-key", "revoke", "--help"}, {"token", "--help"}, {"token", "mint", "--help"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: code %d, output %q", args, code, out)
		}
	}
}

type orgJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ExternalID string `json:"external_id"`
}

func TestOrgCreateAndList(t *testing.T) {
	t.Parallel()
	dd := []string{"--data-dir", t.TempDir()} // fresh: the commands migrate it

	var acme orgJSON
	mustJSON(t, mustRun(t, nil, append([]string{"org", "create", "Acme", "--owner", "u1", "--external-id", "org_acme", "--json"}, dd...)...), &acme)
	if acme.ID == "" || acme.Name != "Acme" || acme.ExternalID != "org_acme" {
		t.Fatalf("org create --json: %+v", acme)
	}
	out := mustRun(t, nil, append([]string{"org", "create", "Globex", "--owner", "u2"}, dd...)...)
	if !strings.HasPrefix(out, "org ") || !strings.Contains(out, `"Globex"`) || strings.Count(out, "\n") != 1 {
		t.Fatalf("org create: %q", out)
	}

	out = mustRun(t, nil, append([]string{"org", "list"}, dd...)...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || lines[0] != acme.ID+"\tAcme\torg_acme" || !strings.Contains(lines[1], "\tGlobex\t") {
		t.Fatalf("org list: %q", out)
	}
	var list struct {
		Items      []orgJSON `json:"items"`
		NextCursor string    `json:"next_cursor"`
	}
	mustJSON(t, mustRun(t, nil, append([]string{"org", "list", "--json"}, dd...)...), &list)
	if len(list.Items) != 2 || list.Items[0] != acme || list.Items[1].Name != "Globex" || list.NextCursor != "" {
		t.Fatalf("org list --json: %+v", list)
	}
	code, out, errOut := runCLI(t, nil, append([]string{"org", "list", "--json", "--limit", "1"}, dd...)...)
	mustJSON(t, out, &list)
	if code != 0 || errOut != "" || len(list.Items) != 1 || list.Items[0] != acme || list.NextCursor == "" {
		t.Fatalf("org list --limit 1: %d %+v %q", code, list, errOut)
	}
	mustJSON(t, mustRun(t, nil, append([]string{"org", "list", "--json", "--cursor", list.NextCursor}, dd...)...), &list)
	if len(list.Items) != 1 || list.Items[0].Name != "Globex" {
		t.Fatalf("org list --cursor: %+v", list)
	}

	for _, c := range []struct {
		prefix string
		args   []string
	}{
		{"tessera: org create: --owner USER_ID is required", []string{"org", "create", "Initech"}},
		{"tessera: external_id is already used", []string{"org", "create", "Other", "--owner", "u1", "--external-id", "org_acme"}},
		{"tessera: validation failed: name: ", []string{"org", "create", " ", "--owner", "u1"}},
		{"tessera: validation failed: owner_id: ", []string{"org", "create", "X", "--owner", strings.Repeat("x", 300)}},
		{"tessera: org create: want NAME, got 0 arguments", []string{"org", "create", "--owner", "u1"}},
		{"tessera: org create: want NAME, got 2 arguments", []string{"org", "create", "a", "b", "--owner", "u1"}},
		{"tessera: org list: --limit must be between 1 and 500", []string{"org", "list", "--limit", "0"}},
		{"tessera: ", []string{"org", "list", "--cursor", "garbage!"}},
	} {
		wantFail(t, c.prefix, nil, append(c.args, dd...)...)
	}
}

func TestAdminKeys(t *testing.T) {
	t.Parallel()
	dd := []string{"--data-dir", t.TempDir()}

	var created struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	}
	out := mustRun(t, nil, append([]string{"admin-key", "create", "--name", "ci", "--json"}, dd...)...)
	mustJSON(t, out, &created)
	var fields map[string]any
	mustJSON(t, out, &fields)
	if created.KeyID == "" || len(created.Secret) < 40 || len(fields) != 2 {
		t.Fatalf("admin-key create --json: %q", out)
	}
	out = mustRun(t, nil, append([]string{"admin-key", "create"}, dd...)...)
	if !strings.HasPrefix(out, "admin key ") || !strings.Contains(out, " secret ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("admin-key create: %q", out)
	}

	out = mustRun(t, nil, append([]string{"admin-key", "list"}, dd...)...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], created.KeyID+"\t") || !strings.HasSuffix(lines[0], "\tlive\tci") ||
		strings.Contains(out, created.Secret) {
		t.Fatalf("admin-key list: %q", out)
	}
	var list struct {
		Items []struct {
			KeyID     string     `json:"key_id"`
			Name      string     `json:"name"`
			CreatedAt time.Time  `json:"created_at"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"items"`
	}
	out = mustRun(t, nil, append([]string{"admin-key", "list", "--json"}, dd...)...)
	mustJSON(t, out, &list)
	if len(list.Items) != 2 || list.Items[0].KeyID != created.KeyID || list.Items[0].Name != "ci" ||
		list.Items[0].CreatedAt.IsZero() || list.Items[0].RevokedAt != nil ||
		strings.Contains(out, created.Secret) || strings.Contains(out, "secret") {
		t.Fatalf("admin-key list --json: %q", out)
	}

	out = mustRun(t, nil, append([]string{"admin-key", "revoke", created.KeyID}, dd...)...)
	if out != "admin key "+created.KeyID+" revoked\n" {
		t.Fatalf("admin-key revoke: %q", out)
	}
	mustRun(t, nil, append([]string{"admin-key", "revoke", created.KeyID}, dd...)...) // again: a no-op
	mustJSON(t, mustRun(t, nil, append([]string{"admin-key", "list", "--json"}, dd...)...), &list)
	if list.Items[0].RevokedAt == nil || list.Items[1].RevokedAt != nil {
		t.Fatalf("after revoke: %+v", list)
	}
	out = mustRun(t, nil, append([]string{"admin-key", "list"}, dd...)...)
	if !strings.Contains(out, "\trevoked ") {
		t.Fatalf("admin-key list after revoke: %q", out)
	}

	wantFail(t, `tessera: no admin key "nope"`, nil, append([]string{"admin-key", "revoke", "nope"}, dd...)...)
	wantFail(t, "tessera: admin-key revoke: want KEY_ID, got 0 arguments", nil, append([]string{"admin-key", "revoke"}, dd...)...)
	wantFail(t, "tessera: invalid admin key: name: at most 200 characters", nil,
		append([]string{"admin-key", "create", "--name", strings.Repeat("n", 201)}, dd...)...)
}

// startServe runs `tessera serve` on engine until the test ends and returns
// its base URL and the flags that point another command at the same node
// (data directory, database and address, hence public_url).
func startServe(t *testing.T, engine store.Engine) (base string, node []string) {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	node = []string{"--data-dir", dir, "--addr", addr}
	if engine == store.EnginePostgres {
		node = append(node, "--database", storetest.DSN(t, engine))
	}
	base = "http://" + addr
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() { done <- runContext(ctx, append([]string{"serve"}, node...), nil, io.Discard, &errOut) }()
	t.Cleanup(func() {
		stop()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s of its context ending")
		}
	})
	waitHealthy(t, base, done, &errOut)
	return base, node
}

func getWith(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestTokenMintAcceptedByTheNode mints platform tokens with the CLI while a
// node runs on the same store: a live one is accepted, an expired or not yet
// valid one is not.
func TestTokenMintAcceptedByTheNode(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			base, node := startServe(t, engine)
			var org orgJSON
			mustJSON(t, mustRun(t, nil, append([]string{"org", "create", "Acme", "--owner", "user-1", "--json"}, node...)...), &org)

			mint := func(extra ...string) string {
				t.Helper()
				var tok struct {
					Token string `json:"token"`
				}
				mustJSON(t, mustRun(t, nil, append(append([]string{"token", "mint", "--user", "user-1", "--json"}, extra...), node...)...), &tok)
				if strings.Count(tok.Token, ".") != 2 {
					t.Fatalf("token mint %v: %q", extra, tok.Token)
				}
				return tok.Token
			}
			status, body := getWith(t, base+"/orgs", mint())
			if status != http.StatusOK || !strings.Contains(body, org.ID) {
				t.Fatalf("GET /orgs with a minted token: %d %s", status, body)
			}
			out := mustRun(t, nil, append([]string{"token", "mint", "--user", "user-1", "--ttl", "2m"}, node...)...)
			if status, body := getWith(t, base+"/orgs", strings.TrimSuffix(out, "\n")); status != http.StatusOK {
				t.Fatalf("GET /orgs with a plain minted token: %d %s", status, body)
			}
			for _, extra := range [][]string{
				{"--ttl", "-1m"},
				{"--not-before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
			} {
				if status, body := getWith(t, base+"/orgs", mint(extra...)); status != http.StatusUnauthorized {
					t.Errorf("GET /orgs with a token minted with %v: %d %s, want 401", extra, status, body)
				}
			}
			if status, _ := getWith(t, base+"/orgs", ""); status != http.StatusUnauthorized {
				t.Errorf("GET /orgs without a token: %d, want 401", status)
			}
		})
	}
}

// TestTokenMintOrgAndScopes: --org and --scopes become the org_id and scope
// claims the authorizer reads.
func TestTokenMintOrgAndScopes(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "token", "mint", "--data-dir", t.TempDir(), "--user", "u1",
		"--org", "org-1", "--scopes", "records:read records:write", "--json")
	var minted struct{ Token string }
	if code != 0 || json.Unmarshal([]byte(out), &minted) != nil {
		t.Fatalf("mint: %d %q %q", code, out, errOut)
	}
	parts := strings.Split(minted.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", minted.Token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "u1" || claims["org_id"] != "org-1" || claims["scope"] != "records:read records:write" {
		t.Fatalf("claims %v", claims)
	}
}

func TestTokenMintBadInput(t *testing.T) {
	t.Parallel()
	dd := []string{"--data-dir", t.TempDir()}
	for _, c := range []struct {
		prefix string
		args   []string
	}{
		{"tessera: token mint: --user is required", []string{"--ttl", "5m"}},
		{"tessera: invalid argument \"soon\" for \"--ttl\"", []string{"--user", "u", "--ttl", "soon"}},
		{"tessera: token mint: --ttl must not be 0", []string{"--user", "u", "--ttl", "0"}},
		{"tessera: token lifetime exceeds 1h0m0s", []string{"--user", "u", "--ttl", "2h"}},
		{"tessera: token mint: --not-before \"tomorrow\" is not an RFC 3339 time", []string{"--user", "u", "--not-before", "tomorrow"}},
		{"tessera: token mint: --level applies with --entity", []string{"--user", "u", "--level", "5"}},
		{"tessera: token mint: --entity needs messaging.jwt_secret", []string{"--user", "u", "--entity", "e", "--level", "100"}},
		{"tessera: token mint: --level is required with --entity", []string{"--user", "u", "--entity", "e"}},
		{"tessera: token mint: --level must be between 0 and 1000000", []string{"--user", "u", "--entity", "e", "--level", "1000001"}},
		{"tessera: token mint: --level must be between 0 and 1000000", []string{"--user", "u", "--entity", "e", "--level", "-1"}},
		{"tessera: token mint: --org does not apply with --entity", []string{"--user", "u", "--entity", "e", "--level", "1", "--org", "o"}},
		{"tessera: token mint: --user is required", []string{"--entity", "e", "--level", "1"}},
	} {
		wantFail(t, c.prefix, nil, append(append([]string{"token", "mint"}, c.args...), dd...)...)
	}
}

// TestTokenMintShared mints the nano-messaging form and reads it back with
// the shared secret.
func TestTokenMintShared(t *testing.T) {
	t.Parallel()
	const secret = "a-shared-secret-of-some-length"
	environ := []string{"TESSERA_MESSAGING_JWT_SECRET=" + secret}
	nbf := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	var out struct {
		Token string `json:"token"`
	}
	mustJSON(t, mustRun(t, environ, "token", "mint", "--user", "user-uuid-1", "--entity", "entity-uuid-9",
		"--level", "100", "--ttl", "10m", "--not-before", nbf.Format(time.RFC3339), "--json"), &out)

	tok, err := jwt.Parse([]byte(out.Token), jwt.WithKey(jwa.HS256(), []byte(secret)))
	if err != nil {
		t.Fatalf("parse %q: %v", out.Token, err)
	}
	var user, entity string
	var level float64
	if err := tok.Get("userUUID", &user); err != nil || user != "user-uuid-1" {
		t.Errorf("userUUID %q %v", user, err)
	}
	if err := tok.Get("entityUUID", &entity); err != nil || entity != "entity-uuid-9" {
		t.Errorf("entityUUID %q %v", entity, err)
	}
	if err := tok.Get("levelOnEntity", &level); err != nil || level != 100 {
		t.Errorf("levelOnEntity %v %v", level, err)
	}
	exp, _ := tok.Expiration()
	if d := time.Until(exp); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("exp in %s, want about 10m", d)
	}
	if got, _ := tok.NotBefore(); !got.Equal(nbf) {
		t.Errorf("nbf %s, want %s", got, nbf)
	}
	if _, err := jwt.Parse([]byte(out.Token), jwt.WithKey(jwa.HS256(), []byte("another secret"))); err == nil {
		t.Error("the token verifies with another secret")
	}

	// Plain output is the token alone; the secret may come from the flag.
	code, plainOut, errOut := runCLI(t, nil, "token", "mint", "--user", "u", "--entity", "e", "--level", "0",
		"--messaging-jwt-secret", secret)
	if code != 0 || errOut != "" || strings.Count(plainOut, ".") != 2 || strings.Count(plainOut, "\n") != 1 {
		t.Fatalf("token mint --entity: %d %q %q", code, plainOut, errOut)
	}
	if _, err := jwt.Parse([]byte(strings.TrimSpace(plainOut)), jwt.WithKey(jwa.HS256(), []byte(secret))); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownSubcommand(t *testing.T) {
	t.Parallel()
	for _, group := range []string{"org", "admin-key", "token"} {
		wantFail(t, `tessera: unknown command "bogus" for "tessera `+group+`"`, nil, group, "bogus")
		if code, out, _ := runCLI(t, nil, group); code != 0 || !strings.Contains(out, "Available Commands:") {
			t.Errorf("%s: code %d out %q", group, code, out)
		}
	}
}
