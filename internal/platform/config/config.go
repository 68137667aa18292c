// Package config loads Tessera's configuration: flags over TESSERA_* environment
// variables over a YAML file over defaults, with exactly the keys of
// platform.md's table (see Keys). A bad value is reported as one *Error naming
// the key; the CLI prints it as one line and stops.
package config

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Config is the effective configuration. Every field is set after Load:
// derived defaults (database, blobs, public_url) are filled in.
type Config struct {
	Addr      string    `koanf:"addr" json:"addr"`
	DataDir   string    `koanf:"data_dir" json:"data_dir"`
	Database  string    `koanf:"database" json:"database"`
	Redis     string    `koanf:"redis" json:"redis"`
	Blobs     string    `koanf:"blobs" json:"blobs"`
	S3        S3        `koanf:"s3" json:"s3"`
	SMTP      string    `koanf:"smtp" json:"smtp"`
	PublicURL string    `koanf:"public_url" json:"public_url"`
	Apps      []string  `koanf:"apps" json:"apps"`
	Messaging Messaging `koanf:"messaging" json:"messaging"`
	Records   Records   `koanf:"records" json:"records"`
	// Restaurants configures the restaurants app.
	Restaurants Restaurants `koanf:"restaurants" json:"restaurants"`
	// Scheduling configures the scheduling app.
	Scheduling Scheduling `koanf:"scheduling" json:"scheduling"`
	// Files configures the files app.
	Files Files `koanf:"files" json:"files"`
	Auth  Auth  `koanf:"auth" json:"auth"`
	CORS  CORS  `koanf:"cors" json:"cors"`
	// TrustedProxies are the load balancers (IPs or CIDR prefixes) whose
	// X-Forwarded-For names the client.
	TrustedProxies []string `koanf:"trusted_proxies" json:"trusted_proxies"`
	Events         Events   `koanf:"events" json:"events"`
	Jobs           Jobs     `koanf:"jobs" json:"jobs"`
}

// Events configures the event log.
type Events struct {
	// Retention is how long events are kept; a resume from an older cursor
	// gets resync-required.
	Retention Duration `koanf:"retention" json:"retention"`
}

// Duration is a time.Duration written as a Go duration string ("168h") in
// the file, the environment, flags and `config print`.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration such as 168h: %q", b)
	}
	*d = Duration(v)
	return nil
}

// Jobs configures the durable job runner.
type Jobs struct {
	// MaxAttempts is how many times a durable handler runs before its job is
	// dead (listed and retryable from the admin API).
	MaxAttempts int `koanf:"max_attempts" json:"max_attempts"`
}

// S3 holds the credentials of the s3:// blob backend.
type S3 struct {
	AccessKey string `koanf:"access_key" json:"access_key"`
	SecretKey string `koanf:"secret_key" json:"secret_key"`
}

// Messaging is the messaging app's configuration.
type Messaging struct {
	JWTSecret string `koanf:"jwt_secret" json:"jwt_secret"`
	// JWTIssuer and JWTAudience, when set, are required of shared-secret
	// tokens (iss and aud).
	JWTIssuer   string `koanf:"jwt_issuer" json:"jwt_issuer"`
	JWTAudience string `koanf:"jwt_audience" json:"jwt_audience"`
	// MaxRules is how many rules a room holds at most (TOO_MANY_RULES beyond).
	MaxRules int `koanf:"max_rules" json:"max_rules"`
	// CreateLevel is the levelOnEntity needed to create a room.
	CreateLevel int `koanf:"create_level" json:"create_level"`
}

// Restaurants is the restaurants app's configuration.
type Restaurants struct {
	// Regions are the regions a restaurant may be in (upper-case names).
	Regions []string `koanf:"regions" json:"regions"`
	// TimeZone is the restaurants' IANA time zone: "today" of the seating
	// list and the weekly report's Monday 06:00.
	TimeZone string `koanf:"time_zone" json:"time_zone"`
	// ReportTo are the platform admins' addresses that get the weekly
	// all-restaurants report.
	ReportTo []string `koanf:"report_to" json:"report_to"`
}

// Scheduling is the scheduling app's configuration.
type Scheduling struct {
	// DigestWindow is the least time between two mails to one attendee;
	// the changes of the meantime go out as one digest.
	DigestWindow Duration `koanf:"digest_window" json:"digest_window"`
}

// Files is the files app's configuration.
type Files struct {
	// MaxUpload is the largest file (one version) accepted.
	MaxUpload Size `koanf:"max_upload" json:"max_upload"`
	// Quota is each org's storage quota (every version and trashed file
	// counts); 0 means none.
	Quota Size `koanf:"quota" json:"quota"`
}

