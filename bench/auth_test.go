package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// BenchmarkSignIn: POST /auth/token with the password grant over loopback,
// from 4×GOMAXPROCS clients, with the default argon2id cost (m = 19 MiB,
// t = 2, p = 1): the sign-in rate the password hash allows on this machine.
func BenchmarkSignIn(b *testing.B) {
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, engine)
			if err := jobs.Migrate(ctx, st, nil); err != nil {
				b.Fatal(err)
			}
			if err := st.Migrate(ctx, mail.Migrations(), identity.Migrations()); err != nil {
				b.Fatal(err)
			}
			log := events.New(st, events.Options{})
			outbox := mail.NewOutbox(st, &mail.FileSender{Dir: b.TempDir(), From: "bench@example.test"}, mail.Options{Events: log})
			pool, err := identity.NewPool(st, identity.NewKeySet(st, identity.KeyOptions{Issuer: "http://bench.test"}), log, outbox, identity.PoolOptions{})
			if err != nil {
				b.Fatal(err)
			}
			const password = "correct horse battery staple"
			if _, err := pool.CreateUser(ctx, "bench@example.com", password, "Bench", true); err != nil {
				b.Fatal(err)
			}
			srv := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
			pool.Register(srv.API())
			ts := httptest.NewServer(srv.Handler())
			b.Cleanup(ts.Close)
			body := `{"grant_type":"password","email":"bench@example.com","password":"` + password + `"}`
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := http.Post(ts.URL+"/auth/token", "application/json", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("sign-in: %d", resp.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sign-ins/s")
		})
	}
}
