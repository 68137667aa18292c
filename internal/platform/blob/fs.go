package blob

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// writebackBatch is how many bytes a put writes between two requests to
// start their writeback.
const writebackBatch = 4 << 20

// headerSize is the size of the header in front of every object file:
// headerMagic, a big-endian uint32 length, that many bytes of JSON
// (fileHeader), zero padding.
const (
	headerSize  = 512
	headerMagic = "TSRBLOB1"
)

type fileHeader struct {
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// fsStore is the filesystem backend.
type fsStore struct {
	root    string // DIR
	objects string // DIR/objects
	tmp     string // DIR/tmp
	opts    Options
}

func openFS(_ context.Context, u *url.URL, opts Options) (*fsStore, error) {
	dir := filepath.FromSlash(u.Host + u.Path)
	if dir == "" {
		return nil, errors.New("blob: file:// URL without a directory")
	}
	s := &fsStore{root: dir, objects: filepath.Join(dir, "objects"), tmp: filepath.Join(dir, "tmp"), opts: opts}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil { // #nosec G703 -- the configured blob directory
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	return s, nil
}

func (s *fsStore) path(key string) string {
	return filepath.Join(s.objects, filepath.FromSlash(key))
}

func (s *fsStore) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	opts, err := normalize(opts)
	if err != nil {
		return Object{}, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return Object{}, fmt.Errorf("blob: temp file: %w", err)
	}
	published := false
	defer func() {
		if !published {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Seek(headerSize, io.SeekStart); err != nil {
		return Object{}, fmt.Errorf("blob: %w", err)
	}
	res, err := copyVerified(ctx, &writebackFile{f: f, off: headerSize, kicked: headerSize, batch: writebackBatch}, r, opts)
	if err != nil {
		if we := (writeError{}); errors.As(err, &we) {
			return Object{}, fmt.Errorf("blob: write %s: %w", key, we.err)
		}
		return Object{}, err
	}
	hdr, err := encodeHeader(fileHeader{Size: res.n, SHA256: res.sum, ContentType: opts.ContentType})
	if err != nil {
		return Object{}, err
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return Object{}, fmt.Errorf("blob: write %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return Object{}, fmt.Errorf("blob: sync %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return Object{}, fmt.Errorf("blob: close %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if err := s.publish(f.Name(), key); err != nil {
		return Object{}, err
	}
	published = true
	return Object{Key: key, Size: res.n, SHA256: res.sum, ContentType: opts.ContentType, Modified: time.Now().UTC()}, nil
}

// writebackFile writes to a file sequentially from off and starts the
// writeback (see startWriteback) of every writebackBatch bytes written.
type writebackFile struct {
	f      *os.File
	off    int64 // where the next write goes
	kicked int64 // where the range not yet handed to writeback starts
	batch  int64
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.kicked >= w.batch {
		startWriteback(w.f, w.kicked, w.off-w.kicked)
		w.kicked = w.off
	}
	return n, err
}

// endOfInput starts the writeback of what is left.
func (w *writebackFile) endOfInput() {
	if w.off > w.kicked {
		startWriteback(w.f, w.kicked, w.off-w.kicked)
		w.kicked = w.off
	}
}

// publish renames the finished temp file to key's path, creating its
// directories, and fsyncs the directories it changed.
func (s *fsStore) publish(tmp, key string) error {
	dst := s.path(key)
	dir := filepath.Dir(dst)
	// A concurrent Delete may remove an emptied directory between MkdirAll
	// and Rename: try again a few times.
	var err error
	for range 5 {
		created, merr := s.mkdirs(dir)
		if merr != nil {
			return merr
		}
		err = os.Rename(tmp, dst)
		if err == nil {
			for _, d := range append(created, dir) {
				if serr := syncDir(d); serr != nil {
					return fmt.Errorf("blob: sync dir: %w", serr)
				}
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		return fault.New(fault.Conflict, "blob key %q collides with a key that is a prefix of it, or that it is a prefix of", key)
	}
	return fmt.Errorf("blob: publish %s: %w", key, err)
}

// mkdirs creates dir and its missing parents under s.objects and returns
// the parents of what it created (the directories whose entries changed).
func (s *fsStore) mkdirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; d != s.objects && len(d) > len(s.objects); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fault.New(fault.Conflict, "blob key collides with an existing key that is a prefix of it")
			}
			break
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, fault.New(fault.Conflict, "blob key collides with an existing key that is a prefix of it")
		}
		return nil, fmt.Errorf("blob: %w", err)
	}
	parents := make([]string, 0, len(missing))
	for _, d := range missing {
		parents = append(parents, filepath.Dir(d))
	}
	return parents, nil
}

// removeEmptyDirs removes dir and its parents under s.objects while they
// are empty (what a removed key left); a non-empty one stops it.
func (s *fsStore) removeEmptyDirs(dir string) {
	for d := dir; d != s.objects && len(d) > len(s.objects); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- a directory under the store's root
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func encodeHeader(h fileHeader) ([]byte, error) {
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("blob: header: %w", err)
	}
	if len(headerMagic)+4+len(js) > headerSize {
		return nil, fault.New(fault.Invalid, "blob metadata too long")
	}
	b := make([]byte, headerSize)
	copy(b, headerMagic)
	binary.BigEndian.PutUint32(b[len(headerMagic):], uint32(len(js))) // #nosec G115 -- at most headerSize
	copy(b[len(headerMagic)+4:], js)
	return b, nil
}

func decodeHeader(b []byte) (fileHeader, error) {
	var h fileHeader
	if len(b) < headerSize || !bytes.Equal(b[:len(headerMagic)], []byte(headerMagic)) {
		return h, errors.New("blob: not an object file")
	}
	n := int(binary.BigEndian.Uint32(b[len(headerMagic):]))
	if n > headerSize-len(headerMagic)-4 {
		return h, errors.New("blob: bad object header")
	}
	if err := json.Unmarshal(b[len(headerMagic)+4:len(headerMagic)+4+n], &h); err != nil {
		return h, fmt.Errorf("blob: bad object header: %w", err)
	}
	return h, nil
}

// open opens key's file and reads its header; the caller closes the file.
func (s *fsStore) open(key string) (*os.File, Object, error) {
	if err := checkKey(key); err != nil {
		return nil, Object{}, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, Object{}, notFound(key)
		}
		return nil, Object{}, fmt.Errorf("blob: open %s: %w", key, err)
	}
	obj, err := readObject(f, key)
	if err != nil {
		_ = f.Close()
		return nil, Object{}, err
	}
	return f, obj, nil
}

func readObject(f *os.File, key string) (Object, error) {
	fi, err := f.Stat()
	if err != nil {
		return Object{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	if fi.IsDir() {
		return Object{}, notFound(key)
	}
	b := make([]byte, headerSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		return Object{}, fmt.Errorf("blob: read header of %s: %w", key, err)
	}
	h, err := decodeHeader(b)
	if err != nil {
		return Object{}, fmt.Errorf("blob: %s: %w", key, err)
	}
	if fi.Size() != headerSize+h.Size {
		return Object{}, fmt.Errorf("blob: %s: size %d does not match its header (%d)", key, fi.Size()-headerSize, h.Size)
	}
	return Object{Key: key, Size: h.Size, SHA256: h.SHA256, ContentType: h.ContentType, Modified: fi.ModTime().UTC()}, nil
}

// section is an object's bytes, or a range of them, in its open file.
type section struct {
	*io.SectionReader
	f *os.File
}

func (s section) Close() error { return s.f.Close() }

// WriteTo copies the rest of the section to w in chunkSize reads (io.Copy
// would use 32 KiB), so a get costs about what reading the file does.
func (s section) WriteTo(w io.Writer) (int64, error) {
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	var n int64
	for {
		m, rerr := s.Read(*buf)
		if m > 0 {
			k, werr := w.Write((*buf)[:m])
			n += int64(k)
			if werr != nil {
				return n, werr
			}
			if k < m {
				return n, io.ErrShortWrite
			}
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func (s *fsStore) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, Object{}, err
	}
	f, obj, err := s.open(key)
	if err != nil {
		return nil, Object{}, err
	}
	off, n, err := rangeOf(rng, obj.Size)
	if err != nil {
		_ = f.Close()
		return nil, Object{}, err
	}
	return section{io.NewSectionReader(f, headerSize+off, n), f}, obj, nil
}

func (s *fsStore) Stat(ctx context.Context, key string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	f, obj, err := s.open(key)
	if err != nil {
		return Object{}, err
	}
	_ = f.Close()
	return obj, nil
}

func (s *fsStore) Move(ctx context.Context, from, to string) (Object, error) {
	if err := checkKey(from); err != nil {
		return Object{}, err
	}
	if err := checkKey(to); err != nil {
		return Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if from == to {
		return s.Stat(ctx, to)
	}
	src := s.path(from)
	if fi, err := os.Lstat(src); err != nil || fi.IsDir() {
		return Object{}, fault.New(fault.NotFound, "blob %q not found", from)
	}
	if err := s.publish(src, to); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Object{}, fault.New(fault.NotFound, "blob %q not found", from)
		}
		return Object{}, err
	}
	if err := syncDir(filepath.Dir(src)); err != nil {
		return Object{}, fmt.Errorf("blob: sync dir: %w", err)
	}
	s.removeEmptyDirs(filepath.Dir(src))
	return s.Stat(ctx, to)
}

func (s *fsStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return nil // a prefix of other keys, not an object
	}
	err := os.Remove(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	if err == nil {
		if err := syncDir(filepath.Dir(p)); err != nil {
			return fmt.Errorf("blob: sync dir: %w", err)
		}
	}
	s.removeEmptyDirs(filepath.Dir(p))
	return nil
}

func (s *fsStore) List(ctx context.Context, prefix string, fn func(Object) error) error {
	// Walk from the deepest directory the prefix names completely.
	start := s.objects
	if i := strings.LastIndexByte(prefix, '/'); i > 0 {
		dir := prefix[:i]
		if !ValidKey(dir) {
			return nil // no key can start with it
		}
		start = s.path(dir)
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, rerr := filepath.Rel(s.objects, p)
		if rerr != nil {
			return rerr
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		f, obj, oerr := s.open(key)
		if oerr != nil {
			if fault.Is(oerr, fault.NotFound) {
				return nil // deleted meanwhile
			}
			return oerr
		}
		_ = f.Close()
		return fn(obj)
	})
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (s *fsStore) Confirm(ctx context.Context, key string, want PutOptions) (Object, error) {
	obj, err := s.Stat(ctx, key)
	if err != nil {
		return Object{}, err
	}
	if err := checkConfirmed(obj, want); err != nil {
		return Object{}, errors.Join(err, s.Delete(ctx, key))
	}
	if s.opts.OnCreated != nil {
		s.opts.OnCreated(ctx, obj)
	}
	return obj, nil
}

// checkConfirmed checks a directly uploaded object against want.
func checkConfirmed(obj Object, want PutOptions) error {
	if want.MaxBytes > 0 && obj.Size > want.MaxBytes {
		return errTooLarge(want.MaxBytes)
	}
	if want.SHA256 != "" && !strings.EqualFold(want.SHA256, obj.SHA256) {
		return errDigest()
	}
	return nil
}

func (s *fsStore) Sweep(ctx context.Context, age time.Duration) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("blob: sweep: %w", err)
	}
	cutoff := time.Now().Add(-age)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob: sweep: %w", err)
		}
	}
	return nil
}

func (s *fsStore) Ping(context.Context) error {
	f, err := os.CreateTemp(s.tmp, "ping-*")
	if err != nil {
		return unavailable(err, "blob directory not writable")
	}
	name := f.Name()
	if err := errors.Join(f.Close(), os.Remove(name)); err != nil {
		return unavailable(err, "blob directory not writable")
	}
	return nil
}

func (s *fsStore) SignedPutURL(key string, ttl time.Duration, opts PutOptions) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	opts, err := normalize(opts)
	if err != nil {
		return "", err
	}
	return s.signURL(signedRequest{Method: "PUT", Key: key, Expires: time.Now().Add(ttl), Opts: opts}, ttl)
}

func (s *fsStore) SignedGetURL(key string, ttl time.Duration, filename string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return s.signURL(signedRequest{Method: "GET", Key: key, Expires: time.Now().Add(ttl), Filename: filename}, ttl)
}