// Size is a byte count written with an optional unit ("5GiB", "500MB",
// "0") in the file, the environment, flags and `config print`.
type Size int64

// MarshalText implements encoding.TextMarshaler (IEC units, exact).
func (s Size) MarshalText() ([]byte, error) {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := int64(s), 0
	for v != 0 && v%1024 == 0 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	return []byte(strconv.FormatInt(v, 10) + units[i]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := humanize.ParseBytes(string(b))
	if err != nil || v > math.MaxInt64 {
		return fmt.Errorf("not a size such as 5GiB or 500MB: %q", b)
	}
	*s = Size(v)
	return nil
}

// Records is the records app's configuration.
type Records struct {
	Config string `koanf:"config" json:"config"`
	// Force applies a config that drops types which still have records.
	Force bool `koanf:"force" json:"force"`
}

// Auth configures external token issuers.
type Auth struct {
	Issuers []Issuer `koanf:"issuers" json:"issuers"`
	Argon2  Argon2   `koanf:"argon2" json:"argon2"`
}

// Argon2 are the argon2id parameters of new password hashes; a user's hash
// is upgraded at their next sign-in when they change.
type Argon2 struct {
	Time    uint32 `koanf:"time" json:"time"`
	Memory  uint32 `koanf:"memory" json:"memory"` // KiB
	Threads uint8  `koanf:"threads" json:"threads"`
}

// Issuer is an external token issuer accepted by the authorizer.
type Issuer struct {
	Name       string            `koanf:"name" json:"name"`
	Issuer     string            `koanf:"issuer" json:"issuer"`
	Audience   string            `koanf:"audience" json:"audience"`
	JWKSURL    string            `koanf:"jwks_url" json:"jwks_url,omitempty"`
	KeyFile    string            `koanf:"key_file" json:"key_file,omitempty"`
	Algorithms []string          `koanf:"algorithms" json:"algorithms"`
	Apps       []string          `koanf:"apps" json:"apps"`
	Claims     map[string]string `koanf:"claims" json:"claims"`
}

// CORS lists the allowed origins; empty means CORS is closed.
type CORS struct {
	Origins []string `koanf:"origins" json:"origins"`
}

// Sources are where Load reads from, highest precedence first.
type Sources struct {
	// Flags holds the command's flags; only flags set on the command line
	// count. Flag names are Key.Flag(). May be nil.
	Flags *pflag.FlagSet
	// Environ is the environment as os.Environ returns it; nil means none.
	Environ []string
	// File is the YAML file path ("" for none); it must exist when given.
	File string
	// KnownApps lists the app names "apps" may name.
	KnownApps []string
}

// Error is a configuration error naming the key at fault.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s: %s", e.Key, e.Msg) }

func errorf(key, format string, args ...any) *Error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Load reads the configuration from src, fills in derived defaults and
// validates it. Errors are *Error values naming the offending key.
func Load(src Sources) (*Config, error) {
	k := koanf.New(".")
	if err := k.Set("addr", ":8080"); err != nil {
		return nil, err
	}
	if err := k.Set("data_dir", "./data"); err != nil {
		return nil, err
	}
	if err := k.Set("events.retention", "168h"); err != nil {
		return nil, err
	}
	if err := k.Set("jobs.max_attempts", 8); err != nil {
		return nil, err
	}
	if err := k.Set("restaurants.regions", []string{"NORTH", "SOUTH", "EAST", "WEST"}); err != nil {
		return nil, err
	}
	if err := k.Set("restaurants.time_zone", "UTC"); err != nil {
		return nil, err
	}
	if err := k.Set("scheduling.digest_window", "1m"); err != nil {
		return nil, err
	}
	if err := k.Set("files.max_upload", "5GiB"); err != nil {
		return nil, err
	}
	if err := k.Set("files.quota", "0"); err != nil {
		return nil, err
	}
	for key, v := range map[string]int{"messaging.max_rules": 10, "messaging.create_level": 100, "auth.argon2.time": 2, "auth.argon2.memory": 19456, "auth.argon2.threads": 1} {
		if err := k.Set(key, v); err != nil {
			return nil, err
		}
	}
	if src.File != "" {
		if err := k.Load(file.Provider(src.File), yaml.Parser()); err != nil {
			return nil, errorf("config", "reading %s: %v", src.File, err)
		}
		if err := checkFileKeys(k); err != nil {
			return nil, err
		}
	}
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix:        "TESSERA_",
		TransformFunc: envKey,
		EnvironFunc:   func() []string { return src.Environ },
	}), nil); err != nil {
		return nil, errorf("environment", "%v", err)
	}
	if src.Flags != nil {
		if err := k.Load(posflag.ProviderWithFlag(src.Flags, ".", k, flagKey), nil); err != nil {
			return nil, errorf("flags", "%v", err)
		}
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{}); err != nil {
		return nil, errorf(unmarshalKey(err), "%s", decodeMessage(err))
	}
	c.fillDefaults()
	if err := c.validate(src.KnownApps); err != nil {
		return nil, err
	}
	return &c, nil
}

