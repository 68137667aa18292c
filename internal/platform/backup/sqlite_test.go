package backup

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// openStore opens a store on a new SQLite file with one table and row.
func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	st, err := store.Open(context.Background(), "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Admin().Exec(context.Background(), `CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	return st, path
}

// TestPinPausesWritersAndHoldsOneInstant: while pin runs its function no
// other connection can write; afterwards writes go on, and the copy holds
// the database as it was when pinned.
func TestPinPausesWritersAndHoldsOneInstant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path := openStore(t)
	p, paused, err := pin(ctx, path, func() error {
		other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(50)")
		if err != nil {
			return err
		}
		defer other.Close()
		_, err = other.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
		if fault.CodeOf(store.Normalize(err)) != fault.Unavailable {
			t.Errorf("a write while paused: %v, want busy", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if paused <= 0 {
		t.Errorf("paused %s", paused)
	}
	if _, err := st.Admin().Exec(ctx, `INSERT INTO t VALUES (3)`); err != nil {
		t.Fatalf("a write after the pause: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	var steps int
	if err := p.copyTo(ctx, dst, func(done, total int64) { steps++ }); err != nil {
		t.Fatal(err)
	}
	if err := checkIntegrity(ctx, dst); err != nil {
		t.Fatal(err)
	}
	copied, err := sql.Open("sqlite", dst)
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	var n int
	if err := copied.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 || steps == 0 {
		t.Fatalf("the copy has %d rows (%v) after %d steps, want the 1 of the pinned instant", n, err, steps)
	}
}

// TestPinLetsGoOnError: a failure while paused releases the writers and
// every connection pin opened.
func TestPinLetsGoOnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path := openStore(t)
	_, _, err := pin(ctx, path, func() error { return errors.New("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("pin: %v, want boom", err)
	}
	if _, err := st.Admin().Exec(ctx, `INSERT INTO t VALUES (2)`); err != nil {
		t.Fatalf("a write after a failed pin: %v", err)
	}
	if busy, err := inUse(ctx, path); err != nil || !busy {
		t.Fatalf("in use while the store is open: %v %v", busy, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if busy, err := inUse(ctx, path); err != nil || busy {
		t.Fatalf("in use once the store closed: %v %v (a connection of pin left open?)", busy, err)
	}
}
