package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// migrateLockKey serializes River's migrations between processes on
// Postgres ("tessjobs").
const migrateLockKey int64 = 0x746573736a6f6273

// Migrate applies the platform's migrations: the event log's
// (events.Migrations) and River's, in schema "platform" on Postgres or in
// the SQLite file, then grants the apps' roles what enqueuing a job in their
// own transactions takes (on river_job: SELECT, INSERT, UPDATE of kind, which
// River's insert … ON CONFLICT … RETURNING needs; USAGE of its id sequence).
// Call it before the apps' store.Migrate, at every start: it is idempotent
// and safe from several processes at once. logger may be nil.
func Migrate(ctx context.Context, st *store.Store, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := st.Migrate(ctx, events.Migrations()); err != nil {
		return err
	}
	db := st.App(events.Schema).SQL()
	if st.Engine() == store.EnginePostgres {
		return migratePostgres(ctx, db, st.AppsRole(), logger)
	}
	return migrateSQLite(ctx, db, logger)
}

func migratePostgres(ctx context.Context, db *sql.DB, appsRole string, logger *slog.Logger) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return store.Normalize(fmt.Errorf("jobs: migrate: %w", err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return store.Normalize(fmt.Errorf("jobs: migrate: lock: %w", err))
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)
	}()
	m, err := rivermigrate.New(riverdatabasesql.New(db), &rivermigrate.Config{Schema: events.Schema, Logger: logger})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return store.Normalize(fmt.Errorf("jobs: river migrations: %w", err))
	}
	role := pgx.Identifier{appsRole}.Sanitize()
	for _, q := range []string{
		"GRANT SELECT, INSERT, UPDATE (kind) ON river_job TO " + role,
		"GRANT USAGE ON SEQUENCE river_job_id_seq TO " + role,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return store.Normalize(fmt.Errorf("jobs: migrate: %s: %w", q, err))
		}
	}
	return nil
}

// migrateSQLite runs River's migrations in one transaction on the writer
// connection: BEGIN IMMEDIATE holds the file's write lock, so two processes
// cannot apply a version twice.
func migrateSQLite(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	m, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return store.Normalize(fmt.Errorf("jobs: migrate: %w", err))
	}
	defer func() { _ = tx.Rollback() }()
	//nolint:staticcheck // SA1019: MigrateTx is deprecated for Postgres migrations that cannot share a transaction; SQLite's can, and the transaction is the cross-process lock.
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		return store.Normalize(fmt.Errorf("jobs: river migrations: %w", err))
	}
	if err := tx.Commit(); err != nil {
		return store.Normalize(fmt.Errorf("jobs: migrate: %w", err))
	}
	return nil
}
