package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestPostgresSchemaIsolation proves the per-app boundary: an app's role
// cannot read or create in another app's schema, the admin role reaches
// every schema, and a grant to the apps group reaches every app.
func TestPostgresSchemaIsolation(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EnginePostgres)
	migrate(t, s)
	ctx := t.Context()
	alpha, beta, admin := s.App("alpha"), s.App("beta"), s.Admin()
	if _, err := alpha.Exec(ctx, "INSERT INTO alpha_things (id, name) VALUES (?, ?)", 1, "a1"); err != nil {
		t.Fatal(err)
	}

	var n int
	err := alpha.QueryRow(ctx, "SELECT count(*) FROM beta.beta_things").Scan(&n)
	wantSQLState(t, "alpha reads beta.beta_things", err, "42501")
	_, err = alpha.Exec(ctx, "CREATE TABLE beta.beta_intruder (id INTEGER)")
	wantSQLState(t, "alpha creates a table in beta", err, "42501")
	err = beta.QueryRow(ctx, "SELECT count(*) FROM alpha.alpha_things").Scan(&n)
	wantSQLState(t, "beta reads alpha.alpha_things", err, "42501")

	// alpha_engine is granted to the apps group (and schema usage with it).
	if got := count(t, beta, "SELECT count(*) FROM alpha.alpha_engine"); got != 1 {
		t.Errorf("beta reads alpha.alpha_engine through the apps role: %d rows", got)
	}

	// Admin reads and writes both, qualified or through its search_path.
	for _, q := range []string{
		"SELECT count(*) FROM alpha.alpha_things", "SELECT count(*) FROM alpha_things",
		"SELECT count(*) FROM beta.beta_things", "SELECT count(*) FROM beta_things",
	} {
		if got := count(t, admin, q); got != 1 {
			t.Errorf("admin %s = %d, want 1", q, got)
		}
	}
	if _, err := admin.Exec(ctx, "UPDATE beta.beta_things SET name = ? WHERE id = ?", "b1'", 1); err != nil {
		t.Errorf("admin writes beta: %v", err)
	}

	// Objects and the version table belong to the schema's role.
	var db string
	if err := admin.QueryRow(ctx, "SELECT lower(current_database())").Scan(&db); err != nil {
		t.Fatal(err)
	}
	rows, err := admin.Query(ctx, "SELECT schemaname, tablename, tableowner FROM pg_tables WHERE schemaname IN ('alpha', 'beta')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tables := map[string]bool{}
	for rows.Next() {
		var schema, table, owner string
		if err := rows.Scan(&schema, &table, &owner); err != nil {
			t.Fatal(err)
		}
		tables[schema+"."+table] = true
		if owner != db+"_"+schema {
			t.Errorf("%s.%s is owned by %s, want %s_%s", schema, table, owner, db, schema)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alpha.alpha_migrations", "beta.beta_migrations", "alpha.alpha_things"} {
		if !tables[want] {
			t.Errorf("table %s missing; have %v", want, tables)
		}
	}
}

// TestPostgresUnknownSchema: a handle for a schema never migrated, or with an
// invalid name, fails on use with an error naming the schema.
func TestPostgresUnknownSchema(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.EnginePostgres)
	migrate(t, s)
	for _, schema := range []string{"gamma", "Bad-Name"} {
		var n int
		err := s.App(schema).QueryRow(t.Context(), "SELECT 1").Scan(&n)
		if err == nil || !strings.Contains(err.Error(), schema) {
			t.Errorf("App(%q): %v, want an error naming the schema", schema, err)
		}
	}
}

// TestPostgresMigrateTwoStores runs Migrate from two stores (as two processes
// would) on one database at once.
func TestPostgresMigrateTwoStores(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, store.EnginePostgres)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			s, err := store.Open(t.Context(), dsn, store.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(t.Context(), testSets()...)
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
}

func wantSQLState(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Errorf("%s: error %v, want SQLSTATE %s", what, err, code)
	}
}
