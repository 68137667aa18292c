package messaging_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// adminKey is an admin API key's Basic credentials.
type adminKey struct {
	id, secret string
}

func newAdminKey(t *testing.T, n *nodetest.Node) adminKey {
	t.Helper()
	key, secret, err := n.Identity().AdminKeys.Create(context.Background(), "messaging tests")
	if err != nil {
		t.Fatal(err)
	}
	return adminKey{id: key.ID, secret: secret}
}

// call sends a JSON request to /admin/messaging+path with the key.
func (k adminKey) call(t *testing.T, n *nodetest.Node, method, path, body string) reply {
	t.Helper()
	return request(t, method, n.URL+"/admin/messaging"+path, body, "application/json", testhttp.Basic(k.id, k.secret))
}

// mustCall is call expecting a status.
func (k adminKey) mustCall(t *testing.T, n *nodetest.Node, want int, method, path, body string) string {
	t.Helper()
	r := k.call(t, n, method, path, body)
	if r.status != want {
		t.Fatalf("admin %s %s %s: %d %s, want %d", method, path, body, r.status, r.body, want)
	}
	return r.body
}

// adminPage is an admin list's page.
type adminPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// TestAdminRoutes drives /admin/messaging with an admin API key, on both
// engines.
func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		key := newAdminKey(t, n)
		entity := uuid.NewString()
		alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
		alpha, beta, gamma := alice.createRoom(t, n, "Alpha Team"), alice.createRoom(t, n, "beta"), alice.createRoom(t, n, "Gamma team")
		other := newMember(t, uuid.NewString(), 100)
		elsewhere := other.createRoom(t, n, "elsewhere team")

		roomIDs := func(path string) ([]int64, string) {
			t.Helper()
			p := decode[adminPage[messaging.Room]](t, key.mustCall(t, n, http.StatusOK, "GET", path, ""))
			if p.Items == nil {
				t.Fatalf("%s: items is not an array", path)
			}
			var ids []int64
			for _, r := range p.Items {
				ids = append(ids, r.ID)
			}
			return ids, p.NextCursor
		}

		// Rooms: list with org_id, q, limit and cursor.
		if ids, next := roomIDs("/rooms?org_id=" + entity); !slices.Equal(ids, []int64{alpha, beta, gamma}) || next != "" {
			t.Errorf("rooms of the entity: %v next %q", ids, next)
		}
		ids, next := roomIDs("/rooms?org_id=" + entity + "&limit=2")
		if !slices.Equal(ids, []int64{alpha, beta}) || next == "" {
			t.Fatalf("first page: %v next %q", ids, next)
		}
		if ids, next := roomIDs("/rooms?org_id=" + entity + "&limit=2&cursor=" + next); !slices.Equal(ids, []int64{gamma}) || next != "" {
			t.Errorf("second page: %v next %q", ids, next)
		}
		if ids, _ := roomIDs("/rooms?org_id=" + entity + "&q=TEAM"); !slices.Equal(ids, []int64{alpha, gamma}) {
			t.Errorf("q=TEAM: %v", ids)
		}
		if ids, _ := roomIDs("/rooms?q=team"); !slices.Contains(ids, elsewhere) || slices.Contains(ids, beta) {
			t.Errorf("q=team across orgs: %v", ids)
		}
		if ids, _ := roomIDs("/rooms?org_id=" + uuid.NewString()); len(ids) != 0 {
			t.Errorf("unknown org: %v", ids)
		}
		expectProblem(t, "cursor abc", key.call(t, n, "GET", "/rooms?cursor=abc", ""), http.StatusUnprocessableEntity, "query.cursor")
		expectProblem(t, "limit 0", key.call(t, n, "GET", "/rooms?limit=0", ""), http.StatusUnprocessableEntity, "query.limit")

		// One room, with its rules.
		d := decode[messaging.RoomDetail](t, key.mustCall(t, n, http.StatusOK, "GET", "/rooms/"+strconv.FormatInt(beta, 10), ""))
		if d.Room.ID != beta || d.Room.Name != "beta" || len(d.Rules) != 2 {
			t.Errorf("admin GET room: %+v", d)
		}
		expectProblem(t, "unknown room", key.call(t, n, "GET", "/rooms/999999", ""), http.StatusNotFound, "")
		expectProblem(t, "room abc", key.call(t, n, "GET", "/rooms/abc", ""), http.StatusUnprocessableEntity, "path.id")

		// PATCH: rename and change level_admin (a member at the new level
		// becomes an admin of the room).
		betaPath := "/rooms/" + strconv.FormatInt(beta, 10)
		r := key.call(t, n, "PATCH", betaPath, `{"name":"Beta renamed","level_admin":"50"}`)
		if room := decode[messaging.Room](t, r.body); r.status != http.StatusOK || room.Name != "Beta renamed" || room.LevelAdmin != 50 || room.ID != beta {
			t.Fatalf("PATCH: %d %s", r.status, r.body)
		}
		if d := alice.getRoom(t, n, beta); d.Room.Name != "Beta renamed" || d.Room.LevelAdmin != 50 {
			t.Errorf("after PATCH: %+v", d.Room)
		}
		fifty := newMember(t, entity, 50)
		fifty.putRule(t, n, beta, http.StatusCreated, userRule(uuid.NewString(), "r"))
		if room := decode[messaging.Room](t, key.mustCall(t, n, http.StatusOK, "PATCH", betaPath, `{}`)); room.Name != "Beta renamed" || room.LevelAdmin != 50 {
			t.Errorf("empty PATCH changed the room: %+v", room)
		}
		expectProblem(t, "PATCH empty name", key.call(t, n, "PATCH", betaPath, `{"name":""}`), http.StatusUnprocessableEntity, "body.name")
		expectProblem(t, "PATCH bad level", key.call(t, n, "PATCH", betaPath, `{"level_admin":"abc"}`), http.StatusUnprocessableEntity, "body.level_admin")
		expectProblem(t, "PATCH unknown field", key.call(t, n, "PATCH", betaPath, `{"type":"user2user"}`), http.StatusBadRequest, "body.type")
		expectProblem(t, "PATCH unknown room", key.call(t, n, "PATCH", "/rooms/999999", `{"name":"x"}`), http.StatusNotFound, "")

		// Members: PUT (an invitation: the key is nobody's user) and DELETE.
		carol := newMember(t, uuid.NewString(), 100)
		r = key.call(t, n, "PUT", betaPath+"/members", userRule(carol.user, "rw"))
		if got := decode[messaging.Rule](t, r.body); r.status != http.StatusCreated || got.Accepted || got.Permissions != "rw" ||
			r.header.Get("Location") != "/admin/messaging"+betaPath+"/members/"+carol.user {
			t.Fatalf("admin PUT member: %d %s, Location %q", r.status, r.body, r.header.Get("Location"))
		}
		key.mustCall(t, n, http.StatusOK, "PUT", betaPath+"/members", userRule(carol.user, "r"))
		key.mustCall(t, n, http.StatusNoContent, "DELETE", betaPath+"/members/"+carol.user, "")
		expectProblem(t, "admin DELETE member again", key.call(t, n, "DELETE", betaPath+"/members/"+carol.user, ""), http.StatusNotFound, "")
		expectProblem(t, "admin PUT member bad permissions", key.call(t, n, "PUT", betaPath+"/members", userRule(carol.user, "rx")),
			http.StatusUnprocessableEntity, "body.permissions")

		// Messages: alice and bob are in alpha; one message in gamma.
		a, b := join(t, n, alice, alpha), join(t, n, bob, alpha)
		hello := post(a, "Hello world")
		b.expectMessage("Hello world")
		again := post(a, "hello again")
		b.expectMessage("hello again")
		bye := post(a, "bye")
		b.expectMessage("bye")
		inGamma := post(join(t, n, alice, gamma), "gamma hello")
		post(join(t, n, other, elsewhere), "hello from elsewhere")

		messageIDs := func(path string) ([]int64, string) {
			t.Helper()
			p := decode[adminPage[messaging.Message]](t, key.mustCall(t, n, http.StatusOK, "GET", path, ""))
			if p.Items == nil {
				t.Fatalf("%s: items is not an array", path)
			}
			var ids []int64
			for _, m := range p.Items {
				ids = append(ids, m.ID)
			}
			return ids, p.NextCursor
		}
		alphaQ := "/messages?room_id=" + strconv.FormatInt(alpha, 10)
		if ids, next := messageIDs(alphaQ); !slices.Equal(ids, []int64{bye.ID, again.ID, hello.ID}) || next != "" {
			t.Errorf("room_id: %v next %q", ids, next)
		}
		if ids, _ := messageIDs("/messages?org_id=" + entity); !slices.Equal(ids, []int64{inGamma.ID, bye.ID, again.ID, hello.ID}) {
			t.Errorf("org_id: %v", ids)
		}
		if ids, _ := messageIDs("/messages?org_id=" + entity + "&q=HELLO"); !slices.Equal(ids, []int64{inGamma.ID, again.ID, hello.ID}) {
			t.Errorf("org_id and q: %v", ids)
		}
		if ids, _ := messageIDs(alphaQ + "&org_id=" + other.entity); len(ids) != 0 {
			t.Errorf("room of another org: %v", ids)
		}
		ids, next = messageIDs("/messages?org_id=" + entity + "&limit=3")
		if !slices.Equal(ids, []int64{inGamma.ID, bye.ID, again.ID}) || next == "" {
			t.Fatalf("first page: %v next %q", ids, next)
		}
		if ids, next := messageIDs("/messages?org_id=" + entity + "&limit=3&cursor=" + next); !slices.Equal(ids, []int64{hello.ID}) || next != "" {
			t.Errorf("second page: %v next %q", ids, next)
		}
		expectProblem(t, "room_id abc", key.call(t, n, "GET", "/messages?room_id=abc", ""), http.StatusUnprocessableEntity, "query.room_id")
		expectProblem(t, "messages cursor abc", key.call(t, n, "GET", "/messages?cursor=abc", ""), http.StatusUnprocessableEntity, "query.cursor")

		msgPath := "/messages/" + strconv.FormatInt(again.ID, 10)
		if got := decode[messaging.Message](t, key.mustCall(t, n, http.StatusOK, "GET", msgPath, "")); got != again {
			t.Errorf("admin GET message %+v, want %+v", got, again)
		}
		expectProblem(t, "unknown message", key.call(t, n, "GET", "/messages/999999", ""), http.StatusNotFound, "")

		// DELETE a message: pushed to the room's open connections.
		if r := key.call(t, n, "DELETE", msgPath, ""); r.status != http.StatusNoContent || r.body != "" {
			t.Fatalf("DELETE message: %d %s", r.status, r.body)
		}
		for who, c := range map[string]*client{"alice": a, "bob": b} {
			f := c.next()
			var data map[string]any
			if f.Type != "message_deleted" || json.Unmarshal(f.Data, &data) != nil || len(data) != 1 || data["id"] != float64(again.ID) {
				t.Errorf("%s got %s, want message_deleted %d", who, f, again.ID)
			}
		}
		expectProblem(t, "deleted message", key.call(t, n, "GET", msgPath, ""), http.StatusNotFound, "")
		expectProblem(t, "DELETE message again", key.call(t, n, "DELETE", msgPath, ""), http.StatusNotFound, "")
		history := decode[struct {
			Items []messaging.Message `json:"items"`
		}](t, alice.mustDo(t, n, http.StatusOK, "GET", roomPath(alpha, "/messages"), ""))
		if len(history.Items) != 2 || history.Items[0] != hello || history.Items[1] != bye {
			t.Errorf("history after the delete: %+v", history.Items)
		}
		// The connections carry on.
		post(a, "still here")
		b.expectMessage("still here")

		// DELETE a room: gone with its history.
		alphaPath := "/rooms/" + strconv.FormatInt(alpha, 10)
		key.mustCall(t, n, http.StatusNoContent, "DELETE", alphaPath, "")
		expectProblem(t, "deleted room", key.call(t, n, "GET", alphaPath, ""), http.StatusNotFound, "")
		expectProblem(t, "deleted room, REST", alice.call(t, n, "GET", roomPath(alpha, ""), ""), http.StatusNotFound, "")
		expectProblem(t, "DELETE room again", key.call(t, n, "DELETE", alphaPath, ""), http.StatusNotFound, "")
		if ids, _ := messageIDs(alphaQ); len(ids) != 0 {
			t.Errorf("messages of the deleted room: %v", ids)
		}

		// Without an admin key: 401; with a user's token: not an admin.
		forged := adminKey{id: key.id, secret: key.secret + "x"}
		platform := platformMember(t, n, uuid.NewString(), "")
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/rooms", ""},
			{"GET", betaPath, ""},
			{"PATCH", betaPath, `{"name":"x"}`},
			{"DELETE", betaPath, ""},
			{"PUT", betaPath + "/members", userRule(carol.user, "r")},
			{"DELETE", betaPath + "/members/" + alice.user, ""},
			{"GET", "/messages", ""},
			{"GET", "/messages/" + strconv.FormatInt(inGamma.ID, 10), ""},
			{"DELETE", "/messages/" + strconv.FormatInt(inGamma.ID, 10), ""},
		} {
			what := c.method + " " + c.path
			expectProblem(t, what+" anonymous", request(t, c.method, n.URL+"/admin/messaging"+c.path, c.body, "application/json", nil),
				http.StatusUnauthorized, "")
			expectProblem(t, what+" bad secret", forged.call(t, n, c.method, c.path, c.body), http.StatusUnauthorized, "")
			// A seed token is messaging's only (401); a platform token is a
			// user's, not an admin's (403).
			expectProblem(t, what+" seed token", request(t, c.method, n.URL+"/admin/messaging"+c.path, c.body, "application/json",
				testhttp.Bearer(alice.token)), http.StatusUnauthorized, "")
			expectProblem(t, what+" platform token", request(t, c.method, n.URL+"/admin/messaging"+c.path, c.body, "application/json",
				testhttp.Bearer(platform.token)), http.StatusForbidden, "")
		}
		// Nothing of that happened.
		if d := alice.getRoom(t, n, beta); d.Room.Name != "Beta renamed" || len(d.Rules) != 3 {
			t.Errorf("beta after refused admin calls: %+v", d)
		}
		key.mustCall(t, n, http.StatusOK, "GET", "/messages/"+strconv.FormatInt(inGamma.ID, 10), "")
	})
}
