package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestUserCommands(t *testing.T) {
	t.Parallel()
	dd := []string{"--data-dir", t.TempDir()}
	run := func(args ...string) (int, string, string) { return runCLI(t, nil, append(args, dd...)...) }

	code, out, errOut := run("user", "create", "Ada@Example.com", "--password", "correct horse battery staple", "--name", "Ada", "--confirmed", "--json")
	var u struct {
		ID, Email string
		Confirmed bool
	}
	if code != 0 || json.Unmarshal([]byte(out), &u) != nil || u.Email != "ada@example.com" || !u.Confirmed || u.ID == "" {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run("user", "create", "ada@example.com", "--password", "correct horse battery staple"); code != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("duplicate email: %d %q", code, errOut)
	}
	if code, _, errOut := run("user", "create", "bob@example.com", "--password", "short"); code != 1 || !strings.HasPrefix(errOut, "tessera: ") {
		t.Errorf("weak password: %d %q", code, errOut)
	}
	code, out, _ = run("user", "list", "--q", "ada")
	if code != 0 || !strings.Contains(out, u.ID+"\tada@example.com\tactive\tAda") {
		t.Errorf("list: %d %q", code, out)
	}
	if code, out, errOut := run("user", "disable", u.ID); code != 0 || out != "user "+u.ID+" disabled\n" {
		t.Errorf("disable: %d %q %q", code, out, errOut)
	}
	code, out, _ = run("user", "list", "--json")
	var list struct{ Items []struct{ Disabled bool } }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 || !list.Items[0].Disabled {
		t.Errorf("list --json after disable: %d %q", code, out)
	}
	if code, out, _ := run("user", "disable", u.ID, "--enable"); code != 0 || !strings.HasSuffix(out, "enabled\n") {
		t.Errorf("enable: %d %q", code, out)
	}
	if code, _, errOut := run("user", "disable", "no-such-user"); code != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("unknown user: %d %q", code, errOut)
	}
}

func TestKeysRotate(t *testing.T) {
	t.Parallel()
	dd := []string{"--data-dir", t.TempDir()}
	mint := func() string {
		code, out, errOut := runCLI(t, nil, append([]string{"token", "mint", "--user", "u1"}, dd...)...)
		if code != 0 {
			t.Fatalf("mint: %q", errOut)
		}
		return out
	}
	kid := func(token string) string {
		header, _, _ := strings.Cut(token, ".")
		b, err := base64.RawURLEncoding.DecodeString(header)
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Kid string }
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		return h.Kid
	}
	before := kid(mint())
	if code, out, errOut := runCLI(t, nil, append([]string{"keys", "rotate"}, dd...)...); code != 0 || !strings.HasPrefix(out, "signing key rotated") {
		t.Fatalf("rotate: %d %q %q", code, out, errOut)
	}
	if after := kid(mint()); after == before || after == "" {
		t.Fatalf("kid after rotation %q, before %q", after, before)
	}
}
