package deploy

import (
	"cmp"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// tesseraPath is where the systemd units expect the binary.
const tesseraPath = "/usr/local/bin/tessera"

// shutdownBound is the longest a node's graceful stop may take: Serve's
// shutdown (in-flight requests, websockets closed with 1001), then the job
// runner's (running jobs finish, then are cancelled and get StopGrace).
// Whoever stops a node must wait longer before SIGKILL.
const shutdownBound = 2*httpapi.ShutdownTimeout + jobs.StopGrace

// TestDockerfile checks the image's shape: a build stage and a final one;
// the final stage runs the binary copied from the build stage, as a numeric
// non-root user, with its data directory a volume it owns.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	df := mustDockerfile(t, nil)
	if len(df.stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s); want a build stage and a final one", len(df.stages))
	}
	gb := mustGoBuild(t, df)
	final := df.final()
	if final == gb.stage || final.image == gb.stage.name {
		t.Fatalf("the final stage is (built on) the build stage %q: the toolchain would ship", gb.stage.name)
	}
	if want := "golang:" + goModVersion(t); gb.stage.image != want && !strings.HasPrefix(gb.stage.image, want+"-") {
		t.Errorf("build stage FROM %s; want %s[-variant], go.mod's Go (golang images set GOTOOLCHAIN=local)", gb.stage.image, want)
	}
	if runs := final.all("RUN"); len(runs) > 0 {
		t.Errorf("line %d: RUN in the final stage: its distroless base has no shell", runs[0].line)
	}

	// USER: numeric (so runAsNonRoot-style checks can verify it), not root,
	// and in force when ENTRYPOINT runs.
	user := ""
	for _, in := range final.instrs {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			if user == "" {
				t.Errorf("line %d: ENTRYPOINT before any USER: the binary would run as root", in.line)
			}
		}
	}
	uid, gid, _ := strings.Cut(user, ":")
	if _, err := strconv.Atoi(uid); err != nil || uid == "0" || gid == "0" {
		t.Errorf("final USER %q: want a numeric non-root uid[:gid]", user)
	}

	// The binary the build stage wrote is copied in and is the entrypoint.
	binary := ""
	var copies []copyInstr
	for _, in := range final.all("COPY") {
		c, err := parseCopy(in, final.vars())
		if err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
		if c.from == gb.stage.name && slices.Equal(c.srcs, []string{gb.out}) {
			binary = c.dst
		}
	}
	if binary == "" {
		t.Fatalf("the final stage does not COPY --from=%s %s (the build's -o)", gb.stage.name, gb.out)
	}
	entry := mustExecForm(t, final, "ENTRYPOINT")
	if entry[0] != binary {
		t.Errorf("ENTRYPOINT %q; want the copied binary %s", entry, binary)
	}
	if cmd := mustExecForm(t, final, "CMD"); !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("CMD %q; want [serve]", cmd)
	}

	// Configuration: real keys; the data directory is a volume, the working
	// directory, and owned by the user; the listen port is exposed.
	checkEnvKeys(t, "Dockerfile ENV", final.env)
	dataDir := final.env["TESSERA_DATA_DIR"]
	if dataDir == "" || !slices.Contains(words(t, final, "VOLUME"), dataDir) || !slices.Contains(words(t, final, "WORKDIR"), dataDir) {
		t.Errorf("TESSERA_DATA_DIR %q must be set, a VOLUME and the WORKDIR", dataDir)
	}
	owned := false
	for _, c := range copies {
		owned = owned || (c.dst == dataDir && c.chown == user)
	}
	if !owned {
		t.Errorf("no COPY --chown=%s … %s: a fresh volume on %s would belong to root", user, dataDir, dataDir)
	}
	if port := addrPort(t, final.env["TESSERA_ADDR"]); !slices.Contains(words(t, final, "EXPOSE"), port) {
		t.Errorf("EXPOSE %q does not include port %s of TESSERA_ADDR", words(t, final, "EXPOSE"), port)
	}
}

