package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// reply is an HTTP response, read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

// request sends method url with body (Content-Type contentType when body is
// not empty); prepare, when not nil, sets credentials or headers.
func request(t *testing.T, method, url, body, contentType string, prepare func(*http.Request)) reply {
	t.Helper()
	var ct func(*http.Request)
	if body != "" {
		ct = testhttp.ContentType(contentType)
	}
	r := testhttp.Send(t, method, url, body, ct, prepare)
	return reply{status: r.Status, header: r.Header, body: r.Body}
}

// call sends a JSON request as m.
func (m member) call(t *testing.T, n *nodetest.Node, method, path, body string) reply {
	t.Helper()
	return request(t, method, n.URL+path, body, "application/json", testhttp.Bearer(m.token))
}

// decode unmarshals s into a T.
func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, s, err)
	}
	return v
}

// problem is an RFC 9457 problem as the platform writes it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Reason string `json:"reason"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// locations lists the problem's error locations.
func (p problem) locations() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Location)
	}
	return out
}

// expectProblem checks that r is a problem+json of status (and, when
// location is not empty, one naming location) and returns it.
func expectProblem(t *testing.T, what string, r reply, status int, location string) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	p := decode[problem](t, r.body)
	if p.Status != status || p.Title == "" {
		t.Fatalf("%s: problem %s", what, r.body)
	}
	if location != "" && !slices.Contains(p.locations(), location) {
		t.Fatalf("%s: problem %s does not name %q", what, r.body, location)
	}
	return p
}

// roomPath is the REST path of room id (plus a suffix).
func roomPath(id int64, suffix string) string {
	return "/messaging/rooms/" + strconv.FormatInt(id, 10) + suffix
}

// getRoom reads room id as m (200 expected).
func (m member) getRoom(t *testing.T, n *nodetest.Node, id int64) messaging.RoomDetail {
	t.Helper()
	return decode[messaging.RoomDetail](t, m.mustDo(t, n, http.StatusOK, "GET", roomPath(id, ""), ""))
}

// putRule puts a rule as m and expects status.
func (m member) putRule(t *testing.T, n *nodetest.Node, room int64, want int, body string) messaging.Rule {
	t.Helper()
	r := m.call(t, n, "PUT", roomPath(room, "/members"), body)
	if r.status != want {
		t.Fatalf("PUT members %s: %d %s, want %d", body, r.status, r.body, want)
	}
	if want >= 300 {
		return messaging.Rule{}
	}
	return decode[messaging.Rule](t, r.body)
}

// userRule is the body of PUT members for a user rule.
func userRule(id, perms string) string {
	return fmt.Sprintf(`{"entity_UUID":%q,"permissions":%q,"level":0}`, id, perms)
}

// entityRule is the body of PUT members for an entity rule.
func entityRule(id, perms string, level int) string {
	return fmt.Sprintf(`{"entity_UUID":%q,"permissions":%q,"level":"%d","kind":"entity"}`, id, perms, level)
}

// ruleOf returns the rule of id in d, and false when there is none.
func ruleOf(d messaging.RoomDetail, id string) (messaging.Rule, bool) {
	for _, r := range d.Rules {
		if r.EntityUUID == id {
			return r, true
		}
	}
	return messaging.Rule{}, false
}

// roomList is the body of GET /messaging/rooms.
type roomList struct {
	Items []messaging.RoomRule `json:"items"`
}

// listRooms lists m's rooms with the query string q and returns their ids.
func (m member) listRooms(t *testing.T, n *nodetest.Node, q string) []int64 {
	t.Helper()
	out := decode[roomList](t, m.mustDo(t, n, http.StatusOK, "GET", "/messaging/rooms"+q, ""))
	if out.Items == nil {
		t.Fatalf("list rooms%s: items is not an array", q)
	}
	ids := []int64{}
	for _, it := range out.Items {
		ids = append(ids, it.Room.ID)
	}
	return ids
}

// post sends a chat message on c and reads its echo.
func post(c *client, content string) messaging.Message {
	c.t.Helper()
	c.send(map[string]any{"type": "message", "content": content})
	return c.expectMessage(content)
}

