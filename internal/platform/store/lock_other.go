//go:build !unix

package store

import "context"

// lockFile is a no-op where flock is not available: there, do not run two
// migrations of one SQLite file at once.
func lockFile(context.Context, string) (unlock func(), err error) {
	return func() {}, nil
}
