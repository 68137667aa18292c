package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var apps = []string{"messaging", "restaurants", "scheduling", "files", "records"}

func load(t *testing.T, args []string, environ []string, yaml string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	src := Sources{Flags: fs, Environ: environ, KnownApps: apps}
	if yaml != "" {
		src.File = filepath.Join(t.TempDir(), "tessera.yaml")
		if err := os.WriteFile(src.File, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Load(src)
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: ":8080", DataDir: "./data", Database: "sqlite://data/tessera.db",
		Blobs: "file://data/blobs", PublicURL: "http://localhost:8080"}
	if c.Addr != want.Addr || c.DataDir != want.DataDir || c.Database != want.Database ||
		c.Blobs != want.Blobs || c.PublicURL != want.PublicURL || c.Redis != "" || len(c.Apps) != 0 {
		t.Fatalf("defaults: got %+v", c)
	}
	for _, app := range apps {
		if !c.AppEnabled(app) {
			t.Errorf("app %s not enabled by default", app)
		}
	}
}

func TestSizes(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Files.MaxUpload != 5<<30 || c.Files.Quota != 0 {
		t.Fatalf("files defaults: %+v", c.Files)
	}
	c, err = load(t, []string{"--files-max-upload", "500MB"}, []string{"TESSERA_FILES_QUOTA=10GiB"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Files.MaxUpload != 500_000_000 || c.Files.Quota != 10<<30 {
		t.Fatalf("files sizes: %+v", c.Files)
	}
	for size, text := range map[Size]string{0: "0B", 10 << 30: "10GiB", 500_000_000: "500000000B", 1536: "1536B", 3 << 10: "3KiB"} {
		if b, _ := size.MarshalText(); string(b) != text {
			t.Errorf("Size(%d) = %s, want %s", size, b, text)
		}
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	yaml := "addr: ':7001'\ndata_dir: /srv/file\napps: [messaging, files]\nmessaging:\n  jwt_secret: from-file\n"
	environ := []string{"TESSERA_ADDR=:7002", "TESSERA_MESSAGING_JWT_SECRET=from-env", "TESSERA_TEST_POSTGRES_URL=ignored", "OTHER=1"}
	c, err := load(t, []string{"--addr", ":7003"}, environ, yaml)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7003" {
		t.Errorf("flag must win: addr = %q", c.Addr)
	}
	if c.Messaging.JWTSecret != "from-env" {
		t.Errorf("env must beat file: jwt_secret = %q", c.Messaging.JWTSecret)
	}
	if c.DataDir != "/srv/file" || c.Database != "sqlite:///srv/file/tessera.db" {
		t.Errorf("file must beat defaults and derive database: %q %q", c.DataDir, c.Database)
	}
	if !c.AppEnabled("files") || c.AppEnabled("records") {
		t.Errorf("apps from file: %v", c.Apps)
	}
	if time.Duration(c.Events.Retention) != 168*time.Hour || c.Jobs.MaxAttempts != 8 {
		t.Errorf("runtime defaults: %+v %+v", c.Events, c.Jobs)
	}
	if c.PublicURL != "http://localhost:7003" {
		t.Errorf("public_url derived from addr: %q", c.PublicURL)
	}
}

func TestEnvLists(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, []string{"TESSERA_APPS=records, messaging", "TESSERA_CORS_ORIGINS=https://a.example,http://localhost:3000"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Apps, "|") != "records|messaging" || len(c.CORS.Origins) != 2 {
		t.Fatalf("lists: apps %v origins %v", c.Apps, c.CORS.Origins)
	}
}

func TestIssuersFromFile(t *testing.T) {
	t.Parallel()
	yaml := `
auth:
  issuers:
    - name: auth0
      issuer: https://tenant.example.com/
      audience: https://api.example.com
      jwks_url: https://tenant.example.com/.well-known/jwks.json
      algorithms: [RS256]
      apps: [records]
      claims:
        user: sub
        org: https://example.com/org_id
        scopes: scope
`
	c, err := load(t, nil, nil, yaml)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.Issuers) != 1 || c.Auth.Issuers[0].Claims["org"] != "https://example.com/org_id" || c.Auth.Issuers[0].Apps[0] != "records" {
		t.Fatalf("issuers: %+v", c.Auth.Issuers)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		environ []string
		yaml    string
		key     string
	}{
		{name: "addr", args: []string{"--addr", "nonsense"}, key: "addr"},
		{name: "port", environ: []string{"TESSERA_ADDR=:99999"}, key: "addr"},
		{name: "database scheme", args: []string{"--database", "mysql://x"}, key: "database"},
		{name: "redis scheme", args: []string{"--redis", "http://x"}, key: "redis"},
		{name: "blobs scheme", args: []string{"--blobs", "ftp://x"}, key: "blobs"},
		{name: "s3 without keys", args: []string{"--blobs", "s3://bucket?endpoint=http://127.0.0.1:7070"}, key: "s3.access_key"},
		{name: "s3 public endpoint", args: []string{"--blobs", "s3://bucket?endpoint=http://s3:7070&region=us-east-1&public_endpoint=ftp://x"}, key: "blobs"},
		{name: "s3 public endpoint without region", args: []string{"--blobs", "s3://bucket?endpoint=http://s3:7070&public_endpoint=https://s3.example.com"}, key: "blobs"},
		{name: "smtp without port", args: []string{"--smtp", "smtp://host"}, key: "smtp"},
		{name: "public url", args: []string{"--public-url", "ftp://x"}, key: "public_url"},
		{name: "unknown app", args: []string{"--apps", "messaging,chess"}, key: "apps"},
		{name: "cors origin", environ: []string{"TESSERA_CORS_ORIGINS=https://a.example/path"}, key: "cors.origins"},
		{name: "trusted proxy", environ: []string{"TESSERA_TRUSTED_PROXIES=10.0.0.0/8,proxy.local"}, key: "trusted_proxies"},
		{name: "retention", args: []string{"--events-retention", "5m"}, key: "events.retention"},
		{name: "retention not a duration", environ: []string{"TESSERA_EVENTS_RETENTION=week"}, key: "events.retention"},
		{name: "max rules", args: []string{"--messaging-max-rules", "0"}, key: "messaging.max_rules"},
		{name: "create level", environ: []string{"TESSERA_MESSAGING_CREATE_LEVEL=1000001"}, key: "messaging.create_level"},
		{name: "max attempts", args: []string{"--jobs-max-attempts", "0"}, key: "jobs.max_attempts"},
		{name: "max attempts not a number", environ: []string{"TESSERA_JOBS_MAX_ATTEMPTS=many"}, key: "jobs.max_attempts"},
		{name: "argon2 memory", args: []string{"--auth-argon2-memory", "64"}, key: "auth.argon2.memory"},
		{name: "argon2 threads", environ: []string{"TESSERA_AUTH_ARGON2_THREADS=0"}, key: "auth.argon2.threads"},
		{name: "max upload not a size", args: []string{"--files-max-upload", "big"}, key: "files.max_upload"},
		{name: "max upload zero", environ: []string{"TESSERA_FILES_MAX_UPLOAD=0"}, key: "files.max_upload"},
		{name: "quota negative", yaml: "files:\n  quota: -1\n", key: "files.quota"},
		{name: "unknown file key", yaml: "adr: ':1'\n", key: "adr"},
		{name: "issuer without audience", yaml: "auth:\n  issuers:\n    - name: x\n      issuer: https://i/\n      jwks_url: https://i/jwks\n      claims: {user: sub}\n", key: "auth.issuers[0]"},
		{name: "issuer hs256", yaml: "auth:\n  issuers:\n    - name: x\n      issuer: https://i/\n      audience: a\n      key_file: k.pem\n      algorithms: [HS256]\n      claims: {user: sub}\n", key: "auth.issuers[0]"},
		{name: "unreadable file", yaml: "addr: [\n", key: "config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.args, tc.environ, tc.yaml)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			if ce.Key != tc.key {
				t.Fatalf("error names key %q, want %q: %v", ce.Key, tc.key, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error must be one line: %q", err)
			}
		})
	}
}

func TestMasked(t *testing.T) {
	t.Parallel()
	c, err := load(t, []string{"--database", "postgres://app:hunter2@db:5432/tessera", "--messaging-jwt-secret", "s3cr3t",
		"--smtp", "smtp://u:pw@mail:25"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Masked()
	for _, v := range []string{m.Database, m.SMTP, m.Messaging.JWTSecret} {
		if strings.Contains(v, "hunter2") || strings.Contains(v, "s3cr3t") || strings.Contains(v, ":pw@") {
			t.Fatalf("secret not masked: %q", v)
		}
	}
	if m.Database != "postgres://app:*****@db:5432/tessera" {
		t.Fatalf("database masked as %q", m.Database)
	}
	if c.Messaging.JWTSecret != "s3cr3t" {
		t.Fatal("Masked must not change the original")
	}
}

func TestKeyNames(t *testing.T) {
	t.Parallel()
	k, _ := findKey("messaging.jwt_secret")
	if k.Env() != "TESSERA_MESSAGING_JWT_SECRET" || k.Flag() != "messaging-jwt-secret" {
		t.Fatalf("env %s flag %s", k.Env(), k.Flag())
	}
}

// TestWarnings: a cluster (redis set) on the default, per-node public URL is
// advised against; a cluster with its proxy's URL, or one node, is not.
func TestWarnings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		environ []string
		warns   bool
	}{
		{[]string{"TESSERA_REDIS=redis://127.0.0.1:6379/0"}, true},
		{[]string{"TESSERA_REDIS=redis://127.0.0.1:6379/0", "TESSERA_PUBLIC_URL=http://127.0.0.1:9000"}, true},
		{[]string{"TESSERA_REDIS=redis://127.0.0.1:6379/0", "TESSERA_PUBLIC_URL=https://tessera.example.com"}, false},
		{nil, false},
	} {
		cfg, err := load(t, nil, c.environ, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Warnings(); (len(got) > 0) != c.warns || (c.warns && !strings.Contains(got[0], "public_url is "+cfg.PublicURL)) {
			t.Errorf("%v: warnings %q", c.environ, got)
		}
	}
}

// TestLocalURL: a wildcard addr is reached on loopback.
func TestLocalURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{":8080": "http://127.0.0.1:8080", "0.0.0.0:9000": "http://127.0.0.1:9000",
		"[::]:9000": "http://[::1]:9000", "10.0.0.5:80": "http://10.0.0.5:80"} {
		cfg, err := load(t, []string{"--addr", addr}, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.LocalURL(); got != want {
			t.Errorf("addr %s: LocalURL %s, want %s", addr, got, want)
		}
	}
}
