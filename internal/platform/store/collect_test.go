package store_test

import (
	"slices"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestCollect scans every row, gives an empty non-nil slice for none and a
// normalized error for a bad query, on both engines.
func TestCollect(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		migrate(t, s)
		ctx := t.Context()
		db := s.App("alpha")
		for i, name := range []string{"one", "two", "three"} {
			if _, err := db.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", i+1, name); err != nil {
				t.Fatal(err)
			}
		}
		names, err := store.Collect(ctx, db, store.ScanOne[string], "SELECT name FROM alpha_things WHERE id > ? ORDER BY id", 1)
		if err != nil || !slices.Equal(names, []string{"two", "three"}) {
			t.Fatalf("Collect = %q, %v", names, err)
		}
		none, err := store.Collect(ctx, db, store.ScanOne[string], "SELECT name FROM alpha_things WHERE id > ?", 99)
		if err != nil || none == nil || len(none) != 0 {
			t.Fatalf("Collect of nothing = %#v, %v", none, err)
		}
		if _, err := store.Collect(ctx, db, store.ScanOne[string], "SELECT name FROM alpha_nowhere"); err == nil || fault.CodeOf(err) == fault.NotFound {
			t.Fatalf("bad query: %v", err)
		}
	})
}
