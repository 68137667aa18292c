package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The records benchmarks (docs/performance.md, "Records"):
//
//	go test ./bench/ -run '^$' -bench Records -benchtime 1x -timeout 60m
//
// Each workload runs for TESSERA_BENCH_SECONDS (default 10) after a warm-up
// of a second; TESSERA_BENCH_RECORDS (default 1,000,000) sets the size of
// the big table, for shorter runs (profiling, say). The Postgres variant
// needs TESSERA_TEST_POSTGRES_URL.

const (
	recordsClients  = 50 // concurrent connections of the load generator
	recordsSmall    = 1_000
	recordsBig      = 1_000_000
	recordsPageSize = 20
	recordsFollow   = 5 // pages followed from each deep starting point
	recordsPerTx    = 8192
	recordsMaxRows  = 1024 // rows of one multi-row INSERT
	recordsCols     = 8
	recordsPassword = "correct horse battery staple"
	recordsEmail    = "bench@records.example"
	// recordsListPath is the listing measured: signed contracts, newest
	// first, 20 a page (filter[status], URL-escaped).
	recordsListPath = "/records/contracts?filter%5Bstatus%5D=signed&sort=-created_at&limit=20"
)

// recordsStatuses spread the seeded contracts evenly: record i has
// recordsStatuses[i%4], so a quarter of them are signed.
var recordsStatuses = [...]string{"draft", "review", "signed", "expired"}

const recordsSigned = 2 // the index of "signed" in recordsStatuses

// recordsNode is a node with the records app, a user acting in their own
// org, and the contracts seeded in that org.
type recordsNode struct {
	n      *nodetest.Node
	client *http.Client // keeps up to 64 idle connections to the node
	token  string       // the user's access token (refreshed per workload)
	org    string
	ids    []uuid.UUID // the seeded contracts, oldest first (created_at order)
}

// recordsEnvInt reads a positive integer from the environment, def when
// unset.
func recordsEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// startRecords starts an in-process node with the records app on a fresh
// database of engine, signs a user up and gives them an org.
func startRecords(b *testing.B, engine store.Engine) *recordsNode {
	b.Helper()
	apps := []app.App{records.App()}
	n := nodetest.Start(b, nodetest.Config(b, engine, apps), apps...)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	rn := &recordsNode{n: n, client: &http.Client{Transport: tr}}
	_, rn.token = n.SignUp(b, recordsEmail, recordsPassword, "Bench", "")
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(testhttp.Expect(b, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Bench records"}`,
		testhttp.Bearer(rn.token))), &o); err != nil {
		b.Fatal(err)
	}
	rn.org = o.ID
	return rn
}

// recordsFields is seeded contract i's fields as the app stores them
// (json.Marshal of a map: keys sorted): a title, a value, a status of
// recordsStatuses in turn, and a signing date for signed and expired ones.
func recordsFields(buf []byte, i int) []byte {
	buf = append(buf, '{')
	status := recordsStatuses[i%len(recordsStatuses)]
	if status == "signed" || status == "expired" {
		on := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365)
		buf = append(append(append(buf, `"signed_on":"`...), on.Format(time.DateOnly)...), `",`...)
	}
	buf = append(append(append(buf, `"status":"`...), status...), `","title":"Contract `...)
	buf = append(strconv.AppendInt(buf, int64(i), 10), `","value":`...)
	buf = strconv.AppendFloat(buf, float64(i)+0.5, 'f', -1, 64)
	return append(buf, '}')
}

