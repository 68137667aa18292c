package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// testLog writes the runner's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestRunAgainstNode runs every workload, briefly, against a real node
// (every app, SQLite) through its URL, as an operator would, and checks
// the section appended to a copy of the performance document: its heading,
// the machine, a well-formed table with one row per workload in order,
// each naming its storage mode, with requests done and no error.
func TestRunAgainstNode(t *testing.T) {
	ctx := context.Background()
	const secret = "bench-run-test-secret"
	apps := all.Apps()
	cfg := nodetest.Config(t, store.EngineSQLite, apps, "TESSERA_MESSAGING_JWT_SECRET="+secret,
		"TESSERA_AUTH_ARGON2_TIME=1", "TESSERA_AUTH_ARGON2_MEMORY=8192")
	n := nodetest.Start(t, cfg, apps...)
	key, keySecret, err := n.Identity().AdminKeys.Create(ctx, "bench/run test")
	if err != nil {
		t.Fatal(err)
	}
	adminKey := key.ID + ":" + keySecret

	out := filepath.Join(t.TempDir(), "performance.md")
	const earlier = "# Performance\n\n## An earlier section\n\nKept as it was.\n"
	if err := os.WriteFile(out, []byte(earlier), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	args := []string{"-url", n.URL, "-admin-key", adminKey, "-messaging-secret", secret,
		"-storage", "SQLite", "-label", "test node", "-duration", "400ms", "-warmup", "100ms", "-concurrency", "3",
		"-chat-start", "20", "-chat-max", "20", "-chat-drain", "5s", "-chat-p99", "1m", "-settle", "2m", "-out", out}
	if err := run(ctx, args, &stdout, testLog{t}); err != nil {
		t.Fatal(err)
	}
	sec := stdout.String()
	t.Log("\n" + sec)

	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := earlier + "\n" + sec; string(got) != want {
		t.Fatalf("the file is not the earlier text, a blank line and the section:\n%s", got)
	}
	if !regexp.MustCompile(`^## \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC — bench/run: test node\n`).MatchString(sec) {
		t.Errorf("heading: %q", strings.SplitN(sec, "\n", 2)[0])
	}
	if !regexp.MustCompile(`(?m)^Machine \(.*\): .+, \d+ CPUs, .+ RAM, Linux .+; go\d.*Load average`).MatchString(sec) {
		t.Errorf("no machine line in the section")
	}
	if strings.Contains(sec, keySecret) || strings.Contains(sec, secret) {
		t.Errorf("the section quotes a secret")
	}

	rows := tableRows(t, sec)
	if len(rows) != len(allWorkloads) {
		t.Fatalf("%d rows, want one per workload (%d)", len(rows), len(allWorkloads))
	}
	for i, cells := range rows {
		name := allWorkloads[i]
		if !strings.HasPrefix(cells[0], "`"+name+"`: ") || len(cells[0]) < len(name)+10 {
			t.Errorf("row %d: workload %q, want %s with its description", i, cells[0], name)
		}
		if cells[1] != "SQLite" {
			t.Errorf("%s: storage %q", name, cells[1])
		}
		if c, err := strconv.Atoi(strings.TrimSuffix(cells[2], " conns")); err != nil || c < 1 {
			t.Errorf("%s: concurrency %q", name, cells[2])
		}
		if ops, err := strconv.Atoi(cells[3]); err != nil || ops < 1 {
			t.Errorf("%s: requests %q, want some", name, cells[3])
		}
		if tp, err := strconv.ParseFloat(cells[4], 64); err != nil || tp <= 0 {
			t.Errorf("%s: throughput %q", name, cells[4])
		}
		for _, c := range cells[5:7] {
			if !regexp.MustCompile(`^\d+(\.\d+)?(µs|ms|s)$`).MatchString(c) {
				t.Errorf("%s: latency %q", name, c)
			}
		}
		if cells[7] != "0" {
			t.Errorf("%s: %s errors", name, cells[7])
		}
	}
	if strings.Contains(sec, "first error") || strings.Contains(sec, "errors in the warm-up") {
		t.Errorf("the section reports errors")
	}
	if !strings.Contains(sec, "  - 20 msg/s: ") {
		t.Errorf("no chat step listed")
	}

	// Two nodes that do not form one cluster (here: two databases) are
	// refused once the first user exists, before any workload runs.
	other := nodetest.Start(t, nodetest.Config(t, store.EngineSQLite, apps, "TESSERA_AUTH_ARGON2_TIME=1", "TESSERA_AUTH_ARGON2_MEMORY=8192"), apps...)
	err = run(ctx, []string{"-url", n.URL + "," + other.URL, "-admin-key", adminKey, "-storage", "SQLite", "-workloads", "auth-me", "-out", ""}, &stdout, testLog{t})
	if err == nil || !strings.Contains(err.Error(), "refuses a token") {
		t.Errorf("two unrelated nodes: %v", err)
	}

	// A storage mode the nodes contradict is refused before anything runs.
	err = run(ctx, []string{"-url", n.URL, "-admin-key", adminKey, "-storage", "Postgres+Redis", "-workloads", "healthz", "-out", ""}, &stdout, testLog{t})
	if err == nil || !strings.Contains(err.Error(), "/readyz") {
		t.Errorf("-storage Postgres+Redis against a node without Redis: %v", err)
	}
}

// tableRows returns the cells of the section's table rows, after checking
// its header and that every row has as many cells.
func tableRows(t *testing.T, sec string) [][]string {
	t.Helper()
	var lines []string
	for l := range strings.SplitSeq(sec, "\n") {
		if strings.HasPrefix(l, "|") {
			lines = append(lines, l)
		}
	}
	header := strings.SplitAfter(tableHeader, "\n")
	if len(lines) < 2 || lines[0]+"\n" != header[0] || lines[1]+"\n" != header[1] {
		t.Fatalf("no table header in the section")
	}
	width := len(splitRow(lines[0]))
	var rows [][]string
	for _, l := range lines[2:] {
		cells := splitRow(l)
		if len(cells) != width || !strings.HasSuffix(l, " |") {
			t.Fatalf("row of %d cells, want %d: %s", len(cells), width, l)
		}
		rows = append(rows, cells)
	}
	return rows
}

// splitRow splits a table row at its unescaped "|".
func splitRow(l string) []string {
	l = strings.ReplaceAll(l, `\|`, "\x00")
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|"), "|")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.TrimSpace(p), "\x00", "|")
	}
	return parts
}

