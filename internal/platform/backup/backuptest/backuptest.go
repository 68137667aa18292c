// Package backuptest compares what a backup's tests restore with what they
// backed up: every table of two SQLite databases row by row, every object
// of two blob stores byte for byte.
package backuptest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/config"
)

// Open opens the SQLite database file at path for reading; it is closed
// when the test ends, or before by the test.
func Open(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Tables returns every table of db (sqlite_master, type "table") with its
// rows, each row printed as one string, sorted.
func Tables(t testing.TB, db *sql.DB) map[string][]string {
	t.Helper()
	names := Strings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	out := make(map[string][]string, len(names))
	for _, name := range names {
		out[name] = rows(t, db, `SELECT * FROM "`+strings.ReplaceAll(name, `"`, `""`)+`"`)
	}
	return out
}

// Schema returns db's schema: every entry of sqlite_master but its page
// numbers, sorted.
func Schema(t testing.TB, db *sql.DB) []string {
	t.Helper()
	return rows(t, db, `SELECT type, name, tbl_name, sql FROM sqlite_master`)
}

// EqualDatabases fails t unless the SQLite files want and got have the same
// schema and, in every table, the same rows.
func EqualDatabases(t testing.TB, want, got string) {
	t.Helper()
	wdb, gdb := Open(t, want), Open(t, got)
	if w, g := Schema(t, wdb), Schema(t, gdb); !slices.Equal(w, g) {
		t.Fatalf("schemas differ:\nwant %q\ngot  %q", w, g)
	}
	wt, gt := Tables(t, wdb), Tables(t, gdb)
	rowsCompared := 0
	for name, wrows := range wt {
		if grows := gt[name]; !slices.Equal(wrows, grows) {
			t.Errorf("table %s: %d rows, want %d; first difference: %s", name, len(grows), len(wrows), firstDifference(wrows, grows))
		}
		rowsCompared += len(wrows)
	}
	t.Logf("compared %d tables, %d rows", len(wt), rowsCompared)
}

// Consistent fails t unless db passes SQLite's integrity and foreign key
// checks.
func Consistent(t testing.TB, db *sql.DB) {
	t.Helper()
	if got := Strings(t, db, `PRAGMA integrity_check`); !slices.Equal(got, []string{"ok"}) {
		t.Fatalf("integrity_check: %q", got)
	}
	if got := rows(t, db, `PRAGMA foreign_key_check`); len(got) != 0 {
		t.Fatalf("foreign_key_check: %d violations, first %s", len(got), got[0])
	}
}

// Strings runs a query of one text column and returns its values.
func Strings(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	r, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rows returns every row of query, printed, sorted.
func rows(t testing.TB, db *sql.DB, query string) []string {
	t.Helper()
	r, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer r.Close()
	cols, err := r.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%#v", vals))
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func firstDifference(want, got []string) string {
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(want):
			return "extra " + got[i]
		case i >= len(got):
			return "missing " + want[i]
		case want[i] != got[i]:
			return fmt.Sprintf("want %s, got %s", want[i], got[i])
		}
	}
	return "none"
}

// OpenBlobs opens cfg's blob store.
func OpenBlobs(t testing.TB, cfg *config.Config) blob.Store {
	t.Helper()
	s, err := blob.Open(context.Background(), cfg.Blobs, blob.Options{AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Objects returns every object of s by key.
func Objects(t testing.TB, s blob.Store) map[string]blob.Object {
	t.Helper()
	out := map[string]blob.Object{}
	if err := s.List(context.Background(), "", func(o blob.Object) error {
		out[o.Key] = o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Read returns the bytes and description of key in s.
func Read(t testing.TB, s blob.Store, key string) ([]byte, blob.Object) {
	t.Helper()
	rc, obj, err := s.Get(context.Background(), key, nil)
	if err != nil {
		t.Fatalf("blob %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("blob %s: %v", key, err)
	}
	return b, obj
}

// EqualBlobs fails t unless want and got hold the same keys with the same
// bytes and content types.
func EqualBlobs(t testing.TB, want, got blob.Store) {
	t.Helper()
	wo, gotObjs := Objects(t, want), Objects(t, got)
	if len(wo) != len(gotObjs) {
		t.Errorf("%d blobs, want %d", len(gotObjs), len(wo))
	}
	var n int64
	for key := range wo {
		if _, ok := gotObjs[key]; !ok {
			t.Errorf("blob %s missing", key)
			continue
		}
		wb, wobj := Read(t, want, key)
		gb, gobj := Read(t, got, key)
		if !bytes.Equal(wb, gb) || wobj.ContentType != gobj.ContentType {
			t.Errorf("blob %s: %d bytes of %s, want %d bytes of %s", key, len(gb), gobj.ContentType, len(wb), wobj.ContentType)
		}
		n += int64(len(wb))
	}
	t.Logf("compared %d blobs, %d bytes", len(wo), n)
}