// TestREST drives every endpoint of the seed's REST API, on both engines.
func TestREST(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)

		t.Run("create", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice := newMember(t, entity, 150)
			r := alice.call(t, n, "POST", "/messaging/rooms", `{"name":"general","level_admin":"250","type":"group"}`)
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			room := decode[messaging.Room](t, r.body)
			if loc := r.header.Get("Location"); loc != roomPath(room.ID, "") {
				t.Errorf("Location %q for room %d", loc, room.ID)
			}
			if _, err := uuid.Parse(room.UUID); err != nil || room.ID <= 0 || room.Name != "general" || room.Type != messaging.TypeGroup ||
				room.LevelAdmin != 250 || room.EntityOwner != entity || time.Since(room.CreatedAt) > time.Minute {
				t.Errorf("created room %+v", room)
			}
			d := alice.getRoom(t, n, room.ID)
			if d.Room != room {
				t.Errorf("GET room %+v, created %+v", d.Room, room)
			}
			want := []messaging.Rule{
				{EntityUUID: alice.user, Kind: messaging.KindUser, Level: 150, Permissions: "rwa", Accepted: true},
				{EntityUUID: entity, Kind: messaging.KindEntity, Level: 100, Permissions: "rw", Accepted: true},
			}
			if !slices.Equal(sorted(d.Rules), sorted(want)) {
				t.Errorf("rules %+v, want %+v", d.Rules, want)
			}

			// The type defaults to group; levels come as numbers too.
			r = alice.call(t, n, "POST", "/messaging/rooms", `{"name":"  spaced  ","level_admin":0}`)
			if r.status != http.StatusCreated {
				t.Fatalf("create without type: %d %s", r.status, r.body)
			}
			if room := decode[messaging.Room](t, r.body); room.Type != messaging.TypeGroup || room.LevelAdmin != 0 {
				t.Errorf("room without type %+v", room)
			}

			// 30 characters (not bytes); a level is any JSON integer.
			for body, level := range map[string]int{
				`{"name":"` + strings.Repeat("é", 30) + `","level_admin":1e3}`: 1000,
				`{"name":"x","level_admin":100.0}`:                             100,
				`{"name":"x","level_admin":"007"}`:                             7,
			} {
				r = alice.call(t, n, "POST", "/messaging/rooms", body)
				if room := decode[messaging.Room](t, r.body); r.status != http.StatusCreated || room.LevelAdmin != level {
					t.Errorf("create %s: %d %s", body, r.status, r.body)
				}
			}

			// A user2user room starts with the creator's rule only.
			r = alice.call(t, n, "POST", "/messaging/rooms", `{"name":"dm","level_admin":"1000000","type":"user2user"}`)
			if r.status != http.StatusCreated {
				t.Fatalf("create user2user: %d %s", r.status, r.body)
			}
			dm := decode[messaging.Room](t, r.body)
			if d := alice.getRoom(t, n, dm.ID); dm.Type != messaging.TypeUser2User || dm.LevelAdmin != 1_000_000 || len(d.Rules) != 1 ||
				d.Rules[0].EntityUUID != alice.user {
				t.Errorf("user2user room %+v, rules %+v", dm, d.Rules)
			}

			// levelOnEntity below 100: 403, nothing created.
			low := newMember(t, entity, 99)
			expectProblem(t, "create at level 99", low.call(t, n, "POST", "/messaging/rooms", `{"name":"x","level_admin":1}`), http.StatusForbidden, "")
			if ids := low.listRooms(t, n, ""); len(ids) != 0 {
				t.Errorf("level 99 sees %v", ids)
			}
		})

		t.Run("list", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice, bob, low := newMember(t, entity, 100), newMember(t, entity, 100), newMember(t, entity, 99)
			carol := newMember(t, uuid.NewString(), 100)
			rooms := []int64{alice.createRoom(t, n, "one"), alice.createRoom(t, n, "two"), alice.createRoom(t, n, "three")}
			if got := alice.listRooms(t, n, ""); !slices.Equal(got, rooms) {
				t.Errorf("alice lists %v, want %v", got, rooms)
			}
			// bob through the entity rule (level 100), low not at all.
			if got := bob.listRooms(t, n, "?accepted=true"); !slices.Equal(got, rooms) {
				t.Errorf("bob lists %v, want %v", got, rooms)
			}
			if got := low.listRooms(t, n, ""); len(got) != 0 {
				t.Errorf("level 99 lists %v", got)
			}
			// The item carries the rule that admits it.
			out := decode[roomList](t, bob.mustDo(t, n, http.StatusOK, "GET", "/messaging/rooms?limit=1", ""))
			if len(out.Items) != 1 || out.Items[0].Room.Name != "one" || out.Items[0].Rule.EntityUUID != entity || out.Items[0].Rule.Kind != messaging.KindEntity {
				t.Errorf("bob's first item %+v", out.Items)
			}
			// Paging.
			if got := alice.listRooms(t, n, "?limit=2"); !slices.Equal(got, rooms[:2]) {
				t.Errorf("limit=2: %v", got)
			}
			if got := alice.listRooms(t, n, "?limit=2&offset=2"); !slices.Equal(got, rooms[2:]) {
				t.Errorf("offset=2: %v", got)
			}
			if got := alice.listRooms(t, n, "?offset=3"); len(got) != 0 {
				t.Errorf("offset=3: %v", got)
			}
			// An invitation shows with accepted=false until accepted.
			alice.putRule(t, n, rooms[1], http.StatusCreated, userRule(carol.user, "rw"))
			if got := carol.listRooms(t, n, "?accepted=false"); !slices.Equal(got, rooms[1:2]) {
				t.Errorf("carol's invitations %v", got)
			}
			if got := carol.listRooms(t, n, "?accepted=true"); len(got) != 0 {
				t.Errorf("carol's accepted rooms before accepting %v", got)
			}
			carol.mustDo(t, n, http.StatusOK, "PUT", roomPath(rooms[1], "/invitation"), `{"accepted":true}`)
			if got := carol.listRooms(t, n, "?accepted=true"); !slices.Equal(got, rooms[1:2]) {
				t.Errorf("carol's accepted rooms %v", got)
			}
			if got := carol.listRooms(t, n, "?accepted=false"); len(got) != 0 {
				t.Errorf("carol's invitations after accepting %v", got)
			}
			// bob reads rooms[0] through the entity's accepted rule: a
			// personal invitation there is listed as pending, and the room
			// stays among his accepted ones.
			alice.putRule(t, n, rooms[0], http.StatusCreated, userRule(bob.user, "rwa"))
			if got := bob.listRooms(t, n, "?accepted=true"); !slices.Equal(got, rooms) {
				t.Errorf("bob's accepted rooms with a pending invitation: %v, want %v", got, rooms)
			}
			if got := bob.listRooms(t, n, "?accepted=false"); !slices.Equal(got, rooms[:1]) {
				t.Errorf("bob's invitations: %v", got)
			}
			out = decode[roomList](t, bob.mustDo(t, n, http.StatusOK, "GET", "/messaging/rooms?limit=1", ""))
			if len(out.Items) != 1 || out.Items[0].Rule.EntityUUID != bob.user || out.Items[0].Rule.Accepted {
				t.Errorf("bob's own rule comes first: %+v", out.Items)
			}
		})

		t.Run("concurrent rules", func(t *testing.T) {
			t.Parallel()
			alice := newMember(t, uuid.NewString(), 100)
			room := alice.createRoom(t, n, "rush") // 2 rules: 8 more fit
			statuses := make(chan string, 20)
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					req, err := http.NewRequestWithContext(context.Background(), "PUT", n.URL+roomPath(room, "/members"),
						strings.NewReader(userRule(uuid.NewString(), "r")))
					if err != nil {
						statuses <- err.Error()
						return
					}
					req.Header.Set("Content-Type", "application/json")
					testhttp.Bearer(alice.token)(req)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						statuses <- err.Error()
						return
					}
					b, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					switch {
					case resp.StatusCode == http.StatusCreated:
						statuses <- "201"
					case resp.StatusCode == http.StatusForbidden && strings.Contains(string(b), `"reason":"TOO_MANY_RULES"`):
						statuses <- "403"
					default:
						statuses <- fmt.Sprintf("%d %s", resp.StatusCode, b)
					}
				})
			}
			wg.Wait()
			close(statuses)
			count := map[string]int{}
			for s := range statuses {
				count[s]++
			}
			if count["201"] != 8 || count["403"] != 12 {
				t.Errorf("20 concurrent PUTs on a room of 2 rules: %v, want 8 × 201 and 12 × 403", count)
			}
			if d := alice.getRoom(t, n, room); len(d.Rules) != 10 {
				t.Errorf("%d rules, want 10", len(d.Rules))
			}
		})

		t.Run("get", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice, bob, low := newMember(t, entity, 100), newMember(t, entity, 100), newMember(t, entity, 99)
			outsider := newMember(t, uuid.NewString(), 1_000_000)
			room := alice.createRoom(t, n, "get")
			bob.getRoom(t, n, room)
			expectProblem(t, "outsider", outsider.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
			expectProblem(t, "entity member below the rule's level", low.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
			expectProblem(t, "unknown room", alice.call(t, n, "GET", roomPath(room+1_000_000, ""), ""), http.StatusNotFound, "")
		})

		t.Run("members", func(t *testing.T) {
			t.Parallel()
			entity, other := uuid.NewString(), uuid.NewString()
			alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
			carol := newMember(t, other, 100)
			room := alice.createRoom(t, n, "members")

			r := alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(carol.user, "wr"))
			if r.status != http.StatusCreated || r.header.Get("Location") != roomPath(room, "/members/"+carol.user) {
				t.Fatalf("new rule: %d %s, Location %q", r.status, r.body, r.header.Get("Location"))
			}
			got := decode[messaging.Rule](t, r.body)
			want := messaging.Rule{EntityUUID: carol.user, Kind: messaging.KindUser, Level: 0, Permissions: "rw", Accepted: false}
			if got != want {
				t.Errorf("new rule %+v, want %+v", got, want)
			}
			if r, ok := ruleOf(alice.getRoom(t, n, room), carol.user); !ok || r != want {
				t.Errorf("stored rule %+v, want %+v", r, want)
			}
			// An invitation grants nothing yet.
			expectProblem(t, "carol before accepting", carol.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
			// A change: 200, still an invitation.
			r = alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(carol.user, "r"))
			if r.status != http.StatusOK || r.header.Get("Location") != "" {
				t.Fatalf("changed rule: %d %s, Location %q", r.status, r.body, r.header.Get("Location"))
			}
			got = decode[messaging.Rule](t, r.body)
			if want.Permissions = "r"; got != want {
				t.Errorf("changed rule %+v, want %+v", got, want)
			}
			// Once accepted, a change keeps it accepted.
			carol.mustDo(t, n, http.StatusOK, "PUT", roomPath(room, "/invitation"), `{"accepted":true}`)
			if got := alice.putRule(t, n, room, http.StatusOK, userRule(carol.user, "rwa")); !got.Accepted || got.Permissions != "rwa" {
				t.Errorf("changed accepted rule %+v", got)
			}
			// carol is an admin now: she adds an entity rule.
			got = carol.putRule(t, n, room, http.StatusCreated, entityRule(other, "r", 50))
			if want := (messaging.Rule{EntityUUID: other, Kind: messaging.KindEntity, Level: 50, Permissions: "r"}); got != want {
				t.Errorf("entity rule %+v, want %+v", got, want)
			}
			// A UUID keeps its kind.
			expectProblem(t, "kind change", alice.call(t, n, "PUT", roomPath(room, "/members"),
				fmt.Sprintf(`{"entity_UUID":%q,"permissions":"r","level":0,"kind":"entity"}`, carol.user)), http.StatusUnprocessableEntity, "body.kind")
			// A rule for a member of the owner entity is an invitation too.
			dave := newMember(t, entity, 100)
			alice.putRule(t, n, room, http.StatusCreated, userRule(bob.user, "rwa"))
			if r, _ := ruleOf(alice.getRoom(t, n, room), bob.user); r.Accepted {
				t.Errorf("bob's invitation %+v starts accepted", r)
			}

			// Not an admin: 403; unknown room: 404.
			expectProblem(t, "non-admin", dave.call(t, n, "PUT", roomPath(room, "/members"), userRule(uuid.NewString(), "r")), http.StatusForbidden, "")
			expectProblem(t, "unknown room", alice.call(t, n, "PUT", roomPath(room+1_000_000, "/members"), userRule(uuid.NewString(), "r")),
				http.StatusNotFound, "")

			// A ban applies at once (accepted), and wins over the entity rule.
			if got := alice.putRule(t, n, room, http.StatusCreated, userRule(dave.user, "rwb")); !got.Accepted || got.Permissions != "rwb" {
				t.Errorf("ban %+v", got)
			}
			expectProblem(t, "banned member GET", dave.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
			expectProblem(t, "banned member history", dave.call(t, n, "GET", roomPath(room, "/messages"), ""), http.StatusForbidden, "")
			expectProblem(t, "banned answers", dave.call(t, n, "PUT", roomPath(room, "/invitation"), `{"accepted":false}`), http.StatusForbidden, "")
			// Lifting the ban gives the entity rule back.
			alice.putRule(t, n, room, http.StatusOK, userRule(dave.user, "r"))
			dave.getRoom(t, n, room)
		})

		t.Run("uuid spellings", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice := newMember(t, entity, 100)
			bob := newMember(t, uuid.NewString(), 100)
			room := alice.createRoom(t, n, "spellings")
			upper := strings.ToUpper(bob.user)
			r := alice.call(t, n, "PUT", roomPath(room, "/members"), userRule("{"+upper+"}", "rw"))
			if got := decode[messaging.Rule](t, r.body); r.status != http.StatusCreated || got.EntityUUID != bob.user ||
				r.header.Get("Location") != roomPath(room, "/members/"+bob.user) {
				t.Fatalf("rule for {%s}: %d %s", upper, r.status, r.body)
			}
			alice.putRule(t, n, room, http.StatusOK, userRule("urn:uuid:"+bob.user, "r"))
			bob.mustDo(t, n, http.StatusOK, "PUT", roomPath(room, "/invitation"), `{"accepted":true}`)
			if r, ok := ruleOf(bob.getRoom(t, n, room), bob.user); !ok || r.Permissions != "r" || len(alice.getRoom(t, n, room).Rules) != 3 {
				t.Errorf("bob's rule %+v", r)
			}
			// A token that spells its UUIDs in upper case is the same user
			// and entity.
			shout := bob
			tok, err := authz.SignShared(secret, authz.SharedClaims{UserUUID: upper, EntityUUID: strings.ToUpper(bob.entity), Level: 100,
				Expires: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			shout.token = tok
			shout.getRoom(t, n, room)
			alice.mustDo(t, n, http.StatusNoContent, "DELETE", roomPath(room, "/members/"+upper), "")
			if _, ok := ruleOf(alice.getRoom(t, n, room), bob.user); ok {
				t.Error("the rule survived its DELETE in upper case")
			}
			expectProblem(t, "without the rule", shout.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
			// The entity, too.
			alice.putRule(t, n, room, http.StatusCreated, entityRule(strings.ToUpper(bob.entity), "r", 100))
			shout.mustDo(t, n, http.StatusOK, "PUT", roomPath(room, "/invitation"), `{"use_parent_entity":true,"accepted":true}`)
			shout.getRoom(t, n, room)
		})

		t.Run("self rule accepted", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice := newMember(t, entity, 100)
			boss := newMember(t, entity, 9999) // admin by level_admin, no rule
			room := alice.createRoom(t, n, "self")
			if got := boss.putRule(t, n, room, http.StatusCreated, userRule(boss.user, "rw")); !got.Accepted {
				t.Errorf("the admin's own rule %+v starts unaccepted", got)
			}
		})

		t.Run("too many rules", func(t *testing.T) {
			t.Parallel()
			alice := newMember(t, uuid.NewString(), 100)
			room := alice.createRoom(t, n, "crowded") // 2 rules
			var last string
			for range 8 {
				last = uuid.NewString()
				alice.putRule(t, n, room, http.StatusCreated, userRule(last, "r"))
			}
			p := expectProblem(t, "11th rule", alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(uuid.NewString(), "r")), http.StatusForbidden, "")
			if p.Reason != messaging.ReasonTooManyRules {
				t.Errorf("11th rule: reason %q", p.Reason)
			}
			if r := alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(uuid.NewString(), "r")); !strings.Contains(r.body, `"reason":"TOO_MANY_RULES"`) {
				t.Errorf("11th rule body %s", r.body)
			}
			// Changing one of the ten is fine; removing one makes room.
			alice.putRule(t, n, room, http.StatusOK, userRule(last, "rw"))
			if d := alice.getRoom(t, n, room); len(d.Rules) != 10 {
				t.Errorf("%d rules, want 10", len(d.Rules))
			}
			alice.mustDo(t, n, http.StatusNoContent, "DELETE", roomPath(room, "/members/"+last), "")
			alice.putRule(t, n, room, http.StatusCreated, entityRule(uuid.NewString(), "r", 0))
		})

		t.Run("user2user", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice, bob, carol := newMember(t, entity, 100), newMember(t, entity, 100), newMember(t, entity, 100)
			r := alice.call(t, n, "POST", "/messaging/rooms", `{"name":"dm","level_admin":"9999","type":"user2user"}`)
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			room := decode[messaging.Room](t, r.body).ID
			alice.putRule(t, n, room, http.StatusCreated, userRule(bob.user, "rw"))
			p := expectProblem(t, "third user", alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(carol.user, "rw")), http.StatusForbidden, "")
			if p.Reason != messaging.ReasonRoomFull || !strings.Contains(alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(carol.user, "rw")).body, `"reason":"ROOM_FULL"`) {
				t.Errorf("third user: reason %q", p.Reason)
			}
			p = expectProblem(t, "entity rule", alice.call(t, n, "PUT", roomPath(room, "/members"), entityRule(entity, "r", 0)), http.StatusForbidden, "")
			if p.Reason != messaging.ReasonRoomFull {
				t.Errorf("entity rule: reason %q", p.Reason)
			}
			// Changing one of the two is fine.
			alice.putRule(t, n, room, http.StatusOK, userRule(bob.user, "r"))
			if d := alice.getRoom(t, n, room); len(d.Rules) != 2 {
				t.Errorf("rules %+v", d.Rules)
			}
			// bob accepts and reads; carol, in the same entity, does not.
			bob.mustDo(t, n, http.StatusOK, "PUT", roomPath(room, "/invitation"), `{"accepted":true}`)
			bob.getRoom(t, n, room)
			expectProblem(t, "carol", carol.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
		})

		t.Run("delete member", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
			carol := newMember(t, uuid.NewString(), 100)
			room := alice.createRoom(t, n, "leave")
			alice.putRule(t, n, room, http.StatusCreated, userRule(carol.user, "r"))
			expectProblem(t, "non-admin", bob.call(t, n, "DELETE", roomPath(room, "/members/"+carol.user), ""), http.StatusForbidden, "")
			if r := alice.call(t, n, "DELETE", roomPath(room, "/members/"+carol.user), ""); r.status != http.StatusNoContent || r.body != "" {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			if _, ok := ruleOf(alice.getRoom(t, n, room), carol.user); ok {
				t.Error("the rule is still there")
			}
			expectProblem(t, "again", alice.call(t, n, "DELETE", roomPath(room, "/members/"+carol.user), ""), http.StatusNotFound, "")
			expectProblem(t, "never there", alice.call(t, n, "DELETE", roomPath(room, "/members/"+uuid.NewString()), ""), http.StatusNotFound, "")
			expectProblem(t, "unknown room", alice.call(t, n, "DELETE", roomPath(room+1_000_000, "/members/"+carol.user), ""), http.StatusNotFound, "")
			// Removing the entity rule shuts bob out.
			alice.mustDo(t, n, http.StatusNoContent, "DELETE", roomPath(room, "/members/"+entity), "")
			expectProblem(t, "bob without the entity rule", bob.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
		})

		t.Run("invitation", func(t *testing.T) {
			t.Parallel()
			entity, other := uuid.NewString(), uuid.NewString()
			alice := newMember(t, entity, 100)
			carol, high, low := newMember(t, other, 10), newMember(t, other, 50), newMember(t, other, 49)
			outsider := newMember(t, uuid.NewString(), 100)
			room := alice.createRoom(t, n, "invite")
			invitation := roomPath(room, "/invitation")

			// The caller's own rule.
			alice.putRule(t, n, room, http.StatusCreated, userRule(carol.user, "rw"))
			r := carol.call(t, n, "PUT", invitation, `{"accepted":true}`)
			if r.status != http.StatusOK || r.header.Get("Location") != "" {
				t.Fatalf("accept: %d %s", r.status, r.body)
			}
			if got := decode[messaging.Rule](t, r.body); got.EntityUUID != carol.user || !got.Accepted || got.Permissions != "rw" {
				t.Errorf("accepted rule %+v", got)
			}
			carol.getRoom(t, n, room)
			if got := decode[messaging.Rule](t, carol.mustDo(t, n, http.StatusOK, "PUT", invitation, `{"accepted":false}`)); got.Accepted {
				t.Errorf("declined rule %+v", got)
			}
			expectProblem(t, "after declining", carol.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")

			// The entity's rule, with use_parent_entity and a level that reaches it.
			alice.putRule(t, n, room, http.StatusCreated, entityRule(other, "r", 50))
			expectProblem(t, "level below the rule", low.call(t, n, "PUT", invitation, `{"use_parent_entity":true,"accepted":true}`), http.StatusForbidden, "")
			if r, _ := ruleOf(alice.getRoom(t, n, room), other); r.Accepted {
				t.Error("accepted by a member below the rule's level")
			}
			expectProblem(t, "entity rule before accepting", high.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")
			r = high.call(t, n, "PUT", invitation, `{"use_parent_entity":true,"accepted":true}`)
			if got := decode[messaging.Rule](t, r.body); r.status != http.StatusOK || got.EntityUUID != other || got.Kind != messaging.KindEntity || !got.Accepted {
				t.Fatalf("accept for the entity: %d %s", r.status, r.body)
			}
			high.getRoom(t, n, room)
			expectProblem(t, "entity member below the rule's level", low.call(t, n, "GET", roomPath(room, ""), ""), http.StatusForbidden, "")

			// No rule to answer; no room.
			expectProblem(t, "no invitation", outsider.call(t, n, "PUT", invitation, `{"accepted":true}`), http.StatusForbidden, "")
			expectProblem(t, "no entity invitation", outsider.call(t, n, "PUT", invitation, `{"use_parent_entity":true,"accepted":true}`),
				http.StatusForbidden, "")
			expectProblem(t, "unknown room", carol.call(t, n, "PUT", roomPath(room+1_000_000, "/invitation"), `{"accepted":true}`), http.StatusNotFound, "")
		})

		t.Run("history", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
			outsider := newMember(t, uuid.NewString(), 100)
			room := alice.createRoom(t, n, "history")
			c := join(t, n, alice, room)
			m1, m2, m3 := post(c, "one"), post(c, "two"), post(c, "three")
			history := func(q url.Values) []string {
				t.Helper()
				out := decode[struct {
					Items []messaging.Message `json:"items"`
				}](t, bob.mustDo(t, n, http.StatusOK, "GET", roomPath(room, "/messages?"+q.Encode()), ""))
				var got []string
				for _, m := range out.Items {
					if m.RoomID != room || m.Emitter != alice.user || m.ID <= 0 {
						t.Errorf("message %+v", m)
					}
					got = append(got, m.Content)
				}
				return got
			}
			at := func(m messaging.Message) string { return m.CreatedAt.Format(time.RFC3339Nano) }
			for _, c := range []struct {
				q    url.Values
				want []string
			}{
				{url.Values{}, []string{"one", "two", "three"}},
				{url.Values{"limit": {"2"}}, []string{"two", "three"}},
				{url.Values{"before": {strconv.FormatInt(m3.ID, 10)}}, []string{"one", "two"}},
				{url.Values{"before": {strconv.FormatInt(m3.ID, 10)}, "limit": {"1"}}, []string{"two"}},
				{url.Values{"before": {strconv.FormatInt(m1.ID, 10)}}, nil},
				{url.Values{"dateFrom": {at(m2)}}, []string{"two", "three"}},
				{url.Values{"dateTo": {at(m2)}}, []string{"one", "two"}},
				{url.Values{"dateFrom": {at(m2)}, "dateTo": {at(m2)}}, []string{"two"}},
				// Any RFC 3339 offset.
				{url.Values{"dateFrom": {m2.CreatedAt.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)}}, []string{"two", "three"}},
				{url.Values{"dateTo": {m1.CreatedAt.Add(-time.Hour).Format(time.RFC3339Nano)}}, nil},
				{url.Values{"dateFrom": {time.Now().Add(time.Hour).Format(time.RFC3339)}}, nil},
			} {
				if got := history(c.q); !slices.Equal(got, c.want) {
					t.Errorf("history?%s: %v, want %v", c.q.Encode(), got, c.want)
				}
			}
			expectProblem(t, "dateFrom after dateTo", bob.call(t, n, "GET", roomPath(room, "/messages?"+url.Values{
				"dateFrom": {at(m3)}, "dateTo": {at(m1)}}.Encode()), ""), http.StatusUnprocessableEntity, "query.dateFrom")
			expectProblem(t, "outsider", outsider.call(t, n, "GET", roomPath(room, "/messages"), ""), http.StatusForbidden, "")
			expectProblem(t, "unknown room", bob.call(t, n, "GET", roomPath(room+1_000_000, "/messages"), ""), http.StatusNotFound, "")
		})

		t.Run("delete room", func(t *testing.T) {
			t.Parallel()
			entity := uuid.NewString()
			alice, bob := newMember(t, entity, 100), newMember(t, entity, 100)
			boss := newMember(t, entity, 9999)
			outsider := newMember(t, uuid.NewString(), 1_000_000)
			room, second := alice.createRoom(t, n, "doomed"), alice.createRoom(t, n, "second")
			post(join(t, n, alice, room), "last words")
			expectProblem(t, "rw member", bob.call(t, n, "DELETE", roomPath(room, ""), ""), http.StatusForbidden, "")
			expectProblem(t, "outsider", outsider.call(t, n, "DELETE", roomPath(room, ""), ""), http.StatusForbidden, "")
			if r := alice.call(t, n, "DELETE", roomPath(room, ""), ""); r.status != http.StatusNoContent || r.body != "" {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			expectProblem(t, "GET after delete", alice.call(t, n, "GET", roomPath(room, ""), ""), http.StatusNotFound, "")
			expectProblem(t, "history after delete", alice.call(t, n, "GET", roomPath(room, "/messages"), ""), http.StatusNotFound, "")
			expectProblem(t, "DELETE again", alice.call(t, n, "DELETE", roomPath(room, ""), ""), http.StatusNotFound, "")
			expectProblem(t, "PUT members after delete", alice.call(t, n, "PUT", roomPath(room, "/members"), userRule(uuid.NewString(), "r")),
				http.StatusNotFound, "")
			if got := alice.listRooms(t, n, ""); !slices.Equal(got, []int64{second}) {
				t.Errorf("rooms after delete %v", got)
			}
			// An admin by level_admin, without a rule, deletes too.
			boss.mustDo(t, n, http.StatusNoContent, "DELETE", roomPath(second, ""), "")
		})
	})
}

