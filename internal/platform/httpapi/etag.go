package httpapi

import (
	"strconv"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// VersionETag is the entity tag of an item's version number, quoted ("3"):
// the form apps give in ETag and read back from If-Match.
func VersionETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ParseIfMatch reads an If-Match value naming one version: "3", W/"3" or 3.
// present is false when the header is absent (or blank); anything else is a
// 422 naming header.If-Match.
func ParseIfMatch(h string) (version int64, present bool, err error) {
	v := strings.TrimSpace(h)
	if v == "" || v == "*" { // "*": any current version (RFC 9110), as no condition
		return 0, false, nil
	}
	raw := strings.TrimPrefix(v, "W/")
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	n, perr := strconv.ParseInt(raw, 10, 64)
	if perr != nil || n < 1 || raw[0] == '+' {
		return 0, true, fault.WithFields("bad If-Match",
			fault.FieldError{Location: "header.If-Match", Message: `must be the version you read, as its ETag gave it ("3")`, Value: h})
	}
	return n, true, nil
}
