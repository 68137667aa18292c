package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/platform/backup"
	"github.com/tessera-dev/tessera/internal/platform/backup/backuptest"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// member is a signed-up user acting in their org.
type member struct {
	base, token, org string
}

// send makes one request as m; it is safe in any goroutine (no t.Fatal).
func (m member) send(method, path string, body []byte, header map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, m.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+m.token)
	req.Header.Set("X-Org-ID", m.org)
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// upload stores body as a new file and returns its id.
func (m member) upload(name, contentType string, body []byte) (string, error) {
	status, resp, err := m.send(http.MethodPost, "/files", body, map[string]string{"X-File-Name": name, "Content-Type": contentType})
	if err != nil || status != http.StatusCreated {
		return "", fmt.Errorf("upload %s: %d %s %w", name, status, resp, err)
	}
	var f struct{ ID string }
	return f.ID, json.Unmarshal(resp, &f)
}

// contract creates a record of the records app's default config.
func (m member) contract(title string) (string, error) {
	status, resp, err := m.send(http.MethodPost, "/records/contracts", fmt.Appendf(nil, `{"fields":{"title":%q,"value":1200}}`, title), nil)
	if err != nil || status != http.StatusCreated {
		return "", fmt.Errorf("create contract: %d %s %w", status, resp, err)
	}
	var r struct{ ID string }
	return r.ID, json.Unmarshal(resp, &r)
}

// written is what one writer had acknowledged, with when.
type written struct {
	kind, id string
	body     []byte
	acked    time.Time // the create's answer came
	delFrom  time.Time // its delete was sent (zero: never)
}

