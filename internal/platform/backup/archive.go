package backup

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// gzipped reports whether an archive named file is gzip-compressed.
func gzipped(file string) bool {
	return strings.HasSuffix(file, ".gz") || strings.HasSuffix(file, ".tgz")
}

// archiveWriter writes an archive to a temporary file in a scratch
// directory beside its final name; commit renames it into place, abort
// removes everything. It is used by one goroutine.
type archiveWriter struct {
	final   string // the archive's name
	scratch string // the scratch directory beside it
	f       *os.File
	count   *countWriter
	gz      *gzip.Writer // nil when not compressed
	tw      *tar.Writer
	done    bool
}

// createArchive starts the archive file (mode 0600).
func createArchive(file string) (*archiveWriter, error) {
	scratch, err := os.MkdirTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", file, err)
	}
	f, err := os.OpenFile(filepath.Join(scratch, "archive"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) // #nosec G304 -- in the scratch directory just made
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create %s: %w", file, err), os.RemoveAll(scratch))
	}
	a := &archiveWriter{final: file, scratch: scratch, f: f, count: &countWriter{w: bufio.NewWriterSize(f, 1<<20)}}
	var w io.Writer = a.count
	if gzipped(file) {
		// The fastest level: blobs (images, documents) are mostly
		// compressed already, and the database compresses well even so.
		a.gz, _ = gzip.NewWriterLevel(a.count, gzip.BestSpeed) // a valid level: no error
		w = a.gz
	}
	a.tw = tar.NewWriter(w)
	return a, nil
}

// scratchPath is a path in the scratch directory (removed with it).
func (a *archiveWriter) scratchPath(name string) string { return filepath.Join(a.scratch, name) }

// add writes an entry of size bytes read from r and returns their SHA-256.
// r must hold exactly size bytes.
func (a *archiveWriter) add(name string, size int64, mod time.Time, r io.Reader) (string, error) {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: mod.UTC().Truncate(time.Second), Format: tar.FormatPAX}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return "", fmt.Errorf("write %s: %w", a.final, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(a.tw, h), io.LimitReader(r, size+1))
	switch {
	case errors.Is(err, tar.ErrWriteTooLong) || (err == nil && n != size):
		return "", fmt.Errorf("%s changed while it was read (%d bytes expected)", name, size)
	case err != nil:
		return "", fmt.Errorf("write %s: %s: %w", a.final, name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// addFile writes the file at path as entry name.
func (a *archiveWriter) addFile(name, path string) (File, error) {
	f, err := os.Open(path) // #nosec G304 -- a file Create made or the data directory's key
	if err != nil {
		return File{}, err
	}
	defer func() { _ = f.Close() }() // read only
	fi, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	sum, err := a.add(name, fi.Size(), fi.ModTime(), f)
	if err != nil {
		return File{}, err
	}
	return File{Name: name, Size: fi.Size(), SHA256: sum}, nil
}

// commit finishes the archive, syncs it, renames it to its final name and
// removes the scratch directory. It returns the archive's size.
func (a *archiveWriter) commit() (int64, error) {
	err := a.tw.Close()
	if err == nil && a.gz != nil {
		err = a.gz.Close()
	}
	if err == nil {
		err = a.count.w.(*bufio.Writer).Flush()
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.final)
	}
	if err == nil {
		err = syncDir(filepath.Dir(a.final))
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", a.final, err)
	}
	a.done = true
	return a.count.n, os.RemoveAll(a.scratch)
}

// abort removes what an unfinished archive left; a no-op after commit.
func (a *archiveWriter) abort() {
	if a.done {
		return
	}
	_ = a.f.Close()
	_ = os.RemoveAll(a.scratch)
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// archiveReader reads an archive, compressed or not (told by its first
// bytes, not its name).
type archiveReader struct {
	file string
	f    *os.File
	gz   *gzip.Reader
	tr   *tar.Reader
}

// openArchive opens the archive file.
func openArchive(file string) (*archiveReader, error) {
	f, err := os.Open(file) // #nosec G304 -- the archive the operator names
	if err != nil {
		return nil, err
	}
	a := &archiveReader{file: file, f: f}
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if a.gz, err = gzip.NewReader(br); err != nil {
			_ = f.Close()
			return nil, a.corrupt(err)
		}
		r = a.gz
	}
	a.tr = tar.NewReader(r)
	return a, nil
}

// next returns the next entry's header, io.EOF at the end; a damaged or cut
// archive is an error saying so.
func (a *archiveReader) next() (*tar.Header, error) {
	hdr, err := a.tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, a.corrupt(err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s: entry %q is not a regular file: not a Tessera backup", a.file, hdr.Name)
	}
	return hdr, nil
}

// read returns the current entry's reader; its errors say the archive is
// damaged or cut.
func (a *archiveReader) read() io.Reader { return errReader{a} }

type errReader struct{ a *archiveReader }

func (r errReader) Read(p []byte) (int, error) {
	n, err := r.a.tr.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = r.a.corrupt(err)
	}
	return n, err
}

// corrupt says what is wrong with the archive in one line.
func (a *archiveReader) corrupt(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: the archive is truncated", a.file)
	}
	return fmt.Errorf("%s: the archive is damaged or not a Tessera backup: %w", a.file, err)
}

func (a *archiveReader) Close() error { return a.f.Close() }

// syncDir fsyncs a directory, so a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- the directory of a file this package writes
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
