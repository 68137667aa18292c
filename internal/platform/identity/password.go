package identity

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed" // the common-password list
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// MinPasswordLength is the shortest password accepted, in characters
// (NIST 800-63B: at least 8; Tessera asks 12). MaxPasswordLength bounds the
// work argon2id does on attacker input.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// Argon2Params are the argon2id cost parameters (config: auth.argon2.*).
type Argon2Params struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultArgon2 is the OWASP-recommended second configuration
// (m=19 MiB, t=2, p=1): about 25–40 ms per hash on one core.
var DefaultArgon2 = Argon2Params{Time: 2, Memory: 19 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// HashPassword returns the PHC string of password under p:
// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC string encoded, and
// whether the hash should be recomputed because it was made with parameters
// other than p. A malformed hash never matches.
func CheckPassword(password, encoded string, p Argon2Params) (ok, rehash bool) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false
	}
	var (
		version int
		m, t    uint32
		threads uint8
	)
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &threads); err != nil || m == 0 || t == 0 || threads == 0 {
		return false, false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, threads, uint32(len(want))) //nolint:gosec // len(want) is a hash length
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false
	}
	rehash = m != p.Memory || t != p.Time || threads != p.Threads || uint32(len(want)) != p.KeyLen || uint32(len(salt)) != p.SaltLen //nolint:gosec // lengths of a hash and salt
	return true, rehash
}

//go:embed common_passwords.txt
var commonPasswordsTxt string

var (
	commonOnce      sync.Once
	commonPasswords map[string]struct{}
)

// IsCommonPassword reports whether password (case-insensitively) is in the
// embedded list of common passwords of 12+ characters (see
// testdata/gen_common_passwords.py for its origin).
func IsCommonPassword(password string) bool {
	commonOnce.Do(func() {
		commonPasswords = make(map[string]struct{}, 20000)
		sc := bufio.NewScanner(strings.NewReader(commonPasswordsTxt))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				commonPasswords[l] = struct{}{}
			}
		}
	})
	_, ok := commonPasswords[strings.ToLower(norm.NFC.String(password))]
	return ok
}

// CheckPasswordPolicy applies the NIST 800-63B style policy: at least
// MinPasswordLength characters (Unicode code points, after NFC), at most
// MaxPasswordLength, valid UTF-8, not a common password. No composition
// rules. The error is fault.Invalid naming location.
func CheckPasswordPolicy(location, password string) error {
	bad := func(msg string) error {
		return fault.WithFields("invalid password", fault.FieldError{Location: location, Message: msg})
	}
	if !utf8.ValidString(password) {
		return bad("must be valid UTF-8")
	}
	n := utf8.RuneCountInString(norm.NFC.String(password))
	switch {
	case n < MinPasswordLength:
		return bad(fmt.Sprintf("must be at least %d characters", MinPasswordLength))
	case n > MaxPasswordLength:
		return bad(fmt.Sprintf("must be at most %d characters", MaxPasswordLength))
	case IsCommonPassword(password):
		return bad("is too common: choose another")
	}
	return nil
}

// MaxEmailLength bounds an email address (RFC 5321 path limit).
const MaxEmailLength = 254

// NormalizeEmail returns the canonical form of an address, the one that is
// stored and compared: NFC-normalized, trimmed, lower-cased (so Admin@x.com
// and admin@x.com, or a decomposed and a precomposed é, are one account).
// It rejects what is not a plausible address: no single @, empty parts,
// spaces or control characters, invalid UTF-8, too long.
func NormalizeEmail(location, email string) (string, error) {
	bad := func(msg string) (string, error) {
		return "", fault.WithFields("invalid email", fault.FieldError{Location: location, Message: msg})
	}
	if !utf8.ValidString(email) {
		return bad("must be valid UTF-8")
	}
	e := strings.ToLower(norm.NFC.String(strings.TrimSpace(email)))
	e = norm.NFC.String(e) // lower-casing can denormalize
	if len(e) > MaxEmailLength {
		return bad(fmt.Sprintf("must be at most %d bytes", MaxEmailLength))
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return bad("must be an email address")
	}
	for _, r := range e {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff' {
			return bad("must not contain spaces, control or invisible characters")
		}
	}
	return e, nil
}