// pngOf is a small PNG image (files makes a thumbnail of it in a job).
func pngOf(t testing.TB, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// nodeEnv is the environment that points a command at node's data
// directory and database.
func nodeEnv(cfg *config.Config) []string {
	return []string{"TESSERA_DATA_DIR=" + cfg.DataDir, "TESSERA_DATABASE=" + cfg.Database}
}

// freshDir is a data directory that does not exist yet, and the
// configuration of a node on it.
func freshDir(t *testing.T) (string, *config.Config) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg, err := config.Load(config.Sources{Environ: []string{"TESSERA_DATA_DIR=" + dir}, KnownApps: registryNames(t)})
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func registryNames(t *testing.T) []string {
	t.Helper()
	reg, err := apps()
	if err != nil {
		t.Fatal(err)
	}
	return reg.Names()
}

// sqliteFile is the database file of cfg.
func sqliteFile(cfg *config.Config) string { return strings.TrimPrefix(cfg.Database, "sqlite://") }

// TestBackupRestoreEveryApp runs a node with every app, writes users, an
// org, files (text and images, whose thumbnails a job makes) and records,
// and runs `tessera backup` while writers keep uploading, creating and
// deleting. `tessera restore` into a fresh data directory gives a
// consistent installation holding every write acknowledged before the
// backup began; a node on it serves a file byte for byte and a record.
// Then, the node stopped, a second backup restores to an exact copy: every
// table row by row, every blob byte for byte.
func TestBackupRestoreEveryApp(t *testing.T) {
	t.Parallel()
	apps := all.Apps()
	src := nodetest.Start(t, nodetest.Config(t, store.EngineSQLite, apps), apps...)
	_, token := src.SignUp(t, "ops@example.com", "correct horse battery staple", "Ops", "")
	var org struct{ ID string }
	if err := json.Unmarshal([]byte(testhttp.Expect(t, http.StatusCreated, http.MethodPost, src.URL+"/orgs", `{"name":"Backups"}`, testhttp.Bearer(token))), &org); err != nil {
		t.Fatal(err)
	}
	m := member{base: src.URL, token: token, org: org.ID}

	text := []byte(strings.Repeat("the quick brown fox ", 5000))
	fileID, err := m.upload("fox.txt", "text/plain", text)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := m.upload(fmt.Sprintf("pic%d.png", i), "image/png", pngOf(t, uint8(40*i))); err != nil {
			t.Fatal(err)
		}
	}
	recordID, err := m.contract("Office lease")
	if err != nil {
		t.Fatal(err)
	}

	// Writers: uploads (some images), records, permanent file deletes.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var writes []*written
	var acked atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			var mine []*written
			defer func() { mu.Lock(); writes = append(writes, mine...); mu.Unlock() }()
			for i := 0; ctx.Err() == nil; i++ {
				body := make([]byte, 2000+(i*4099+w*7919)%30000)
				_, _ = rand.Read(body)
				ctype := "application/octet-stream"
				if i%5 == 4 {
					body, ctype = pngOf(t, uint8(i)), "image/png"
				}
				id, err := m.upload(fmt.Sprintf("w%d-%d.bin", w, i), ctype, body)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mine = append(mine, &written{kind: "file", id: id, body: body, acked: time.Now()})
				acked.Add(1)
				rid, err := m.contract(fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mine = append(mine, &written{kind: "record", id: rid, acked: time.Now()})
				acked.Add(1)
				if i%3 == 2 {
					old := mine[len(mine)-6]
					old.delFrom = time.Now()
					if status, resp, err := m.send(http.MethodDelete, "/files/"+old.id+"?permanent=true", nil, nil); err != nil || status != http.StatusNoContent {
						t.Errorf("writer %d: delete: %d %s %v", w, status, resp, err)
						return
					}
				}
			}
		})
	}
	waitAcked := func(want int64) {
		for deadline := time.Now().Add(time.Minute); acked.Load() < want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d writes in a minute, want %d", acked.Load(), want)
			}
		}
	}
	waitAcked(12) // writes before the backup
	file := filepath.Join(t.TempDir(), "online.tar.gz")
	t0 := time.Now()
	code, out, errOut := runCLI(t, nodeEnv(src.Config), "backup", file, "--json")
	t1 := time.Now()
	waitAcked(acked.Load() + 6) // and after
	stop()
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	var sum backup.Summary
	mustJSON(t, out, &sum)
	if sum.File != file || !sum.Gzip || sum.Blobs == 0 || sum.Keys != 1 || !sum.BlobsFrozen || len(sum.Schemas) < 6 || !strings.Contains(errOut, "backup: done: ") {
		t.Fatalf("backup summary %+v, stderr %q", sum, errOut)
	}
	during := 0
	for _, w := range writes {
		if w.acked.After(t0) && w.acked.Before(t1) {
			during++
		}
	}
	t.Logf("online backup: %d blobs (%d bytes), database %d bytes, archive %d bytes, writes paused %.2f ms, %d ms; %d writes in the test, %d acknowledged while the backup ran",
		sum.Blobs, sum.BlobBytes, sum.DatabaseBytes, sum.Bytes, sum.WritesPausedMS, sum.DurationMS, len(writes), during)

	dir, restored := freshDir(t)
	out = mustRunQuiet(t, []string{"TESSERA_DATA_DIR=" + dir}, "restore", file, "--json")
	var rsum backup.Summary
	mustJSON(t, out, &rsum)
	if rsum.Blobs != sum.Blobs || rsum.DatabaseBytes != sum.DatabaseBytes || !rsum.CreatedAt.Equal(sum.CreatedAt) {
		t.Fatalf("restore summary %+v, backup's %+v", rsum, sum)
	}

	db := backuptest.Open(t, sqliteFile(restored))
	backuptest.Consistent(t, db)
	blobs := backuptest.OpenBlobs(t, restored)
	objects := backuptest.Objects(t, blobs)
	versions := backuptest.Strings(t, db, `SELECT blob_key || ' ' || sha256 || ' ' || thumbnail FROM files_versions`)
	for _, v := range versions {
		f := strings.Fields(v)
		if o, ok := objects[f[0]]; !ok || o.SHA256 != f[1] {
			t.Errorf("version blob %s: %+v in the restored store, want SHA-256 %s", f[0], o, f[1])
		}
		if _, ok := objects[f[0]+".thumb.jpg"]; f[2] == "1" && !ok {
			t.Errorf("thumbnail of %s missing", f[0])
		}
	}
	present := map[string]bool{}
	for _, id := range backuptest.Strings(t, db, `SELECT id FROM files_files UNION ALL SELECT id FROM records_records`) {
		present[id] = true
	}
	for _, w := range writes {
		if w.acked.Before(t0) && (w.delFrom.IsZero() || w.delFrom.After(t1)) && !present[w.id] {
			t.Errorf("%s %s, acknowledged before the backup began, is missing", w.kind, w.id)
		}
	}
	t.Logf("restored: %d file versions, %d blobs, %d files and records", len(versions), len(objects), len(present))

	// A node on the restored directory: the same token still works (the
	// signing keys came along), a file downloads identically, a record reads.
	n2 := nodetest.Start(t, restored, apps...)
	m2 := member{base: n2.URL, token: token, org: org.ID}
	if status, body, err := m2.send(http.MethodGet, "/files/"+fileID+"/content", nil, nil); err != nil || status != http.StatusOK || !bytes.Equal(body, text) {
		t.Fatalf("download from the restored node: %d, %d bytes, %v", status, len(body), err)
	}
	if status, body, err := m2.send(http.MethodGet, "/records/contracts/"+recordID, nil, nil); err != nil || status != http.StatusOK || !bytes.Contains(body, []byte("Office lease")) {
		t.Fatalf("record from the restored node: %d %s %v", status, body, err)
	}

	// Offline: an exact copy.
	if err := src.Stop(); err != nil {
		t.Fatal(err)
	}
	file2 := filepath.Join(t.TempDir(), "offline.tar")
	mustRunQuiet(t, nodeEnv(src.Config), "backup", file2)
	dir2, exact := freshDir(t)
	mustRunQuiet(t, []string{"TESSERA_DATA_DIR=" + dir2}, "restore", file2)
	backuptest.EqualDatabases(t, sqliteFile(src.Config), sqliteFile(exact))
	backuptest.EqualBlobs(t, backuptest.OpenBlobs(t, src.Config), backuptest.OpenBlobs(t, exact))
}

