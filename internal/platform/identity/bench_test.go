package identity

import (
	"context"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// BenchmarkVerify measures access token verification on the SQLite store
// (keys are in memory after the first load; the database is not touched).
// Run with -cpu 1 for the one-core figure:
//
//	go test -run '^$' -bench Verify -cpu 1 ./internal/platform/identity/
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int
	}{{"signature", -1}, {"cached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			s := storetest.Open(b, store.EngineSQLite)
			ctx := context.Background()
			if err := s.Migrate(ctx, Migrations()); err != nil {
				b.Fatal(err)
			}
			ks := NewKeySet(s, KeyOptions{Issuer: testIssuer, CacheSize: bc.cache})
			tok, err := ks.Mint(ctx, Claims{UserID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Email: "ann@example.com",
				ClientID: "restaurants-staff", Attributes: map[string]string{"restaurantId": "r1", "restaurantRole": "manager"}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ks.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPasswordCheck is the argon2id cost of one sign-in with
// DefaultArgon2 (one hash per attempt; the sign-in rate per core is its
// inverse).
func BenchmarkPasswordCheck(b *testing.B) {
	h, err := HashPassword("correct horse battery", DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := CheckPassword("correct horse battery", h, DefaultArgon2); !ok {
			b.Fatal("no match")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}
