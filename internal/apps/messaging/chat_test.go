package messaging_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// TestChatProtocol drives the whole chat protocol with a real websocket
// client, frame by frame, on both engines.
func TestChatProtocol(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		entity := uuid.NewString()
		alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
		room := alice.createRoom(t, n, "general")

		// Before authentication every command is answered TOKEN?.
		a := dial(t, n.URL)
		a.send(map[string]any{"type": "select_room", "room_id": room})
		a.expect("query", "TOKEN?")
		a.sendRaw(`{"type":"token","content":"not.a.jwt"}`)
		a.expect("query", "TOKEN?")
		// Not JSON: BADJSON, and the connection stays open.
		a.sendRaw(`{"type": "token", "content": `)
		a.expect("status", "BADJSON")
		a.login(alice)

		// Authenticated: no room yet.
		a.send(map[string]any{"type": "message", "content": "hello?"})
		a.expect("query", "SELECTROOM?")
		a.send(map[string]any{"type": "get_past_messages"})
		a.expect("query", "SELECTROOM?")
		a.send(map[string]any{"type": "dance"})
		a.expect("query", "COMMAND?")
		a.sendRaw(`[1, 2]`)
		a.expect("query", "COMMAND?")

		// Missing or wrong fields are error frames naming the field.
		a.send(map[string]any{"type": "select_room"})
		a.expectError(422, "room_id")
		a.send(map[string]any{"type": "select_room", "room_id": "x"})
		a.expectError(422, "room_id")
		a.send(map[string]any{"type": "select_room", "room_id": room + 1000})
		a.expect("status", "NOTAUTHORIZED")
		a.send(map[string]any{"type": "select_room", "room_id": strconv.FormatInt(room, 10)}) // numeric strings too
		a.expect("status", "CONNECTED")

		// Bob joins through the entity rule the room got at creation.
		b := join(t, n, bob, room)

		// A message is stored, then echoed to every connection in the room,
		// the sender included.
		a.send(map[string]any{"type": "message", "content": "Fueled up and ready to go"})
		m1 := a.expectMessage("Fueled up and ready to go")
		if got := b.expectMessage("Fueled up and ready to go"); got != m1 {
			t.Fatalf("bob got %+v, alice %+v", got, m1)
		}
		if m1.RoomID != room || m1.Emitter != alice.user || m1.ID <= 0 || m1.CreatedAt.IsZero() {
			t.Fatalf("message %+v", m1)
		}
		b.send(map[string]any{"type": "message", "content": "¡Hola!"})
		m2 := b.expectMessage("¡Hola!")
		a.expectMessage("¡Hola!")

		// Content limits.
		a.send(map[string]any{"type": "message", "content": ""})
		a.expectError(422, "content")
		a.send(map[string]any{"type": "message", "content": strings.Repeat("é", 4001)})
		a.expectError(422, "content")
		a.send(map[string]any{"type": "message"})
		a.expectError(422, "content")
		a.send(map[string]any{"type": "message", "content": strings.Repeat("é", 4000)})
		a.expectMessage(strings.Repeat("é", 4000))
		b.expectMessage(strings.Repeat("é", 4000))

		// History, oldest first; limit and before page backwards.
		a.send(map[string]any{"type": "get_past_messages", "limit": 2})
		a.expectMessage("¡Hola!")
		a.expectMessage(strings.Repeat("é", 4000))
		a.send(map[string]any{"type": "get_past_messages", "before": m2.ID})
		a.expectMessage("Fueled up and ready to go")
		a.send(map[string]any{"type": "get_past_messages", "limit": 0})
		a.expectError(422, "limit")

		// Resume: a new connection selecting with since gets every later
		// message, then live ones.
		c := dial(t, n.URL)
		c.login(bob)
		c.send(map[string]any{"type": "select_room", "room_id": room, "since": m1.ID})
		c.expect("status", "CONNECTED")
		c.expectMessage("¡Hola!")
		c.expectMessage(strings.Repeat("é", 4000))
		a.send(map[string]any{"type": "message", "content": "live"})
		c.expectMessage("live")
		a.expectMessage("live")
		b.expectMessage("live")

		// Selecting another room leaves the previous one.
		other := alice.createRoom(t, n, "other")
		b.send(map[string]any{"type": "select_room", "room_id": other})
		b.expect("status", "CONNECTED")
		a.send(map[string]any{"type": "message", "content": "only in general"})
		a.expectMessage("only in general")
		b.send(map[string]any{"type": "message", "content": "in other"})
		if m := b.next().message(t); m.Content != "in other" || m.RoomID != other {
			t.Fatalf("after switching rooms bob got %+v", m)
		}

		// quit closes with 1000.
		a.send(map[string]any{"type": "quit"})
		if code := a.closeCode(); code != websocket.StatusNormalClosure {
			t.Fatalf("quit closed with %d", code)
		}
	})
}

// TestChatBadAuth: the third bad token gets BADAUTH and the connection
// closes with 1008.
func TestChatBadAuth(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	c := dial(t, n.URL)
	c.sendRaw(`{"type":"token","content":"bad"}`)
	c.expect("query", "TOKEN?")
	c.sendRaw(`{"type":"token","content":42}`)
	c.expect("query", "TOKEN?")
	other := newMember(t, uuid.NewString(), 100)
	other.token = other.token[:len(other.token)-2] + "xx" // bad signature
	c.send(map[string]string{"type": "token", "content": other.token})
	c.expect("status", "BADAUTH")
	if code := c.closeCode(); code != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %d, want 1008", code)
	}
}

// TestChatFlood: a member over the rate limit gets RATELIMITED and is
// closed with 1008; others in the room are unaffected.
func TestChatFlood(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	entity := uuid.NewString()
	alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
	room := alice.createRoom(t, n, "flood")
	a, b := join(t, n, alice, room), join(t, n, bob, room)
	for range 400 {
		b.sendRaw(`{"type":"dance"}`)
	}
	limited := false
	for {
		f, err := b.read()
		if err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
				t.Fatalf("flooder closed with %d (%v)", code, err)
			}
			break
		}
		if f.Type == "status" && f.text() == "RATELIMITED" {
			limited = true
		}
	}
	if !limited {
		t.Fatal("the flooder never got RATELIMITED")
	}
	a.send(map[string]any{"type": "message", "content": "still here"})
	a.expectMessage("still here")
}