// mustRunQuiet runs a command that must succeed and returns its stdout;
// its stderr (progress) is ignored.
func mustRunQuiet(t *testing.T, environ []string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, environ, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	return out
}

// TestBackupCommands covers the commands' lines: the text summary, the
// refusals and the damaged archives, each one line on stderr with exit 1
// and nothing written.
func TestBackupCommands(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	dd := []string{"--data-dir", src}
	mustRun(t, nil, append([]string{"user", "create", "ada@example.com", "--password", "correct horse battery staple", "--confirmed"}, dd...)...)
	file := filepath.Join(t.TempDir(), "b.tar")
	code, out, errOut := runCLI(t, nil, append([]string{"backup", file}, dd...)...)
	if code != 0 || !strings.HasPrefix(out, "backup written to "+file+": ") || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "backup: database: ") {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	dest := filepath.Join(t.TempDir(), "data")
	code, out, _ = runCLI(t, nil, "restore", file, "--data-dir", dest)
	if code != 0 || !strings.HasPrefix(out, "restored "+file+" (taken ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("restore: exit %d, stdout %q", code, out)
	}
	if users := mustRun(t, nil, "user", "list", "--data-dir", dest); !strings.Contains(users, "ada@example.com") {
		t.Fatalf("restored users: %q", users)
	}
	wantFail(t, "tessera: restore: a database exists at "+filepath.Join(dest, "tessera.db")+": restore into a fresh data directory, or pass --force", nil,
		"restore", file, "--data-dir", dest)

	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(good)
	flipped[bytes.Index(good, []byte("SQLite format 3"))+8192+100] ^= 0x01
	for _, tc := range []struct{ file, want string }{
		{damaged("flipped.tar", flipped), "the database does not match the manifest"},
		{damaged("cut.tar", good[:len(good)*3/4+100]), "the archive is truncated"}, // +100: not at an entry's boundary
		{filepath.Join(t.TempDir(), "missing.tar"), "no such file or directory"},
	} {
		fresh := filepath.Join(t.TempDir(), "data")
		code, out, errOut := runCLI(t, nil, "restore", tc.file, "--data-dir", fresh)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "tessera: restore: ") || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("restore %s: exit %d, stdout %q, stderr %q; want one line with %q", filepath.Base(tc.file), code, out, errOut, tc.want)
		}
		if _, err := os.Stat(fresh); !os.IsNotExist(err) {
			t.Errorf("restore %s wrote %s: %v", filepath.Base(tc.file), fresh, err)
		}
	}

	// Postgres mode: the advice, exit 1, nothing written.
	pg := []string{"--database", "postgres://tessera@db.example/tessera"}
	pgFile := filepath.Join(t.TempDir(), "pg.tar")
	wantFail(t, `tessera: backup: the database is Postgres, which tessera backup does not cover: dump it with pg_dump --format=custom`, nil,
		append([]string{"backup", pgFile}, pg...)...)
	wantFail(t, `tessera: restore: the database is Postgres, which tessera restore does not cover: run tessera migrate on an empty database`, nil,
		append([]string{"restore", file}, pg...)...)
	if _, err := os.Stat(pgFile); !os.IsNotExist(err) {
		t.Errorf("backup in Postgres mode wrote %s", pgFile)
	}

	wantFail(t, "tessera: backup: want FILE, got 0 arguments", nil, "backup")
	wantFail(t, "tessera: backup: no database at ", nil, "backup", filepath.Join(t.TempDir(), "x.tar"), "--data-dir", t.TempDir())
	for _, args := range [][]string{{"backup", "--help"}, {"restore", "--help"}} {
		if code, out, _ := runCLI(t, nil, args...); code != 0 || !strings.Contains(out, "--json") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}