func TestFlags(t *testing.T) {
	base := []string{"-admin-key", "k:s", "-storage", "SQLite", "-messaging-secret", "m"}
	o, err := parseFlags(append(base, "-url", "http://a:1/,http://b:2", "-workloads", "healthz,chat"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.urls) != 2 || o.urls[0] != "http://a:1" || o.adminID != "k" || o.adminSecret != "s" || !o.workloads["chat"] || o.workloads["auth-me"] {
		t.Fatalf("options %+v", o)
	}
	if o.label != "SQLite, 2 URL(s)" || strings.Contains(o.command, "-admin-key k:s") || !strings.Contains(o.command, "-admin-key …") {
		t.Errorf("label %q, command %q", o.label, o.command)
	}
	for _, args := range [][]string{
		{"-storage", "SQLite"}, // no admin key
		{"-admin-key", "nocolon", "-storage", "SQLite"},
		{"-admin-key", "k:s"}, // no storage
		{"-admin-key", "k:s", "-storage", "a|b"},
		append(base[:4:4], "-workloads", "chat"), // chat without the secret
		append(base, "-workloads", "healthz,nope"),
		append(base, "-url", "ftp://x"),
		append(base, "-concurrency", "0"),
		append(base, "-chat-step", "1"),
		append(base, "-chat-start", "100", "-chat-max", "50"),
	} {
		t.Setenv("TESSERA_BENCH_ADMIN_KEY", "")
		t.Setenv("TESSERA_MESSAGING_JWT_SECRET", "")
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestMachine(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if got := cpuModel(cpuinfo); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(""); got != "unknown" {
		t.Errorf("cpuModel of nothing = %q", got)
	}
	if got := memTotal("MemTotal:       24591264 kB\nMemFree: 1 kB\n"); got != "23.5 GiB" {
		t.Errorf("memTotal = %q", got)
	}
}

func TestAppendSection(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ before, want string }{
		{"", "S\n"},
		{"a\n", "a\n\nS\n"},
		{"a\n\n", "a\n\nS\n"},
		{"a", "a\n\nS\n"},
	} {
		path := filepath.Join(dir, "doc.md")
		_ = os.Remove(path)
		if tc.before != "" {
			if err := os.WriteFile(path, []byte(tc.before), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := appendSection(path, "S\n"); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.want {
			t.Errorf("after %q: %q, want %q", tc.before, got, tc.want)
		}
	}
}
