package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
)

// ErrPostgresRestore is Restore's answer in Postgres mode.
var ErrPostgresRestore = errors.New(`the database is Postgres, which tessera restore does not cover: ` +
	`run tessera migrate on an empty database (it makes the roles the dump names), then ` +
	`pg_restore --clean --if-exists --exit-on-error --dbname="$TESSERA_DATABASE" tessera.dump, ` +
	`then copy the blobs back into the bucket; see docs/operations.md, "Backup and restore"`)

// maxManifest bounds the manifest's size (about 200 bytes per blob).
const maxManifest = 1 << 30

// Restore restores the archive file into cfg's installation, which must be
// in SQLite mode: the database at cfg.Database, the blobs into cfg.Blobs,
// the keys into <data_dir>/keys.
//
// It refuses, writing nothing, when a database exists already (unless
// opts.Force), when that database is open in any process (even with
// Force), and when the archive is damaged, cut or not a backup: it reads the
// whole archive first, checking every entry against the manifest and the
// database's integrity. Then it puts every blob (each checked against its
// SHA-256 again as it is stored), writes the keys, and moves the database
// into place last, atomically. With Force, objects of the blob store that
// are not in the archive are left where they are.
func Restore(ctx context.Context, cfg *config.Config, file string, opts Options) (sum Summary, err error) {
	start := time.Now()
	dbPath, ok := sqlitePath(cfg.Database)
	if !ok {
		return Summary{}, ErrPostgresRestore
	}
	if err := checkTarget(ctx, dbPath, opts.Force); err != nil {
		return Summary{}, err
	}
	pr := newProgress(opts.Progress, "restore")

	created, err := mkdirAll(filepath.Dir(dbPath))
	if err != nil {
		return Summary{}, fmt.Errorf("create the database's directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dbPath), "."+filepath.Base(dbPath)+".restore-*")
	if err != nil {
		removeDirs(created)
		return Summary{}, fmt.Errorf("restore the database: %w", err)
	}
	installed := false
	defer func() {
		if !installed {
			_ = tmp.Close()
			for _, p := range []string{tmp.Name(), tmp.Name() + "-wal", tmp.Name() + "-shm"} {
				_ = os.Remove(p)
			}
			removeDirs(created)
		}
	}()

	v, err := verify(ctx, file, tmp, pr)
	if err != nil {
		return Summary{}, err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return Summary{}, fmt.Errorf("restore the database: %w", err)
	}
	pr.report(true, "checking the database's integrity")
	if err := checkIntegrity(ctx, tmp.Name()); err != nil {
		return Summary{}, fmt.Errorf("%s: the database in the archive fails its check: %w", file, err)
	}
	pr.report(true, "verified: database (integrity ok), %d keys, %d blobs", len(v.keys), len(v.manifest.Blobs))

	store, err := blob.Open(ctx, cfg.Blobs, blob.Options{AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey})
	if err != nil {
		return Summary{}, err
	}
	if err := putBlobs(ctx, file, store, v.manifest, pr); err != nil {
		return Summary{}, err
	}
	if err := installKeys(keysDir(cfg), v.keys); err != nil {
		return Summary{}, err
	}
	if err := installDatabase(tmp.Name(), dbPath); err != nil {
		return Summary{}, err
	}
	installed = true
	sum = summarize(v.manifest, file, v.bytes, v.gzip, start)
	pr.report(true, "done: %s restored to %s in %s", file, dbPath, time.Since(start).Round(time.Millisecond))
	return sum, nil
}

// checkTarget refuses an existing database unless force, and one in use
// always.
func checkTarget(ctx context.Context, dbPath string, force bool) error {
	dbExists := exists(dbPath)
	if !dbExists && !exists(dbPath+"-wal") {
		return nil
	}
	if !force {
		return fmt.Errorf("a database exists at %s: restore into a fresh data directory, or pass --force to replace it (stop every node first)", dbPath)
	}
	if !dbExists {
		return nil // a write-ahead log without its database: removed on install
	}
	busy, err := inUse(ctx, dbPath)
	if err != nil {
		return err
	}
	if busy {
		return fmt.Errorf("the database at %s is in use (a node or another command has it open): stop it before restoring over it", dbPath)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// verified is what the first pass over an archive found good.
type verified struct {
	manifest *Manifest
	keys     map[string][]byte // file name → content
	bytes    int64             // the archive's size
	gzip     bool
}

// entrySum is an entry's size and SHA-256 as read.
type entrySum struct {
	size int64
	sum  string
}

// verify reads the whole archive: it writes the database entry to db and
// checks every entry against the manifest.
func verify(ctx context.Context, file string, db *os.File, pr *progress) (*verified, error) {
	a, err := openArchive(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = a.Close() }() // read only
	v := &verified{keys: map[string][]byte{}, gzip: a.gz != nil}
	got := map[string]entrySum{}
	var read int64
	for {
		hdr, err := a.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := hdr.Name
		if _, dup := got[name]; dup {
			return nil, fmt.Errorf("%s: entry %q appears twice: not a Tessera backup", file, name)
		}
		var s entrySum
		switch key, isKey := strings.CutPrefix(name, prefixKeys); {
		case name == entryManifest:
			if v.manifest != nil {
				return nil, fmt.Errorf("%s: entry %q appears twice: not a Tessera backup", file, name)
			}
			if err := json.NewDecoder(io.LimitReader(a.read(), maxManifest)).Decode(&v.manifest); err != nil {
				return nil, fmt.Errorf("%s: manifest.json: %w", file, err)
			}
			continue
		case name == entryDatabase:
			s, err = hashCopy(db, a.read())
		case isKey && validKeyName(key):
			var b []byte
			if b, err = io.ReadAll(io.LimitReader(a.read(), maxKeyFile+1)); err == nil && len(b) > maxKeyFile {
				err = fmt.Errorf("key file %s is larger than %s", key, size(maxKeyFile))
			}
			v.keys[key] = b
			s = sumOf(b)
		case strings.HasPrefix(name, prefixBlobs) && blob.ValidKey(strings.TrimPrefix(name, prefixBlobs)):
			s, err = hashCopy(io.Discard, a.read())
		default:
			return nil, fmt.Errorf("%s: unexpected entry %q: not a Tessera backup", file, name)
		}
		if err != nil {
			return nil, err
		}
		got[name] = s
		read += s.size
		pr.report(false, "verifying: %d entries, %s read", len(got), size(read))
	}
	if v.manifest == nil {
		return nil, fmt.Errorf("%s: no manifest.json: the archive is truncated or not a Tessera backup", file)
	}
	if err := v.manifest.check(file, got); err != nil {
		return nil, err
	}
	fi, err := a.f.Stat()
	if err != nil {
		return nil, err
	}
	v.bytes = fi.Size()
	pr.report(true, "verifying: %d entries, %s read: every one matches the manifest", len(got), size(read))
	return v, nil
}

// check compares the manifest with the entries read.
func (m *Manifest) check(file string, got map[string]entrySum) error {
	if m.Format != Format {
		return fmt.Errorf("%s: archive format %d; this tessera reads format %d", file, m.Format, Format)
	}
	if m.Engine != "sqlite" {
		return fmt.Errorf("%s: a backup of a %q database; tessera restore restores SQLite backups", file, m.Engine)
	}
	listed := map[string]bool{}
	match := func(name string, size int64, sum, what string) error {
		if listed[name] {
			return fmt.Errorf("%s: the manifest lists %s twice", file, what)
		}
		listed[name] = true
		g, ok := got[name]
		switch {
		case !ok:
			return fmt.Errorf("%s: %s is missing from the archive", file, what)
		case g.size != size || g.sum != sum:
			return fmt.Errorf("%s: %s does not match the manifest (%d bytes, SHA-256 %s; want %d bytes, %s): the archive is damaged", file, what, g.size, g.sum, size, sum)
		}
		return nil
	}
	if m.Database.Name != entryDatabase {
		return fmt.Errorf("%s: the manifest names no database", file)
	}
	if err := match(entryDatabase, m.Database.Size, m.Database.SHA256, "the database"); err != nil {
		return err
	}
	for _, k := range m.Keys {
		if err := match(k.Name, k.Size, k.SHA256, "key "+k.Name); err != nil {
			return err
		}
	}
	for _, b := range m.Blobs {
		if err := match(prefixBlobs+b.Key, b.Size, b.SHA256, fmt.Sprintf("blob %q", b.Key)); err != nil {
			return err
		}
	}
	for name := range got {
		if !listed[name] {
			return fmt.Errorf("%s: entry %q is not in the manifest: the archive is damaged", file, name)
		}
	}
	return nil
}

// hashCopy copies r to w and returns the bytes' size and SHA-256.
func hashCopy(w io.Writer, r io.Reader) (entrySum, error) {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	return entrySum{size: n, sum: hex.EncodeToString(h.Sum(nil))}, err
}

func sumOf(b []byte) entrySum {
	s := sha256.Sum256(b)
	return entrySum{size: int64(len(b)), sum: hex.EncodeToString(s[:])}
}

// putBlobs reads the archive again and puts every blob into store, each
// checked against the manifest's SHA-256 by the store as it is written.
func putBlobs(ctx context.Context, file string, store blob.Store, m *Manifest, pr *progress) error {
	want := make(map[string]Blob, len(m.Blobs))
	for _, b := range m.Blobs {
		want[b.Key] = b
	}
	a, err := openArchive(file)
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }() // read only
	start := time.Now()
	var n int
	var total int64
	for {
		hdr, err := a.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		key, ok := strings.CutPrefix(hdr.Name, prefixBlobs)
		if !ok {
			continue
		}
		b, ok := want[key]
		if !ok {
			return fmt.Errorf("%s: blob %q is not in the manifest: the archive changed while it was restored", file, key)
		}
		if _, err := store.Put(ctx, key, a.read(), blob.PutOptions{ContentType: b.ContentType, SHA256: b.SHA256}); err != nil {
			return fmt.Errorf("restore blob %q: %w", key, err)
		}
		n++
		total += b.Size
		pr.report(false, "blobs: %d of %d, %s (%s)", n, len(m.Blobs), size(total), rate(total, time.Since(start)))
	}
	if n != len(m.Blobs) {
		return fmt.Errorf("%s: %d blobs restored, the manifest lists %d: the archive changed while it was restored", file, n, len(m.Blobs))
	}
	pr.report(true, "blobs: %d restored, %s (%s)", n, size(total), rate(total, time.Since(start)))
	return nil
}

// installKeys writes each key file into dir (mode 0600, dir 0700), each
// whole or not at all.
func installKeys(dir string, keys map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore keys: %w", err)
	}
	for name, b := range keys {
		if err := writeFileAtomic(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("restore key %s: %w", name, err)
		}
	}
	return syncDir(dir)
}

func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // gone once renamed
	if _, err := f.Write(b); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// installDatabase moves the restored database file to dbPath. The old
// database's write-ahead log and journal go first: SQLite would apply
// them to the new file.
func installDatabase(tmp, dbPath string) error {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore the database: %w", err)
		}
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return fmt.Errorf("restore the database: %w", err)
	}
	return syncDir(filepath.Dir(dbPath))
}

// mkdirAll is os.MkdirAll returning the directories it created, deepest
// first.
func mkdirAll(dir string) ([]string, error) {
	var created []string
	for d := dir; !exists(d); d = filepath.Dir(d) {
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	return created, os.MkdirAll(dir, 0o750)
}

// removeDirs removes the directories mkdirAll created while they are empty
// (one that is not is in use by something else now).
func removeDirs(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}
