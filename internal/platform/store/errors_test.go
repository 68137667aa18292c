package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// TestSQLiteBusy takes the write lock from another connection (as another
// process would) and checks that the busy error is retryable and normalized
// to unavailable.
func TestSQLiteBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	b, err := openSQLite(ctx, path, synchronousFull)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()

	holder, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	lock, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()

	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.BeginTx(ctx, nil)
	if err == nil {
		t.Fatal("second writer got the lock")
	}
	if !retryable(err) {
		t.Errorf("retryable(%v) = false", err)
	}
	f := fault.As(Normalize(err))
	if f == nil || f.Code != fault.Unavailable || f.RetryAfter != 1 {
		t.Errorf("Normalize(%v) = %v, want unavailable, retry after 1", err, f)
	}
}
