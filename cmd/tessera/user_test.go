package main

import (
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
