package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// pauseTimeout bounds the wait for the database's write lock: a write
// transaction of the node longer than this fails the backup.
const pauseTimeout = 30 * time.Second

// stepPages is how many pages one step of the database copy moves (4 MiB
// at the default page size): the progress granularity.
const stepPages = 1024

// sqlitePath returns the file a sqlite:// database URL names, and false
// for any other URL (Postgres).
func sqlitePath(dsn string) (string, bool) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok || !strings.EqualFold(scheme, "sqlite") {
		return "", false
	}
	return rest, true
}

// pinned is a read transaction that holds the database as it was at one
// instant, on a connection of its own pool; close ends it.
type pinned struct {
	db   *sql.DB
	conn *sql.Conn
}

// pin pauses the writers of the database at path (it takes the write lock,
// waiting up to pauseTimeout for a running write transaction), opens a read
// transaction, runs whilePaused, and lets the writers go on. It returns the
// pinned read transaction and how long the writers were held.
func pin(ctx context.Context, path string, whilePaused func() error) (_ *pinned, paused time.Duration, err error) {
	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_pragma=busy_timeout(%d)", path, pauseTimeout.Milliseconds()))
	if err != nil {
		return nil, 0, fmt.Errorf("open database: %w", err)
	}
	p := &pinned{db: db}
	defer func() {
		if err != nil {
			err = errors.Join(err, p.close())
		}
	}()
	w, err := db.Conn(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("open database: %w", err)
	}
	defer w.Close()
	if p.conn, err = db.Conn(ctx); err != nil {
		return nil, 0, fmt.Errorf("open database: %w", err)
	}
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, 0, fmt.Errorf("pause the database's writers: %w", store.Normalize(err))
	}
	start := time.Now()
	_, err = p.conn.ExecContext(ctx, "BEGIN")
	if err == nil {
		// The read transaction starts at its first read.
		var n int
		err = p.conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
	}
	if err == nil {
		err = whilePaused()
	}
	_, rerr := w.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	paused = time.Since(start)
	if err = errors.Join(err, rerr); err != nil {
		return nil, 0, fmt.Errorf("pin the database: %w", err)
	}
	return p, paused, nil
}

// schemas returns the latest applied migration version of every schema
// (the "<schema>_migrations" tables).
func (p *pinned) schemas(ctx context.Context) (map[string]int64, error) {
	tables, err := p.migrationTables(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema versions: %w", err)
	}
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		var v int64
		q := `SELECT COALESCE(MAX(version_id), 0) FROM "` + strings.ReplaceAll(t, `"`, `""`) + `" WHERE is_applied` // #nosec G202 -- a table name read from sqlite_master, quoted
		if err := p.conn.QueryRowContext(ctx, q).Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema version of %s: %w", t, err)
		}
		out[strings.TrimSuffix(t, "_migrations")] = v
	}
	return out, nil
}

// migrationTables lists the tables named "<schema>_migrations".
func (p *pinned) migrationTables(ctx context.Context) ([]string, error) {
	rows, err := p.conn.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\_migrations' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		tables = append(tables, name)
	}
	return tables, rows.Err()
}

// copyTo writes the pinned database to a new SQLite file at dst with
// SQLite's online backup, stepPages at a time, calling step with the bytes
// copied and the total after each step.
func (p *pinned) copyTo(ctx context.Context, dst string, step func(done, total int64)) error {
	var pageSize int64
	if err := p.conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	err := p.conn.Raw(func(dc any) error {
		bc, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver has no online backup")
		}
		b, err := bc.NewBackup(dst)
		if err != nil {
			return err
		}
		for more := true; more; {
			if err := ctx.Err(); err != nil {
				return errors.Join(err, b.Finish())
			}
			if more, err = b.Step(stepPages); err != nil {
				return errors.Join(err, b.Finish())
			}
			total := int64(b.PageCount())
			step((total-int64(b.Remaining()))*pageSize, total*pageSize)
		}
		return b.Finish()
	})
	if err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	return nil
}

// close ends the read transaction and closes the pool; it may be called
// again.
func (p *pinned) close() error {
	if p.db == nil {
		return nil
	}
	if p.conn != nil {
		_, _ = p.conn.ExecContext(context.Background(), "ROLLBACK") // none open after a failed BEGIN
		_ = p.conn.Close()
	}
	db := p.db
	p.db, p.conn = nil, nil
	return db.Close()
}

// inUse reports whether some connection (a node, a command) has the
// database at path open. In WAL mode every open connection holds a shared
// lock on the file, so an exclusive lock cannot be had while one does.
func inUse(ctx context.Context, path string) (bool, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return false, fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("open database: %w", err)
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN EXCLUSIVE")
	if err == nil {
		var n int
		err = conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
	}
	switch {
	case err == nil:
		return false, nil
	case fault.CodeOf(store.Normalize(err)) == fault.Unavailable: // busy or locked
		return true, nil
	default:
		return false, fmt.Errorf("check whether the database is in use: %w", err)
	}
}

// checkIntegrity runs SQLite's integrity check on the database file at
// path.
func checkIntegrity(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("not a SQLite database: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		problems = append(problems, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("not a SQLite database: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}
