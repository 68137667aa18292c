package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// PartSize is the S3 multipart part size: the memory one upload holds, and
// with S3's 10,000 parts the largest object (about 156 GiB).
const PartSize = 16 << 20

// tmpPrefix holds uploads whose digest is not yet known. '~' is not a valid
// key character, so no key can collide with it, and List skips it.
const tmpPrefix = "~tmp/"

// metaSHA is the user metadata key (x-amz-meta-sha256) of the digest.
const metaSHA = "Sha256"

// s3Store is the S3 backend.
type s3Store struct {
	client *minio.Client
	// signer presigns URLs: client, or a client of public_endpoint (it
	// sends no request: presigning is local given the region).
	signer *minio.Client
	bucket string
	opts   Options
	// copyLimit is the largest object copied in one CopyObject (S3: 5 GiB);
	// larger ones are copied in parts of this size.
	copyLimit int64
}

// s3Endpoint is the endpoint an s3:// URL's query names (AWS by default).
// Requests, and so signed URLs, address the bucket in the path.
func s3Endpoint(q url.Values) (*url.URL, error) {
	return endpointParam(q, "endpoint", &url.URL{Scheme: "https", Host: "s3.amazonaws.com"})
}

// s3SigningEndpoint is where signed URLs point: the query's public_endpoint
// (the store as clients reach it, when the nodes use an internal name), else
// the endpoint.
func s3SigningEndpoint(q url.Values) (*url.URL, error) {
	endpoint, err := s3Endpoint(q)
	if err != nil {
		return nil, err
	}
	return endpointParam(q, "public_endpoint", endpoint)
}

// endpointParam parses the http(s) URL of query parameter name, or returns
// def when it is not set.
func endpointParam(q url.Values, name string, def *url.URL) (*url.URL, error) {
	e := q.Get(name)
	if e == "" {
		return def, nil
	}
	p, err := url.Parse(e)
	if err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
		return nil, fmt.Errorf("blob: %s %q is not an http(s) URL", name, e)
	}
	return p, nil
}

func openS3(u *url.URL, opts Options) (*s3Store, error) {
	bucket := u.Host
	if bucket == "" {
		return nil, errors.New("blob: s3:// URL without a bucket")
	}
	q := u.Query()
	endpoint, err := s3Endpoint(q)
	if err != nil {
		return nil, err
	}
	newClient := func(endpoint *url.URL) (*minio.Client, error) {
		c, err := minio.New(endpoint.Host, &minio.Options{
			Creds:        credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
			Secure:       endpoint.Scheme == "https",
			Region:       q.Get("region"),
			BucketLookup: minio.BucketLookupPath,
			// A few quick retries: an unreachable store must answer 503 soon.
			MaxRetries: 3,
		})
		if err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
		return c, nil
	}
	client, err := newClient(endpoint)
	if err != nil {
		return nil, err
	}
	st := &s3Store{client: client, signer: client, bucket: bucket, opts: opts, copyLimit: 5 << 30}
	if q.Get("public_endpoint") != "" {
		// Presigning is local given the region; without one the client
		// would ask the public endpoint for the bucket's location.
		if q.Get("region") == "" {
			return nil, errors.New("blob: public_endpoint needs region")
		}
		public, err := s3SigningEndpoint(q)
		if err != nil {
			return nil, err
		}
		if st.signer, err = newClient(public); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// s3Err maps a client error: a missing key to fault.NotFound, a done
// context to itself, everything else (network, server, credentials, bucket)
// to fault.Unavailable: the edge answers 503 and logs the cause.
func s3Err(ctx context.Context, err error, key string) error {
	if err == nil {
		return nil
	}
	if f := fault.As(err); f != nil {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey || (resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket) {
		return notFound(key)
	}
	return unavailable(err, "blob store unavailable")
}

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	opts, err := normalize(opts)
	if err != nil {
		return Object{}, err
	}
	v := newVerifier(ctx, r, opts)
	po := minio.PutObjectOptions{ContentType: opts.ContentType, PartSize: PartSize}
	target := key
	if opts.SHA256 != "" {
		// The digest is known: send it up front, straight to the key; the
		// verifier fails the upload before completion if it is wrong.
		po.UserMetadata = map[string]string{metaSHA: opts.SHA256}
	} else {
		target = tmpPrefix + uuid.NewString()
	}
	info, err := s.client.PutObject(ctx, s.bucket, target, v, -1, po)
	if ferr := v.failure(); ferr != nil {
		if err == nil { // cannot happen: the upload completes only at io.EOF
			_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, target, minio.RemoveObjectOptions{})
		}
		return Object{}, ferr
	}
	if err != nil {
		return Object{}, s3Err(ctx, err, key)
	}
	if !v.done() {
		return Object{}, errors.Join(fmt.Errorf("blob: put %s: input not fully read", key),
			s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, target, minio.RemoveObjectOptions{}))
	}
	if target != key {
		info, err = s.publish(ctx, target, info.ETag, v.n, key, v.sum, opts.ContentType)
		if err != nil {
			return Object{}, err
		}
	}
	mod := info.LastModified
	if mod.IsZero() {
		mod = time.Now()
	}
	return Object{Key: key, Size: v.n, SHA256: v.sum, ContentType: opts.ContentType, Modified: mod.UTC()}, nil
}

