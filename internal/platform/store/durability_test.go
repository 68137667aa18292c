package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/store"
)

// kill9Env tells the test binary, re-executed by TestSQLiteKill9Durability,
// to act as the writer process, on the database file it names.
const kill9Env = "TESSERA_STORE_KILL9_DB"

// TestSQLiteKill9Durability kills a writing process with SIGKILL and checks
// that every write it acknowledged is in the file afterwards.
func TestSQLiteKill9Durability(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "kill9.db")
	s, err := store.Open(t.Context(), "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	migrate(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), kill9Env+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	lines := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	killed := false
	for lines.Scan() {
		id, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(id)
		if err != nil {
			t.Fatalf("child printed %q", lines.Text())
		}
		acked[n] = true
		// Kill in the middle of the stream of commits.
		if !killed && (len(acked) >= 300 || time.Now().After(deadline)) {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before being killed after %d acks; stderr:\n%s", len(acked), stderr.String())
	}

	s, err = store.Open(t.Context(), "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.App("alpha")
	var check string
	if err := db.QueryRow(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	missing := 0
	for id := range acked {
		if count(t, db, "SELECT count(*) FROM alpha_things WHERE id = ?", id) != 1 {
			missing++
		}
	}
	total := count(t, db, "SELECT count(*) FROM alpha_things")
	t.Logf("%d writes acknowledged before SIGKILL, %d rows in the file", len(acked), total)
	if missing > 0 {
		t.Errorf("%d acknowledged writes lost", missing)
	}
}

// TestSQLiteKill9Child is the writer process of TestSQLiteKill9Durability:
// it commits rows one transaction at a time and prints each id once its
// commit returned, until killed.
func TestSQLiteKill9Child(t *testing.T) {
	path := os.Getenv(kill9Env)
	if path == "" {
		t.Skip("helper process of TestSQLiteKill9Durability")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := s.App("alpha")
	for id := 1; ; id++ {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", id, fmt.Sprint("thing ", id))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", id)
	}
}
