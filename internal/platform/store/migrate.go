package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
)

// MigrationSet is one schema's versioned migrations, embedded in the binary.
//
// Schema is the schema name: lower-case letters, digits and underscores,
// starting with a letter, at most 40 bytes; "admin" and "apps" are reserved.
// The app's tables are named with it as prefix (messaging_rooms).
//
// FS holds, at its root (see Embedded for a subdirectory), goose SQL files
// ("-- +goose Up" …) named NNNN_name.sql when one file serves both engines, or
// NNNN_name.sqlite.sql and NNNN_name.postgres.sql when the engines must
// differ. A version may exist for one engine only (Postgres grants, say). Two
// files that give one engine the same version are an error. Other files are
// ignored. Applied migrations are recorded in the table "<schema>_migrations"
// (in the schema on Postgres), and are never edited once released.
//
// On Postgres, migrations run as the schema's role with search_path set to the
// schema, so what they create is owned by that role, and these tokens are
// replaced by quoted identifiers before a file runs (SQLite leaves them as
// they are, so use them in .postgres.sql files only):
//
//	{{schema}}      the schema
//	{{role}}        the schema's role, "<database>_<schema>"
//	{{apps_role}}   the group role every schema role belongs to, "<database>_apps"
//	{{admin_role}}  the admin role, "<database>_admin"
type MigrationSet struct {
	Schema string
	FS     fs.FS
}

// Embedded returns schema's migration set from the directory dir of fsys,
// typically an embed.FS declared with `//go:embed migrations/*.sql`. dir is
// a constant of the caller, so an invalid one is a build defect: it panics
// at start, never at run time.
func Embedded(schema string, fsys fs.FS, dir string) MigrationSet {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("store: migrations of %s: %v", schema, err))
	}
	return MigrationSet{Schema: schema, FS: sub}
}

// schemaName is what a schema may be called: it becomes part of role, table
// and file names.
var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// checkSchema reports whether name may be used as a schema name.
func checkSchema(name string) error {
	switch {
	case !schemaName.MatchString(name):
		return fmt.Errorf("store: invalid schema name %q: want lower-case letters, digits and _, starting with a letter, at most 40 bytes", name)
	case name == "admin" || name == "apps" || name == "public" || strings.HasPrefix(name, "pg_"):
		return fmt.Errorf("store: schema name %q is reserved", name)
	}
	return nil
}

// Migrate applies every pending migration of each set, in the order given
// (put "platform" first: apps' migrations may rely on it). It is idempotent
// and safe to run from several processes at once: on Postgres it holds an
// advisory lock for its whole run, on SQLite an exclusive lock on the file
// "<database>-migrate.lock" next to the database (on Unix). On Postgres it
// first creates, as the connecting user, what each schema needs: the roles
// (see the package doc), the schema owned by its role, without rights for
// PUBLIC.
//
// Errors: an invalid set (bad or repeated schema name, nil FS, misnamed or
// duplicate migration files) or a failing migration is an internal error
// naming the schema and file; a busy or unreachable database is
// fault.Unavailable.
func (s *Store) Migrate(ctx context.Context, sets ...MigrationSet) error {
	seen := make(map[string]bool, len(sets))
	for _, set := range sets {
		if err := checkSchema(set.Schema); err != nil {
			return err
		}
		if set.FS == nil {
			return fmt.Errorf("store: migration set %q has no FS", set.Schema)
		}
		if seen[set.Schema] {
			return fmt.Errorf("store: schema %q given twice to Migrate", set.Schema)
		}
		seen[set.Schema] = true
	}
	if err := s.backend.migrate(ctx, s, sets); err != nil {
		return Normalize(err)
	}
	return nil
}

// runGoose applies the pending migrations in fsys to db, recording them in
// the table "<schema>_migrations".
func (s *Store) runGoose(ctx context.Context, dialect goose.Dialect, db *sql.DB, schema string, fsys fs.FS) error {
	opts := []goose.ProviderOption{
		goose.WithTableName(schema + "_migrations"),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(s.log.With("schema", schema)),
		goose.WithVerbose(true),
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: migrations of %q: %w", schema, err)
	}
	// p.Close would close db, which the caller owns: not called.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %q: %w", schema, err)
	}
	return nil
}

// engineFS returns the migrations of src that apply to engine: the common
// files and the engine's variants, renamed without the engine part so that
// each version appears once, with the tokens in vars replaced.
func engineFS(src fs.FS, engine Engine, vars map[string]string) (fs.FS, error) {
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	out := fstest.MapFS{}
	byVersion := map[int64]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		base := name
		if v, ok := variantEngine(name); ok {
			if v != engine {
				continue
			}
			base = strings.TrimSuffix(name, "."+string(v)+".sql") + ".sql"
		}
		digits, _, _ := strings.Cut(base, "_")
		version, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql (a positive version number, then _)", name)
		}
		if prev, dup := byVersion[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s both give version %d to %s", prev, name, version, engine)
		}
		byVersion[version] = name
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		text := string(data)
		for token, value := range vars {
			text = strings.ReplaceAll(text, token, value)
		}
		out[base] = &fstest.MapFile{Data: []byte(text), Mode: 0o444}
	}
	return out, nil
}

// variantEngine reports the engine a file name is specific to, if any.
func variantEngine(name string) (Engine, bool) {
	for _, e := range []Engine{EngineSQLite, EnginePostgres} {
		if strings.HasSuffix(name, "."+string(e)+".sql") {
			return e, true
		}
	}
	return "", false
}
