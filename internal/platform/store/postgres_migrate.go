package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// migrateLockKey is the advisory lock Migrate holds (advisory locks are per
// database, so one constant serves every database of a cluster).
const migrateLockKey int64 = 0x7465737365726d67 // "tessermg"

// migrate bootstraps roles and schemas, then applies each set as its role,
// all under the advisory lock.
func (b *pgBackend) migrate(ctx context.Context, s *Store, sets []MigrationSet) error {
	conn, err := b.root.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("store: migrate: take lock: %w", err)
	}
	defer b.unlock(ctx, conn)

	roles := make(map[string]string, len(sets))
	if err := b.bootstrapShared(ctx, conn); err != nil {
		return err
	}
	for _, set := range sets {
		role, err := b.bootstrapSchema(ctx, conn, set.Schema)
		if err != nil {
			return err
		}
		roles[set.Schema] = role
	}
	defer b.refreshAdmin()
	for _, set := range sets {
		role := roles[set.Schema]
		fsys, err := engineFS(set.FS, EnginePostgres, map[string]string{
			"{{schema}}":     quoteIdent(set.Schema),
			"{{role}}":       quoteIdent(role),
			"{{apps_role}}":  quoteIdent(b.appsRole()),
			"{{admin_role}}": quoteIdent(b.adminRole()),
		})
		if err != nil {
			return fmt.Errorf("store: schema %q: %w", set.Schema, err)
		}
		if err := b.migrateSet(ctx, s, set.Schema, role, fsys); err != nil {
			return err
		}
	}
	return nil
}

// unlock releases the advisory lock; if that fails, the connection is
// discarded (closing the session releases the lock) rather than returned to
// the pool still holding it.
func (b *pgBackend) unlock(ctx context.Context, conn *sql.Conn) {
	_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)
	if err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// bootstrapShared creates the admin and group roles and lets the connecting
// user act as admin.
func (b *pgBackend) bootstrapShared(ctx context.Context, conn *sql.Conn) error {
	for _, r := range []string{b.adminRole(), b.appsRole()} {
		if err := ensureRole(ctx, conn, r); err != nil {
			return err
		}
	}
	return execAll(ctx, conn, "GRANT "+quoteIdent(b.adminRole())+" TO CURRENT_USER")
}

// bootstrapSchema creates the schema's role and the schema it owns, and
// returns the role. It is idempotent.
func (b *pgBackend) bootstrapSchema(ctx context.Context, conn *sql.Conn, schema string) (string, error) {
	role, err := b.schemaRole(schema)
	if err != nil {
		return "", err
	}
	if err := ensureRole(ctx, conn, role); err != nil {
		return "", err
	}
	r, s := quoteIdent(role), quoteIdent(schema)
	err = execAll(ctx, conn,
		"GRANT "+r+" TO CURRENT_USER", // lets the connecting user SET ROLE (a no-op for superusers)
		"GRANT "+quoteIdent(b.appsRole())+" TO "+r,
		"GRANT "+r+" TO "+quoteIdent(b.adminRole()),
		"CREATE SCHEMA IF NOT EXISTS "+s+" AUTHORIZATION "+r,
		"REVOKE ALL ON SCHEMA "+s+" FROM PUBLIC",
	)
	if err != nil {
		return "", fmt.Errorf("store: bootstrap schema %q: %w", schema, err)
	}
	var owner string
	err = conn.QueryRowContext(ctx, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", schema).Scan(&owner)
	if err != nil {
		return "", fmt.Errorf("store: bootstrap schema %q: %w", schema, err)
	}
	if owner != role {
		return "", fmt.Errorf("store: schema %q exists and is owned by %q, not %q: fix its owner (ALTER SCHEMA … OWNER TO) or drop it", schema, owner, role)
	}
	return role, nil
}

// ensureRole creates the NOLOGIN role name unless it exists, tolerating a
// concurrent creation by another process.
func ensureRole(ctx context.Context, conn *sql.Conn, name string) error {
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("store: look up role %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err := conn.ExecContext(ctx, "CREATE ROLE "+quoteIdent(name)+" NOLOGIN")
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505") { // duplicate_object, unique_violation
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create role %q: %w", name, err)
	}
	return nil
}

func execAll(ctx context.Context, conn *sql.Conn, stmts ...string) error {
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// migrateSet applies one set on a connection acting as role, with
// search_path set to the schema, so that the objects and the version table
// land in the schema, owned by the role.
func (b *pgBackend) migrateSet(ctx context.Context, s *Store, schema, role string, fsys fs.FS) error {
	cfg := b.cfg.Copy()
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
		return setRole(ctx, c, role)
	}))
	defer db.Close()
	db.SetMaxOpenConns(1)
	return s.runGoose(ctx, goose.DialectPostgres, db, schema, fsys)
}