// publish copies the temporary object src (which must still have etag) to
// key with the digest and content type as metadata, then removes src.
func (s *s3Store) publish(ctx context.Context, src, etag string, size int64, key, sum, contentType string) (minio.UploadInfo, error) {
	defer func() {
		_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, src, minio.RemoveObjectOptions{})
	}()
	info, err := s.copyWithMeta(ctx, src, etag, size, key, sum, contentType)
	if err != nil {
		return minio.UploadInfo{}, s3Err(ctx, err, key)
	}
	return info, nil
}

// copyWithMeta copies src (only while it has etag) to dst, replacing its
// metadata with the digest and content type: one CopyObject up to the
// single-copy limit (5 GiB), a multipart copy beyond it.
func (s *s3Store) copyWithMeta(ctx context.Context, src, etag string, size int64, dst, sum, contentType string) (minio.UploadInfo, error) {
	to := minio.CopyDestOptions{
		Bucket: s.bucket, Object: dst, ReplaceMetadata: true, ContentType: contentType,
		// The multipart path only carries UserMetadata, standard headers
		// included.
		UserMetadata: map[string]string{metaSHA: sum, "Content-Type": contentType},
	}
	from := minio.CopySrcOptions{Bucket: s.bucket, Object: src, MatchETag: etag}
	if size <= s.copyLimit {
		return s.client.CopyObject(ctx, to, from)
	}
	to.PartSize = uint64(s.copyLimit) // #nosec G115 -- positive
	return s.client.ComposeObject(ctx, to, from)
}

func objectOf(key string, info minio.ObjectInfo) Object {
	return Object{
		Key:         key,
		Size:        info.Size,
		SHA256:      strings.ToLower(firstNonEmpty(info.UserMetadata[metaSHA], info.Metadata.Get("X-Amz-Meta-Sha256"))),
		ContentType: info.ContentType,
		Modified:    info.LastModified.UTC(),
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *s3Store) Stat(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, s3Err(ctx, err, key)
	}
	return objectOf(key, info), nil
}

func (s *s3Store) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Object, error) {
	obj, info, err := s.statInfo(ctx, key)
	if err != nil {
		return nil, Object{}, err
	}
	off, n, err := rangeOf(rng, obj.Size)
	if err != nil {
		return nil, Object{}, err
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), obj, nil
	}
	var g minio.GetObjectOptions
	// The bytes must be those of the object just described.
	if err := g.SetMatchETag(info.ETag); err != nil {
		return nil, Object{}, s3Err(ctx, err, key)
	}
	if rng != nil {
		if err := g.SetRange(off, off+n-1); err != nil {
			return nil, Object{}, s3Err(ctx, err, key)
		}
	}
	rc, err := s.client.GetObject(ctx, s.bucket, key, g)
	if err != nil {
		return nil, Object{}, s3Err(ctx, err, key)
	}
	// GetObject is lazy: make it fetch now so errors surface here.
	if _, err := rc.Stat(); err != nil {
		_ = rc.Close()
		if minio.ToErrorResponse(err).StatusCode == http.StatusPreconditionFailed {
			return nil, Object{}, unavailable(err, "blob changed while being read; retry")
		}
		return nil, Object{}, s3Err(ctx, err, key)
	}
	return &s3Reader{rc: rc, ctx: ctx, key: key}, obj, nil
}

// s3Reader maps read errors like every other S3 error.
type s3Reader struct {
	rc  *minio.Object
	ctx context.Context
	key string
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, s3Err(r.ctx, err, r.key)
	}
	return n, err
}

func (r *s3Reader) Close() error { return r.rc.Close() }

func (s *s3Store) statInfo(ctx context.Context, key string) (Object, minio.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return Object{}, minio.ObjectInfo{}, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, minio.ObjectInfo{}, s3Err(ctx, err, key)
	}
	return objectOf(key, info), info, nil
}

