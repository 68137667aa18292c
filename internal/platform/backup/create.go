package backup

import (
	"bytes"
	"context"
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
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Options tune Create and Restore.
type Options struct {
	// Version is the running binary's version, recorded in the manifest.
	Version string
	// Progress receives progress lines; nil writes none.
	Progress io.Writer
	// Force lets Restore replace an existing database (never one in use).
	Force bool
}

// ErrPostgres is Create's answer in Postgres mode: the database is backed
// up with pg_dump, the blobs with a bucket sync (docs/operations.md).
var ErrPostgres = errors.New(`the database is Postgres, which tessera backup does not cover: ` +
	`dump it with pg_dump --format=custom --file=tessera.dump "$TESSERA_DATABASE", ` +
	`then copy the blob bucket (rclone sync or aws s3 sync); see docs/operations.md, "Backup and restore"`)

// keysDir is the data directory's node-local secrets (see node.localKey).
func keysDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "keys") }

// maxKeyFile bounds a key file's size: keys are small.
const maxKeyFile = 1 << 20

// Create writes a backup of cfg's installation to file while it may be
// serving (see the package doc for what the archive holds and the
// consistency it gives). The archive appears at file only once complete;
// an existing file is replaced then. In Postgres mode it returns
// ErrPostgres and writes nothing.
func Create(ctx context.Context, cfg *config.Config, file string, opts Options) (sum Summary, err error) {
	start := time.Now()
	dbPath, ok := sqlitePath(cfg.Database)
	if !ok {
		return Summary{}, ErrPostgres
	}
	if fi, err := os.Stat(dbPath); err != nil || !fi.Mode().IsRegular() {
		return Summary{}, fmt.Errorf("no database at %s: nothing to back up", dbPath)
	}
	store, err := blob.Open(ctx, cfg.Blobs, blob.Options{AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey})
	if err != nil {
		return Summary{}, err
	}
	out, err := createArchive(file)
	if err != nil {
		return Summary{}, err
	}
	defer out.abort()
	pr := newProgress(opts.Progress, "backup")

	// The blob snapshot is taken first (one link per object), then
	// brought up to date while the writers are paused (two lstat calls per
	// object), and once more after (an object moved while that ran).
	snap, err := blob.NewSnapshot(ctx, store)
	if err != nil {
		return Summary{}, err
	}
	defer func() { err = errors.Join(err, snap.Close()) }()
	if snap.Frozen {
		pr.report(true, "blobs: snapshot taken in %s", time.Since(start).Round(time.Millisecond))
	}
	var pinnedAt time.Time
	db, paused, err := pin(ctx, dbPath, func() error {
		pinnedAt = time.Now().UTC()
		return snap.Update(ctx)
	})
	if err != nil {
		return Summary{}, err
	}
	if err := snap.Update(ctx); err != nil {
		return Summary{}, errors.Join(err, db.close())
	}
	m := &Manifest{Format: Format, Version: opts.Version, CreatedAt: pinnedAt, Engine: "sqlite", BlobsFrozen: snap.Frozen}
	pr.report(true, "database pinned; writes paused %s", paused.Round(time.Microsecond))
	if err := writeDatabase(ctx, db, out, m, pr); err != nil {
		return Summary{}, err
	}
	if m.Keys, err = writeKeys(out, keysDir(cfg)); err != nil {
		return Summary{}, err
	}
	if err := writeBlobs(ctx, snap, out, m, pr); err != nil {
		return Summary{}, err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Summary{}, err
	}
	if _, err := out.add(entryManifest, int64(len(js)), m.CreatedAt, bytes.NewReader(js)); err != nil {
		return Summary{}, err
	}
	n, err := out.commit()
	if err != nil {
		return Summary{}, err
	}
	sum = summarize(m, file, n, gzipped(file), start)
	sum.WritesPausedMS = float64(paused.Microseconds()) / 1000
	pr.report(true, "done: %s, %s in %s", file, size(n), time.Since(start).Round(time.Millisecond))
	return sum, nil
}

