// Package blob is the platform's object store: a local filesystem backend
// (the default, one node) and an S3-compatible backend (cluster mode), behind
// one interface, Store.
//
// Every write is streamed (never the whole object in memory), checksummed
// (SHA-256, computed while the bytes pass) and atomic: a crash, a failing
// reader, a size limit or a digest mismatch never leaves a partial or wrong
// object visible under its key.
//
//   - Filesystem (file://DIR): the object lives in one file, DIR/objects/<key>,
//     made of a fixed 512-byte header (magic, then JSON with size, SHA-256 and
//     content type, zero padded) followed by the bytes. A put writes a temp
//     file in DIR/tmp (same filesystem), writes the header last, fsyncs it,
//     renames it over the key and fsyncs the directory. Data and metadata are
//     one file, so one rename publishes both and concurrent puts of a key end
//     with exactly one of them, whole. The bytes move in 1 MiB chunks (at
//     most 4 per put, pooled; a get reads with one): the put hashes each
//     chunk in a second goroutine while it writes it and reads the next,
//     and asks the kernel to start writing back every 4 MiB written, and
//     the tail at end of input (sync_file_range on Linux), so the disk
//     works while the rest is read and hashed and the final fsync has
//     little left to wait for.
//     Throughput is measured against a plain streamed copy on the same disk
//     (bench_test.go).
//   - S3 (s3://bucket?endpoint=http://host:port&region=…): unknown-length
//     multipart upload with a fixed part size (memory per upload: one part,
//     see PartSize). The reader handed to the S3 client checks the size
//     limit as bytes pass and the expected digest at end of input, and fails
//     the upload before it is completed, so the client aborts it and nothing
//     becomes visible. The SHA-256 is kept as user metadata (x-amz-meta-sha256):
//     when the caller gives the expected digest it is sent up front and the
//     upload goes straight to the key; otherwise the bytes go to a temporary
//     key under "~tmp/" (never a valid key, never listed) and, once the digest
//     is known, a server-side copy publishes them at the key with the digest
//     in the metadata, and the temporary object is removed. A crash can leave
//     an incomplete multipart upload or a "~tmp/" object behind, never a
//     visible partial object; Sweep removes such leftovers.
//
// Signed URLs let a client upload or download directly. S3 presigns them; for
// the filesystem the server signs URLs under <PublicURL>/blobs/… with an
// HMAC-SHA256 and Handler serves them. Object-created notification: a signed
// PUT served by Handler calls Options.OnCreated; S3 cannot call back, so the
// app calls Store.Confirm after the client reports the upload (or from a job
// that looks for pending uploads' objects), which verifies the object and calls
// OnCreated. OnCreated is an at-least-once notice: consumers must be
// idempotent (a key and its SHA-256 identify the object).
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Store is a blob store. Keys are validated by every method (see ValidKey).
type Store interface {
	// Put streams r to key. It returns when the object is durably stored
	// and visible, or leaves the key as it was.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Object, error)
	// Get opens key, or the part of it rng selects (nil: all). The Object
	// describes the whole object. A missing key is fault.NotFound.
	Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Object, error)
	// Stat describes key; a missing key is fault.NotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Move gives the object at from the key to instead, keeping its bytes
	// and metadata (a rename on the filesystem, a server-side copy then a
	// delete on S3); an object at to is replaced. A missing from is
	// fault.NotFound. Apps move a direct upload to a key no signed URL
	// names, so the bytes can no longer change under it.
	Move(ctx context.Context, from, to string) (Object, error)
	// List calls fn for every object whose key starts with prefix, in no
	// promised order; an error from fn stops it and is returned. Key, Size
	// and Modified are always set; SHA256 and ContentType may be empty on S3
	// (Stat has them).
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// SignedPutURL returns a URL a client may PUT the object's bytes to until
	// ttl passes. On the filesystem the URL enforces opts (size limit,
	// digest, content type); on S3 Confirm does.
	SignedPutURL(key string, ttl time.Duration, opts PutOptions) (string, error)
	// SignedGetURL returns a URL a client may GET the object from until ttl
	// passes; a non-empty filename makes it a download (Content-Disposition:
	// attachment) under that name.
	SignedGetURL(key string, ttl time.Duration, filename string) (string, error)
	// Confirm is the object-created check for direct uploads: it verifies
	// that key exists and satisfies want (size limit, digest; on S3 it reads
	// the object to compute its SHA-256 and records it and want.ContentType
	// in the metadata), deletes it when it does not (fault.TooLarge or
	// fault.Invalid), and calls Options.OnCreated when it does.
	Confirm(ctx context.Context, key string, want PutOptions) (Object, error)
	// Sweep removes what interrupted writes left behind (temp files,
	// temporary objects, incomplete multipart uploads) older than age.
	Sweep(ctx context.Context, age time.Duration) error
	// Ping checks the store answers: the directory is writable, the bucket
	// exists.
	Ping(ctx context.Context) error
}