// seed inserts count contracts into the node's records_records straight
// through its store, as the app writes them (version 1, created_at =
// updated_at 100 µs apart, ending two days ago, ids UUIDv7), in
// transactions of 8,192 rows made of 1,024-row INSERTs: through the API
// a million would take minutes more. The field indexes exist already (the
// app creates them at mount), so the seed pays for them. On Postgres it then
// runs ANALYZE, as autovacuum would for a table this size. On SQLite it does
// not: Tessera never runs ANALYZE there, and the planner picks the status
// index without statistics (checked with EXPLAIN QUERY PLAN); with them the
// driver's SQLite (built with STAT4) would prepare every statement with an
// indexed equality again at each run. It returns the INSERTs' time and the
// ANALYZE's.
func (rn *recordsNode) seed(b *testing.B, count int) (seeded, analyzed time.Duration) {
	b.Helper()
	ctx := context.Background()
	db := rn.n.Store().App("records")
	base := time.Now().Add(-48*time.Hour).UnixMicro() - int64(count)*100
	rn.ids = make([]uuid.UUID, count)
	query := map[int]string{}
	t0 := time.Now()
	var fields []byte
	for first := 0; first < count; first += recordsPerTx {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			i := first
			for _, size := range store.Chunks(min(recordsPerTx, count-first), recordsMaxRows) {
				args := make([]any, 0, size*recordsCols)
				for range size {
					id := uuid.Must(uuid.NewV7())
					rn.ids[i] = id
					fields = recordsFields(fields[:0], i)
					at := base + int64(i)*100
					args = append(args, id.String(), rn.org, "contract", nil, string(fields), at, at, 1)
					i++
				}
				q, ok := query[size]
				if !ok {
					q = `INSERT INTO records_records (id, org_id, type, parent_id, fields, created_at, updated_at, version) VALUES ` +
						store.Values(size, recordsCols)
					query[size] = q
				}
				if _, err := tx.Exec(tx.Context(), q, args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	seeded = time.Since(t0)
	t1 := time.Now()
	if db.Engine() == store.EnginePostgres {
		if _, err := db.Exec(ctx, "ANALYZE records_records"); err != nil {
			b.Fatal(err)
		}
	}
	return seeded, time.Since(t1)
}

// refresh signs the user in again: access tokens last 15 minutes, and a
// run on Postgres takes longer.
func (rn *recordsNode) refresh(b *testing.B) {
	b.Helper()
	rn.token = rn.n.SignIn(b, recordsEmail, recordsPassword)
}

// send sends one request as the user (token, X-Org-ID) and reads the answer
// into buf; an answer other than want is an error quoting the body.
func (rn *recordsNode) send(buf *bytes.Buffer, method, path string, body []byte, want int) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, rn.n.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+rn.token)
	req.Header.Set("X-Org-ID", rn.org)
	resp, err := rn.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %.500s, want %d", method, path, resp.StatusCode, buf.Bytes(), want)
	}
	return nil
}

