package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

const restaurantsPassword = "correct horse battery staple"

// restaurantsNode is a node with the restaurants app and a PUBLIC
// restaurant whose manager signed up with the restaurants-staff client,
// plus signed-in customers (made with the user pool: few, argon2 is slow).
type restaurantsNode struct {
	n          *nodetest.Node
	client     *http.Client // keeps up to 64 idle connections to the node
	restaurant string
	manager    string // the manager's access token
	customers  []restaurantsCustomer
}

type restaurantsCustomer struct{ id, token string }

func startRestaurants(b *testing.B, engine store.Engine, customers int) *restaurantsNode {
	b.Helper()
	ctx := context.Background()
	apps := []app.App{restaurants.App()}
	n := nodetest.Start(b, nodetest.Config(b, engine, apps), apps...)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	rn := &restaurantsNode{n: n, client: &http.Client{Transport: tr}}

	// The manager: sign-up with the staff client, the mailed code, sign-in.
	const managerEmail = "manager@example.com"
	_, rn.manager = n.SignUp(b, managerEmail, restaurantsPassword, "Manager", restaurants.ClientStaff)
	mailtest.Wait(b, n.Config.MailDir(), managerEmail, "Welcome") // the job runner is idle again
	var r restaurants.Restaurant
	rn.mustJSON(b, rn.manager, http.StatusCreated, http.MethodPost, "/restaurants", `{"name":"Bench Bistro","region":"NORTH"}`, &r)
	rn.mustJSON(b, rn.manager, http.StatusOK, http.MethodPatch, "/restaurants/"+r.ID+"/visibility", `{"visibility":"PUBLIC"}`, &r)
	rn.restaurant = r.ID

	for i := range customers {
		email := fmt.Sprintf("customer%d@example.com", i)
		u, err := n.Identity().Users.CreateUser(ctx, email, restaurantsPassword, fmt.Sprintf("Customer %d", i), true)
		if err != nil {
			b.Fatal(err)
		}
		rn.customers = append(rn.customers, restaurantsCustomer{id: u.ID, token: n.SignIn(b, email, restaurantsPassword)})
	}
	return rn
}

// countMails counts the mails in the sink dir: complete files only (a mail
// is written under a dot name, then renamed into place).
func countMails(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	n := 0
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), ".") {
			n++
		}
	}
	return n
}

// do sends one request with token over the node's client and reads the
// whole answer; safe from any goroutine.
func (rn *restaurantsNode) do(token, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, rn.n.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rn.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (rn *restaurantsNode) mustJSON(b *testing.B, token string, want int, method, path, body string, v any) {
	b.Helper()
	status, resp, err := rn.do(token, method, path, body)
	if err != nil {
		b.Fatal(err)
	}
	if status != want {
		b.Fatalf("%s %s: %d %s, want %d", method, path, status, resp, want)
	}
	if err := json.Unmarshal(resp, v); err != nil {
		b.Fatalf("%s %s: %v in %s", method, path, err, resp)
	}
}

// BenchmarkRestaurantsCreateSeating: POST /restaurants/{id}/seatings over
// loopback from 16 clients (4 customers, 4 clients each), seatingTime in the
// coming 60 days, numSeats 1–50, on each engine. Each creation is one
// transaction holding the seating, its event and the durable jobs of the
// event's handlers (the customer's and the staff's mails), which the node's
// job runner works off meanwhile. One op is one seating: seatings/s is the
// count over the wall time until the last answer; p50/p99 are per request;
// mailed-seatings/s is the count over the wall time until both mails of
// every seating (the customer's, the manager's) are in the mail sink.
func BenchmarkRestaurantsCreateSeating(b *testing.B) {
	const clients = 16
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			rn := startRestaurants(b, engine, 4)
			path := "/restaurants/" + rn.restaurant + "/seatings"
			base := time.Now().Add(time.Hour).Truncate(time.Minute)
			const spread = 60 * 24 * time.Hour

			work := make(chan int)
			var wg sync.WaitGroup
			var failed atomic.Bool
			lat := make([][]time.Duration, clients)
			for w := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					token := rn.customers[w%len(rn.customers)].token
					for i := range work {
						if failed.Load() {
							continue // drain
						}
						at := base.Add(time.Duration(i) * 7 * time.Minute % spread)
						body := fmt.Sprintf(`{"seatingTime":%q,"numSeats":%d,"notes":"bench %d"}`, at.Format(time.RFC3339), 1+i%50, i)
						start := time.Now()
						status, resp, err := rn.do(token, http.MethodPost, path, body)
						lat[w] = append(lat[w], time.Since(start))
						if err != nil || status != http.StatusCreated {
							if !failed.Swap(true) {
								b.Errorf("create seating: %d %s %v", status, resp, err)
							}
						}
					}
				}()
			}
			mailsBefore := countMails(rn.n.Config.MailDir())
			start := time.Now()
			sent := 0
			for b.Loop() {
				work <- sent
				sent++
			}
			close(work)
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "seatings/s")
			measure.ReportLatencies(b, slices.Concat(lat...), time.Millisecond)
			if failed.Load() {
				return
			}
			want := mailsBefore + 2*sent
			for deadline := time.Now().Add(2 * time.Minute); countMails(rn.n.Config.MailDir()) < want; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Logf("mails not all written within 2 min of the last seating: %d of %d", countMails(rn.n.Config.MailDir())-mailsBefore, 2*sent)
					return
				}
			}
			b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "mailed-seatings/s")
		})
	}
}