// writeDatabase copies the pinned database into the scratch directory,
// ends the pin and adds the copy to the archive.
func writeDatabase(ctx context.Context, db *pinned, out *archiveWriter, m *Manifest, pr *progress) (err error) {
	defer func() { err = errors.Join(err, db.close()) }()
	if m.Schemas, err = db.schemas(ctx); err != nil {
		return err
	}
	path := out.scratchPath(entryDatabase)
	start := time.Now()
	err = db.copyTo(ctx, path, func(done, total int64) {
		pr.report(done == total, "database: %s of %s copied", size(done), size(total))
	})
	if err != nil {
		return err
	}
	if err := db.close(); err != nil { // the WAL's checkpoints need not wait for the archive
		return err
	}
	if m.Database, err = out.addFile(entryDatabase, path); err != nil {
		return err
	}
	pr.report(true, "database: %s archived (%s)", size(m.Database.Size), rate(m.Database.Size, time.Since(start)))
	return os.Remove(path)
}

// writeKeys adds the key files of dir (none when it does not exist).
func writeKeys(out *archiveWriter, dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []File{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	keys := []File{}
	for _, e := range entries {
		if !e.Type().IsRegular() || !validKeyName(e.Name()) {
			continue // a key's temp file, or not a key
		}
		if fi, err := e.Info(); err == nil && fi.Size() > maxKeyFile {
			return nil, fmt.Errorf("key file %s is larger than %s", e.Name(), size(maxKeyFile))
		}
		f, err := out.addFile(prefixKeys+e.Name(), filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("archive key %s: %w", e.Name(), err)
		}
		keys = append(keys, f)
	}
	return keys, nil
}

// validKeyName reports whether name is a key file's name, "<name>.key" of
// letters, digits, '.', '_' and '-' (not its temp file while being made).
func validKeyName(name string) bool {
	if !strings.HasSuffix(name, ".key") || name[0] == '.' || len(name) > 255 {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// writeBlobs adds every object of snap, checking each against its stored
// SHA-256 as it passes.
func writeBlobs(ctx context.Context, snap *blob.Snapshot, out *archiveWriter, m *Manifest, pr *progress) error {
	start := time.Now()
	m.Blobs = []Blob{}
	var total int64
	err := snap.List(ctx, "", func(o blob.Object) error {
		b, err := writeBlob(ctx, snap, out, o.Key)
		if fault.Is(err, fault.NotFound) && !snap.Frozen {
			m.BlobsVanished++ // deleted from the bucket since the listing
			return nil
		}
		if err != nil {
			return err
		}
		m.Blobs = append(m.Blobs, b)
		total += b.Size
		pr.report(false, "blobs: %d objects, %s (%s)", len(m.Blobs), size(total), rate(total, time.Since(start)))
		return nil
	})
	if err != nil {
		return err
	}
	pr.report(true, "blobs: %d objects, %s archived (%s)", len(m.Blobs), size(total), rate(total, time.Since(start)))
	if m.BlobsVanished > 0 {
		pr.report(true, "blobs: %d objects were deleted from the bucket while the backup ran and are not in it", m.BlobsVanished)
	}
	return nil
}

func writeBlob(ctx context.Context, snap *blob.Snapshot, out *archiveWriter, key string) (Blob, error) {
	rc, obj, err := snap.Get(ctx, key, nil)
	if err != nil {
		return Blob{}, fmt.Errorf("blob %q: %w", key, err)
	}
	defer rc.Close()
	sum, err := out.add(prefixBlobs+key, obj.Size, obj.Modified, rc)
	if err != nil {
		return Blob{}, fmt.Errorf("blob %q: %w", key, err)
	}
	if obj.SHA256 != "" && obj.SHA256 != sum {
		return Blob{}, fmt.Errorf("blob %q: its bytes do not match their stored SHA-256: the object is damaged", key)
	}
	return Blob{Key: key, Size: obj.Size, SHA256: sum, ContentType: obj.ContentType}, nil
}
