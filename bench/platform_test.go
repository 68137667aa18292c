package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

var engines = []store.Engine{store.EngineSQLite, store.EnginePostgres}

func benchStore(b *testing.B, engine store.Engine) *store.DB {
	b.Helper()
	s := storetest.Open(b, engine)
	set := store.MigrationSet{Schema: "bench", FS: fstest.MapFS{"0001_init.sql": {Data: []byte(
		"-- +goose Up\nCREATE TABLE bench_rows (id BIGINT PRIMARY KEY, body TEXT NOT NULL);\n")}}}
	if err := s.Migrate(context.Background(), set); err != nil {
		b.Fatal(err)
	}
	return s.App("bench")
}

// BenchmarkCommit: one InTx with one small INSERT per op, from 4×GOMAXPROCS
// goroutines, on each engine.
func BenchmarkCommit(b *testing.B) {
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			db := benchStore(b, engine)
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := next.Add(1)
					err := db.InTx(ctx, func(tx *store.Tx) error {
						_, err := tx.Exec(ctx, "INSERT INTO bench_rows (id, body) VALUES (?, ?)", id, "a small payload of some forty bytes....")
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkPointRead: one primary-key SELECT outside a transaction per op,
// from 4×GOMAXPROCS goroutines, over 10,000 rows.
func BenchmarkPointRead(b *testing.B) {
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			db := benchStore(b, engine)
			ctx := context.Background()
			const rows = 10_000
			err := db.InTx(ctx, func(tx *store.Tx) error {
				for i := range rows {
					if _, err := tx.Exec(ctx, "INSERT INTO bench_rows (id, body) VALUES (?, ?)", i, "row"); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var body string
				for pb.Next() {
					if err := db.QueryRow(ctx, "SELECT body FROM bench_rows WHERE id = ?", next.Add(1)%rows).Scan(&body); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

type echoInput struct {
	Body struct {
		Name  string `json:"name" maxLength:"30"`
		Level int    `json:"level" minimum:"0" maximum:"1000000"`
	}
}

type echoOutput struct {
	Body struct {
		Name  string `json:"name"`
		Level int    `json:"level"`
	}
}

// BenchmarkEdge: requests through the whole middleware chain (request id,
// headers, logs, metrics, recovery) over loopback: GET /healthz and a
// validated JSON POST.
func BenchmarkEdge(b *testing.B) {
	srv := httpapi.New(httpapi.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	huma.Post(srv.Group("/bench"), "/echo", func(_ context.Context, in *echoInput) (*echoOutput, error) {
		out := &echoOutput{}
		out.Body.Name, out.Body.Level = in.Body.Name, in.Body.Level
		return out, nil
	}, func(op *huma.Operation) { op.OperationID = "bench-echo" })
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	client := ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	run := func(b *testing.B, req func() (*http.Request, error)) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := req()
				if err != nil {
					b.Fatal(err)
				}
				resp, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
	b.Run("healthz", func(b *testing.B) {
		run(b, func() (*http.Request, error) { return http.NewRequest(http.MethodGet, ts.URL+"/healthz", nil) })
	})
	b.Run("json-post", func(b *testing.B) {
		run(b, func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, ts.URL+"/bench/echo", strings.NewReader(`{"name":"room","level":10}`))
			if err == nil {
				r.Header.Set("Content-Type", "application/json")
			}
			return r, err
		})
	})
}