func (s *s3Store) Move(ctx context.Context, from, to string) (Object, error) {
	if err := checkKey(to); err != nil {
		return Object{}, err
	}
	if from == to {
		return s.Stat(ctx, to)
	}
	obj, info, err := s.statInfo(ctx, from)
	if err != nil {
		return Object{}, err
	}
	if _, err := s.copyWithMeta(ctx, from, info.ETag, obj.Size, to, obj.SHA256, obj.ContentType); err != nil {
		return Object{}, s3Err(ctx, err, to)
	}
	if err := s.Delete(ctx, from); err != nil {
		return Object{}, err
	}
	return s.Stat(ctx, to)
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !fault.Is(s3Err(ctx, err, key), fault.NotFound) {
		return s3Err(ctx, err, key)
	}
	return nil
}

func (s *s3Store) List(ctx context.Context, prefix string, fn func(Object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	for info := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return s3Err(ctx, info.Err, prefix)
		}
		if strings.HasPrefix(info.Key, tmpPrefix) || strings.HasSuffix(info.Key, "/") {
			continue
		}
		if err := fn(objectOf(info.Key, info)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *s3Store) Confirm(ctx context.Context, key string, want PutOptions) (Object, error) {
	want, err := normalize(want)
	if err != nil {
		return Object{}, err
	}
	if want.ContentType == DefaultContentType {
		want.ContentType = "" // not asked for: keep what the client sent
	}
	obj, info, err := s.statInfo(ctx, key)
	if err != nil {
		return Object{}, err
	}
	reject := func(err error) (Object, error) {
		if derr := s.Delete(ctx, key); derr != nil {
			return Object{}, derr
		}
		return Object{}, err
	}
	if want.MaxBytes > 0 && obj.Size > want.MaxBytes {
		return reject(errTooLarge(want.MaxBytes))
	}
	// A presigned PUT may carry any metadata: compute the digest.
	var g minio.GetObjectOptions
	if err := g.SetMatchETag(info.ETag); err != nil {
		return Object{}, s3Err(ctx, err, key)
	}
	rc, err := s.client.GetObject(ctx, s.bucket, key, g)
	if err != nil {
		return Object{}, s3Err(ctx, err, key)
	}
	h := sha256.New()
	_, err = io.Copy(h, rc)
	_ = rc.Close()
	if err != nil {
		return Object{}, s3Err(ctx, err, key)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want.SHA256 != "" && sum != want.SHA256 {
		return reject(errDigest())
	}
	if obj.SHA256 != sum || (want.ContentType != "" && want.ContentType != obj.ContentType) {
		ct := firstNonEmpty(want.ContentType, obj.ContentType)
		if _, err := s.copyWithMeta(ctx, key, info.ETag, obj.Size, key, sum, ct); err != nil {
			return Object{}, s3Err(ctx, err, key)
		}
		if obj, err = s.Stat(ctx, key); err != nil {
			return Object{}, err
		}
		if obj.SHA256 != sum { // overwritten meanwhile by another PUT
			return Object{}, fault.New(fault.Conflict, "blob %q changed while being confirmed", key)
		}
	}
	if s.opts.OnCreated != nil {
		s.opts.OnCreated(ctx, obj)
	}
	return obj, nil
}

func (s *s3Store) Sweep(ctx context.Context, age time.Duration) error {
	cutoff := time.Now().Add(-age)
	var errs []error
	for info := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: tmpPrefix, Recursive: true}) {
		if info.Err != nil {
			return s3Err(ctx, info.Err, tmpPrefix)
		}
		if info.LastModified.Before(cutoff) {
			if err := s.client.RemoveObject(ctx, s.bucket, info.Key, minio.RemoveObjectOptions{}); err != nil {
				errs = append(errs, s3Err(ctx, err, info.Key))
			}
		}
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if up.Err != nil {
			return s3Err(ctx, up.Err, "")
		}
		if up.Initiated.Before(cutoff) {
			if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil {
				errs = append(errs, s3Err(ctx, err, up.Key))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *s3Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s3Err(ctx, err, "")
	}
	if !ok {
		return unavailable(fmt.Errorf("bucket %q does not exist", s.bucket), "blob store unavailable")
	}
	return nil
}

func (s *s3Store) SignedPutURL(key string, ttl time.Duration, opts PutOptions) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if _, err := normalize(opts); err != nil {
		return "", err
	}
	u, err := s.signer.PresignedPutObject(context.Background(), s.bucket, key, ttl)
	if err != nil {
		return "", fmt.Errorf("blob: presign: %w", err)
	}
	return u.String(), nil
}

func (s *s3Store) SignedGetURL(key string, ttl time.Duration, filename string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	params := url.Values{}
	if filename != "" {
		params.Set("response-content-disposition", contentDisposition(filename))
	}
	u, err := s.signer.PresignedGetObject(context.Background(), s.bucket, key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("blob: presign: %w", err)
	}
	return u.String(), nil
}
