package servicetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pgCommandTimeout bounds one initdb or pg_ctl run.
const pgCommandTimeout = 2 * time.Minute

// Postgres is a private Postgres server: a cluster initialized (initdb) in
// a temporary directory, served by pg_ctl on a free port of 127.0.0.1 with
// trust authentication for the user postgres. It runs with fsync off: a
// test stops the server, never the machine, so nothing acknowledged is
// lost, and the shared test machine is spared the flushes.
type Postgres struct {
	t       testing.TB
	bin     string   // the directory holding initdb and pg_ctl
	runAs   []string // prefix running a command as the postgres user (runuser), or nil
	dir     string   // owns data/, the log file and the socket
	port    int
	running bool
}

// StartPostgres initializes and starts a private Postgres server and stops
// it (and removes its files) when the test ends. It skips the test when the
// Postgres binaries are not installed (PATH, then
// /usr/lib/postgresql/*/bin), or when the test runs as root and there is no
// postgres user to run the server as (Postgres refuses root); as root, every
// command runs through runuser -u postgres.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		t.Skip("the Postgres server binaries (initdb, pg_ctl) are not installed")
	}
	dir, err := os.MkdirTemp("", "servicetest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("servicetest: remove %s: %v", dir, err)
		}
	})
	p := &Postgres{t: t, bin: bin, dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 {
		p.runAs = asPostgres(t, dir)
	}
	p.run("initdb", "-D", p.dataDir(), "-A", "trust", "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	t.Cleanup(p.shutdown)
	p.Start()
	return p
}

// postgresBin returns the directory of initdb and pg_ctl, or "".
func postgresBin() string {
	pgCtl, errC := exec.LookPath("pg_ctl")
	initdb, errI := exec.LookPath("initdb")
	if errC == nil && errI == nil && filepath.Dir(pgCtl) == filepath.Dir(initdb) {
		return filepath.Dir(pgCtl)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) }) // newest first
	for _, d := range dirs {
		if isFile(filepath.Join(d, "pg_ctl")) && isFile(filepath.Join(d, "initdb")) {
			return d
		}
	}
	return ""
}

// version is the major version in /usr/lib/postgresql/<version>/bin (0 when
// it is not a number).
func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// asPostgres hands dir to the postgres user and returns the prefix that runs
// a command as that user, or skips the test.
func asPostgres(t testing.TB, dir string) []string {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("running as root and there is no postgres user to run a private Postgres server as")
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		t.Skip("running as root and runuser is not installed")
	}
	uid, errU := strconv.Atoi(u.Uid)
	gid, errG := strconv.Atoi(u.Gid)
	if err := errors.Join(errU, errG); err != nil {
		t.Fatalf("servicetest: the postgres user: %v", err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return []string{runuser, "-u", "postgres", "--"}
}

// DSN is the server's address as the user postgres (a superuser) on the
// database postgres, for TESSERA_DATABASE: the address stays the same
// across restarts.
func (p *Postgres) DSN() string {
	return "postgres://postgres@" + hostPort(p.port) + "/postgres?sslmode=disable"
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	if p.running {
		p.t.Fatal("servicetest: Postgres.Start: the server is already running")
	}
	p.ctl("start", "-l", p.logFile(), "-o", p.serverOptions())
	p.running = true
}

// Stop shuts the server down in fast mode (pg_ctl stop -m fast: open
// transactions are rolled back, every connection is closed) and waits until
// it is gone. The port and the data stay: Start serves them again.
func (p *Postgres) Stop() {
	p.t.Helper()
	if !p.running {
		p.t.Fatal("servicetest: Postgres.Stop: the server is not running")
	}
	p.ctl("stop", "-m", "fast")
	p.running = false
}

// Restart is pg_ctl restart -m fast: a stop as Stop does, then a start.
func (p *Postgres) Restart() {
	p.t.Helper()
	if !p.running {
		p.t.Fatal("servicetest: Postgres.Restart: the server is not running")
	}
	p.ctl("restart", "-m", "fast", "-l", p.logFile(), "-o", p.serverOptions())
}

// shutdown stops a running server at the end of the test, at once.
func (p *Postgres) shutdown() {
	if p.running {
		p.ctl("stop", "-m", "immediate")
		p.running = false
	}
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }
func (p *Postgres) logFile() string { return filepath.Join(p.dir, "log") }

// serverOptions are the postgres options: its port, its socket in dir (not
// the shared /var/run/postgresql), TCP on 127.0.0.1 only, room for two or
// three nodes' pools, and no fsync.
func (p *Postgres) serverOptions() string {
	return fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off",
		p.port, p.dir)
}

// ctl runs pg_ctl on the data directory, waiting (-w) for the change.
func (p *Postgres) ctl(args ...string) {
	p.t.Helper()
	p.run("pg_ctl", append([]string{"-D", p.dataDir(), "-w", "-t", "60"}, args...)...)
}

// run runs a Postgres program (as the postgres user when running as root)
// and fails the test with its output and the server log's tail if it fails.
func (p *Postgres) run(program string, args ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pgCommandTimeout)
	defer cancel()
	argv := append(append(slices.Clone(p.runAs), filepath.Join(p.bin, program)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // G204: the Postgres binaries, arguments built here
	// pg_ctl start leaves the server running: should it keep the output
	// pipe open, do not wait for it.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("servicetest: %s %s: %v\n%s\nserver log:\n%s", program, strings.Join(args, " "), err, out, p.logTail())
	}
}

// logTail is the end of the server's log file.
func (p *Postgres) logTail() string {
	b, err := os.ReadFile(p.logFile())
	if err != nil {
		return "(none)"
	}
	const keep = 4 << 10
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}
