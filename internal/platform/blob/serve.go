package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// ServeOptions describe one download served by Serve.
type ServeOptions struct {
	// ETag is the strong entity tag, quoted ("\"…\""); empty means the
	// quoted SHA-256 of the object (none when the store does not know it).
	ETag string
	// ContentType overrides the object's stored content type when set.
	ContentType string
	// Filename, when set, makes the response an attachment under that name
	// (Content-Disposition with a safe ASCII fallback and the RFC 8187
	// UTF-8 form).
	Filename string
	// Modified is the Last-Modified time; zero means the object's.
	Modified time.Time
}

// Serve answers r (GET or HEAD) with the object at key of s, on any
// backend: it describes the object with one Stat and hands
// http.ServeContent a reader that opens the object with Get only where and
// when bytes are read, so Range (one or several), If-Match,
// If-None-Match, If-Range and If-Modified-Since behave as net/http defines
// them, and a range costs what it selects, not the object. The bytes are
// streamed, never held whole.
//
// The response carries the content type, ETag, Last-Modified,
// "Cache-Control: private, max-age=0" and headers that keep the content
// from acting as a page of this origin (sandboxing CSP, nosniff). A
// failure (a missing key is fault.NotFound, a store that fails, an object
// replaced after Stat) is an RFC 9457 problem when no byte was sent yet;
// later, the response is cut short of its Content-Length.
func Serve(w http.ResponseWriter, r *http.Request, s Store, key string, opts ServeOptions) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpapi.WriteProblem(w, r, errMethodNotAllowed)
		return
	}
	obj, err := s.Stat(r.Context(), key)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	c := &content{ctx: ctx, s: s, key: key, obj: obj}
	defer func() {
		cancel() // first: ends a read still running in ServeContent's multipart goroutine
		c.Close()
	}()
	setServeHeaders(w.Header(), obj, opts)
	hw := &heldResponse{ResponseWriter: w, c: c}
	modified := opts.Modified
	if modified.IsZero() {
		modified = obj.Modified
	}
	http.ServeContent(hw, r, "", modified, c)
	if err := c.failure(); err != nil && !hw.committed {
		for _, k := range []string{"Content-Range", "Content-Disposition", "Accept-Ranges", "Etag", "Last-Modified"} {
			w.Header().Del(k)
		}
		httpapi.WriteProblem(w, r, err)
		return
	}
	if hw.status >= http.StatusBadRequest && !hw.committed {
		// ServeContent's own refusals (416 with Content-Range: bytes */size,
		// 412) as problems, like every other failure.
		w.Header().Del("Content-Length")
		httpapi.WriteProblem(w, r, &statusError{hw.status, hw.refusal(r)})
		return
	}
	hw.commit()
}

// setServeHeaders sets the headers of a download of obj.
func setServeHeaders(h http.Header, obj Object, opts ServeOptions) {
	ct := opts.ContentType
	if ct == "" {
		ct = obj.ContentType
	}
	if ct == "" {
		ct = DefaultContentType
	}
	h.Set("Content-Type", ct)
	etag := opts.ETag
	if etag == "" && obj.SHA256 != "" {
		etag = `"` + obj.SHA256 + `"`
	}
	if etag != "" {
		h.Set("ETag", etag)
	}
	h.Set("Cache-Control", "private, max-age=0")
	// Uploaded content is never a page of this origin.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	if opts.Filename != "" {
		h.Set("Content-Disposition", contentDisposition(opts.Filename))
	}
}

// heldResponse holds the status back until the first byte of the body (or
// the end of Serve), so that a failure to open the object can still be
// answered with a problem. When the status is 206 for one range, it tells
// the content which range it is (see content.window).
type heldResponse struct {
	http.ResponseWriter
	c         *content
	status    int
	committed bool
}

func (w *heldResponse) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if code == http.StatusPartialContent {
		w.c.window(w.Header().Get("Content-Range"))
	}
}

func (w *heldResponse) Write(p []byte) (int, error) {
	if w.status >= http.StatusBadRequest {
		return len(p), nil // ServeContent's text for a refusal: replaced by a problem
	}
	w.commit()
	return w.ResponseWriter.Write(p)
}

