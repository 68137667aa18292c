// Package servicetest runs private service processes for tests: a Postgres
// server and a redis-server of the test's own, on free ports of 127.0.0.1,
// which the test may stop, start and restart (fault tests) without
// disturbing the shared servers other tests use. Each is stopped and its
// files removed when the test ends; a test whose binaries are not installed
// is skipped.
//
// A server value belongs to the test that started it: call its methods from
// that test's goroutine (they fail the test with t.Fatal).
package servicetest
