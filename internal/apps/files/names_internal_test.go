package files

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/text/unicode/norm"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// namesPNG is the start of a real PNG (signature and IHDR chunk).
var namesPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// namesField is the location of the only field of a validation fault, or
// "" when err is not one.
func namesField(err error) string {
	f := fault.As(err)
	if f == nil || f.Code != fault.Invalid || len(f.Fields) != 1 {
		return ""
	}
	return f.Fields[0].Location
}

// TestCleanName proves the name rule of files.md (1–255 characters, no
// separator, nothing invisible or direction-changing, NFC) on the names an
// attacker or a careless client sends.
func TestCleanName(t *testing.T) {
	t.Parallel()
	long255 := strings.Repeat("é", 255)
	for _, tc := range []struct {
		name, in, want string // want "" means refused
	}{
		{"plain", "notes.txt", "notes.txt"},
		{"inner spaces", "my notes v2.txt", "my notes v2.txt"},
		{"unicode", "résumé 日本.pdf", "résumé 日本.pdf"},
		{"NFD becomes NFC", "re\u0301sume\u0301.pdf", "résumé.pdf"},
		{"255 runes of 2 bytes", long255, long255},
		{"dot file", ".bashrc", ".bashrc"},
		{"three dots", "...", "..."},
		{"empty", "", ""},
		{"256 runes", strings.Repeat("a", 256), ""},
		{"slash", "a/b", ""},
		{"backslash", `a\b`, ""},
		{"dot", ".", ""},
		{"dot dot", "..", ""},
		{"NUL", "a\x00b", ""},
		{"C0 control", "a\x01", ""},
		{"DEL", "a\x7f", ""},
		{"C1 control", "a\u0085b", ""},
		{"newline", "a\nb", ""},
		{"tab", "a\tb", ""},
		{"leading space", " a", ""},
		{"trailing space", "a ", ""},
		{"trailing no-break space", "a\u00a0", ""},
		{"RTL override", "invoice\u202Efdp.exe", ""},
		{"zero-width joiner", "a\u200Db", ""},
		{"BOM", "\uFEFFa", ""},
		{"soft hyphen", "a\u00ADb", ""},
		{"line separator", "a\u2028b", ""},
		{"fullwidth solidus", "a\uFF0Fb", ""},
		{"fullwidth reverse solidus", "a\uFF3Cb", ""},
		{"division slash", "a\u2215b", ""},
		{"big solidus", "a\u29F8b", ""},
		{"one dot leader", "\u2024", ""},
		{"two dot leader", "\u2025", ""},
		{"invalid UTF-8", "a\xffb", ""},
		{"truncated UTF-8", "a\xc3", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanName("header.X-File-Name", tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("CleanName(%q) = %q, want refused", tc.in, got)
				}
				if loc := namesField(err); loc != "header.X-File-Name" {
					t.Fatalf("CleanName(%q): %v, want a 422 naming header.X-File-Name (got location %q)", tc.in, err, loc)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CleanName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestCleanFolder proves the folder rule: "" and "/" are the root, a
// trailing slash is dropped, and every segment follows the name rule, with
// at most 32 levels.
func TestCleanFolder(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return strings.Repeat("/a", n) }
	for _, tc := range []struct {
		name, in, want string // want "" means refused
	}{
		{"empty is root", "", "/"},
		{"root", "/", "/"},
		{"one level", "/docs", "/docs"},
		{"trailing slash", "/docs/2024/", "/docs/2024"},
		{"NFD segment", "/re\u0301sume\u0301", "/résumé"},
		{"32 levels", deep(32), deep(32)},
		{"33 levels", deep(33), ""},
		{"no leading slash", "docs", ""},
		{"double slash", "//", ""},
		{"inner double slash", "/a//b", ""},
		{"dot dot", "/a/../b", ""},
		{"dot", "/a/./b", ""},
		{"control", "/a\x01", ""},
		{"RTL override", "/a\u202Eb", ""},
		{"fullwidth solidus", "/a\uFF0Fb", ""},
		{"backslash", `/a\b`, ""},
		{"segment of 256 runes", "/" + strings.Repeat("a", 256), ""},
		{"over 1024 runes", strings.Repeat("/"+strings.Repeat("a", 99), 11), ""},
		{"invalid UTF-8", "/a\xff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CleanFolder("header.X-Folder", tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("CleanFolder(%q) = %q, want refused", tc.in, got)
				}
				if loc := namesField(err); loc != "header.X-Folder" {
					t.Fatalf("CleanFolder(%q): %v, want a 422 naming header.X-Folder (got location %q)", tc.in, err, loc)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CleanFolder(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestHeaderText proves X-File-Name's percent-decoding: UTF-8 names come
// through, '+' stays a plus, and a broken escape is a 422 at the header.
func TestHeaderText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "plain.txt", want: "plain.txt"},
		{in: "r%C3%A9sum%C3%A9.pdf", want: "résumé.pdf"},
		{in: "a+b%20c.txt", want: "a+b c.txt"},
		{in: "100%25.txt", want: "100%.txt"},
		{in: "%2F", want: "/"}, // decoded here, refused by CleanName
		{in: "%FF", want: "\xff"},
		{in: "100%", bad: true},
		{in: "%zz.txt", bad: true},
		{in: "%C", bad: true},
	} {
		got, err := headerText("header.X-File-Name", tc.in)
		switch {
		case tc.bad && namesField(err) != "header.X-File-Name":
			t.Errorf("headerText(%q) = %q, %v; want a 422 naming header.X-File-Name", tc.in, got, err)
		case !tc.bad && (err != nil || got != tc.want):
			t.Errorf("headerText(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestExpectedDigest proves how Digest and Content-Digest are read: the
// sha-256 member of either, other algorithms ignored, a malformed value
// and two disagreeing values refused as 400.
func TestExpectedDigest(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("hello"))
	other := sha256.Sum256([]byte("bye"))
	b64, hexSum := base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:])
	otherB64 := base64.StdEncoding.EncodeToString(other[:])
	for _, tc := range []struct {
		name, digest, contentDigest, want string
		reason                            string // "" with want "": no error expected unless bad
		bad                               bool
	}{
		{name: "none"},
		{name: "digest", digest: "sha-256=" + b64, want: hexSum},
		{name: "upper-case algorithm", digest: "SHA-256=" + b64, want: hexSum},
		{name: "content-digest", contentDigest: "sha-256=:" + b64 + ":", want: hexSum},
		{name: "among others", digest: "md5=abc, sha-256=" + b64, want: hexSum},
		{name: "other algorithm only", digest: "sha-512=" + b64},
		{name: "both agree", digest: "sha-256=" + b64, contentDigest: "sha-256=:" + b64 + ":", want: hexSum},
		{name: "both disagree", digest: "sha-256=" + b64, contentDigest: "sha-256=:" + otherB64 + ":", bad: true, reason: ReasonDigestMismatch},
		{name: "bad base64", digest: "sha-256=***", bad: true},
		{name: "hex instead of base64", digest: "sha-256=" + hexSum, bad: true},
		{name: "short digest", digest: "sha-256=" + base64.StdEncoding.EncodeToString(sum[:16]), bad: true},
		{name: "empty value", contentDigest: "sha-256=::", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expectedDigest(tc.digest, tc.contentDigest)
			if tc.bad {
				f := fault.As(err)
				if f == nil || f.Code != fault.Malformed || f.Reason != tc.reason {
					t.Fatalf("expectedDigest(%q, %q) = %q, %v; want a 400 with reason %q", tc.digest, tc.contentDigest, got, err, tc.reason)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("expectedDigest(%q, %q) = %q, %v; want %q", tc.digest, tc.contentDigest, got, err, tc.want)
			}
		})
	}
}

// TestChooseType proves the sniffing rule: the declared type is kept when
// the bytes agree or say nothing more, the detected one wins when the bytes
// are something else or the declared type is one browsers run.
func TestChooseType(t *testing.T) {
	t.Parallel()
	html := []byte("<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>")
	csv := []byte("name,age,city\nann,31,Paris\nbob,42,Lyon\n")
	unknown := []byte{0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0x10, 0x20, 0x00, 0x00, 0x7f, 0x80}
	for _, tc := range []struct {
		name     string
		body     []byte
		declared string
		want     string // "" with notWant: anything but notWant
		notWant  string
	}{
		{name: "PNG declared HTML", body: namesPNG, declared: "text/html", want: "image/png"},
		{name: "PNG declared PNG", body: namesPNG, declared: "image/png", want: "image/png"},
		{name: "PNG declared nothing", body: namesPNG, declared: "", want: "image/png"},
		{name: "HTML declared PNG", body: html, declared: "image/png", notWant: "image/png"},
		// HTML is text: kept as text/plain, which no browser runs (downloads send nosniff).
		{name: "HTML declared plain text", body: html, declared: "text/plain", want: "text/plain"},
		{name: "CSV declared CSV", body: csv, declared: "text/csv", want: "text/csv"},
		{name: "unknown declared x-foo", body: unknown, declared: "application/x-foo", want: "application/x-foo"},
		{name: "text declared HTML", body: []byte("just words"), declared: "text/html", notWant: "text/html"},
		{name: "text declared JSON", body: []byte(`{"a": 1}`), declared: "application/json", want: "application/json"},
		{name: "text with charset", body: []byte("hello"), declared: "text/plain; charset=utf-8", want: "text/plain; charset=utf-8"},
		{name: "unparsable declared", body: []byte("hello"), declared: "text/plain; ;;=", notWant: "text/plain; ;;="},
		{name: "unknown declared SVG", body: unknown, declared: "image/svg+xml", notWant: "image/svg+xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chooseType(tc.declared, mimetype.Detect(tc.body))
			if tc.want != "" && got != tc.want {
				t.Fatalf("chooseType(%q) = %q, want %q", tc.declared, got, tc.want)
			}
			if tc.notWant != "" && (got == tc.notWant || strings.HasPrefix(got, tc.notWant+";")) {
				t.Fatalf("chooseType(%q) = %q, want anything else", tc.declared, got)
			}
			if got == "" {
				t.Fatalf("chooseType(%q) is empty", tc.declared)
			}
		})
	}
}

// TestSniffKeepsBytes proves sniff hands on every byte, the peeked ones
// included, whether the body is shorter or longer than what it inspects.
func TestSniffKeepsBytes(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, sniffLen - 1, sniffLen, sniffLen + 1, 3 * sniffLen} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		r, typ, err := sniff(bytes.NewReader(body), "text/plain")
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("size %d: read %d bytes (%v), want the %d sent", size, len(got), err, size)
		}
		if typ == "" {
			t.Fatalf("size %d: no type", size)
		}
	}
	// A reader that fails is an error, not a type.
	if _, _, err := sniff(io.MultiReader(strings.NewReader("abc"), namesFailing{}), "text/plain"); err == nil {
		t.Fatal("sniff of a failing reader: no error")
	}
}

type namesFailing struct{}

func (namesFailing) Read([]byte) (int, error) { return 0, errors.New("boom") }

// FuzzCleanName proves, on any input, that CleanName never panics and that
// what it accepts is a safe name: valid NFC UTF-8 of 1–255 runes with no
// '/', '\\', control or format (Cf) character, that CleanName accepts
// unchanged (idempotent).
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"notes.txt", "", ".", "..", "a/b", `a\b`, "a\x00b", "\x01", "\x7f", " a", "a ", "a\u202Eb",
		"a\u200Db", "a\uFF0Fb", "a\u2215b", "e\u0301", "\xff", strings.Repeat("a", 255), strings.Repeat("é", 256), "\u2024\u2024",
		"\u0345", "\u1100\u1161\u11a8", "a\u0308\u0301", "ﬁle", "\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanName("header.X-File-Name", in)
		if err != nil {
			if namesField(err) != "header.X-File-Name" {
				t.Fatalf("CleanName(%q): %v is not a 422 naming header.X-File-Name", in, err)
			}
			return
		}
		switch n := utf8.RuneCountInString(got); {
		case !utf8.ValidString(got):
			t.Fatalf("CleanName(%q) = %q: not UTF-8", in, got)
		case !norm.NFC.IsNormalString(got):
			t.Fatalf("CleanName(%q) = %q: not NFC", in, got)
		case n < 1 || n > 255:
			t.Fatalf("CleanName(%q) = %q: %d runes", in, got, n)
		case got == "." || got == "..":
			t.Fatalf("CleanName(%q) = %q", in, got)
		case strings.TrimSpace(got) != got:
			t.Fatalf("CleanName(%q) = %q: leading or trailing space", in, got)
		}
		for _, r := range got {
			if r == '/' || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("CleanName(%q) = %q: contains %U", in, got, r)
			}
		}
		again, err := CleanName("header.X-File-Name", got)
		if err != nil || again != got {
			t.Fatalf("CleanName is not idempotent: CleanName(%q) = %q, then %q, %v", in, got, again, err)
		}
	})
}
