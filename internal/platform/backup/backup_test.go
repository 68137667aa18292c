package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/backup"
	"github.com/tessera-dev/tessera/internal/platform/backup/backuptest"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// backupRun is one backup taken while writers ran.
type backupRun struct {
	file   string
	t0, t1 time.Time // Create's call and return
	sum    backup.Summary
}

// TestBackupWhileWriting takes backups while four writers create and delete
// documents, restores each into a fresh data directory and checks that it
// is one consistent instant: integrity and foreign keys hold, every row's
// blob is there byte for byte, every write acknowledged before the backup
// began is in it, every delete acknowledged before it began is not, nothing
// begun after it ended is. Then a node on a restored directory serves a
// document.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n, a := newNotes()
	src := nodetest.Start(t, nodetest.Config(t, store.EngineSQLite, []app.App{a}), a)
	var seeded []*doc
	for range 40 {
		d, err := n.create(ctx, 8<<10)
		if err != nil {
			t.Fatal(err)
		}
		seeded = append(seeded, d)
	}

	stop := n.writers(t, 4, true)
	var runs []backupRun
	for i := range 3 {
		n.waitMade(t, n.made.Load()+10) // writes between backups
		name := fmt.Sprintf("b%d.tar", i)
		if i == 1 {
			name += ".gz"
		}
		r := backupRun{file: filepath.Join(t.TempDir(), name), t0: time.Now()}
		var err error
		r.sum, err = backup.Create(ctx, src.Config, r.file, backup.Options{Version: "test"})
		r.t1 = time.Now()
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		t.Logf("backup %d: %d blobs, %d bytes, writes paused %.3f ms, %d ms", i, r.sum.Blobs, r.sum.Bytes, r.sum.WritesPausedMS, r.sum.DurationMS)
		runs = append(runs, r)
	}
	docs := append(seeded, stop()...)
	byID := map[string]*doc{}
	for _, d := range docs {
		byID[d.id] = d
	}
	t.Logf("%d documents written", len(docs))

	var restored *config.Config
	for i, r := range runs {
		cfg := freshConfig(t)
		sum, err := backup.Restore(ctx, cfg, r.file, backup.Options{})
		if err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		if sum.Blobs != r.sum.Blobs || sum.DatabaseBytes != r.sum.DatabaseBytes || !sum.BlobsFrozen || sum.Gzip != (i == 1) {
			t.Errorf("restore %d: summary %+v, backup's %+v", i, sum, r.sum)
		}
		checkRestored(t, cfg, r, byID)
		if i == 0 {
			restored = cfg
		}
	}

	// A node on a restored directory serves what the backup held.
	node, _ := startNotes(t, restored)
	for _, d := range seeded[:5] {
		body := testhttp.Expect(t, http.StatusOK, http.MethodGet, node.URL+"/notes/docs/"+d.id, "")
		if !bytes.Equal([]byte(body), d.body) {
			t.Fatalf("document %s: %d bytes served, want its %d", d.id, len(body), len(d.body))
		}
	}
}

// checkRestored checks the installation restored from r against the
// documents written.
func checkRestored(t *testing.T, cfg *config.Config, r backupRun, byID map[string]*doc) {
	t.Helper()
	db := backuptest.Open(t, dbFile(t, cfg))
	backuptest.Consistent(t, db)
	blobs := backuptest.OpenBlobs(t, cfg)
	objects := backuptest.Objects(t, blobs)
	if len(objects) != r.sum.Blobs {
		t.Errorf("%d blobs restored, the backup has %d", len(objects), r.sum.Blobs)
	}
	present := map[string]bool{}
	for _, row := range backuptest.Strings(t, db, `SELECT id || ' ' || blob_key FROM notes_docs`) {
		id, key, _ := strings.Cut(row, " ")
		present[id] = true
		d := byID[id]
		if d == nil {
			t.Fatalf("document %s restored, never written", id)
		}
		if d.started.After(r.t1) {
			t.Errorf("document %s, begun after the backup ended, is in it", id)
		}
		if got, _ := backuptest.Read(t, blobs, key); !bytes.Equal(got, d.body) {
			t.Errorf("document %s: blob %s has %d bytes, want its %d", id, key, len(got), len(d.body))
		}
	}
	for id, d := range byID {
		switch {
		case d.created.Before(r.t0) && (d.delFrom.IsZero() || d.delFrom.After(r.t1)) && !present[id]:
			t.Errorf("document %s, acknowledged before the backup began and not deleted, is missing", id)
		case !d.deleted.IsZero() && d.deleted.Before(r.t0) && present[id]:
			t.Errorf("document %s, deleted before the backup began, is in it", id)
		}
	}
	t.Logf("%s: %d documents, %d blobs", filepath.Base(r.file), len(present), len(objects))
}