// Object describes a stored object.
type Object struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"` // lowercase hex
	ContentType string    `json:"content_type"`
	Modified    time.Time `json:"modified"`
}

// PutOptions constrain a put.
type PutOptions struct {
	// ContentType is stored with the object; empty means
	// application/octet-stream.
	ContentType string
	// SHA256 is the expected digest (hex); when set and the bytes differ,
	// the put fails with fault.Invalid and nothing is stored.
	SHA256 string
	// MaxBytes > 0 limits the size; over it the put fails with
	// fault.TooLarge and nothing is stored.
	MaxBytes int64
}

// Range selects Length bytes from Offset; Length <= 0 means to the end. An
// Offset past the end is fault.Invalid; a Length past the end is cut.
type Range struct {
	Offset int64
	Length int64
}

// Options configure Open.
type Options struct {
	// AccessKey and SecretKey are the S3 credentials.
	AccessKey string
	SecretKey string
	// PublicURL is the base of the filesystem backend's signed URLs
	// (<PublicURL>/blobs/<key>?…).
	PublicURL string
	// SigningKey signs the filesystem backend's URLs (at least 32 bytes;
	// keep it across restarts or issued URLs stop working).
	SigningKey []byte
	// OnCreated is called after a direct upload created an object: by
	// Handler after a signed PUT, by Confirm.
	OnCreated func(ctx context.Context, obj Object)
}

// CreatedEvent is the event type the node records when an object arrives
// through a signed upload URL or Confirm (the S3 object-created trigger
// role): its subject is the object's key and its payload the Object. Apps
// register durable handlers on it and pick their own key prefix.
const CreatedEvent = "blob.object.created"

// DefaultContentType is the content type of an object put without one.
const DefaultContentType = "application/octet-stream"

// MaxKeyLen is the longest valid key, in bytes.
const MaxKeyLen = 512

// retryAfter is the Retry-After (seconds) of an unavailable store.
const retryAfter = 5

// Open opens the store rawURL names: file://DIR or
// s3://bucket?endpoint=http://host:port&region=…. It does not contact S3;
// Ping does.
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob: %q is not a URL", rawURL)
	}
	if len(opts.SigningKey) > 0 && len(opts.SigningKey) < 32 {
		return nil, errors.New("blob: signing key shorter than 32 bytes")
	}
	switch u.Scheme {
	case "file":
		return openFS(ctx, u, opts)
	case "s3":
		return openS3(u, opts)
	default:
		return nil, fmt.Errorf("blob: unsupported scheme %q (file:// or s3://)", u.Scheme)
	}
}

// SignedURLOrigin returns the origin (scheme://host[:port]) of the signed
// URLs of the store Open(rawURL, opts) opens: the S3 public_endpoint's or
// endpoint's, or opts.PublicURL's for the filesystem; "" when rawURL or the public URL is
// invalid. A web page that PUTs to or shows those URLs must be allowed it.
func SignedURLOrigin(rawURL string, opts Options) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	var base *url.URL
	switch u.Scheme {
	case "file":
		if base, err = url.Parse(opts.PublicURL); err != nil {
			return ""
		}
	case "s3":
		if base, err = s3SigningEndpoint(u.Query()); err != nil {
			return ""
		}
	default:
		return ""
	}
	if base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return ""
	}
	return base.Scheme + "://" + base.Host
}

// ValidKey reports whether key is a valid object key: 1–512 bytes of
// [A-Za-z0-9/._-], '/'-separated segments none of which is empty, "." or
// "..", so a key maps to the same path on every backend.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '/' && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func checkKey(key string) error {
	if !ValidKey(key) {
		return fault.WithFields("invalid blob key", fault.FieldError{
			Location: "key",
			Message:  "1–512 bytes of A-Z a-z 0-9 / . _ -, no empty, '.' or '..' segment",
			Value:    key,
		})
	}
	return nil
}

