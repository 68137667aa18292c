package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// Pool sizing on Postgres. Each schema handed out by App and the admin handle
// get their own pool, so a node holds at most (schemas + 1) × MaxOpenConns +
// rootMaxOpen connections. A pool keeps every connection it opened until it
// has been idle a minute: closing them as soon as load dips (when at most 2
// were kept) made 140–160 new connections a second under load, each a
// backend start, SET ROLE and an empty statement cache (the records bench:
// 1,728 gets/s then, 7,118 with idle connections kept).
const (
	rootMaxOpen     = 4
	poolMaxIdle     = 2 // the root pool's
	poolMaxIdleTime = time.Minute
	maxIdentLen     = 63 // Postgres' NAMEDATALEN - 1, in bytes
)

// pgBackend is one Postgres database: a root pool acting as the connecting
// user, and one lazily created pool per schema role.
type pgBackend struct {
	cfg     *pgx.ConnConfig // parsed DSN; copied for every pool, never modified
	root    *sql.DB         // the connecting user: bootstrap, migration lock, ping
	prefix  string          // lower(current_database()) + "_": prefix of every role
	maxOpen int

	mu     sync.Mutex         // guards pools and closed
	pools  map[string]*sql.DB // schema ("" for admin) → its pool
	closed bool
}

// openPostgres connects to dsn and learns the database name, from which every
// role name derives.
func openPostgres(ctx context.Context, dsn string, maxOpen int) (*pgBackend, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "store: invalid postgres URL")
	}
	root := stdlib.OpenDB(*cfg)
	root.SetMaxOpenConns(rootMaxOpen)
	root.SetMaxIdleConns(poolMaxIdle)
	root.SetConnMaxIdleTime(poolMaxIdleTime)

	var dbName string
	if err := root.QueryRowContext(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		_ = root.Close()
		return nil, Normalize(fmt.Errorf("store: connect to postgres: %w", err))
	}
	b := &pgBackend{
		cfg:     cfg,
		root:    root,
		prefix:  strings.ToLower(dbName) + "_",
		maxOpen: maxOpen,
		pools:   map[string]*sql.DB{},
	}
	for _, r := range []string{b.adminRole(), b.appsRole()} {
		if len(r) > maxIdentLen {
			_ = root.Close()
			return nil, fmt.Errorf("store: database name %q is too long: role %q would exceed Postgres' %d-byte limit", dbName, r, maxIdentLen)
		}
	}
	return b, nil
}

func (b *pgBackend) adminRole() string { return b.prefix + "admin" }
func (b *pgBackend) appsRole() string  { return b.prefix + "apps" }

// schemaRole returns the role owning schema, "<database>_<schema>".
func (b *pgBackend) schemaRole(schema string) (string, error) {
	if err := checkSchema(schema); err != nil {
		return "", err
	}
	r := b.prefix + schema
	if len(r) > maxIdentLen {
		return "", fmt.Errorf("store: role %q for schema %q exceeds Postgres' %d-byte limit: use a shorter database or schema name", r, schema, maxIdentLen)
	}
	return r, nil
}

// handle returns the pool of schema ("" for admin), creating it on first use.
func (b *pgBackend) handle(schema string) (write, read *sql.DB) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.pools[schema]; ok {
		return p, p
	}
	p := b.newPool(schema)
	if b.closed {
		_ = p.Close() // every call on the handle fails: the store is closed
		return p, p
	}
	b.pools[schema] = p
	return p, p
}

// newPool opens (lazily: no connection is made yet) the pool of schema, or of
// the admin role when schema is "". Every connection it makes runs SET ROLE
// and has its search_path set; a pool for an invalid schema name fails every
// connection attempt.
func (b *pgBackend) newPool(schema string) *sql.DB {
	cfg := b.cfg.Copy()
	var role string
	var bad error
	if schema == "" {
		role = b.adminRole()
	} else {
		role, bad = b.schemaRole(schema)
		path := schema + ", platform"
		if schema == "platform" {
			path = schema
		}
		if bad == nil {
			cfg.RuntimeParams["search_path"] = path
		}
	}
	p := stdlib.OpenDB(*cfg,
		stdlib.OptionBeforeConnect(func(context.Context, *pgx.ConnConfig) error { return bad }),
		stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
			if err := setRole(ctx, c, role); err != nil {
				return fmt.Errorf("store: handle of %q (was it migrated?): %w", schema, err)
			}
			if schema == "" {
				if err := b.setAdminSearchPath(ctx, c); err != nil {
					_ = c.Close(ctx)
					return err
				}
			}
			return nil
		}),
	)
	p.SetMaxOpenConns(b.maxOpen)
	p.SetMaxIdleConns(b.maxOpen)
	p.SetConnMaxIdleTime(poolMaxIdleTime)
	return p
}

// setRole makes c act as role; on failure it closes c (pgx's stdlib does not
// close a connection whose AfterConnect fails).
func setRole(ctx context.Context, c *pgx.Conn, role string) error {
	if _, err := c.Exec(ctx, "SET ROLE "+quoteIdent(role)); err != nil {
		_ = c.Close(ctx)
		return fmt.Errorf("set role %s: %w", role, err)
	}
	return nil
}

// setAdminSearchPath puts every Tessera schema of the database (the schemas
// owned by "<database>_<schema>") on c's search_path.
func (b *pgBackend) setAdminSearchPath(ctx context.Context, c *pgx.Conn) error {
	const q = `SELECT set_config('search_path',
		coalesce(string_agg(quote_ident(n.nspname), ', ' ORDER BY n.nspname), ''), false)
		FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
		WHERE r.rolname = $1::text || n.nspname`
	if _, err := c.Exec(ctx, q, b.prefix); err != nil {
		return fmt.Errorf("store: admin search_path: %w", err)
	}
	return nil
}

// refreshAdmin drops the admin pool's idle connections, so that new ones pick
// up schemas created since.
func (b *pgBackend) refreshAdmin() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.pools[""]; ok {
		p.SetMaxIdleConns(0)
		p.SetMaxIdleConns(b.maxOpen)
	}
}

// txOptions: serializable by default, like SQLite's single writer.
func (b *pgBackend) txOptions(iso Isolation) *sql.TxOptions {
	if iso == ReadCommitted {
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
}

func (b *pgBackend) ping(ctx context.Context) error { return b.root.PingContext(ctx) }

func (b *pgBackend) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	errs := []error{b.root.Close()}
	for _, p := range b.pools {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// quoteIdent quotes a Postgres identifier.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