// sorted returns rules sorted by UUID.
func sorted(rules []messaging.Rule) []messaging.Rule {
	out := slices.Clone(rules)
	slices.SortFunc(out, func(a, b messaging.Rule) int { return strings.Compare(a.EntityUUID, b.EntityUUID) })
	return out
}

// TestRESTBadInput: every malformed or invalid request is a 4xx problem
// naming the field at fault, never a 500, and changes nothing. On both
// engines.
func TestRESTBadInput(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		entity := uuid.NewString()
		alice := newMember(t, entity, 100)
		room := alice.createRoom(t, n, "steady")
		post(join(t, n, alice, room), "the only message")
		// snapshot is what a bad request must leave as it is: alice's rooms,
		// the room's rules and its history.
		snapshot := func() string {
			t.Helper()
			return alice.mustDo(t, n, http.StatusOK, "GET", "/messaging/rooms", "") +
				alice.mustDo(t, n, http.StatusOK, "GET", roomPath(room, ""), "") +
				alice.mustDo(t, n, http.StatusOK, "GET", roomPath(room, "/messages"), "")
		}
		before := snapshot()
		forged := alice.token[:strings.LastIndexByte(alice.token, '.')] + ".c2lnbmF0dXJl"
		bearer := testhttp.Bearer(alice.token)
		rooms, members := "/messaging/rooms", roomPath(room, "/members")
		invitation, messages := roomPath(room, "/invitation"), roomPath(room, "/messages")
		newRoom := func(name, level string) string { return fmt.Sprintf(`{"name":%s,"level_admin":%s}`, name, level) }
		rule := func(id, perms, level string) string {
			return fmt.Sprintf(`{"entity_UUID":%s,"permissions":%s,"level":%s}`, id, perms, level)
		}
		someone := strconv.Quote(uuid.NewString())
		for _, c := range []struct {
			name, method, path, body string
			contentType              string // default application/json
			auth                     func(*http.Request)
			status                   int
			location                 string
		}{
			// Create a room: the body's fields.
			{name: "name of 31 characters", method: "POST", path: rooms, body: newRoom(strconv.Quote(strings.Repeat("é", 31)), "1"),
				status: 422, location: "body.name"},
			{name: "empty name", method: "POST", path: rooms, body: newRoom(`""`, "1"), status: 422, location: "body.name"},
			{name: "blank name", method: "POST", path: rooms, body: newRoom(`"   "`, "1"), status: 422, location: "body.name"},
			{name: "name not a string", method: "POST", path: rooms, body: newRoom(`42`, "1"), status: 422, location: "body.name"},
			{name: "no name", method: "POST", path: rooms, body: `{"level_admin":1}`, status: 422, location: "body"},
			{name: "level_admin 1000001", method: "POST", path: rooms, body: newRoom(`"x"`, "1000001"), status: 422, location: "body.level_admin"},
			{name: `level_admin "1000001"`, method: "POST", path: rooms, body: newRoom(`"x"`, `"1000001"`), status: 422, location: "body.level_admin"},
			{name: `level_admin "abc"`, method: "POST", path: rooms, body: newRoom(`"x"`, `"abc"`), status: 422, location: "body.level_admin"},
			{name: "level_admin -1", method: "POST", path: rooms, body: newRoom(`"x"`, "-1"), status: 422, location: "body.level_admin"},
			{name: `level_admin "-1"`, method: "POST", path: rooms, body: newRoom(`"x"`, `"-1"`), status: 422, location: "body.level_admin"},
			{name: "level_admin 1.5", method: "POST", path: rooms, body: newRoom(`"x"`, "1.5"), status: 422, location: "body.level_admin"},
			{name: `level_admin "1.5"`, method: "POST", path: rooms, body: newRoom(`"x"`, `"1.5"`), status: 422, location: "body.level_admin"},
			{name: `level_admin ""`, method: "POST", path: rooms, body: newRoom(`"x"`, `""`), status: 422, location: "body.level_admin"},
			{name: "level_admin 1e7", method: "POST", path: rooms, body: newRoom(`"x"`, "1e7"), status: 422, location: "body.level_admin"},
			{name: "level_admin null", method: "POST", path: rooms, body: newRoom(`"x"`, "null"), status: 422, location: "body.level_admin"},
			{name: "level_admin true", method: "POST", path: rooms, body: newRoom(`"x"`, "true"), status: 422, location: "body.level_admin"},
			{name: "no level_admin", method: "POST", path: rooms, body: `{"name":"x"}`, status: 422, location: "body"},
			{name: "unknown type", method: "POST", path: rooms, body: `{"name":"x","level_admin":1,"type":"dm"}`, status: 422, location: "body.type"},
			{name: "unknown field", method: "POST", path: rooms, body: `{"name":"x","level_admin":1,"colour":"y"}`, status: 400, location: "body.colour"},
			{name: "malformed JSON", method: "POST", path: rooms, body: `{"name":"x",`, status: 400},
			{name: "not an object", method: "POST", path: rooms, body: `["x"]`, status: 422, location: "body"},
			{name: "no body", method: "POST", path: rooms, status: 400},
			{name: "wrong content type", method: "POST", path: rooms, body: newRoom(`"x"`, "1"), contentType: "text/plain", status: 415},
			{name: "no token", method: "POST", path: rooms, body: newRoom(`"x"`, "1"), auth: func(*http.Request) {}, status: 401},
			{name: "bad token", method: "POST", path: rooms, body: newRoom(`"x"`, "1"), auth: testhttp.Bearer("not.a.jwt"), status: 401},
			{name: "bad signature", method: "POST", path: rooms, body: newRoom(`"x"`, "1"), auth: testhttp.Bearer(forged), status: 401},
			{name: "basic credentials", method: "POST", path: rooms, body: newRoom(`"x"`, "1"),
				auth: testhttp.Basic("nobody", "nothing"), status: 401},

			// Rules.
			{name: `permissions "rx"`, method: "PUT", path: members, body: rule(someone, `"rx"`, "0"), status: 422, location: "body.permissions"},
			{name: `permissions "rr"`, method: "PUT", path: members, body: rule(someone, `"rr"`, "0"), status: 422, location: "body.permissions"},
			{name: `permissions "rwbax"`, method: "PUT", path: members, body: rule(someone, `"rwbax"`, "0"), status: 422, location: "body.permissions"},
			{name: `permissions "RW"`, method: "PUT", path: members, body: rule(someone, `"RW"`, "0"), status: 422, location: "body.permissions"},
			{name: "permissions not a string", method: "PUT", path: members, body: rule(someone, `7`, "0"), status: 422, location: "body.permissions"},
			{name: "entity_UUID not a uuid", method: "PUT", path: members, body: rule(`"not-a-uuid"`, `"rw"`, "0"), status: 422, location: "body.entity_UUID"},
			{name: "empty entity_UUID", method: "PUT", path: members, body: rule(`""`, `"rw"`, "0"), status: 422, location: "body.entity_UUID"},
			{name: `rule level "abc"`, method: "PUT", path: members, body: rule(someone, `"rw"`, `"abc"`), status: 422, location: "body.level"},
			{name: "rule level 1000001", method: "PUT", path: members, body: rule(someone, `"rw"`, "1000001"), status: 422, location: "body.level"},
			{name: "unknown kind", method: "PUT", path: members, body: `{"entity_UUID":` + someone + `,"permissions":"r","level":0,"kind":"group"}`,
				status: 422, location: "body.kind"},
			{name: "accepted in a rule", method: "PUT", path: members, body: `{"entity_UUID":` + someone + `,"permissions":"r","level":0,"accepted":true}`,
				status: 400, location: "body.accepted"},
			{name: "rule as text", method: "PUT", path: members, body: rule(someone, `"rw"`, "0"), contentType: "text/plain", status: 415},
			{name: "rule without a token", method: "PUT", path: members, body: rule(someone, `"rw"`, "0"), auth: func(*http.Request) {}, status: 401},
			{name: "rule in room abc", method: "PUT", path: "/messaging/rooms/abc/members", body: rule(someone, `"rw"`, "0"), status: 422, location: "path.id"},
			{name: "delete a rule of no uuid", method: "DELETE", path: members + "/not-a-uuid", status: 422, location: "path.entityUUID"},

			// Invitations.
			{name: "accepted not a boolean", method: "PUT", path: invitation, body: `{"accepted":"yes"}`, status: 422, location: "body.accepted"},
			{name: "invitation without accepted", method: "PUT", path: invitation, body: `{}`, status: 422, location: "body"},
			{name: "invitation malformed", method: "PUT", path: invitation, body: `{"accepted":`, status: 400},

			// Paths and queries.
			{name: "room abc", method: "GET", path: "/messaging/rooms/abc", status: 422, location: "path.id"},
			{name: "room 0", method: "GET", path: "/messaging/rooms/0", status: 422, location: "path.id"},
			{name: "room -1", method: "GET", path: "/messaging/rooms/-1", status: 422, location: "path.id"},
			{name: "room id overflow", method: "GET", path: "/messaging/rooms/99999999999999999999", status: 422, location: "path.id"},
			{name: "delete room abc", method: "DELETE", path: "/messaging/rooms/abc", status: 422, location: "path.id"},
			{name: "list limit 0", method: "GET", path: rooms + "?limit=0", status: 422, location: "query.limit"},
			{name: "list limit 501", method: "GET", path: rooms + "?limit=501", status: 422, location: "query.limit"},
			{name: "list limit abc", method: "GET", path: rooms + "?limit=abc", status: 422, location: "query.limit"},
			{name: "list offset -1", method: "GET", path: rooms + "?offset=-1", status: 422, location: "query.offset"},
			{name: "list accepted maybe", method: "GET", path: rooms + "?accepted=maybe", status: 422, location: "query.accepted"},
			{name: "list without a token", method: "GET", path: rooms, auth: func(*http.Request) {}, status: 401},
			{name: "history dateFrom yesterday", method: "GET", path: messages + "?dateFrom=yesterday", status: 422, location: "query.dateFrom"},
			{name: "history dateTo month 13", method: "GET", path: messages + "?dateTo=2024-13-01T00:00:00Z", status: 422, location: "query.dateTo"},
			{name: "history before 0", method: "GET", path: messages + "?before=0", status: 422, location: "query.before"},
			{name: "history limit 0", method: "GET", path: messages + "?limit=0", status: 422, location: "query.limit"},
			{name: "history limit 501", method: "GET", path: messages + "?limit=501", status: 422, location: "query.limit"},
			{name: "history without a token", method: "GET", path: messages, auth: func(*http.Request) {}, status: 401},
		} {
			contentType, auth := c.contentType, c.auth
			if contentType == "" {
				contentType = "application/json"
			}
			if auth == nil {
				auth = bearer
			}
			r := request(t, c.method, n.URL+c.path, c.body, contentType, auth)
			if r.status >= 500 {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
				continue
			}
			t.Run(c.name, func(t *testing.T) { expectProblem(t, c.name, r, c.status, c.location) })
			if after := snapshot(); after != before {
				t.Fatalf("%s changed the state:\n%s\nwas\n%s", c.name, after, before)
			}
		}
	})
}

