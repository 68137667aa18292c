package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// errNested is the cause of the fault returned by a nested InTx.
var errNested = errors.New("store: a transaction of this store is already open in this context: use its *Tx")

// Normalize maps a driver error to a fault, once, in one place:
//
//   - unique or primary key violation (SQLite SQLITE_CONSTRAINT_UNIQUE /
//     _PRIMARYKEY, Postgres 23505) and exclusion violation (Postgres 23P01,
//     e.g. a double booking) → fault.Conflict;
//   - foreign key violation (SQLite SQLITE_CONSTRAINT_FOREIGNKEY, Postgres
//     23503), whether the referenced row is missing or still referenced →
//     fault.Conflict: the request clashes with the state of other records;
//   - NOT NULL and CHECK violations → fault.Invalid;
//   - busy or locked (SQLITE_BUSY, SQLITE_LOCKED), serialization failure
//     (40001) and deadlock (40P01) that outlived the retries, and lost or
//     refused connections → fault.Unavailable with RetryAfter 1.
//
// The fault's message is client-safe; the driver error stays its cause (for
// logs and for errors.As). nil, errors that already carry a fault,
// sql.ErrNoRows (see [NotFound]), context errors and every other error are
// returned unchanged.
//
// DB.Exec, DB.Query, DB.InTx and the Tx methods normalize already. Call
// Normalize on the error of (*sql.Row).Scan or (*sql.Rows).Err when the
// statement can violate a constraint (INSERT … RETURNING), or use [NotFound].
func Normalize(err error) error {
	if err == nil || fault.As(err) != nil || errors.Is(err, sql.ErrNoRows) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return normalizeSQLite(err, se.Code())
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return normalizePostgres(err, pe.Code)
	}
	if isConnError(err) {
		return unavailable(err)
	}
	return err
}

// NotFound maps sql.ErrNoRows to fault.NotFound with the message
// "<what> not found", and normalizes any other error (see [Normalize]):
//
//	err := db.QueryRow(ctx, "SELECT name FROM messaging_rooms WHERE id = ?", id).Scan(&name)
//	if err != nil {
//		return store.NotFound(err, "room")
//	}
func NotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fault.Wrap(err, fault.NotFound, "%s not found", what)
	}
	return Normalize(err)
}

func normalizeSQLite(err error, code int) error {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return conflict(err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fkConflict(err)
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
		return invalid(err)
	}
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return unavailable(err)
	}
	return err
}

func normalizePostgres(err error, code string) error {
	switch code {
	case "23505", "23P01": // unique_violation, exclusion_violation
		return conflict(err)
	case "23503": // foreign_key_violation
		return fkConflict(err)
	case "23502", "23514": // not_null_violation, check_violation
		return invalid(err)
	case "22021", "22P05": // character_not_in_repertoire (invalid UTF-8), untranslatable_character (NUL)
		return fault.Wrap(err, fault.Malformed, "text must be UTF-8 without NUL characters")
	case "40001", "40P01", // serialization_failure, deadlock_detected
		"57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
		"53300": // too_many_connections
		return unavailable(err)
	}
	if len(code) == 5 && code[:2] == "08" { // connection_exception class
		return unavailable(err)
	}
	return err
}

// isConnError reports whether err means the connection was lost or could
// not be made.
func isConnError(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err)
}

// retryable reports whether a transaction (or single statement) that failed
// with err may simply be run again.
func retryable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

func conflict(err error) error {
	return fault.Wrap(err, fault.Conflict, "a conflicting record already exists")
}

func fkConflict(err error) error {
	return fault.Wrap(err, fault.Conflict, "the change conflicts with related records")
}

func invalid(err error) error {
	return fault.Wrap(err, fault.Invalid, "a value was rejected by a database constraint")
}

func unavailable(err error) error {
	return &fault.Error{Code: fault.Unavailable, Message: "the database is busy or unreachable, try again", RetryAfter: 1, Err: err}
}
