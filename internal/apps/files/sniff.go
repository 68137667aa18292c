package files

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// sniffLen is how many leading bytes decide a file's type (mimetype's
// default read limit).
const sniffLen = 3072

// sniff wraps body so its first bytes can be inspected and returns the
// type to store: the declared one when it agrees with what the bytes are,
// else the detected one. A client cannot store an HTML page as image/png,
// nor a PNG as text/html.
func sniff(body io.Reader, declared string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(body, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", err
	}
	return br, chooseType(declared, mimetype.Detect(head)), nil
}

// chooseType keeps declared when detected agrees with it: the same type
// (or an alias), a more general type of it (a .docx is a zip), or bytes
// that say nothing more specific (plain text, unknown binary) under a
// declared type that browsers do not run as a page or script.
func chooseType(declared string, detected *mimetype.MIME) string {
	base, params, err := mime.ParseMediaType(declared)
	if declared == "" || err != nil {
		return detected.String()
	}
	keep := mime.FormatMediaType(base, params)
	if keep == "" || base == "application/x-www-form-urlencoded" || strings.HasPrefix(base, "multipart/") {
		// Not a file's type: what HTML forms and curl -d declare.
		return detected.String()
	}
	for m := detected; m != nil; m = m.Parent() {
		if m.Is(base) {
			return keep
		}
	}
	if active(base) {
		return detected.String()
	}
	switch {
	case detected.Is("application/octet-stream"):
		return keep
	case detected.Is("text/plain") && (strings.HasPrefix(base, "text/") || strings.HasSuffix(base, "+json") || base == "application/json"):
		return keep
	}
	return detected.String()
}

// active reports whether browsers may run a type as a page or a script.
func active(base string) bool {
	switch base {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
		"text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript":
		return true
	}
	return false
}