// TestCompose checks the cluster's wiring: Postgres, Redis and an S3 store
// that creates the bucket, at least two nodes built from the Dockerfile with
// one configuration, and a proxy over all of them whose address is the
// nodes' public URL.
func TestCompose(t *testing.T) {
	t.Parallel()
	f, err := loadCompose("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	image := mustDockerfile(t, nil).final().env
	dockerfile, _ := filepath.Abs(filepath.Join(repoRoot, "Dockerfile"))

	var nodes []string
	for name, s := range f.Services {
		if s.Build == nil {
			continue
		}
		if p, _ := filepath.Abs(filepath.Join(s.Build.Context, s.Build.Dockerfile)); p != dockerfile {
			t.Errorf("service %s builds %s; want %s", name, p, dockerfile)
		}
		nodes = append(nodes, name)
	}
	slices.Sort(nodes)
	if len(nodes) < 2 {
		t.Fatalf("nodes built from the Dockerfile: %q; want at least 2", nodes)
	}

	first := f.Services[nodes[0]]
	for _, name := range nodes {
		s := f.Services[name]
		if !maps.Equal(s.Environment, first.Environment) {
			t.Errorf("%s's environment differs from %s's: every node needs the same database, Redis, bucket and public URL", name, nodes[0])
		}
		checkEnvKeys(t, name, s.Environment)
		for _, key := range []string{"TESSERA_DATABASE", "TESSERA_REDIS", "TESSERA_BLOBS", "TESSERA_PUBLIC_URL"} {
			if s.Environment[key] == "" {
				t.Errorf("%s: %s is not set", name, key)
			}
		}
		if grace, err := timeSpan(s.StopGracePeriod); err != nil || grace <= shutdownBound {
			t.Errorf("%s: stop_grace_period %q; want more than a node's shutdown bound, %s", name, s.StopGracePeriod, shutdownBound)
		}
		if s.Restart == "" || s.Restart == "no" {
			t.Errorf("%s: restart %q: a node that exits (its database unreachable at start) must come back", name, s.Restart)
		}
		if !slices.ContainsFunc(s.Volumes, func(v string) bool { return volumeTarget(v) == image["TESSERA_DATA_DIR"] }) {
			t.Errorf("%s: no volume on the data directory %s", name, image["TESSERA_DATA_DIR"])
		}
	}
	env := first.Environment
	healthyDep := func(host string) composeService {
		t.Helper()
		dep, ok := f.Services[host]
		if !ok {
			t.Fatalf("the nodes' environment names host %q: no such service", host)
		}
		for _, name := range nodes {
			if c := f.Services[name].DependsOn[host].Condition; c != "service_healthy" {
				t.Errorf("%s depends on %s with condition %q; want service_healthy", name, host, c)
			}
		}
		if dep.Healthcheck == nil || len(dep.Healthcheck.Test) == 0 {
			t.Errorf("service %s has no healthcheck", host)
		}
		return dep
	}

	// Postgres: the URL's user, password and database are the server's.
	db := mustURL(t, env["TESSERA_DATABASE"], "postgres")
	pg := healthyDep(db.Hostname())
	pass, _ := db.User.Password()
	if !strings.HasPrefix(pg.Image, "postgres:") || db.Port() != "5432" ||
		pg.Environment["POSTGRES_USER"] != db.User.Username() || pg.Environment["POSTGRES_PASSWORD"] != pass ||
		"/"+pg.Environment["POSTGRES_DB"] != db.Path {
		t.Errorf("TESSERA_DATABASE %s does not match service %s (image %s, env %v)", db.Redacted(), db.Hostname(), pg.Image, pg.Environment)
	}

	// Redis.
	rd := mustURL(t, env["TESSERA_REDIS"], "redis")
	if r := healthyDep(rd.Hostname()); !strings.HasPrefix(r.Image, "redis:") || rd.Port() != "6379" {
		t.Errorf("TESSERA_REDIS %s: service %s (image %s) is not Redis on 6379", rd, rd.Hostname(), r.Image)
	}

	// S3: the endpoint's service, its credentials, and the bucket, which
	// nodes do not create (they refuse to be ready without it).
	blobs := mustURL(t, env["TESSERA_BLOBS"], "s3")
	endpoint := mustURL(t, blobs.Query().Get("endpoint"), "http")
	s3 := healthyDep(endpoint.Hostname())
	s3Cmd := strings.Join(append(slices.Clone(s3.Entrypoint), s3.Command...), " ")
	if !strings.HasPrefix(s3.Image, "versity/versitygw:") || !strings.Contains(s3Cmd, "--port :"+endpoint.Port()) {
		t.Errorf("service %s (image %s, command %q) is not versitygw on port %s", endpoint.Hostname(), s3.Image, s3Cmd, endpoint.Port())
	}
	if !strings.Contains(s3Cmd, "mkdir -p /vgw/"+blobs.Host+" ") || !strings.Contains(s3Cmd, "posix /vgw") {
		t.Errorf("service %s does not create bucket %q (a directory of its posix root /vgw): %q", endpoint.Hostname(), blobs.Host, s3Cmd)
	}
	if s3.Environment["ROOT_ACCESS_KEY"] != env["TESSERA_S3_ACCESS_KEY"] || s3.Environment["ROOT_SECRET_KEY"] != env["TESSERA_S3_SECRET_KEY"] {
		t.Errorf("the nodes' S3 key is not the store's root account")
	}

	// The proxy: in front of every node, health-checking /readyz, at the
	// public URL's port.
	proxy, ok := f.Services["proxy"]
	if !ok || !strings.HasPrefix(proxy.Image, "caddy:") {
		t.Fatalf("no proxy service running caddy")
	}
	caddyfile := ""
	for _, v := range proxy.Volumes {
		if src, _, _ := strings.Cut(v, ":"); volumeTarget(v) == "/etc/caddy/Caddyfile" {
			caddyfile = src
		}
	}
	upstreams, health, err := caddyUpstreams(caddyfile)
	if err != nil {
		t.Fatalf("the proxy's Caddyfile: %v", err)
	}
	var want []string
	for _, name := range nodes {
		want = append(want, net.JoinHostPort(name, addrPort(t, cmp.Or(env["TESSERA_ADDR"], image["TESSERA_ADDR"]))))
		if _, ok := proxy.DependsOn[name]; !ok {
			t.Errorf("the proxy does not depend on %s", name)
		}
	}
	slices.Sort(upstreams)
	if !slices.Equal(upstreams, want) || !slices.Equal(health, []string{"/readyz"}) {
		t.Errorf("Caddyfile upstreams %q, health_uri %q; want %q and /readyz", upstreams, health, want)
	}
	checkTrustedProxy(t, f, proxy, env["TESSERA_TRUSTED_PROXIES"])
	public := mustURL(t, env["TESSERA_PUBLIC_URL"], "http")
	if !slices.ContainsFunc(proxy.Ports, func(p string) bool { return publishedPort(p) == public.Port() }) {
		t.Errorf("TESSERA_PUBLIC_URL %s: the proxy does not publish port %s (ports %q)", public, public.Port(), proxy.Ports)
	}
}

// checkTrustedProxy checks that the nodes trust the proxy's X-Forwarded-For
// (else every client shares the proxy's per-IP limits): the proxy has a
// fixed address, inside its network's subnet, listed in trusted.
func checkTrustedProxy(t *testing.T, f *composeFile, proxy composeService, trusted string) {
	t.Helper()
	if len(proxy.Networks) != 1 {
		t.Fatalf("the proxy is on networks %v; want one, with a fixed ipv4_address", proxy.Networks)
	}
	for name, n := range proxy.Networks {
		addr, err := netip.ParseAddr(n.IPv4Address)
		if err != nil {
			t.Fatalf("the proxy's ipv4_address %q: %v", n.IPv4Address, err)
		}
		subnets := f.Networks[name].IPAM.Config
		if len(subnets) != 1 {
			t.Fatalf("network %s: want one ipam subnet, got %d", name, len(subnets))
		}
		if p, err := netip.ParsePrefix(subnets[0].Subnet); err != nil || !p.Contains(addr) {
			t.Errorf("the proxy's address %s is not in network %s's subnet %q", addr, name, subnets[0].Subnet)
		}
		// Docker hands out ip_range to the other containers: one of them
		// could take a fixed address inside it first.
		if r, err := netip.ParsePrefix(subnets[0].IPRange); err != nil || r.Contains(addr) {
			t.Errorf("network %s's ip_range %q must be set and leave out the proxy's address %s", name, subnets[0].IPRange, addr)
		}
		list, err := config.ParseTrustedProxies(strings.Split(trusted, ","))
		if err != nil || !slices.ContainsFunc(list, func(p netip.Prefix) bool { return p.Contains(addr) }) {
			t.Errorf("TESSERA_TRUSTED_PROXIES %q does not include the proxy's address %s (err %v)", trusted, addr, err)
		}
	}
}

// TestSystemdUnits checks the units' settings: a non-root user, the data
// directory in the state directory, a stop timeout above the shutdown
// bound, the hardening, and a daily backup of the same data.
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	server := mustUnit(t, "tessera.service")
	svc := server["Service"]
	user := server.get("Service", "User")
	if user == "" || user == "root" || user == "0" {
		t.Errorf("tessera.service User=%q; want a dedicated user", user)
	}
	argv := tesseraCommands(t, server)
	if len(argv) != 1 || len(argv[0]) < 2 || argv[0][1] != "serve" {
		t.Fatalf("tessera.service ExecStart=%q; want one `%s serve …`", svc["ExecStart"], tesseraPath)
	}
	if i := slices.Index(argv[0], "--config"); i < 0 || i+1 >= len(argv[0]) || filepath.Base(argv[0][i+1]) != "tessera.yaml" {
		t.Errorf("ExecStart %q: want --config …/tessera.yaml (deploy/tessera.yaml installed)", argv[0])
	}
	env := mustUnitEnv(t, server)
	checkEnvKeys(t, "tessera.service", env)
	state := server.get("Service", "StateDirectory")
	if env["TESSERA_DATA_DIR"] != "/var/lib/"+state {
		t.Errorf("TESSERA_DATA_DIR=%q; want the state directory /var/lib/%s", env["TESSERA_DATA_DIR"], state)
	}
	if d, err := timeSpan(server.get("Service", "TimeoutStopSec")); err != nil || d <= shutdownBound {
		t.Errorf("TimeoutStopSec=%q; want more than the shutdown bound %s", server.get("Service", "TimeoutStopSec"), shutdownBound)
	}
	if n, _ := strconv.Atoi(server.get("Service", "LimitNOFILE")); n < 65536 {
		t.Errorf("LimitNOFILE=%q; want at least 65536 (one descriptor per websocket)", server.get("Service", "LimitNOFILE"))
	}
	for key, want := range map[string]string{
		"KillSignal": "SIGTERM", "Restart": "on-failure", "NoNewPrivileges": "yes",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
	} {
		if got := server.get("Service", key); got != want {
			t.Errorf("tessera.service %s=%q; want %q", key, got, want)
		}
	}
	if got := server.get("Install", "WantedBy"); got != "multi-user.target" {
		t.Errorf("tessera.service WantedBy=%q; want multi-user.target", got)
	}

	// The backup: the same user and data, one `tessera backup FILE`.
	backup := mustUnit(t, "tessera-backup.service")
	if backup.get("Service", "Type") != "oneshot" || backup.get("Service", "User") != user {
		t.Errorf("tessera-backup.service: want Type=oneshot and User=%s", user)
	}
	if benv := mustUnitEnv(t, backup); benv["TESSERA_DATA_DIR"] != env["TESSERA_DATA_DIR"] {
		t.Errorf("tessera-backup.service backs up %q, the server's data is %q", benv["TESSERA_DATA_DIR"], env["TESSERA_DATA_DIR"])
	}
	if bargv := tesseraCommands(t, backup); len(bargv) != 1 || len(bargv[0]) < 3 || bargv[0][1] != "backup" {
		t.Errorf("tessera-backup.service: tessera commands %q; want one `%s backup … FILE`", bargv, tesseraPath)
	}
	timer := mustUnit(t, "tessera-backup.timer")
	if u := timer.get("Timer", "Unit"); u != "tessera-backup.service" || timer.get("Timer", "OnCalendar") == "" {
		t.Errorf("tessera-backup.timer: Unit=%q OnCalendar=%q; want tessera-backup.service on a calendar", u, timer.get("Timer", "OnCalendar"))
	}
	if got := timer.get("Install", "WantedBy"); got != "timers.target" {
		t.Errorf("tessera-backup.timer WantedBy=%q; want timers.target", got)
	}
}