// normalize checks opts and returns them with defaults filled in.
func normalize(opts PutOptions) (PutOptions, error) {
	if opts.ContentType == "" {
		opts.ContentType = DefaultContentType
	}
	if len(opts.ContentType) > 255 || !printable(opts.ContentType) {
		return opts, fault.WithFields("invalid content type", fault.FieldError{Location: "content_type", Message: "at most 255 printable ASCII characters"})
	}
	if opts.SHA256 != "" {
		opts.SHA256 = strings.ToLower(opts.SHA256)
		if b, err := hex.DecodeString(opts.SHA256); err != nil || len(b) != sha256.Size {
			return opts, fault.WithFields("invalid SHA-256", fault.FieldError{Location: "sha256", Message: "64 hex digits"})
		}
	}
	if opts.MaxBytes < 0 {
		opts.MaxBytes = 0
	}
	return opts, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// errTooLarge and errDigest are the put failures a verifier reports.
func errTooLarge(limit int64) error {
	return fault.New(fault.TooLarge, "blob larger than %d bytes", limit)
}

func errDigest() error {
	return fault.WithFields("content does not match its SHA-256", fault.FieldError{Location: "sha256", Message: "digest mismatch"})
}

// verifier passes a put's bytes through, hashing and counting them. It fails
// as soon as the size limit is passed and, at end of input, when the digest
// differs from the expected one, instead of reporting io.EOF: a consumer
// that completes an upload only at io.EOF (the S3 multipart upload) thus
// aborts it. Failures are sticky. It also stops when ctx is done and
// records reader errors apart (readErr) so they can be told from storage
// errors.
type verifier struct {
	ctx     context.Context
	r       io.Reader
	h       hash.Hash
	n       int64
	max     int64
	want    string
	sum     string
	err     error
	readErr error
	atEOF   bool
}

func newVerifier(ctx context.Context, r io.Reader, opts PutOptions) *verifier {
	return &verifier{ctx: ctx, r: r, h: sha256.New(), max: opts.MaxBytes, want: opts.SHA256}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if err := v.ctx.Err(); err != nil {
		v.err = err
		return 0, err
	}
	if v.atEOF {
		return 0, v.finish()
	}
	if v.max > 0 && int64(len(p)) > v.max-v.n+1 {
		p = p[:v.max-v.n+1] // read at most one byte past the limit
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.h.Write(p[:n])
		v.n += int64(n)
		if v.max > 0 && v.n > v.max {
			v.err = errTooLarge(v.max)
			return 0, v.err
		}
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		v.atEOF = true
		if n > 0 {
			return n, nil // report the end on the next call, alone
		}
		return 0, v.finish()
	default:
		v.readErr = err
		v.err = fault.Wrap(err, fault.Malformed, "reading the upload failed")
		return n, v.err
	}
}

// finish checks the digest at end of input.
func (v *verifier) finish() error {
	v.sum = hex.EncodeToString(v.h.Sum(nil))
	if v.want != "" && v.sum != v.want {
		v.err = errDigest()
		return v.err
	}
	return io.EOF
}

// done reports whether the whole input was read and verified.
func (v *verifier) done() bool { return v.err == nil && v.atEOF && v.sum != "" }

// failure is the verifier's own error, if any, to report in place of the
// storage error it caused.
func (v *verifier) failure() error { return v.err }

// unavailable wraps a store failure as fault.Unavailable.
func unavailable(err error, format string, args ...any) error {
	f := fault.Wrap(err, fault.Unavailable, format, args...)
	f.RetryAfter = retryAfter
	return f
}

func notFound(key string) error {
	return fault.New(fault.NotFound, "blob %q not found", key)
}

// rangeOf resolves rng against size: offset and length to read.
func rangeOf(rng *Range, size int64) (int64, int64, error) {
	if rng == nil {
		return 0, size, nil
	}
	if rng.Offset < 0 || (rng.Offset > 0 && rng.Offset >= size) {
		return 0, 0, fault.WithFields("range not satisfiable", fault.FieldError{Location: "range", Message: fmt.Sprintf("offset outside 0..%d", size)})
	}
	n := size - rng.Offset
	if rng.Length > 0 && rng.Length < n {
		n = rng.Length
	}
	return rng.Offset, n, nil
}
