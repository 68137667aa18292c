package messaging_test

import (
	"encoding/json"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/store"
)

// FuzzChatFrame sends one arbitrary frame to an authenticated member with a
// room selected, then a sentinel command: the connection must answer the
// sentinel (COMMAND?) unless the frame was a quit, never close with 1011 (a
// panic) and never answer with a 500 problem. `go test` runs the seeds;
// `go test -fuzz FuzzChatFrame ./internal/apps/messaging` explores.
func FuzzChatFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","content":"hi"}`, `{"type":"message","content":null}`, `{"type":"message","content":{"a":1}}`,
		`{"type":"select_room","room_id":-1}`, `{"type":"select_room","room_id":"9223372036854775808"}`,
		`{"type":"select_room","room_id":1,"since":"x"}`, `{"type":"get_past_messages","limit":1e9,"before":0}`,
		`{"type":"token","content":"a.b.c"}`, `{"type":"token","content":"eyJhbGciOiJub25lIn0.e30."}`, `{"type":null}`,
		`{"type":"quit"}`, `{}`, `[]`, `"x"`, `null`, `{"type":"message","content":"\u0000\ud800"}`, `{`, "\xff\xfe",
		`{"type":"message","type":"select_room","room_id":1}`, `{"type":"get_past_messages","limit":"10"}`,
	} {
		f.Add(seed)
	}
	n := start(f, store.EngineSQLite)
	alice := newMember(f, uuid.NewString(), 100)
	room := alice.createRoom(f, n, "fuzz")
	f.Fuzz(func(t *testing.T, frame string) {
		if len(frame) > 32<<10 {
			return // frames over the 64 KiB limit close with 1009 by design
		}
		c := join(t, n, alice, room)
		c.sendRaw(frame)
		c.sendRaw(`{"type":"sentinel"}`)
		for {
			fr, err := c.read()
			if err != nil {
				code := websocket.CloseStatus(err)
				var cmd struct{ Type string }
				if code == websocket.StatusNormalClosure && json.Unmarshal([]byte(frame), &cmd) == nil && cmd.Type == "quit" {
					return
				}
				t.Fatalf("frame %q: the connection ended (%d): %v", frame, code, err)
			}
			if fr.Type == "error" {
				var p struct{ Status int }
				if json.Unmarshal(fr.Data, &p) == nil && p.Status >= 500 {
					t.Fatalf("frame %q: %s", frame, fr)
				}
			}
			if fr.Type == "query" && fr.text() == "COMMAND?" {
				var cmd struct{ Type string }
				if json.Unmarshal([]byte(frame), &cmd) != nil || cmd.Type != "sentinel" {
					// The frame's own COMMAND? (an unknown type) may come first;
					// the sentinel's follows. Either way the connection answers.
					return
				}
			}
		}
	})
}
