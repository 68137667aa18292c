package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// notes is a test app that keeps its data the way the real apps do: a
// document row names a blob put before the row's commit, and its blob is
// deleted only after the row's removal committed. Rows of notes_parts
// reference their document (a foreign key).
type notes struct {
	env  app.Env      // set by Mount, before nodetest.Start returns
	made atomic.Int64 // documents created
}

var notesMigrations = fstest.MapFS{"0001_init.sql": &fstest.MapFile{Data: []byte(`-- +goose Up
CREATE TABLE notes_docs (id TEXT PRIMARY KEY, blob_key TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE notes_parts (doc_id TEXT NOT NULL REFERENCES notes_docs (id), n INTEGER NOT NULL, PRIMARY KEY (doc_id, n));
`)}}

func newNotes() (*notes, app.App) {
	n := &notes{}
	return n, app.App{Name: "notes", Migrations: notesMigrations, Mount: func(_ context.Context, env app.Env) error {
		n.env = env
		env.Handle("GET /notes/docs/{id}", http.HandlerFunc(n.serveDoc))
		return nil
	}}
}

// serveDoc answers a document's bytes.
func (n *notes) serveDoc(w http.ResponseWriter, r *http.Request) {
	var key string
	if err := n.env.DB.QueryRow(r.Context(), `SELECT blob_key FROM notes_docs WHERE id = ?`, r.PathValue("id")).Scan(&key); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	rc, _, err := n.env.Blobs.Get(r.Context(), key, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	_, _ = io.Copy(w, rc)
}

// doc is a document a writer made, with the times of its acknowledgements.
type doc struct {
	id      string
	body    []byte
	started time.Time // its create began (blob put)
	created time.Time // its create's commit returned
	delFrom time.Time // its delete's commit began; zero when never deleted
	deleted time.Time // its delete's commit returned
}

// create puts a document of size random bytes, then commits its rows.
func (n *notes) create(ctx context.Context, size int) (*doc, error) {
	d := &doc{id: uuid.NewString(), body: make([]byte, size), started: time.Now()}
	_, _ = rand.Read(d.body)
	key := "notes/" + d.id[:2] + "/" + d.id
	obj, err := n.env.Blobs.Put(ctx, key, bytes.NewReader(d.body), blob.PutOptions{ContentType: "application/x-note"})
	if err != nil {
		return nil, err
	}
	err = n.env.DB.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notes_docs (id, blob_key, sha256, size) VALUES (?, ?, ?, ?)`, d.id, key, obj.SHA256, obj.Size); err != nil {
			return err
		}
		for i := range 2 {
			if _, err := tx.Exec(ctx, `INSERT INTO notes_parts (doc_id, n) VALUES (?, ?)`, d.id, i); err != nil {
				return err
			}
		}
		return nil
	})
	d.created = time.Now()
	if err == nil {
		n.made.Add(1)
	}
	return d, err
}

// waitMade waits until n documents were created in all.
func (n *notes) waitMade(t *testing.T, want int64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); n.made.Load() < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d documents created in a minute, want %d", n.made.Load(), want)
		}
	}
}

// remove deletes d's rows, then its blob.
func (n *notes) remove(ctx context.Context, d *doc) error {
	d.delFrom = time.Now()
	var key string
	err := n.env.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT blob_key FROM notes_docs WHERE id = ?`, d.id).Scan(&key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM notes_parts WHERE doc_id = ?`, d.id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM notes_docs WHERE id = ?`, d.id)
		return err
	})
	d.deleted = time.Now()
	if err != nil {
		return err
	}
	return n.env.Blobs.Delete(ctx, key)
}

// writers runs k goroutines that create documents (and, with deletes,
// delete some of their older ones) until stop is called, which returns
// every document made. A failed write fails the test.
func (n *notes) writers(t *testing.T, k int, deletes bool) (stop func() []*doc) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []*doc
	for w := range k {
		wg.Go(func() {
			var mine []*doc
			defer func() {
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
			for i := 0; ctx.Err() == nil; i++ {
				d, err := n.create(context.WithoutCancel(ctx), 1024+(i*7919+w*104729)%(48<<10))
				if err != nil {
					t.Errorf("writer %d: create: %v", w, err)
					return
				}
				mine = append(mine, d)
				if deletes && i%3 == 2 { // delete the oldest live one
					for _, old := range mine {
						if old.delFrom.IsZero() {
							if err := n.remove(context.WithoutCancel(ctx), old); err != nil {
								t.Errorf("writer %d: delete: %v", w, err)
								return
							}
							break
						}
					}
				}
			}
		})
	}
	return func() []*doc {
		cancel()
		wg.Wait()
		return all
	}
}

// freshConfig is the configuration of an empty data directory (SQLite at
// its default place, filesystem blobs) plus environ.
func freshConfig(t testing.TB, environ ...string) *config.Config {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg, err := config.Load(config.Sources{Environ: append([]string{"TESSERA_DATA_DIR=" + dir}, environ...), KnownApps: []string{"notes"}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// dbFile is the SQLite file of cfg.
func dbFile(t testing.TB, cfg *config.Config) string {
	t.Helper()
	p, ok := strings.CutPrefix(cfg.Database, "sqlite://")
	if !ok {
		t.Fatalf("not a SQLite configuration: %s", cfg.Database)
	}
	return p
}

// noFiles fails t when dir holds anything (or exists, when it did not).
func noFiles(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		t.Fatalf("%s holds %v, want nothing", dir, names)
	}
}

// startNotes starts a node of cfg with the notes app.
func startNotes(t *testing.T, cfg *config.Config) (*nodetest.Node, *notes) {
	t.Helper()
	n, a := newNotes()
	return nodetest.Start(t, cfg, a), n
}
