package authz

import (
	"context"
	"net/http"
	"strings"
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

func TestAdminKeysPageAndRevokeIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		keys := NewAdminKeys(s.App(Schema))
		var ids []string
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			k, _, err := keys.Create(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, k.ID)
		}
		// Pages of 2 from the start, each after the previous page's cursor.
		var got []string
		after := ""
		for range 5 {
			page, next, err := keys.ListPage(ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Fatalf("page of %d", len(page))
			}
			for _, k := range page {
				got = append(got, k.ID)
			}
			if after = next; after == "" {
				break
			}
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Fatalf("paged %v, want %v", got, ids)
		}
		if page, next, err := keys.ListPage(ctx, ids[3], 1); err != nil || len(page) != 1 || page[0].ID != ids[4] || next != "" {
			t.Fatalf("last page: %v %q %v", page, next, err)
		}

		// RevokeIn answers the key as it now is and whether it changed.
		revoke := func(id string) (AdminKey, bool, error) {
			var key AdminKey
			var changed bool
			err := s.Admin().InTx(ctx, func(tx *store.Tx) error {
				var err error
				key, changed, err = keys.RevokeIn(tx.Context(), tx, id)
				return err
			})
			return key, changed, err
		}
		k, changed, err := revoke(ids[1])
		if err != nil || !changed || k.ID != ids[1] || k.Name != "b" || k.RevokedAt == nil {
			t.Fatalf("revoke: %+v %v %v", k, changed, err)
		}
		again, changed, err := revoke(ids[1])
		if err != nil || changed || again.RevokedAt == nil || !again.RevokedAt.Equal(*k.RevokedAt) {
			t.Fatalf("revoke again: %+v %v %v", again, changed, err)
		}
		if _, _, err := revoke("nope"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		// A name is trimmed, at most 200 characters (not bytes), without
		// control characters.
		if k, _, err := keys.Create(ctx, "  "+strings.Repeat("é", 200)+" "); err != nil || k.Name != strings.Repeat("é", 200) {
			t.Fatalf("200 characters: %v", err)
		}
		for _, bad := range []string{strings.Repeat("x", 201), "a\tb", "a\nb", "a\x00b", "a\xffb"} {
			if _, _, err := keys.Create(ctx, bad); !fault.Is(err, fault.Invalid) {
				t.Fatalf("name %q: %v", bad, err)
			}
		}
	})
}

// TestAdminKeyForgottenAfterCommit: a Verify while the revoking transaction
// is open still sees the key live (and may cache it again); once the
// transaction committed the key fails at once, cached or not.
func TestAdminKeyForgottenAfterCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, Migrations()); err != nil {
			t.Fatal(err)
		}
		keys := NewAdminKeys(s.App(Schema))
		keys.CacheTTL = time.Hour
		k, secret, err := keys.Create(ctx, "ops")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := keys.Verify(ctx, k.ID, secret); !ok || err != nil {
			t.Fatalf("verify: %v %v", ok, err)
		}
		err = s.Admin().InTx(ctx, func(tx *store.Tx) error {
			if _, _, err := keys.RevokeIn(tx.Context(), tx, k.ID); err != nil {
				return err
			}
			// Not committed: the key still works (from the cache; had it
			// been forgotten already, read again live and cached again).
			ok, err := keys.Verify(ctx, k.ID, secret)
			if !ok || err != nil {
				t.Errorf("verify during the revocation: %v %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := keys.Verify(ctx, k.ID, secret); ok || err != nil {
			t.Fatalf("revoked key still verifies after the commit: %v %v", ok, err)
		}

		// A rolled-back revocation forgets nothing and revokes nothing.
		k2, secret2, err := keys.Create(ctx, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := keys.Verify(ctx, k2.ID, secret2); !ok || err != nil {
			t.Fatalf("verify: %v %v", ok, err)
		}
		rollback := fault.New(fault.Conflict, "roll back")
		err = s.Admin().InTx(ctx, func(tx *store.Tx) error {
			if _, _, err := keys.RevokeIn(tx.Context(), tx, k2.ID); err != nil {
				return err
			}
			return rollback
		})
		if !fault.Is(err, fault.Conflict) {
			t.Fatalf("rollback: %v", err)
		}
		keys.mu.Lock()
		_, cached := keys.cache[k2.ID]
		keys.mu.Unlock()
		if !cached {
			t.Fatal("a rolled-back revocation forgot the key")
		}
		if ok, err := keys.Verify(ctx, k2.ID, secret2); !ok || err != nil {
			t.Fatalf("key of a rolled-back revocation: %v %v", ok, err)
		}
	})
}
