package config

import (
	"net/url"
	"strings"
)

const mask = "*****"

// Masked returns a copy of c with every secret replaced by "*****": secret
// keys whole, and the password part of URLs.
func (c *Config) Masked() Config {
	m := *c
	m.Database = maskURL(m.Database)
	m.Redis = maskURL(m.Redis)
	m.Blobs = maskURL(m.Blobs)
	m.SMTP = maskURL(m.SMTP)
	m.S3.SecretKey = maskValue(m.S3.SecretKey)
	m.Messaging.JWTSecret = maskValue(m.Messaging.JWTSecret)
	return m
}

func maskValue(v string) string {
	if v == "" {
		return ""
	}
	return mask
}

// maskURL hides the password of a URL's user info and of a "password" query
// parameter.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return maskValue(raw)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), mask)
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", mask)
		u.RawQuery = q.Encode()
	}
	// url.URL escapes "*" in user info; show the mask as typed.
	return strings.ReplaceAll(u.String(), url.QueryEscape(mask), mask)
}