// envKey maps TESSERA_MESSAGING_JWT_SECRET to messaging.jwt_secret by looking
// the name up among the known keys; other TESSERA_ variables (such as the
// test suite's TESSERA_TEST_*) are ignored.
func envKey(name, value string) (string, any) {
	for _, key := range Keys() {
		if key.FileOnly || key.Env() != name {
			continue
		}
		if key.List {
			return key.Name, splitList(value)
		}
		return key.Name, value
	}
	return "", nil
}

// flagKey maps a changed flag to its key; unchanged flags and flags that are
// not configuration keys (such as --config) are ignored.
func flagKey(f *pflag.Flag) (string, any) {
	if !f.Changed {
		return "", nil
	}
	for _, key := range Keys() {
		if key.FileOnly || key.Flag() != f.Name {
			continue
		}
		if key.List {
			return key.Name, splitList(f.Value.String())
		}
		return key.Name, f.Value.String()
	}
	return "", nil
}

// checkFileKeys rejects keys in the YAML file that Tessera does not know, so a
// typo does not pass silently.
func checkFileKeys(k *koanf.Koanf) error {
	for _, name := range k.Keys() {
		if strings.HasPrefix(name, "auth.issuers") {
			continue
		}
		if _, ok := findKey(name); !ok {
			return errorf(name, "unknown key in config file")
		}
	}
	return nil
}

// unmarshalKey guesses the key named in a decoding error, for the message.
func unmarshalKey(err error) string {
	msg := err.Error()
	for _, key := range Keys() {
		if strings.Contains(msg, "'"+key.Name+"'") || strings.Contains(msg, "'"+lastPart(key.Name)+"'") {
			return key.Name
		}
	}
	return "config"
}

// decodeMessage keeps the last line of a decoding error, the one that says
// what is wrong ("'jobs.max_attempts' cannot parse value as 'int': …").
func decodeMessage(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func lastPart(name string) string {
	if i := strings.LastIndex(name, "."); i >= 0 {
		return name[i+1:]
	}
	return name
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// fillDefaults derives the defaults that depend on other keys.
func (c *Config) fillDefaults() {
	if c.Database == "" {
		c.Database = "sqlite://" + filepath.ToSlash(filepath.Join(c.DataDir, "tessera.db"))
	}
	if c.Blobs == "" {
		c.Blobs = "file://" + filepath.ToSlash(filepath.Join(c.DataDir, "blobs"))
	}
	if c.PublicURL == "" {
		host, port := splitAddr(c.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.PublicURL = "http://" + joinHostPort(host, port)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if len(c.Apps) == 1 && c.Apps[0] == "all" {
		c.Apps = nil
	}
}

// Warnings returns advice on a valid configuration that is likely a
// mistake; serve logs each at start.
func (c *Config) Warnings() []string {
	var out []string
	if u, err := url.Parse(c.PublicURL); err == nil && c.Redis != "" {
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
			out = append(out, "public_url is "+c.PublicURL+" while redis is set (a cluster): every node must share the URL "+
				"clients use, the proxy's, or tokens issued by one node are refused by the others and signed links point nowhere")
		}
	}
	return out
}

// LocalURL is the node's own listener as a URL a process on the same
// machine reaches (a wildcard addr is reached on loopback): what
// `tessera probe` asks, unlike PublicURL, which may be a proxy.
func (c *Config) LocalURL() string {
	host, port := splitAddr(c.Addr)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + joinHostPort(host, port)
}

// AppEnabled reports whether the app named name is enabled ("apps" empty
// means all).
func (c *Config) AppEnabled(name string) bool {
	return len(c.Apps) == 0 || slices.Contains(c.Apps, name)
}

// MailDir is where outgoing mail is written when no SMTP server is configured.
func (c *Config) MailDir() string { return filepath.Join(c.DataDir, "mail") }
