package authz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// benchMiddleware measures the authorizer's overhead per request (the
// middleware around a handler that does nothing) and reports the median.
func benchMiddleware(b *testing.B, app, authz string, cache bool) {
	w := newWorld(b)
	if !cache {
		w.a.cache = nil
	}
	w.now = time.Now()
	if authz == "platform" {
		authz = "Bearer " + w.platformToken(map[string]any{"org_id": "org1"})
	}
	benchWith(b, w, app, authz)
}

func benchWith(b *testing.B, w *world, app, authz string) {
	h := w.a.Middleware(app)(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			b.Fatal("not authenticated")
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/"+app+"/x", nil)
	rec := httptest.NewRecorder()
	samples := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Header.Set("Authorization", authz)
		start := time.Now()
		h.ServeHTTP(rec, r)
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	measure.ReportLatencies(b, samples, time.Microsecond)
}

// BenchmarkAuthorizerPlatformEdDSA: a client sending its token again (the
// verified-token cache hit, the steady state).
func BenchmarkAuthorizerPlatformEdDSA(b *testing.B) { benchMiddleware(b, "records", "platform", true) }

// BenchmarkAuthorizerPlatformEdDSAUncached: every request verifies the
// signature (a token's first use).
func BenchmarkAuthorizerPlatformEdDSAUncached(b *testing.B) {
	benchMiddleware(b, "records", "platform", false)
}

// BenchmarkAuthorizerAdminKey uses an in-memory key verifier: the database
// lookup of AdminKeys is measured by BenchmarkAdminKeysVerify.
func BenchmarkAuthorizerAdminKey(b *testing.B) {
	benchMiddleware(b, AppAdmin, basic("key1", "s3cret"), true)
}

func BenchmarkAdminKeysVerify(b *testing.B) {
	s := storetest.Open(b, store.EngineSQLite)
	ctx := context.Background()
	if err := s.Migrate(ctx, Migrations()); err != nil {
		b.Fatal(err)
	}
	keys := NewAdminKeys(s.App(Schema))
	keys.CacheTTL = 0 // the query itself
	k, secret, err := keys.Create(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ok, err := keys.Verify(ctx, k.ID, secret)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkAuthorizerAdminKeySQLite(b *testing.B) {
	s := storetest.Open(b, store.EngineSQLite)
	ctx := context.Background()
	if err := s.Migrate(ctx, Migrations()); err != nil {
		b.Fatal(err)
	}
	keys := NewAdminKeys(s.App(Schema))
	k, secret, err := keys.Create(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	w := newWorld(b)
	if w.a, err = New(Options{AdminKeys: keys, Directory: w.dir}); err != nil {
		b.Fatal(err)
	}
	benchWith(b, w, AppAdmin, basic(k.ID, secret))
}
