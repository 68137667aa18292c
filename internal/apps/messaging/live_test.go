package messaging_test

import (
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestPermissionChangesApplyToOpenConnections: a member banned, or whose
// rule is removed, stops receiving at once (no message committed after the
// change reaches it), is told NOTAUTHORIZED, and gets NOTAUTHORIZED on its
// next send; lifting the ban lets it receive again. On both engines.
func TestPermissionChangesApplyToOpenConnections(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		entity := uuid.NewString()
		alice, bob, carol := newMember(t, entity, 100), newMember(t, uuid.NewString(), 5), newMember(t, entity, 100)
		room := alice.createRoom(t, n, "moderated")
		members := "/messaging/rooms/" + strconv.FormatInt(room, 10) + "/members"
		// Bob (another entity) is invited and accepts.
		alice.mustDo(t, n, 201, "PUT", members, `{"entity_UUID":"`+bob.user+`","permissions":"rw","level":0}`)
		bob.mustDo(t, n, 200, "PUT", "/messaging/rooms/"+strconv.FormatInt(room, 10)+"/invitation", `{"accepted":true}`)
		a, b, c := join(t, n, alice, room), join(t, n, bob, room), join(t, n, carol, room)

		say := func(text string, to ...*client) {
			t.Helper()
			a.send(map[string]any{"type": "message", "content": text})
			a.expectMessage(text)
			for _, x := range to {
				x.expectMessage(text)
			}
		}
		say("before the ban", b, c)

		// The ban: bob is told at once; nothing said after it reaches him.
		alice.mustDo(t, n, 200, "PUT", members, `{"entity_UUID":"`+bob.user+`","permissions":"b","level":0}`)
		b.expect("status", "NOTAUTHORIZED")
		say("after the ban", c)
		say("marker", c) // carol has it: the hub has dispatched both to every subscription
		b.send(map[string]any{"type": "message", "content": "let me in"})
		b.expect("status", "NOTAUTHORIZED") // the next frame: no message was queued for him
		b.send(map[string]any{"type": "get_past_messages"})
		b.expect("status", "NOTAUTHORIZED")
		b.send(map[string]any{"type": "select_room", "room_id": room})
		b.expect("status", "NOTAUTHORIZED")

		// Lifting the ban (he selects the room again).
		alice.mustDo(t, n, 200, "PUT", members, `{"entity_UUID":"`+bob.user+`","permissions":"rw","level":0}`)
		b.send(map[string]any{"type": "select_room", "room_id": room})
		b.expect("status", "CONNECTED")
		say("welcome back", b, c)

		// Removing his rule has the same effect as a ban.
		alice.mustDo(t, n, 204, "DELETE", members+"/"+bob.user, "")
		b.expect("status", "NOTAUTHORIZED")
		say("after the removal", c)
		b.send(map[string]any{"type": "message", "content": "still there?"})
		b.expect("status", "NOTAUTHORIZED")

		// Deleting the room tells everyone in it.
		alice.mustDo(t, n, 204, "DELETE", "/messaging/rooms/"+strconv.FormatInt(room, 10), "")
		a.expect("status", "NOTAUTHORIZED")
		c.expect("status", "NOTAUTHORIZED")
		a.send(map[string]any{"type": "message", "content": "anyone?"})
		a.expect("status", "NOTAUTHORIZED")
	})
}