// platformMember is a user of the platform with a token for org (none when
// org is empty).
func platformMember(t *testing.T, n *nodetest.Node, userID, org string) member {
	t.Helper()
	tok, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: userID, OrgID: org})
	if err != nil {
		t.Fatal(err)
	}
	return member{user: userID, entity: org, token: tok}
}

// TestPlatformTokens: platform access tokens map user id → userUUID, org →
// entityUUID and member level → levelOnEntity (read at request time). On
// both engines.
func TestPlatformTokens(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine, "TESSERA_AUTH_ARGON2_TIME=1", "TESSERA_AUTH_ARGON2_MEMORY=8192")
		ctx := context.Background()
		id := n.Identity()
		var users []string
		for i := range 3 {
			u, err := id.Users.CreateUser(ctx, fmt.Sprintf("user%d@example.com", i), "correct-horse-battery-staple", "User", true)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u.ID)
		}
		org, err := id.Orgs.CreateOrg(ctx, "Acme", "", users[0])
		if err != nil {
			t.Fatal(err)
		}
		owner := platformMember(t, n, users[0], "")
		put := func(user, role string, level int) {
			t.Helper()
			r := owner.call(t, n, "PUT", "/orgs/"+org.ID+"/members/"+user, fmt.Sprintf(`{"role":%q,"level":%d}`, role, level))
			if r.status != http.StatusOK && r.status != http.StatusCreated {
				t.Fatalf("org member %s: %d %s", user, r.status, r.body)
			}
		}
		put(users[0], "owner", 100)
		put(users[1], "member", 100)
		put(users[2], "member", 50)
		alice, bob, carol := platformMember(t, n, users[0], org.ID), platformMember(t, n, users[1], org.ID), platformMember(t, n, users[2], org.ID)

		r := alice.call(t, n, "POST", "/messaging/rooms", `{"name":"acme","level_admin":"100"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		room := decode[messaging.Room](t, r.body)
		if room.EntityOwner != org.ID {
			t.Errorf("entity_owner %q, want the org %q", room.EntityOwner, org.ID)
		}
		d := bob.getRoom(t, n, room.ID)
		want := []messaging.Rule{
			{EntityUUID: users[0], Kind: messaging.KindUser, Level: 100, Permissions: "rwa", Accepted: true},
			{EntityUUID: org.ID, Kind: messaging.KindEntity, Level: 100, Permissions: "rw", Accepted: true},
		}
		if !slices.Equal(sorted(d.Rules), sorted(want)) {
			t.Errorf("rules %+v, want %+v", d.Rules, want)
		}
		if got := bob.listRooms(t, n, ""); !slices.Equal(got, []int64{room.ID}) {
			t.Errorf("bob lists %v", got)
		}
		// bob is at level_admin in the owner org: an admin of the room.
		bob.putRule(t, n, room.ID, http.StatusCreated, userRule(uuid.NewString(), "r"))

		// carol, at 50, neither reads nor creates; her level is read at
		// request time, so a promotion applies to the token she holds.
		expectProblem(t, "carol at 50", carol.call(t, n, "GET", roomPath(room.ID, ""), ""), http.StatusForbidden, "")
		expectProblem(t, "carol creates at 50", carol.call(t, n, "POST", "/messaging/rooms", `{"name":"x","level_admin":1}`), http.StatusForbidden, "")
		if got := carol.listRooms(t, n, ""); len(got) != 0 {
			t.Errorf("carol at 50 lists %v", got)
		}
		put(users[2], "member", 100)
		carol.getRoom(t, n, room.ID)

		// Without an org in the token, bob is only himself.
		loner := platformMember(t, n, users[1], "")
		expectProblem(t, "bob without an org", loner.call(t, n, "GET", roomPath(room.ID, ""), ""), http.StatusForbidden, "")

		// The chat takes platform tokens too.
		c := join(t, n, bob, room.ID)
		if m := post(c, "platform hello"); m.Emitter != users[1] {
			t.Errorf("emitter %q, want %q", m.Emitter, users[1])
		}

		// A token naming no org chooses one at connect (org_id), as X-Org-ID
		// does over HTTP; without the choice its holder is only himself, and
		// an org he is not a member of refuses the token.
		chosen := dialPath(t, n.URL, "/messaging/chat?org_id="+url.QueryEscape(org.ID))
		chosen.login(loner)
		chosen.send(map[string]any{"type": "select_room", "room_id": room.ID})
		chosen.expect("status", "CONNECTED")
		none := dial(t, n.URL)
		none.login(loner)
		none.send(map[string]any{"type": "select_room", "room_id": room.ID})
		none.expect("status", "NOTAUTHORIZED")
		other, err := id.Orgs.CreateOrg(ctx, "Elsewhere", "", users[2])
		if err != nil {
			t.Fatal(err)
		}
		foreign := dialPath(t, n.URL, "/messaging/chat?org_id="+url.QueryEscape(other.ID))
		foreign.send(map[string]string{"type": "token", "content": loner.token})
		foreign.expect("query", "TOKEN?")
	})
}

// TestCreateRoomIdempotencyKey: a create retried with its Idempotency-Key
// returns the first room and creates nothing twice.
func TestCreateRoomIdempotencyKey(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	alice := newMember(t, uuid.NewString(), 100)
	key := func(r *http.Request) { r.Header.Set("Idempotency-Key", "create-general-1") }
	body := `{"name":"general","level_admin":100}`
	first := testhttp.Send(t, "POST", n.URL+"/messaging/rooms", body, testhttp.Bearer(alice.token), key)
	again := testhttp.Send(t, "POST", n.URL+"/messaging/rooms", body, testhttp.Bearer(alice.token), key)
	if first.Status != 201 || again.Status != 201 || again.Body != first.Body || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("first %+v\nagain %+v", first, again)
	}
	var list struct{ Items []messaging.RoomRule }
	if err := json.Unmarshal([]byte(alice.mustDo(t, n, 200, "GET", "/messaging/rooms", "")), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("rooms after a retried create: %+v %v", list, err)
	}
}
