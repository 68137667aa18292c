// Package bench holds Tessera's benchmark scenarios: `go test -bench . ./bench`
// (Postgres variants need TESSERA_TEST_POSTGRES_URL). Results, with the machine
// and storage mode, go in docs/performance.md; benchmarks measure, tests assert.
package bench
