package scheduling_test

import (
	"os"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestTwoNodes: an editor on one node, a subscriber on another, one
// Postgres and one Redis. Every change reaches the subscriber within a
// second, and removing the subscriber from the org closes their socket on
// the other node with 4003.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("TESSERA_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set TESSERA_TEST_REDIS_URL to run the multi-node test")
	}
	dsn := storetest.DSN(t, store.EnginePostgres)
	apps := []app.App{scheduling.App()}
	n1 := nodetest.Start(t, nodetest.ConfigAt(t, dsn, apps, "TESSERA_REDIS="+redisURL), apps...)
	n2 := nodetest.Start(t, nodetest.ConfigAt(t, dsn, apps, "TESSERA_REDIS="+redisURL), apps...)

	// Users made in the shared pool (the sign-up mail may be sent by either node).
	users := n1.Identity().Users
	for _, email := range []string{"ed@two.example", "sub@two.example"} {
		if _, err := users.CreateUser(t.Context(), email, password, email, true); err != nil {
			t.Fatal(err)
		}
	}
	ed := member{email: "ed@two.example", token: n1.SignIn(t, "ed@two.example", password)}
	sub := member{email: "sub@two.example", token: n2.SignIn(t, "sub@two.example", password)}
	u, err := users.GetUserByEmail(t.Context(), sub.email)
	if err != nil {
		t.Fatal(err)
	}
	sub.id = u.ID
	newOrg(t, n1, &ed, "Two nodes")
	join(t, n1, ed, &sub, "member")

	e, s := dial(t, n1, ed), dial(t, n2, sub)
	var room scheduling.Resource
	e.do("resources.create", map[string]any{"name": "Room"}, &room)
	var win struct {
		SubscriptionID string `json:"subscription_id"`
	}
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
	s.do("subscribe.events", map[string]any{"from": at(day, "00:00"), "to": at(day, "23:59"), "resource_ids": []string{room.ID}}, &win)

	for i, slot := range []string{"09:00", "10:00", "11:00"} {
		var ev scheduling.Booking
		start := time.Now()
		e.do("events.create", map[string]any{"title": "meeting", "start": at(day, slot), "end": at(day, slot[:2]+":30"), "resource_ids": []string{room.ID}}, &ev)
		s.expectPush(win.SubscriptionID, scheduling.EventEventCreated, ev.ID)
		if d := time.Since(start); d > time.Second {
			t.Errorf("change %d reached the other node after %v, want < 1 s", i, d)
		}
	}

	e.do("users.remove", map[string]any{"user_id": sub.id}, nil)
	if code := s.closeCode(); code != scheduling.StatusRemoved {
		t.Fatalf("removed member's socket on the other node closed with %d, want 4003", code)
	}
}
