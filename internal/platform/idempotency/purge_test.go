package idempotency

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestPurge: keys older than a day are forgotten, younger ones kept.
func TestPurge(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		k := New(s, nil)
		start := time.Now()
		k.now = func() time.Time { return start }
		for _, key := range []string{"old", "new"} {
			if _, _, claimed, err := k.claim(ctx, "u1", key, "fp"); err != nil || !claimed {
				t.Fatalf("claim %s: %v %v", key, claimed, err)
			}
			k.now = func() time.Time { return start.Add(12 * time.Hour) }
		}
		k.now = func() time.Time { return start.Add(25 * time.Hour) }
		if n, err := k.Purge(ctx); err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want 1", n, err)
		}
		if _, found, err := get(ctx, k.db, "u1", "new"); err != nil || !found {
			t.Fatalf("the younger key is gone: %v %v", found, err)
		}
	})
}