// TestRoundTripIsExact backs up a stopped node, restores it into a fresh
// data directory and compares every table row by row, every blob byte for
// byte and every key.
func TestRoundTripIsExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, n := startNotes(t, nodetest.Config(t, store.EngineSQLite, []app.App{{Name: "notes"}}))
	for i := range 30 {
		if _, err := n.create(ctx, 100+i*997); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Stop(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.tgz")
	sum, err := backup.Create(ctx, src.Config, file, backup.Options{Version: "v-test"})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != sum.Bytes {
		t.Fatalf("archive: %v %v, summary %d bytes; want mode 0600", fi, err, sum.Bytes)
	}
	if sum.Keys != 1 || sum.Blobs != 30 || sum.Schemas["notes"] != 1 || sum.Schemas["platform"] == 0 || sum.Version != "v-test" {
		t.Fatalf("summary %+v", sum)
	}
	cfg := freshConfig(t)
	if _, err := backup.Restore(ctx, cfg, file, backup.Options{}); err != nil {
		t.Fatal(err)
	}
	backuptest.EqualDatabases(t, dbFile(t, src.Config), dbFile(t, cfg))
	backuptest.EqualBlobs(t, backuptest.OpenBlobs(t, src.Config), backuptest.OpenBlobs(t, cfg))
	want, err := os.ReadFile(filepath.Join(src.Config.DataDir, "keys", "blobs.key"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(cfg.DataDir, "keys", "blobs.key"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored blobs.key: %v, equal %v", err, bytes.Equal(got, want))
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "keys", "blobs.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored key: %v %v, want mode 0600", fi, err)
	}
}

// TestRestoreRefusesAnExistingDatabase: without --force an existing
// database is refused; with it, one a running node has open still is; once
// the node stops, --force replaces it.
func TestRestoreRefusesAnExistingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, n := startNotes(t, nodetest.Config(t, store.EngineSQLite, []app.App{{Name: "notes"}}))
	d, err := n.create(ctx, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Stop(); err != nil { // stopped: its database is what the backup holds
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.tar")
	if _, err := backup.Create(ctx, src.Config, file, backup.Options{}); err != nil {
		t.Fatal(err)
	}

	target := freshConfig(t)
	other, on := startNotes(t, target)
	if _, err := on.create(ctx, 10); err != nil {
		t.Fatal(err)
	}
	docs := func() []string { // read with a connection of its own, closed after
		db := backuptest.Open(t, dbFile(t, target))
		defer db.Close()
		return backuptest.Tables(t, db)["notes_docs"]
	}
	before := docs()
	_, err = backup.Restore(ctx, target, file, backup.Options{})
	wantErr(t, err, "a database exists at "+dbFile(t, target)+": restore into a fresh data directory, or pass --force")
	_, err = backup.Restore(ctx, target, file, backup.Options{Force: true})
	wantErr(t, err, "is in use (a node or another command has it open)")
	if after := docs(); !slices.Equal(before, after) {
		t.Fatalf("a refused restore changed the database: %q → %q", before, after)
	}

	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(ctx, target, file, backup.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	backuptest.EqualDatabases(t, dbFile(t, src.Config), dbFile(t, target))
	node, _ := startNotes(t, target)
	if body := testhttp.Expect(t, http.StatusOK, http.MethodGet, node.URL+"/notes/docs/"+d.id, ""); !bytes.Equal([]byte(body), d.body) {
		t.Fatal("the restored document differs")
	}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line containing %q", err, want)
	}
}

// TestRestoreRefusesABadArchive damages a good archive in every way that
// matters and expects a clear error and nothing written.
func TestRestoreRefusesABadArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, n := startNotes(t, nodetest.Config(t, store.EngineSQLite, []app.App{{Name: "notes"}}))
	d, err := n.create(ctx, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := n.create(ctx, 1000); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	plain, gz := filepath.Join(dir, "good.tar"), filepath.Join(dir, "good.tar.gz")
	for _, f := range []string{plain, gz} {
		if _, err := backup.Create(ctx, src.Config, f, backup.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	good, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	goodGz, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	var blobKey string
	for _, e := range entries(t, good) {
		if strings.HasPrefix(e, "blobs/notes/"+d.id[:2]+"/"+d.id) {
			blobKey = strings.TrimPrefix(e, "blobs/")
		}
	}

	manifestAt := bytes.Index(good, []byte("manifest.json"))
	manifestAt -= manifestAt % 512 // the start of its header block: an entry boundary

	flipped := slices.Clone(good)
	flipped[bytes.Index(good, d.body[:64])+100] ^= 0x20
	badDB := slices.Clone(good)
	badDB[bytes.Index(good, []byte("SQLite format 3"))+4096+700] ^= 0x01 // a byte of the database's second page

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"flipped byte in a blob", flipped, fmt.Sprintf("blob %q does not match the manifest", blobKey)},
		{"flipped byte in the database", badDB, "the database does not match the manifest"},
		{"truncated", good[:len(good)/2+100], "the archive is truncated"}, // +100: not at an entry's boundary
		{"truncated gzip", goodGz[:len(goodGz)*2/3], "the archive is truncated"},
		{"cut before the manifest", good[:manifestAt], "no manifest.json: the archive is truncated or not a Tessera backup"},
		{"empty", nil, "no manifest.json"},
		{"not an archive", bytes.Repeat([]byte("tessera!"), 1000), "the archive is damaged or not a Tessera backup"},
		{"a tar of something else", tarOf(t, "hello.txt", "hi"), `unexpected entry "hello.txt"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "bad.tar")
			if err := os.WriteFile(file, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := freshConfig(t)
			_, err := backup.Restore(ctx, cfg, file, backup.Options{})
			wantErr(t, err, tc.want)
			if !strings.HasPrefix(err.Error(), file+": ") {
				t.Errorf("error %q does not name the archive", err)
			}
			noFiles(t, filepath.Dir(cfg.DataDir)) // not even the data directory
		})
	}
}

// entries lists a tar archive's entry names.
func entries(t *testing.T, archive []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}

func tarOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(content)), Mode: 0o600, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBackupRefusesADamagedBlob: a stored object whose bytes no longer
// match their SHA-256 fails the backup, naming it, and leaves no file.
func TestBackupRefusesADamagedBlob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, n := startNotes(t, nodetest.Config(t, store.EngineSQLite, []app.App{{Name: "notes"}}))
	d, err := n.create(ctx, 5000)
	if err != nil {
		t.Fatal(err)
	}
	key := "notes/" + d.id[:2] + "/" + d.id
	path := filepath.Join(src.Config.DataDir, "blobs", "objects", filepath.FromSlash(key))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{d.body[10] ^ 1}, 512+10); err != nil { // past the object's 512-byte header
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = backup.Create(ctx, src.Config, filepath.Join(dir, "b.tar"), backup.Options{})
	wantErr(t, err, fmt.Sprintf("blob %q: its bytes do not match their stored SHA-256", key))
	noFiles(t, dir)
}

// TestBackupOfS3Blobs: in SQLite mode with an S3 blob store the objects are
// streamed from the bucket, and restored into another one.
func TestBackupOfS3Blobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := func() []string {
		b := blobtest.NewBucket(t)
		return []string{"TESSERA_BLOBS=" + b.URL.String(), "TESSERA_S3_ACCESS_KEY=" + b.Access, "TESSERA_S3_SECRET_KEY=" + b.Secret}
	}
	n, a := newNotes()
	src := nodetest.Start(t, nodetest.Config(t, store.EngineSQLite, []app.App{a}, bucket()...), a)
	for range 10 {
		if _, err := n.create(ctx, 20000); err != nil {
			t.Fatal(err)
		}
	}
	stop := n.writers(t, 2, false) // no deletes: on S3 an object deleted meanwhile would be missing
	n.waitMade(t, 15)
	r := backupRun{file: filepath.Join(t.TempDir(), "b.tar"), t0: time.Now()}
	var err error
	r.sum, err = backup.Create(ctx, src.Config, r.file, backup.Options{})
	r.t1 = time.Now()
	docs := stop()
	if err != nil {
		t.Fatal(err)
	}
	if r.sum.BlobsFrozen || r.sum.BlobsVanished != 0 {
		t.Fatalf("summary %+v: want blobs not frozen, none vanished", r.sum)
	}
	cfg := freshConfig(t, bucket()...)
	if _, err := backup.Restore(ctx, cfg, r.file, backup.Options{}); err != nil {
		t.Fatal(err)
	}
	restored := backuptest.OpenBlobs(t, cfg)
	db := backuptest.Open(t, dbFile(t, cfg))
	backuptest.Consistent(t, db)
	present := map[string]bool{}
	for _, row := range backuptest.Strings(t, db, `SELECT id || ' ' || blob_key FROM notes_docs`) {
		id, key, _ := strings.Cut(row, " ")
		present[id] = true
		backuptest.Read(t, restored, key) // there
	}
	for _, d := range docs {
		if d.created.Before(r.t0) && !present[d.id] {
			t.Errorf("document %s, acknowledged before the backup began, is missing", d.id)
		}
	}
	if got := len(backuptest.Objects(t, restored)); got != r.sum.Blobs {
		t.Fatalf("%d objects restored, the backup has %d", got, r.sum.Blobs)
	}
}

// TestPostgresMode: backup and restore refuse Postgres and say what to use.
func TestPostgresMode(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t, "TESSERA_DATABASE=postgres://tessera@db.example/tessera")
	dir := t.TempDir()
	if _, err := backup.Create(context.Background(), cfg, filepath.Join(dir, "b.tar"), backup.Options{}); !errors.Is(err, backup.ErrPostgres) {
		t.Fatalf("backup: %v", err)
	}
	if _, err := backup.Restore(context.Background(), cfg, filepath.Join(dir, "b.tar"), backup.Options{}); !errors.Is(err, backup.ErrPostgresRestore) {
		t.Fatalf("restore: %v", err)
	}
	noFiles(t, dir)
	for _, want := range []string{"pg_dump --format=custom", "pg_restore"} {
		if !strings.Contains(backup.ErrPostgres.Error()+backup.ErrPostgresRestore.Error(), want) {
			t.Errorf("advice without %q", want)
		}
	}
}
