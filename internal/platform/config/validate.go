package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validate checks every key and returns the first problem as an *Error.
func (c *Config) validate(knownApps []string) error {
	if err := validateAddr(c.Addr); err != nil {
		return errorf("addr", "%v", err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return errorf("data_dir", "must not be empty")
	}
	if err := checkURL(c.Database, "sqlite", "postgres", "postgresql"); err != nil {
		return errorf("database", "%v", err)
	}
	if c.Redis != "" {
		if err := checkURL(c.Redis, "redis", "rediss"); err != nil {
			return errorf("redis", "%v", err)
		}
	}
	if err := c.validateBlobs(); err != nil {
		return err
	}
	if c.SMTP != "" {
		if err := checkURL(c.SMTP, "smtp", "smtps"); err != nil {
			return errorf("smtp", "%v", err)
		}
		if u, _ := url.Parse(c.SMTP); u.Port() == "" || u.Hostname() == "" {
			return errorf("smtp", "want smtp://user:pass@host:port")
		}
	}
	if err := checkURL(c.PublicURL, "http", "https"); err != nil {
		return errorf("public_url", "%v", err)
	}
	for _, name := range c.Apps {
		if !slices.Contains(knownApps, name) {
			return errorf("apps", "unknown app %q (known: %s)", name, strings.Join(knownApps, ", "))
		}
	}
	for _, origin := range c.CORS.Origins {
		if err := checkOrigin(origin); err != nil {
			return errorf("cors.origins", "%v", err)
		}
	}
	if _, err := ParseTrustedProxies(c.TrustedProxies); err != nil {
		return errorf("trusted_proxies", "%v", err)
	}
	if time.Duration(c.Events.Retention) < time.Hour {
		return errorf("events.retention", "must be at least 1h, got %s", time.Duration(c.Events.Retention))
	}
	if c.Jobs.MaxAttempts < 1 || c.Jobs.MaxAttempts > 100 {
		return errorf("jobs.max_attempts", "must be between 1 and 100, got %d", c.Jobs.MaxAttempts)
	}
	if c.Messaging.MaxRules < 1 || c.Messaging.MaxRules > 1000 {
		return errorf("messaging.max_rules", "must be between 1 and 1000, got %d", c.Messaging.MaxRules)
	}
	if c.Messaging.CreateLevel < 0 || c.Messaging.CreateLevel > 1_000_000 {
		return errorf("messaging.create_level", "must be between 0 and 1000000, got %d", c.Messaging.CreateLevel)
	}
	if d := time.Duration(c.Scheduling.DigestWindow); d < time.Second || d > 24*time.Hour {
		return errorf("scheduling.digest_window", "must be between 1s and 24h, got %s", d)
	}
	if c.Files.MaxUpload < 1 || c.Files.MaxUpload > 1<<40 {
		return errorf("files.max_upload", "must be between 1B and 1TiB, got %d bytes", c.Files.MaxUpload)
	}
	if c.Files.Quota < 0 {
		return errorf("files.quota", "must not be negative, got %d bytes", c.Files.Quota)
	}
	if err := c.Restaurants.validate(); err != nil {
		return err
	}
	switch a := c.Auth.Argon2; {
	case a.Time < 1 || a.Time > 10:
		return errorf("auth.argon2.time", "must be between 1 and 10, got %d", a.Time)
	case a.Memory < 8*1024 || a.Memory > 4*1024*1024:
		return errorf("auth.argon2.memory", "must be between 8192 and 4194304 KiB, got %d", a.Memory)
	case a.Threads < 1 || a.Threads > 16:
		return errorf("auth.argon2.threads", "must be between 1 and 16, got %d", a.Threads)
	}
	for i, iss := range c.Auth.Issuers {
		if err := iss.validate(knownApps); err != nil {
			return errorf(fmt.Sprintf("auth.issuers[%d]", i), "%v", err)
		}
	}
	return nil
}

func (c *Config) validateBlobs() error {
	if err := checkURL(c.Blobs, "file", "s3"); err != nil {
		return errorf("blobs", "%v", err)
	}
	u, _ := url.Parse(c.Blobs)
	if u.Scheme == "file" {
		if u.Host+u.Path == "" {
			return errorf("blobs", "file:// needs a directory")
		}
		return nil
	}
	if u.Host == "" {
		return errorf("blobs", "s3:// needs a bucket: s3://bucket?endpoint=…&region=…")
	}
	for _, name := range []string{"endpoint", "public_endpoint"} {
		if ep := u.Query().Get(name); ep != "" {
			if err := checkURL(ep, "http", "https"); err != nil {
				return errorf("blobs", "%s: %v", name, err)
			}
		}
	}
	if u.Query().Get("public_endpoint") != "" && u.Query().Get("region") == "" {
		return errorf("blobs", "public_endpoint needs region (signed URLs are made without asking the store)")
	}
	if c.S3.AccessKey == "" || c.S3.SecretKey == "" {
		return errorf("s3.access_key", "s3:// blobs need TESSERA_S3_ACCESS_KEY and TESSERA_S3_SECRET_KEY")
	}
	return nil
}

func (iss Issuer) validate(knownApps []string) error {
	switch {
	case iss.Name == "":
		return fmt.Errorf("name is required")
	case iss.Issuer == "":
		return fmt.Errorf("issuer is required")
	case iss.Audience == "":
		return fmt.Errorf("audience is required")
	case (iss.JWKSURL == "") == (iss.KeyFile == ""):
		return fmt.Errorf("exactly one of jwks_url and key_file is required")
	case iss.Claims["user"] == "":
		return fmt.Errorf("claims.user is required")
	}
	if iss.JWKSURL != "" {
		if err := checkURL(iss.JWKSURL, "http", "https"); err != nil {
			return fmt.Errorf("jwks_url: %w", err)
		}
	}
	allowed := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	for _, alg := range iss.Algorithms {
		if !slices.Contains(allowed, alg) {
			return fmt.Errorf("algorithms: %q is not allowed (asymmetric algorithms only: %s)", alg, strings.Join(allowed, ", "))
		}
	}
	for _, app := range iss.Apps {
		if !slices.Contains(knownApps, app) {
			return fmt.Errorf("apps: unknown app %q", app)
		}
	}
	for field := range iss.Claims {
		if !slices.Contains([]string{"user", "org", "level", "scopes", "role", "email"}, field) {
			return fmt.Errorf("claims: unknown field %q", field)
		}
	}
	return nil
}

func validateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port or :port, got %q", addr)
	}
	if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("bad host %q", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// checkURL parses raw and checks its scheme is one of schemes.
func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %s", redactErr(err))
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("unsupported scheme %q (want %s://)", u.Scheme, strings.Join(schemes, ":// or "))
	}
	if u.Scheme != "sqlite" && u.Scheme != "file" && u.Host == "" {
		return fmt.Errorf("missing host")
	}
	if u.Scheme == "sqlite" && u.Host+u.Path == "" {
		return fmt.Errorf("sqlite:// needs a file path")
	}
	return nil
}

