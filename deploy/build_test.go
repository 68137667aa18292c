package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBuild builds the binary exactly as the Dockerfile's build stage does:
// its `go build` line with the stage's environment (CGO_ENABLED=0, the
// target platform), a VERSION build arg, and GOTOOLCHAIN=local as in the
// golang images, run in a copy of the build context (the files
// .dockerignore admits). Then it checks the binary is static and carries
// the version, and runs it on the deployment files: the commands of the
// image and the units exist, and the configurations they give are valid.
func TestBuild(t *testing.T) {
	t.Parallel()
	const version = "v0.0.0-deploytest"
	df := mustDockerfile(t, map[string]string{"VERSION": version})
	gb := mustGoBuild(t, df)

	src := t.TempDir()
	files, err := copyContext(repoRoot, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range gb.stage.all("COPY") {
		c, err := parseCopy(in, gb.stage.vars())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.srcs {
			if s != "." && !slices.Contains(files, s) {
				t.Errorf("COPY %s: not in the build context (.dockerignore)", s)
			}
		}
	}
	if i := slices.IndexFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") }); i >= 0 {
		t.Errorf(".dockerignore lets %s into the context", files[i])
	}

	bin := filepath.Join(t.TempDir(), "tessera")
	argv := slices.Clone(gb.argv)
	argv[gb.outIndex] = bin
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	for k, v := range gb.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s (env %v): %v\n%s", strings.Join(argv, " "), gb.env, err, out)
	}

	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary has an ELF interpreter (PT_INTERP): dynamically linked")
			}
		}
		if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("the binary needs shared libraries (DT_NEEDED) %q (err %v)", libs, err)
		}
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		// (With -trimpath, Go does not record -ldflags: "version" checks -X.)
		if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
			t.Errorf("build settings %v; want CGO_ENABLED=0 and -trimpath", settings)
		}
	})

	t.Run("version", func(t *testing.T) {
		var v struct{ Version, Go string }
		if err := json.Unmarshal([]byte(runBinary(t, bin, nil, "version", "--json")), &v); err != nil {
			t.Fatal(err)
		}
		if v.Version != version || !strings.HasPrefix(v.Go, "go") {
			t.Errorf("version --json = %+v; want version %s (the VERSION build arg)", v, version)
		}
	})

	t.Run("image command", func(t *testing.T) {
		final := df.final()
		args := append(mustExecForm(t, final, "CMD"), "--help")
		if out := runBinary(t, bin, nil, args...); !strings.Contains(out, "tessera serve") {
			t.Errorf("CMD %q is not the serve command:\n%s", args, out)
		}
	})

	t.Run("healthchecks", func(t *testing.T) {
		// A node served as the image runs it (its ENV; a free loopback
		// port, a fresh data directory), probed by the image's HEALTHCHECK
		// and by the compose nodes' healthcheck, as those run them.
		final := df.final()
		env := maps.Clone(final.env)
		env["TESSERA_ADDR"], env["TESSERA_DATA_DIR"] = freeLoopback(t), t.TempDir()
		serve := exec.Command(bin, "serve")
		serve.Env = envList(env)
		var logs strings.Builder
		serve.Stderr = &logs
		if err := serve.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = serve.Process.Signal(os.Interrupt)
			_ = serve.Wait()
		})
		image := healthcheckCommand(t, final)
		if image[0] != mustExecForm(t, final, "ENTRYPOINT")[0] {
			t.Fatalf("HEALTHCHECK %q does not run the image's binary", image)
		}
		f, err := loadCompose("compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		checks := map[string][]string{"Dockerfile HEALTHCHECK": image}
		for name, svc := range f.Services {
			if svc.Build == nil {
				continue
			}
			if svc.Healthcheck == nil || len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD" || svc.Healthcheck.Test[1] != image[0] {
				t.Fatalf("%s: healthcheck %+v does not run the binary", name, svc.Healthcheck)
			}
			checks[name] = svc.Healthcheck.Test[1:]
		}
		deadline := time.Now().Add(60 * time.Second)
		for what, argv := range checks {
			for {
				probe := exec.Command(bin, argv[1:]...)
				probe.Env = envList(env)
				out, err := probe.CombinedOutput()
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s %q still fails: %v %s\nthe node's log:\n%s", what, argv, err, out, logs.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})

	t.Run("compose nodes' configuration", func(t *testing.T) {
		f, err := loadCompose("compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range f.Services {
			if s.Build == nil {
				continue
			}
			env := maps.Clone(df.final().env) // the image's ENV, then the service's
			maps.Copy(env, s.Environment)
			if out := runBinary(t, bin, envList(env), "config", "validate"); !strings.Contains(out, "configuration ok") {
				t.Errorf("%s: config validate: %s", name, out)
			}
		}
	})

	t.Run("systemd units' commands", func(t *testing.T) {
		server := mustUnit(t, "tessera.service")
		env := envList(mustUnitEnv(t, server))
		for _, name := range []string{"tessera.service", "tessera-backup.service"} {
			for _, argv := range tesseraCommands(t, mustUnit(t, name)) {
				args := append(slices.Clone(argv[1:]), "--help")
				if out := runBinary(t, bin, env, args...); !strings.Contains(out, "tessera "+argv[1]) {
					t.Errorf("%s: %q is not a tessera command:\n%s", name, argv, out)
				}
			}
		}
		// The example configuration the server's --config names, with the
		// unit's environment.
		if out := runBinary(t, bin, env, "--config", "tessera.yaml", "config", "validate"); !strings.Contains(out, "configuration ok") {
			t.Errorf("deploy/tessera.yaml: %s", out)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed: the units are checked by TestSystemdUnits only")
		}
		dir := t.TempDir()
		var units []string
		for _, name := range []string{"tessera.service", "tessera-backup.service", "tessera-backup.timer"} {
			raw, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			// The binary is not installed here: point the units at the one built.
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(raw), tesseraPath, bin)), 0o600); err != nil {
				t.Fatal(err)
			}
			units = append(units, p)
		}
		out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}

