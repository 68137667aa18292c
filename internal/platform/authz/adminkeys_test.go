package authz

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

func TestAdminKeys(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		keys := NewAdminKeys(s.App(Schema))
		k1, secret, err := keys.Create(ctx, "ops")
		if err != nil {
			t.Fatal(err)
		}
		k2, _, err := keys.Create(ctx, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if len(secret) < 43 || k1.ID == "" || k1.Name != "ops" {
			t.Fatalf("key %+v secret %q", k1, secret)
		}
		// Only a hash is stored.
		var stored string
		if err := s.App(Schema).QueryRow(ctx, `SELECT secret_hash FROM authz_admin_keys WHERE id = ?`, k1.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == secret || stored != hashSecret(secret) {
			t.Fatalf("stored %q", stored)
		}

		w := newWorld(t)
		a, err := New(Options{AdminKeys: keys, Directory: w.dir})
		if err != nil {
			t.Fatal(err)
		}
		w.a = a
		res := w.do(AppAdmin, basic(k1.ID, secret), nil)
		if res.status != http.StatusNoContent || !res.p.IsAdmin || res.p.Via != ViaAdminKey || res.p.ClientID != k1.ID {
			t.Fatalf("status %d %+v", res.status, res.p)
		}
		for _, bad := range []string{basic(k1.ID, secret+"x"), basic(k2.ID, secret), basic("nope", secret), basic(k1.ID, "")} {
			if res := w.do(AppAdmin, bad, nil); res.status != 401 || res.www != challengeBasic {
				t.Fatalf("bad key: %d %q", res.status, res.www)
			}
		}

		if err := keys.Revoke(ctx, k1.ID); err != nil {
			t.Fatal(err)
		}
		if err := keys.Revoke(ctx, k1.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if err := keys.Revoke(ctx, "nope"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		if res := w.do(AppAdmin, basic(k1.ID, secret), nil); res.status != 401 {
			t.Fatalf("revoked key: %d", res.status)
		}
		// Another node (its own cache) stops accepting it within CacheTTL.
		other := NewAdminKeys(s.App(Schema))
		k3, secret3, err := other.Create(ctx, "n2")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		other.now = func() time.Time { return now }
		if ok, err := other.Verify(ctx, k3.ID, secret3); !ok || err != nil {
			t.Fatalf("verify: %v %v", ok, err)
		}
		if err := keys.Revoke(ctx, k3.ID); err != nil {
			t.Fatal(err)
		}
		now = now.Add(DefaultAdminKeyCacheTTL + time.Millisecond)
		if ok, err := other.Verify(ctx, k3.ID, secret3); ok || err != nil {
			t.Fatalf("revoked elsewhere, still accepted after CacheTTL: %v %v", ok, err)
		}
		list, err := keys.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || list[0].ID != k1.ID || list[0].RevokedAt == nil || list[1].RevokedAt != nil || list[1].Name != "ci" || list[2].RevokedAt == nil {
			t.Fatalf("list %+v", list)
		}
	})
}
