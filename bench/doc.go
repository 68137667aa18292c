// Package bench holds Tessera's benchmark scenarios: `go test -bench . ./bench`
// (Postgres variants need TESSERA_TEST_POSTGRES_URL). Results, with the machine
// and storage mode, go in docs/performance.md; benchmarks measure, tests assert.
//
// Load generators that drive a running server live in subdirectories:
// bench/chatload (the messaging chat protocol, `go run ./bench/chatload -h`)
// and bench/wsrss (memory per idle websocket connection).
package bench