// redactErr drops the URL (which may hold a password) from a parse error.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("%q is not an origin (want scheme://host[:port])", origin)
	}
	return nil
}

func splitAddr(addr string) (host, port string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "8080"
	}
	return host, port
}

func joinHostPort(host, port string) string { return net.JoinHostPort(host, port) }

var regionName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)

func (r Restaurants) validate() error {
	if len(r.Regions) == 0 {
		return errorf("restaurants.regions", "must name at least one region")
	}
	for _, name := range r.Regions {
		if !regionName.MatchString(name) {
			return errorf("restaurants.regions", "%q is not an upper-case name (A-Z, 0-9, _; at most 32)", name)
		}
	}
	if _, err := time.LoadLocation(r.TimeZone); err != nil || r.TimeZone == "" || r.TimeZone == "Local" {
		return errorf("restaurants.time_zone", "%q is not an IANA time zone (e.g. Europe/Oslo, UTC)", r.TimeZone)
	}
	for _, addr := range r.ReportTo {
		if _, err := mail.ParseAddress(addr); err != nil {
			return errorf("restaurants.report_to", "%q is not an email address", addr)
		}
	}
	return nil
}

// ParseTrustedProxies parses trusted_proxies: IP addresses and CIDR
// prefixes ("10.0.0.0/8", "127.0.0.1", "::1").
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
