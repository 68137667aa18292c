package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/store"
)

// runCLI runs the CLI in-process with an empty environment plus environ.
func runCLI(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runContext(context.Background(), args, environ, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "version", "--json")
	var v map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["version"] == "" || v["go"] == "" {
		t.Fatalf("version --json: code %d out %q", code, out)
	}
}

func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"config", "--help"},
		{"config", "print", "--help"}, {"config", "validate", "--help"}, {"version", "--help"}} {
		code, out, _ := runCLI(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: code %d, output %q", args, code, out)
		}
	}
}

func TestBadConfigIsOneLineNamingTheKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args    []string
		environ []string
		want    string
	}{
		{args: []string{"serve", "--database", "mysql://db"}, want: "tessera: config: database: "},
		{args: []string{"config", "validate"}, environ: []string{"TESSERA_ADDR=nope"}, want: "tessera: config: addr: "},
		{args: []string{"migrate", "--apps", "chess"}, want: "tessera: config: apps: "},
		{args: []string{"config", "validate", "--config", "/does/not/exist.yaml"}, want: "tessera: config: config: "},
		{args: []string{"serve", "--no-such-flag"}, want: "tessera: unknown flag: --no-such-flag"},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, tc.environ, tc.args...)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: code %d stdout %q stderr %q, want one line starting %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestConfigPrintMasksSecrets(t *testing.T) {
	t.Parallel()
	environ := []string{"TESSERA_MESSAGING_JWT_SECRET=topsecret", "TESSERA_DATABASE=postgres://u:hunter2@db/tessera"}
	for _, args := range [][]string{{"config", "print"}, {"config", "print", "--json"}} {
		code, out, errOut := runCLI(t, environ, args...)
		if code != 0 || strings.Contains(out, "topsecret") || strings.Contains(out, "hunter2") || !strings.Contains(out, "*****") {
			t.Fatalf("%v: code %d out %q err %q", args, code, out, errOut)
		}
	}
	_, out, _ := runCLI(t, environ, "config", "print", "--json")
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out), &cfg); err != nil || cfg["addr"] != ":8080" {
		t.Fatalf("config print --json: %v %q", err, out)
	}
}

func TestMigrateSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for range 2 { // idempotent
		code, out, errOut := runCLI(t, nil, "migrate", "--data-dir", dir)
		if code != 0 || !strings.Contains(out, "migrations applied") {
			t.Fatalf("migrate: code %d out %q err %q", code, out, errOut)
		}
	}
}

// TestServe starts `tessera serve` on each engine, checks the platform routes,
// then stops it as SIGTERM would and expects a clean exit.
func TestServe(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			base, _ := startServe(t, engine) // its cleanup checks the clean exit

			for _, c := range []struct{ path, ctype, body string }{
				{"/healthz", "application/json", `"ok"`},
				{"/readyz", "application/json", `database`},
				{"/openapi.json", "application/", `"openapi":"3.1`},
				{"/docs", "text/html", `/openapi.json`},
				{"/metrics", "text/plain", `tessera_http_requests_total`},
			} {
				status, ctype, body := get(t, base+c.path)
				if status != http.StatusOK || !strings.HasPrefix(ctype, c.ctype) || !strings.Contains(body, c.body) {
					t.Errorf("GET %s: %d %q, body %.300q; want 200 %s containing %s", c.path, status, ctype, body, c.ctype, c.body)
				}
			}
			status, ctype, _ := get(t, base+"/no/such/route")
			if status != http.StatusNotFound || !strings.HasPrefix(ctype, "application/problem+json") {
				t.Errorf("unknown route: %d %q", status, ctype)
			}
		})
	}
}

// TestProbe: probe finds the node on its configured addr (a wildcard on
// loopback), --ready asks /readyz, and a node that does not answer is exit 1
// with one line.
func TestProbe(t *testing.T) {
	t.Parallel()
	base, node := startServe(t, store.EngineSQLite)
	for _, args := range [][]string{
		append([]string{"probe"}, node...),
		append([]string{"probe", "--ready"}, node...),
		{"probe", "--url", base},
		{"probe", "--addr", ":" + strings.TrimPrefix(base, "http://127.0.0.1:")},
	} {
		if code, _, errOut := runCLI(t, nil, args...); code != 0 {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
	code, _, errOut := runCLI(t, nil, "probe", "--addr", freeAddr(t))
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "/healthz") {
		t.Errorf("probe of nothing: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "probe", "--url", base+"/no/such")
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("probe of a 404: exit %d, %q", code, errOut)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func waitHealthy(t *testing.T, base string, done chan int, errOut *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before it was healthy: %s", code, errOut.String())
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("serve not healthy within 60s")
}

func get(t *testing.T, url string) (status int, ctype, body string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(fmt.Errorf("read %s: %w", url, err))
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestServeOnATakenPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, errOut := runCLI(t, nil, "serve", "--addr", ln.Addr().String(), "--data-dir", t.TempDir())
	if code != 1 || !strings.HasPrefix(errOut, "tessera: config: addr: ") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("code %d stderr %q", code, errOut)
	}
}