// recordsPage is an answer of GET /records/contracts.
type recordsPage struct {
	Items []struct {
		ID     string `json:"id"`
		Fields struct {
			Status string `json:"status"`
		} `json:"fields"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// signedDesc is the ids of the seeded signed contracts, newest first: what
// the measured listing pages through.
func (rn *recordsNode) signedDesc() []string {
	var out []string
	for i := len(rn.ids) - 1; i >= 0; i-- {
		if i%len(recordsStatuses) == recordsSigned {
			out = append(out, rn.ids[i].String())
		}
	}
	return out
}

// walk pages through the whole listing (limit pages of 20…500, so that
// there are about 100 of them), checks every id against the seed, and
// returns the next_cursor of each page but the last: the deep workload's
// starting points, spread over the listing's depth.
func (rn *recordsNode) walk(b *testing.B) []string {
	b.Helper()
	want := rn.signedDesc()
	limit := min(500, max(recordsPageSize, len(want)/100))
	var cursors []string
	var got []string
	var buf bytes.Buffer
	t0 := time.Now()
	for cursor := ""; ; {
		path := "/records/contracts?filter%5Bstatus%5D=signed&sort=-created_at&limit=" + strconv.Itoa(limit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := rn.send(&buf, http.MethodGet, path, nil, http.StatusOK); err != nil {
			b.Fatal(err)
		}
		var page recordsPage
		if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
		for _, it := range page.Items {
			if it.Fields.Status != "signed" {
				b.Fatalf("GET %s: record %s is %q", path, it.ID, it.Fields.Status)
			}
			got = append(got, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursors = append(cursors, page.NextCursor)
		cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		b.Fatalf("the listing walked %d signed contracts, the seed has %d (or another order)", len(got), len(want))
	}
	b.Logf("walked %d signed contracts in %d pages of %d in %v", len(got), len(cursors)+1, limit, time.Since(t0).Round(time.Millisecond))
	if len(cursors) == 0 {
		b.Fatal("the listing has a single page: no deep starting point")
	}
	return cursors
}

// checkFirstPage checks the measured listing's first page against the seed.
func (rn *recordsNode) checkFirstPage(b *testing.B) {
	b.Helper()
	var buf bytes.Buffer
	if err := rn.send(&buf, http.MethodGet, recordsListPath, nil, http.StatusOK); err != nil {
		b.Fatal(err)
	}
	var page recordsPage
	if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
		b.Fatal(err)
	}
	got := make([]string, len(page.Items))
	for i, it := range page.Items {
		got[i] = it.ID
	}
	if want := rn.signedDesc()[:recordsPageSize]; !slices.Equal(got, want) || page.NextCursor == "" {
		b.Fatalf("first page: %v (next %q), want %v", got, page.NextCursor, want)
	}
}

// recordsRequest sends one request of a workload with buf; it is called
// by one goroutine only.
type recordsRequest func(buf *bytes.Buffer) error

// run measures a workload as a sub-benchmark: recordsClients goroutines,
// each with its own request function (newClient(i)), send requests back to
// back over the node's client for TESSERA_BENCH_SECONDS per op, after a
// warm-up of a second. req/s is the answers over the wall time until the
// last; p50/p99/max are per request. Any answer but the expected one is
// counted and fails the benchmark, quoting the first.
func (rn *recordsNode) run(b *testing.B, name string, clients int, newClient func(i int) recordsRequest) {
	b.Helper()
	seconds := recordsEnvInt(b, "TESSERA_BENCH_SECONDS", 10)
	b.Run(name, func(b *testing.B) {
		rn.refresh(b)
		rn.drive(b, clients, time.Second, newClient) // connections, caches, statements
		var lat []time.Duration
		var wall, cpu time.Duration
		var sessions int64
		for b.Loop() {
			cpu0, sessions0 := processCPU(), rn.postgresSessions(b)
			l, w := rn.drive(b, clients, time.Duration(seconds)*time.Second, newClient)
			cpu += processCPU() - cpu0
			sessions += rn.postgresSessions(b) - sessions0
			lat, wall = append(lat, l...), wall+w
		}
		b.StopTimer()
		b.ReportMetric(float64(len(lat))/wall.Seconds(), "req/s")
		measure.ReportLatencies(b, lat, time.Millisecond)
		perReq := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(len(lat)) }
		b.ReportMetric(perReq(cpu), "cpu-µs/req")
		if rn.n.Store().App("records").Engine() == store.EnginePostgres {
			b.ReportMetric(float64(sessions)/wall.Seconds(), "pg-sessions/s")
		}
		b.ReportMetric(float64(len(rn.ids)), "records")
	})
}

// postgresSessions is the count of sessions (connections) opened on the
// node's Postgres database so far (pg_stat_database, whose counters may lag
// by a second); 0 on SQLite. Its growth over a workload shows how often
// the node's pools open connections.
func (rn *recordsNode) postgresSessions(b *testing.B) int64 {
	b.Helper()
	db := rn.n.Store().App("records")
	if db.Engine() != store.EnginePostgres {
		return 0
	}
	var n int64
	if err := db.QueryRow(context.Background(), `SELECT sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// drive runs the workload for d and returns the latencies of its requests
// and the wall time from the start to the last answer.
func (rn *recordsNode) drive(b *testing.B, clients int, d time.Duration, newClient func(i int) recordsRequest) ([]time.Duration, time.Duration) {
	b.Helper()
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	failures := make([]int, clients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range clients {
		req := newClient(i)
		wg.Go(func() {
			var buf bytes.Buffer
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := req(&buf)
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil {
					if errs[i] == nil {
						errs[i] = err
					}
					failures[i]++
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	all := slices.Concat(lat...)
	total, first := 0, error(nil)
	for i, f := range failures {
		total += f
		if first == nil {
			first = errs[i]
		}
	}
	if total > 0 {
		b.Fatalf("%d of %d requests failed; one of them: %v", total, len(all), first)
	}
	return all, wall
}

// BenchmarkRecords: the records API under a Go load generator of 50
// concurrent connections (one http.Client, in this process, as is the
// node: both share the machine's cores, and on Postgres with the server),
// authenticated as a user (access token + X-Org-ID) of an org holding
// the contracts, on each engine. Two nodes per engine, each on a fresh
// database: one whose org holds 1,000 contracts (rows-1000), one with
// 1,000,000 (rows-1000000). Each level first seeds its table ("seed": one
// op; seed-s is the INSERTs' time, seed-rows/s their rate, analyze-s the
// ANALYZE's; see seed), then runs the workloads, each one op of
// TESSERA_BENCH_SECONDS:
//
//   - list-first: GET /records/contracts?filter[status]=signed&sort=-created_at&limit=20
//     (the newest signed contracts; a quarter of the seed is signed);
//   - list-deep: the same listing from a random starting point of the whole
//     depth (the cursors of a walk through all of it, checked against the
//     seed), following next_cursor for 5 pages, then another start;
//   - list-first-1conn, list-deep-1conn: the same from one connection, one
//     request at a time: the listing's latency without queueing;
//   - get (1M only): GET /records/contracts/{id} of random seeded contracts;
//   - create (1M only, last): POST /records/contracts
//     {"fields":{"title":…,"value":…,"status":"review"}}.
//
// req/s is the answers over the wall time; p50/p99/max per request;
// cpu-µs/req is this process's CPU time (node, load generator, SQLite;
// user + system) per request: on a shared machine it says more about the
// cost than req/s does. pg-sessions/s is the Postgres connections the
// node opened per second of the workload.
func BenchmarkRecords(b *testing.B) {
	big := recordsEnvInt(b, "TESSERA_BENCH_RECORDS", recordsBig)
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			for _, count := range []int{recordsSmall, big} {
				b.Run("rows-"+strconv.Itoa(count), func(b *testing.B) {
					rn := startRecords(b, engine)
					b.Run("seed", func(b *testing.B) {
						seeded, analyzed := rn.seed(b, count)
						b.ReportMetric(seeded.Seconds(), "seed-s")
						b.ReportMetric(float64(count)/seeded.Seconds(), "seed-rows/s")
						b.ReportMetric(analyzed.Seconds(), "analyze-s")
					})
					if rn.ids == nil { // "seed" left out by -bench
						rn.seed(b, count)
					}
					rn.benchRecords(b, count == big)
					if err := rn.n.Stop(); err != nil { // before the next node
						b.Error(err)
					}
				})
			}
		})
	}
}

// benchRecords runs the workloads on rn; all of them with all, else the
// listings only.
func (rn *recordsNode) benchRecords(b *testing.B, all bool) {
	rn.checkFirstPage(b)
	cursors := rn.walk(b)

	first := func(int) recordsRequest {
		return func(buf *bytes.Buffer) error {
			if err := rn.send(buf, http.MethodGet, recordsListPath, nil, http.StatusOK); err != nil {
				return err
			}
			if recordsNextCursor(buf.Bytes()) == "" {
				return fmt.Errorf("first page without next_cursor: %.300s", buf.Bytes())
			}
			return nil
		}
	}
	deep := func(i int) recordsRequest {
		rng := rand.New(rand.NewPCG(uint64(i), 11)) //nolint:gosec // a reproducible workload
		cursor, left := "", 0
		return func(buf *bytes.Buffer) error {
			if left == 0 || cursor == "" {
				cursor, left = cursors[rng.IntN(len(cursors))], recordsFollow
			}
			path := recordsListPath + "&cursor=" + url.QueryEscape(cursor)
			if err := rn.send(buf, http.MethodGet, path, nil, http.StatusOK); err != nil {
				return err
			}
			if !bytes.Contains(buf.Bytes(), []byte(`"status":"signed"`)) {
				return fmt.Errorf("GET %s: no signed contract in %.300s", path, buf.Bytes())
			}
			cursor, left = recordsNextCursor(buf.Bytes()), left-1 // "" at the end: another start
			return nil
		}
	}
	rn.run(b, "list-first", recordsClients, first)
	rn.run(b, "list-deep", recordsClients, deep)
	rn.run(b, "list-first-1conn", 1, first)
	rn.run(b, "list-deep-1conn", 1, deep)
	if !all {
		return
	}

	rn.run(b, "get", recordsClients, func(i int) recordsRequest {
		rng := rand.New(rand.NewPCG(uint64(i), 12)) //nolint:gosec // a reproducible workload
		return func(buf *bytes.Buffer) error {
			id := rn.ids[rng.IntN(len(rn.ids))].String()
			if err := rn.send(buf, http.MethodGet, "/records/contracts/"+id, nil, http.StatusOK); err != nil {
				return err
			}
			if !bytes.Contains(buf.Bytes(), []byte(id)) {
				return fmt.Errorf("GET /records/contracts/%s: %.300s", id, buf.Bytes())
			}
			return nil
		}
	})

	rn.run(b, "create", recordsClients, func(i int) recordsRequest {
		n := 0
		var body []byte
		return func(buf *bytes.Buffer) error {
			n++
			body = fmt.Appendf(body[:0], `{"fields":{"title":"Bench contract %d-%d","value":%d.25,"status":"review"}}`, i, n, n)
			return rn.send(buf, http.MethodPost, "/records/contracts", body, http.StatusCreated)
		}
	})
}

// recordsNextCursor is a list answer's next_cursor ("" when absent),
// found without decoding the page: it comes after the items, and a cursor
// is base64url (nothing to unescape).
func recordsNextCursor(body []byte) string {
	const key = `"next_cursor":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
