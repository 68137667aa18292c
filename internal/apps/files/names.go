package files

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Name and folder rules (files.md, Model): a name is 1–255 characters of
// NFC-normalized UTF-8 with no path separator and nothing invisible; a
// folder is "/" or "/"-separated names. Names are stored as given after
// NFC normalization, so the same name typed on two systems is one name.
const (
	MaxNameLen   = 255  // characters
	MaxFolderLen = 1024 // characters
	MaxDepth     = 32   // folder segments
)

// CleanName checks and normalizes a file name given at location.
func CleanName(location, name string) (string, error) {
	n, msg := cleanSegment(name)
	if msg != "" {
		return "", fault.WithFields("invalid file name", fault.FieldError{Location: location, Message: msg, Value: name})
	}
	return n, nil
}

// CleanFolder checks and normalizes a folder path; "" is the root, "/".
// A trailing slash is dropped.
func CleanFolder(location, folder string) (string, error) {
	bad := func(msg string) (string, error) {
		return "", fault.WithFields("invalid folder", fault.FieldError{Location: location, Message: msg, Value: folder})
	}
	if folder == "" || folder == "/" {
		return "/", nil
	}
	if !utf8.ValidString(folder) {
		return bad("must be UTF-8")
	}
	f := norm.NFC.String(folder)
	if !strings.HasPrefix(f, "/") {
		return bad(`must start with "/"`)
	}
	f = strings.TrimSuffix(f, "/")
	if utf8.RuneCountInString(f) > MaxFolderLen {
		return bad("at most 1024 characters")
	}
	segs := strings.Split(f[1:], "/")
	if len(segs) > MaxDepth {
		return bad("at most 32 levels")
	}
	for _, s := range segs {
		if s == "" {
			return bad("empty folder name (two slashes in a row)")
		}
		if _, msg := cleanSegment(s); msg != "" {
			return bad("folder name " + quote(s) + ": " + msg)
		}
	}
	return f, nil
}

// cleanSegment returns the NFC form of one name, or why it is refused.
func cleanSegment(name string) (string, string) {
	if !utf8.ValidString(name) {
		return "", "must be UTF-8"
	}
	n := norm.NFC.String(name)
	switch count := utf8.RuneCountInString(n); {
	case count == 0:
		return "", "must not be empty"
	case count > MaxNameLen:
		return "", "at most 255 characters"
	}
	if n == "." || n == ".." {
		return "", `must not be "." or ".."`
	}
	if strings.TrimSpace(n) != n {
		return "", "must not start or end with a space"
	}
	for _, r := range n {
		switch {
		case r == '/' || r == '\\':
			return "", "must not contain / or \\"
		case unicode.IsControl(r):
			return "", "must not contain control characters"
		case unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			// Format characters: bidi overrides that reverse how a name
			// reads (exe.txt shown as txt.exe), zero-width joiners.
			return "", "must not contain invisible or direction-changing characters"
		}
	}
	// Compatibility forms that fold to a separator or a dot path
	// (fullwidth solidus, division slash, one-dot leader) would become
	// one on systems that apply NFKC.
	k := norm.NFKC.String(n)
	if strings.ContainsAny(k, "/\\") || k == "." || k == ".." || strings.ContainsRune(n, '\u2215') || strings.ContainsRune(n, '\u29f8') {
		return "", "must not contain characters that stand for / or \\"
	}
	return n, ""
}

// nameKey is the case-folded form of a name: the listing's order and the
// text ?q= matches.
func nameKey(name string) string { return strings.ToLower(name) }

func quote(s string) string { return `"` + s + `"` }