// refusal explains a refusal of ServeContent's.
func (w *heldResponse) refusal(r *http.Request) string {
	switch w.status {
	case http.StatusRequestedRangeNotSatisfiable:
		return "the Range " + strconv.Quote(r.Header.Get("Range")) + " selects no byte of the content (see Content-Range for its size)"
	case http.StatusPreconditionFailed:
		return "the content does not match If-Match or If-Unmodified-Since"
	}
	return http.StatusText(w.status)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *heldResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// commit sends the held status (200 when none was set).
func (w *heldResponse) commit() {
	if w.committed {
		return
	}
	w.committed = true
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(w.status)
}

var (
	errClosed = errors.New("blob: content closed")
	errSeek   = errors.New("blob: invalid seek")
)

// content is an object as the io.ReadSeeker http.ServeContent reads: Seek
// only records the position; Read opens the object there with Get (after
// a move away from the open stream's position, or past its end, it closes
// that stream and opens another), so only the bytes served are fetched.
// The stream for a single range stops at the range's end (a S3 ranged
// GET); any other stops at the object's end and is closed early. It is
// safe for concurrent use: ServeContent reads multiple ranges in a
// goroutine that may outlive it.
type content struct {
	ctx context.Context
	s   Store
	key string
	obj Object // as Stat described it

	mu      sync.Mutex
	pos     int64
	rc      io.ReadCloser // the open stream, or nil
	at, end int64         // where rc's next byte is and where it stops
	// from, to delimit the single range served (to == 0: none).
	from, to int64
	err      error // the first failure, sticky
}

func (c *content) Seek(offset int64, whence int) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.pos
	case io.SeekEnd:
		offset += c.obj.Size
	default:
		return 0, errSeek
	}
	if offset < 0 {
		return 0, errSeek
	}
	c.pos = offset
	return offset, nil
}

func (c *content) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.pos >= c.obj.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.rc != nil && (c.at != c.pos || c.at >= c.end) {
		c.drop()
	}
	if c.rc == nil {
		if err := c.open(); err != nil {
			c.err = err
			return 0, err
		}
	}
	n, err := c.rc.Read(p)
	c.pos += int64(n)
	c.at += int64(n)
	switch {
	case err == nil:
	case !errors.Is(err, io.EOF):
		c.err = err
	case c.at < c.end:
		c.err = fmt.Errorf("blob: %s ended at %d of %d: %w", c.key, c.at, c.end, io.ErrUnexpectedEOF)
	case c.pos < c.obj.Size:
		err = nil // the stream of a range ended; the next Read opens another
	}
	return n, err
}

// open opens the object at pos, up to the end of the range served when pos
// is in it.
func (c *content) open() error {
	rng := &Range{Offset: c.pos}
	if c.pos >= c.from && c.pos < c.to {
		rng.Length = c.to - c.pos
	}
	rc, obj, err := c.s.Get(c.ctx, c.key, rng)
	if err != nil {
		return err
	}
	if obj.Size != c.obj.Size || obj.SHA256 != c.obj.SHA256 || !obj.Modified.Equal(c.obj.Modified) {
		_ = rc.Close()
		return unavailable(fmt.Errorf("blob: %s replaced while being served", c.key), "blob changed while being read; retry")
	}
	c.rc, c.at, c.end = rc, c.pos, c.obj.Size
	if rng.Length > 0 {
		c.end = c.pos + rng.Length
	}
	return nil
}

// drop closes the open stream.
func (c *content) drop() {
	_ = c.rc.Close()
	c.rc = nil
}

// window records the single range served, from its Content-Range
// ("bytes FIRST-LAST/SIZE"); anything else leaves streams open to the end.
func (c *content) window(contentRange string) {
	var first, last, size int64
	if _, err := fmt.Sscanf(contentRange, "bytes %d-%d/%d", &first, &last, &size); err != nil || first < 0 || last < first {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.from, c.to = first, last+1
}

// failure is the first failure of a Read, if any.
func (c *content) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the open stream; later Reads fail.
func (c *content) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rc != nil {
		c.drop()
	}
	if c.err == nil {
		c.err = errClosed
	}
}

// maxFilename is the longest download name offered, in bytes: what common
// filesystems accept.
const maxFilename = 255

// maxExtension is the longest extension kept when a name is shortened.
const maxExtension = 16

// contentDisposition is an attachment header for name: a quoted ASCII
// fallback and the RFC 8187 UTF-8 form (which browsers prefer). The name
// is first made safe (see safeFilename); the fallback then drops accents
// and replaces every other non-ASCII character, and '"', '\\' and '%',
// with '_'. The result is printable ASCII only, whatever name holds.
func contentDisposition(name string) string {
	name = safeFilename(name)
	return `attachment; filename="` + asciiFilename(name) + `"; filename*=UTF-8''` + encodeRFC8187(name)
}

// safeFilename is name in NFC, valid UTF-8, with path separators, control
// characters and bidirectional controls (which can disguise an extension:
// "invoice\u202Efdp.exe") replaced with '_', and cut to maxFilename bytes,
// keeping a short extension.
func safeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '_'
		}
		return r
	}, norm.NFC.String(strings.ToValidUTF8(name, "_")))
	if len(name) <= maxFilename {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtension {
		ext = name[i:]
	}
	stem := name[:maxFilename-len(ext)]
	for !utf8.ValidString(stem) {
		stem = stem[:len(stem)-1] // a rune cut in the middle
	}
	return stem + ext
}

// asciiFilename is the quoted-string fallback of a safe name: accents
// dropped (NFD, marks removed), anything but printable ASCII, '"', '\\'
// and '%' (which some clients decode) replaced with '_'.
func asciiFilename(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// encodeRFC8187 percent-encodes s's UTF-8 bytes except RFC 8187 attr-chars.
func encodeRFC8187(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// isAttrChar reports whether c is an RFC 8187 attr-char.
func isAttrChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
