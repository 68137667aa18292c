package store

import (
	"context"
	"database/sql"
)

// Scanner is a row to scan: *sql.Row or *sql.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// Collect runs query through q and scans every row with scan, closing the
// rows; errors come back normalized (see Normalize). A query that matches
// nothing gives an empty, non-nil slice.
func Collect[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, Normalize(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, Normalize(err)
		}
		out = append(out, v)
	}
	return out, Normalize(rows.Err())
}

// ScanOne is a scan function for a single column.
func ScanOne[T any](r Scanner) (T, error) {
	var v T
	err := r.Scan(&v)
	return v, err
}

var _ Scanner = (*sql.Row)(nil)