// BenchmarkRestaurantsListSeatings: GET /restaurants/{id}/seatings as the
// manager (the default page: 50 seatings from the start of today) over
// loopback, one request at a time, in a restaurant holding 10,000 seatings
// spread over the coming 60 days (inserted straight into the app's table),
// on each engine. One op is one request; p50/p99 are its latency.
func BenchmarkRestaurantsListSeatings(b *testing.B) {
	const seatings = 10_000
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			ctx := context.Background()
			rn := startRestaurants(b, engine, 2)
			st, err := store.Open(ctx, rn.n.Config.Database, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			db := st.App("restaurants")
			insertSeatings(b, db, rn, seatings)

			path := "/restaurants/" + rn.restaurant + "/seatings"
			var page struct {
				Items      []restaurants.Seating `json:"items"`
				NextCursor string                `json:"next_cursor"`
			}
			for range 20 { // warm up connections, caches and prepared statements
				rn.mustJSON(b, rn.manager, http.StatusOK, http.MethodGet, path, "", &page)
			}
			if len(page.Items) != 50 || page.NextCursor == "" {
				b.Fatalf("first page: %d items, next_cursor %q", len(page.Items), page.NextCursor)
			}

			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				status, resp, err := rn.do(rn.manager, http.MethodGet, path, "")
				lat = append(lat, time.Since(start))
				if err != nil || status != http.StatusOK {
					b.Fatalf("list seatings: %d %s %v", status, resp, err)
				}
			}
			b.StopTimer()
			measure.ReportLatencies(b, lat, time.Millisecond)
		})
	}
}

// insertSeatings inserts count PENDING or ACCEPTED seatings of the node's
// customers in its restaurant, one every 60 days / count from an hour from
// now, in one transaction of multi-row INSERTs; then, on Postgres, ANALYZEs
// the table as autovacuum would after such a load.
func insertSeatings(b *testing.B, db *store.DB, rn *restaurantsNode, count int) {
	b.Helper()
	ctx := context.Background()
	const cols = 13
	base := time.Now().Add(time.Hour)
	step := 60 * 24 * time.Hour / time.Duration(count)
	now := time.Now().UnixMicro()
	err := db.InTx(ctx, func(tx *store.Tx) error {
		i := 0
		for _, size := range store.Chunks(count, 512) {
			args := make([]any, 0, size*cols)
			for range size {
				status := restaurants.StatusPending
				if i%3 == 0 {
					status = restaurants.StatusAccepted
				}
				args = append(args, uuid.Must(uuid.NewV7()).String(), rn.restaurant, rn.customers[i%len(rn.customers)].id, status,
					base.Add(time.Duration(i)*step).UnixMicro(), 1+i%8, "", nil, "[]", 0, "", now, now)
				i++
			}
			_, err := tx.Exec(tx.Context(), `INSERT INTO restaurants_seatings (id, restaurant_id, user_id, status, seating_time, num_seats, notes,
				table_number, order_items, hailing, hail_reason, created_at, updated_at) VALUES `+store.Values(size, cols), args...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if db.Engine() == store.EnginePostgres {
		if _, err := db.Exec(ctx, "ANALYZE restaurants_seatings"); err != nil {
			b.Fatal(err)
		}
	}
}
