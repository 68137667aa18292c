package messaging_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestTwoNodesSurviveAKill: two node processes on one Postgres and one
// Redis. Members connected to different nodes chat; one node is killed
// with SIGKILL while a member's messages are in flight; that member
// reconnects to the other node and resumes with since. Every acknowledged
// (echoed) message is stored exactly once, the member on the surviving node
// received every stored message once and in order, and the resumed member's
// view has no gap and no duplicate.
func TestTwoNodesSurviveAKill(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("TESSERA_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set TESSERA_TEST_REDIS_URL to run the multi-node test")
	}
	dsn := storetest.DSN(t, store.EnginePostgres)
	spawn := func() *nodetest.Node {
		p := nodetest.Spawn(t, "TESSERA_DATABASE="+dsn, "TESSERA_DATA_DIR="+t.TempDir(), "TESSERA_REDIS="+redisURL,
			"TESSERA_MESSAGING_JWT_SECRET="+secret)
		return &nodetest.Node{URL: p.URL, Proc: p}
	}
	n1, n2 := spawn(), spawn()
	entity := uuid.NewString()
	alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
	room := alice.createRoom(t, n1, "cluster")
	a, b := join(t, n1, alice, room), join(t, n2, bob, room)

	// Cross-node: each sees the other's message.
	a.send(map[string]any{"type": "message", "content": "from node 1"})
	a.expectMessage("from node 1")
	b.expectMessage("from node 1")
	b.send(map[string]any{"type": "message", "content": "from node 2"})
	b.expectMessage("from node 2")
	a.expectMessage("from node 2")

	// Alice pipelines 60 messages; after 20 echoes node 1 is killed.
	const inFlight, afterKill = 60, 20
	for i := range inFlight {
		a.send(map[string]any{"type": "message", "content": fmt.Sprintf("before %d", i)})
	}
	var seen []int64 // what alice was shown, in order
	for len(seen) < 20 {
		seen = append(seen, a.next().message(t).ID)
	}
	n1.Proc.Kill()
	drainedFrom := len(seen)
	for {
		f, err := a.read()
		if err != nil {
			break
		}
		if f.Type == "message" {
			seen = append(seen, f.message(t).ID)
		}
	}

	// Alice resumes on node 2 from the last message she saw, then goes on.
	a2 := dial(t, n2.URL)
	a2.login(alice)
	a2.send(map[string]any{"type": "select_room", "room_id": room, "since": seen[len(seen)-1]})
	a2.expect("status", "CONNECTED")
	for i := range afterKill {
		a2.send(map[string]any{"type": "message", "content": fmt.Sprintf("after %d", i)})
	}
	last := fmt.Sprintf("after %d", afterKill-1)
	readUntil := func(c *client, content string) []int64 {
		var ids []int64
		for {
			m := c.next().message(t)
			ids = append(ids, m.ID)
			if m.Content == content {
				return ids
			}
		}
	}
	resumedFrom := len(seen)
	seen = append(seen, readUntil(a2, last)...)
	bobSaw := readUntil(b, last)

	// The history is the truth: what was committed, once each.
	var hist struct{ Items []messaging.Message }
	body := bob.mustDo(t, n2, http.StatusOK, "GET", "/messaging/rooms/"+strconv.FormatInt(room, 10)+"/messages?limit=500", "")
	if err := json.Unmarshal([]byte(body), &hist); err != nil {
		t.Fatal(err)
	}
	var stored []int64
	for _, m := range hist.Items[2:] { // after the two cross-node messages
		stored = append(stored, m.ID)
	}
	if n := len(stored); n < 20+afterKill || n > inFlight+afterKill {
		t.Fatalf("%d messages stored, want between %d and %d", n, 20+afterKill, inFlight+afterKill)
	}
	t.Logf("alice: %d echoes before the kill, %d drained after it, %d replayed or new on node 2; %d messages stored",
		drainedFrom, resumedFrom-drainedFrom, len(seen)-resumedFrom, len(stored))
	if !slices.Equal(bobSaw, stored) {
		t.Fatalf("bob (node 2) saw %v\nstored %v", bobSaw, stored)
	}
	if !slices.Equal(seen, stored) {
		t.Fatalf("alice (killed node, resumed) saw %v\nstored %v", seen, stored)
	}
}