// goBuild is the Dockerfile's `go build` command.
type goBuild struct {
	stage    *stage
	argv     []string          // from "go" on
	env      map[string]string // the RUN's environment: the stage's ARGs and ENV, then its inline assignments
	out      string            // the -o path in the image
	outIndex int               // index of out in argv
}

// mustGoBuild finds the one RUN of the Dockerfile that runs `go build` and
// returns its command.
func mustGoBuild(t *testing.T, df *dockerfile) goBuild {
	t.Helper()
	var found []goBuild
	for _, st := range df.stages {
		for _, in := range st.all("RUN") {
			words, err := shellWords(runCommand(in), st.vars())
			if err != nil {
				t.Fatalf("line %d: RUN: %v", in.line, err)
			}
			env := st.vars()
			for len(words) > 0 && strings.Contains(words[0], "=") && isName(words[0][:strings.Index(words[0], "=")]) {
				k, v, _ := strings.Cut(words[0], "=")
				env[k], words = v, words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				continue
			}
			gb := goBuild{stage: st, argv: words, env: env}
			gb.outIndex = slices.Index(words, "-o") + 1
			if gb.outIndex == 0 || gb.outIndex >= len(words) {
				t.Fatalf("line %d: go build without -o", in.line)
			}
			gb.out = words[gb.outIndex]
			found = append(found, gb)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile has %d `go build` RUNs; want exactly 1", len(found))
	}
	gb := found[0]
	if gb.env["CGO_ENABLED"] != "0" {
		t.Errorf("go build runs with CGO_ENABLED=%q; want 0 (a static binary)", gb.env["CGO_ENABLED"])
	}
	if !slices.Contains(gb.argv, "-trimpath") || gb.argv[len(gb.argv)-1] != "./cmd/tessera" {
		t.Errorf("go build %q: want -trimpath and the package ./cmd/tessera", gb.argv)
	}
	return gb
}

func envList(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// healthcheckCommand is the exec form of st's HEALTHCHECK … CMD [...].
func healthcheckCommand(t *testing.T, st *stage) []string {
	t.Helper()
	ins := st.all("HEALTHCHECK")
	if len(ins) == 0 {
		t.Fatal("the final stage has no HEALTHCHECK")
	}
	_, form, ok := strings.Cut(ins[len(ins)-1].args, "CMD ")
	var argv []string
	if !ok || json.Unmarshal([]byte(form), &argv) != nil || len(argv) == 0 {
		t.Fatalf("line %d: HEALTHCHECK %q: want … CMD [\"exec\", \"form\"]", ins[len(ins)-1].line, ins[len(ins)-1].args)
	}
	return argv
}

// freeLoopback is a free 127.0.0.1 address.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runBinary runs the built binary with exactly env and returns its stdout;
// a failure fails the test with stderr.
func runBinary(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{}, env...) // never the test's own environment
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tessera %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
