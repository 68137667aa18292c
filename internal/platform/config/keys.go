package config

import "strings"

// Key describes one configuration key: its name in the YAML file, its
// environment variable, its command-line flag, and whether it is a secret
// (masked by `tessera config print`).
type Key struct {
	Name     string // dotted YAML key, e.g. "messaging.jwt_secret"
	Default  string // shown in help; "" when none or derived
	Help     string
	Secret   bool // the whole value is secret
	URL      bool // a URL whose password part is secret
	List     bool // a comma-separated list in env and flags
	FileOnly bool // no env variable and no flag (structured values)
	Bool     bool // true or false; the flag alone means true
}

// Env is the key's environment variable: TESSERA_ + the key upper-cased with
// "." replaced by "_".
func (k Key) Env() string {
	return "TESSERA_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
}

// Flag is the key's command-line flag: the key with "." and "_" as "-".
func (k Key) Flag() string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(k.Name)
}

// Keys lists every configuration key, as in platform.md's table (plus the S3
// credentials it names).
func Keys() []Key {
	return []Key{
		{Name: "addr", Default: ":8080", Help: "listen address"},
		{Name: "data_dir", Default: "./data", Help: "SQLite file, blobs, mail sink, keys"},
		{Name: "database", Help: "sqlite://<data_dir>/tessera.db (default) or postgres://…", URL: true},
		{Name: "redis", Help: "redis://…: cross-node fan-out (none by default)", URL: true},
		{Name: "blobs", Help: "file://<data_dir>/blobs (default) or s3://bucket?endpoint=…&region=…", URL: true},
		{Name: "s3.access_key", Help: "S3 access key for s3:// blobs"},
		{Name: "s3.secret_key", Help: "S3 secret key for s3:// blobs", Secret: true},
		{Name: "smtp", Help: "smtp://user:pass@host:port (default: mail written to <data_dir>/mail)", URL: true},
		{Name: "public_url", Help: "base of signed URLs and links in mails (default: from addr)"},
		{Name: "apps", Default: "all", Help: "comma list of apps to enable", List: true},
		{Name: "messaging.jwt_secret", Help: "shared HS256 secret of the nano-messaging tokens", Secret: true},
		{Name: "messaging.jwt_issuer", Help: "iss required of the shared-secret tokens (none by default)"},
		{Name: "messaging.jwt_audience", Help: "aud required of the shared-secret tokens (none by default)"},
		{Name: "messaging.max_rules", Default: "10", Help: "rules a chat room holds at most (1–1000)"},
		{Name: "messaging.create_level", Default: "100", Help: "levelOnEntity needed to create a chat room (0–1000000)"},
		{Name: "restaurants.regions", Default: "NORTH,SOUTH,EAST,WEST", Help: "regions a restaurant may be in, comma list (upper case)", List: true},
		{Name: "restaurants.time_zone", Default: "UTC", Help: "restaurants' IANA time zone (today's seatings, the weekly report's Monday 06:00)"},
		{Name: "scheduling.digest_window", Default: "1m", Help: "least time between two mails to an event attendee; changes meanwhile go out as one digest (1s–24h)"},
		{Name: "files.max_upload", Default: "5GiB", Help: "largest file version accepted (1B–1TiB; units B, KB, MB, GB, KiB, MiB, GiB)"},
		{Name: "files.quota", Default: "0", Help: "storage quota of each org, every version and trashed file counted (0: none)"},
		{Name: "restaurants.report_to", Help: "platform admins' addresses for the weekly all-restaurants report, comma list (none by default)", List: true},
		{Name: "records.config", Help: "path of the records config.json (default: embedded)"},
		{Name: "records.force", Default: "false", Help: "apply a records config that drops types which still have records (kept, reachable from /admin)", Bool: true},
		{Name: "auth.issuers", Help: "external token issuers (YAML file only)", FileOnly: true},
		{Name: "auth.argon2.time", Default: "2", Help: "argon2id passes of password hashes"},
		{Name: "auth.argon2.memory", Default: "19456", Help: "argon2id memory of password hashes, KiB"},
		{Name: "auth.argon2.threads", Default: "1", Help: "argon2id parallelism of password hashes"},
		{Name: "events.retention", Default: "168h", Help: "how long the event log keeps events for resume and audit (Go duration)"},
		{Name: "jobs.max_attempts", Default: "8", Help: "attempts of a durable handler before it is dead (1–100)"},
		{Name: "cors.origins", Help: "allowed CORS origins, comma list (none by default)", List: true},
		{Name: "trusted_proxies", Help: "load balancers (IPs or CIDR prefixes, comma list) whose X-Forwarded-For names the client (none by default)", List: true},
	}
}

// findKey returns the key with the given name.
func findKey(name string) (Key, bool) {
	for _, k := range Keys() {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}
