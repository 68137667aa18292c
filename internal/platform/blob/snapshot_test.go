package blob

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSnapshot: a filesystem snapshot keeps the objects as they were when
// it was taken, whatever happens to the store afterwards; closing it
// leaves the store as it is. On S3 the view is the live bucket.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, h *harness) {
		s := h.store
		a, bc, d := []byte("alpha"), genBytes(70000, 1), []byte("delta")
		mustPut(t, s, "x/a", a, PutOptions{ContentType: "text/plain"})
		mustPut(t, s, "x/b/c", bc, PutOptions{})
		mustPut(t, s, "x/d", d, PutOptions{})

		snap, err := NewSnapshot(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(t.Context(), "x/a"); err != nil {
			t.Fatal(err)
		}
		mustPut(t, s, "x/b/c", []byte("replaced"), PutOptions{})
		if _, err := s.Move(t.Context(), "x/d", "x/e"); err != nil {
			t.Fatal(err)
		}
		mustPut(t, s, "x/f", []byte("after"), PutOptions{})

		var keys []string
		if err := snap.List(t.Context(), "", func(o Object) error {
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		if !snap.Frozen {
			if want := []string{"x/b/c", "x/e", "x/f"}; !slices.Equal(keys, want) {
				t.Fatalf("live view lists %v, want %v", keys, want)
			}
			return
		}
		if want := []string{"x/a", "x/b/c", "x/d"}; !slices.Equal(keys, want) {
			t.Fatalf("snapshot lists %v, want %v", keys, want)
		}
		for key, want := range map[string][]byte{"x/a": a, "x/b/c": bc, "x/d": d} {
			got, obj := mustRead(t, snap, key, nil)
			if !bytes.Equal(got, want) || obj.SHA256 != hexSHA(want) {
				t.Fatalf("snapshot %s: %d bytes, want its %d as taken", key, len(got), len(want))
			}
		}
		if _, obj := mustRead(t, snap, "x/a", nil); obj.ContentType != "text/plain" {
			t.Fatalf("snapshot x/a: content type %q", obj.ContentType)
		}

		// Update catches up with what was put and replaced; what was
		// deleted stays.
		if err := snap.Update(t.Context()); err != nil {
			t.Fatal(err)
		}
		keys = keys[:0]
		if err := snap.List(t.Context(), "", func(o Object) error {
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		if want := []string{"x/a", "x/b/c", "x/d", "x/e", "x/f"}; !slices.Equal(keys, want) {
			t.Fatalf("updated snapshot lists %v, want %v", keys, want)
		}
		if got, _ := mustRead(t, snap, "x/b/c", nil); string(got) != "replaced" {
			t.Fatalf("updated snapshot x/b/c: %q, want the new bytes", got)
		}
		if got, _ := mustRead(t, snap, "x/e", nil); !bytes.Equal(got, d) {
			t.Fatalf("updated snapshot x/e: %q", got)
		}
		if err := snap.Close(); err != nil {
			t.Fatal(err)
		}
		if got, _ := mustRead(t, s, "x/b/c", nil); string(got) != "replaced" {
			t.Fatalf("store x/b/c after the snapshot closed: %q", got)
		}
		wantAbsent(t, s, "x/a")
		if entries, err := os.ReadDir(filepath.Join(s.(*fsStore).root, snapshotsDir)); err != nil || len(entries) != 0 {
			t.Fatalf("snapshots left: %v %v", entries, err)
		}
	})
}

// TestSnapshotRemovesAbandonedOnes: a snapshot older than
// AbandonedSnapshotAge (its process died) goes at the next NewSnapshot; a
// recent one stays.
func TestSnapshotRemovesAbandonedOnes(t *testing.T) {
	t.Parallel()
	s := newFS(t).store
	mustPut(t, s, "k", []byte("v"), PutOptions{})
	old, err := NewSnapshot(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	recent, err := NewSnapshot(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-AbandonedSnapshotAge - time.Hour)
	if err := os.Chtimes(old.dir, long, long); err != nil {
		t.Fatal(err)
	}
	next, err := NewSnapshot(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old.dir); !os.IsNotExist(err) {
		t.Fatalf("abandoned snapshot kept: %v", err)
	}
	for _, sn := range []*Snapshot{recent, next} {
		if _, err := os.Stat(sn.dir); err != nil {
			t.Fatalf("recent snapshot removed: %v", err)
		}
		if err := sn.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkSnapshot measures, on a store of 10,000 objects in 256
// directories, NewSnapshot and Update of an up-to-date snapshot (what a
// backup does while it holds the database's writers).
func BenchmarkSnapshot(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(b.Context(), "file://"+filepath.ToSlash(dir), Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	for i := range n {
		if _, err := s.Put(b.Context(), fmt.Sprintf("bench/%02x/%d", i%256, i), bytes.NewReader([]byte("x")), PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			snap, err := NewSnapshot(b.Context(), s)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := snap.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/object")
	})
	b.Run("update", func(b *testing.B) {
		snap, err := NewSnapshot(b.Context(), s)
		if err != nil {
			b.Fatal(err)
		}
		defer snap.Close()
		b.ResetTimer()
		for b.Loop() {
			if err := snap.Update(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/object")
	})
}
