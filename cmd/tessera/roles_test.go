package main

import (
	"errors"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-dev/tessera/internal/platform/node"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestRecordsRoleIsolation proves the per-service database access of
// records.md on Postgres, with every app of the binary migrated as `tessera
// migrate` does it: the records role cannot read messaging's tables
// (permission denied, SQLSTATE 42501) and reads its own; the admin role
// reads both.
func TestRecordsRoleIsolation(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.EnvPostgresURL) == "" {
		t.Skip("per-service database roles exist on Postgres only: set " + storetest.EnvPostgresURL + " to run this test")
	}
	ctx := t.Context()
	st := storetest.Open(t, store.EnginePostgres)
	registry, err := apps()
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Migrate(ctx, st, registry, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}

	count := func(db *store.DB, query string) (int, error) {
		var n int
		err := db.QueryRow(ctx, query).Scan(&n)
		return n, err
	}
	denied := func(what string, err error) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("%s: error %v, want permission denied (SQLSTATE 42501)", what, err)
		}
	}
	allowed := func(what string, n int, err error) {
		t.Helper()
		if err != nil || n != 0 {
			t.Errorf("%s: %d rows, error %v; want 0 rows and no error", what, n, err)
		}
	}

	recs, msg, admin := st.App("records"), st.App("messaging"), st.Admin()

	_, err = count(recs, "SELECT count(*) FROM messaging.messaging_rooms")
	denied("records reads messaging.messaging_rooms", err)
	_, err = count(recs, "SELECT count(*) FROM messaging.messaging_messages")
	denied("records reads messaging.messaging_messages", err)
	_, err = recs.Exec(ctx, "DELETE FROM messaging.messaging_rooms")
	denied("records deletes from messaging.messaging_rooms", err)
	_, err = count(msg, "SELECT count(*) FROM records.records_records")
	denied("messaging reads records.records_records", err)

	n, err := count(recs, "SELECT count(*) FROM records_records")
	allowed("records reads its records_records", n, err)
	n, err = count(recs, "SELECT count(*) FROM records.records_records")
	allowed("records reads records.records_records", n, err)

	for _, q := range []string{
		"SELECT count(*) FROM messaging.messaging_rooms", "SELECT count(*) FROM messaging_rooms",
		"SELECT count(*) FROM records.records_records", "SELECT count(*) FROM records_records",
	} {
		n, err := count(admin, q)
		allowed("admin "+q, n, err)
	}
}
