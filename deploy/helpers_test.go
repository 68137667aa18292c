package deploy

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/config"
)

// Small helpers of the tests: each fails the test on a malformed input.

// mustDockerfile parses ../Dockerfile with buildArgs.
func mustDockerfile(t *testing.T, buildArgs map[string]string) *dockerfile {
	t.Helper()
	df, err := parseDockerfile(filepath.Join(repoRoot, "Dockerfile"), buildArgs)
	if err != nil {
		t.Fatal(err)
	}
	return df
}

// mustExecForm returns the argv of the stage's last instruction cmd.
func mustExecForm(t *testing.T, st *stage, cmd string) []string {
	t.Helper()
	ins := st.all(cmd)
	if len(ins) == 0 {
		t.Fatalf("the final stage has no %s", cmd)
	}
	argv, err := execForm(ins[len(ins)-1])
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

// words returns the expanded words of every instruction cmd of st.
func words(t *testing.T, st *stage, cmd string) []string {
	t.Helper()
	var out []string
	for _, in := range st.all(cmd) {
		w, err := shellWords(in.args, st.vars())
		if err != nil {
			t.Fatalf("line %d: %v", in.line, err)
		}
		out = append(out, w...)
	}
	return out
}

// goModVersion is the `go` line of go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// checkEnvKeys fails for every TESSERA_* variable of env that is not a
// configuration key's: the configuration ignores unknown ones silently.
func checkEnvKeys(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := map[string]bool{}
	for _, k := range config.Keys() {
		if !k.FileOnly {
			known[k.Env()] = true
		}
	}
	for name := range env {
		if strings.HasPrefix(name, "TESSERA_") && !known[name] {
			t.Errorf("%s: %s is not a configuration key's variable (docs/configuration.md)", where, name)
		}
	}
}

// addrPort is the port of a listen address such as ":8080".
func addrPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return port
}

func mustURL(t *testing.T, raw, scheme string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != scheme || u.Host == "" {
		t.Fatalf("%q: want a %s:// URL with a host", raw, scheme)
	}
	return u
}

// volumeTarget is the container path of a short-syntax volume
// ("source:target[:mode]").
func volumeTarget(v string) string {
	parts := strings.Split(v, ":")
	if len(parts) < 2 {
		return parts[0]
	}
	return parts[1]
}

// publishedPort is the host port of a short-syntax port mapping
// ("[ip:]host:container").
func publishedPort(p string) string {
	parts := strings.Split(p, ":")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2]
}

func mustUnit(t *testing.T, name string) unit {
	t.Helper()
	u, err := readUnit(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustUnitEnv(t *testing.T, u unit) map[string]string {
	t.Helper()
	env, err := u.environment()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// tesseraCommands returns the argv of the unit's ExecStart lines that run
// tessera.
func tesseraCommands(t *testing.T, u unit) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range u["Service"]["ExecStart"] {
		argv, err := execArgs(line)
		if err != nil {
			t.Fatal(err)
		}
		if argv[0] == tesseraPath {
			out = append(out, argv)
		}
	}
	return out
}
