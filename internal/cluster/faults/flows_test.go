package faults_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestFlowsAcrossNodes runs every app's main flow on three node processes
// (A, B, C) sharing Postgres, Redis and S3, each step of a flow through a
// different node than the one before: a node serves whatever another
// node wrote, pushes what another node committed, and refuses what
// another node's write forbids.
func TestFlowsAcrossNodes(t *testing.T) {
	c := newCluster(t, 3)
	a, b, cn := c.nodes[0], c.nodes[1], c.nodes[2]

	// Identity: signed up and confirmed on A, signed in on B, the token
	// honoured on C.
	t.Run("identity", func(t *testing.T) {
		u := signUp(t, a, "ida@flows.example", "")
		token := b.SignIn(t, u.email, password)
		var me struct{ ID, Email string }
		mustJSON(t, expect(t, http.StatusOK, http.MethodGet, cn.URL+"/auth/me", "", testhttp.Bearer(token)).body, &me)
		if me.ID != u.id || me.Email != u.email {
			t.Fatalf("C knows the token of B as %+v, want %s %s", me, u.id, u.email)
		}
	})

	// Messaging: a room created on A; members on B and C chat and each
	// receives both messages, in the same order.
	t.Run("messaging", func(t *testing.T) {
		entity := uuid.NewString()
		owner := chatToken(t, uuid.NewString(), entity, 100)
		var room messaging.Room
		mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, a.URL+"/messaging/rooms",
			`{"name":"flows","level_admin":"9999","type":"group"}`, testhttp.Bearer(owner)).body, &room)
		bob := c.chatFeed("bob on B", 1, chatToken(t, uuid.NewString(), entity, 100), room.ID, 0).start(t)
		carol := c.chatFeed("carol on C", 2, chatToken(t, uuid.NewString(), entity, 100), room.ID, 0).start(t)
		for _, m := range []struct {
			from *feed
			text string
		}{{bob, "hello from B"}, {carol, "hello from C"}} {
			if err := m.from.say(t.Context(), m.text); err != nil {
				t.Fatal(err)
			}
			for _, f := range []*feed{bob, carol} {
				if !f.await(30*time.Second, func(got []delivery, _ int) bool {
					return len(got) > 0 && got[len(got)-1].Text == m.text
				}) {
					t.Fatalf("%s did not receive %q: %v (err %v)", f.name, m.text, f.received(), f.failure())
				}
			}
		}
		var want []string
		for _, e := range c.committed(t, "", events.Filter{Types: []string{"messaging.message.created"}, Subject: strconv.FormatInt(room.ID, 10)}) {
			var m messaging.Message
			mustJSON(t, string(e.Payload), &m)
			want = append(want, strconv.FormatInt(m.ID, 10))
		}
		bob.expectSame(t, want)
		carol.expectSame(t, want)
	})

	// Restaurants: a customer books through A; staff watching the board on
	// B see it live and accept it through C; the customer's board (A) and
	// list (B) show it accepted.
	t.Run("restaurants", func(t *testing.T) {
		maria := signUp(t, a, "maria@flows.example", restaurants.ClientStaff)
		sam := signUp(t, b, "sam@flows.example", restaurants.ClientStaff)
		carl := signUp(t, cn, "carl@flows.example", restaurants.ClientCustomer)
		var r restaurants.Restaurant
		mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, a.URL+"/restaurants",
			`{"name":"Chez Maria","description":"Fish","region":"NORTH"}`, maria.as()...).body, &r)
		expect(t, http.StatusOK, http.MethodPatch, b.URL+"/restaurants/"+r.ID+"/visibility", `{"visibility":"PUBLIC"}`, maria.as()...)
		expect(t, http.StatusOK, http.MethodPut, cn.URL+"/restaurants/"+r.ID+"/staff/"+sam.id, `{"role":"STAFF"}`, maria.as()...)

		from := c.head(t)
		staff := c.boardFeed("sam's board on B", 1, sam, from).start(t)
		customer := c.boardFeed("carl's board on A", 0, carl, from).start(t)
		var st restaurants.Seating
		when := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Hour)
		mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, a.URL+"/restaurants/"+r.ID+"/seatings",
			fmt.Sprintf(`{"seatingTime":%q,"numSeats":4,"notes":"window please"}`, when.Format(time.RFC3339)), carl.as()...).body, &st)
		staff.awaitKey(t, restaurants.SeatingEvent(restaurants.VerbCreated)+" "+st.ID)
		expect(t, http.StatusOK, http.MethodPatch, cn.URL+"/restaurants/"+r.ID+"/seatings/"+st.ID+"/accept", "", sam.as()...)
		customer.awaitKey(t, restaurants.SeatingEvent(restaurants.VerbAccepted)+" "+st.ID)

		var mine struct{ Items []restaurants.Seating }
		mustJSON(t, expect(t, http.StatusOK, http.MethodGet, b.URL+"/restaurants/me/seatings", "", carl.as()...).body, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != st.ID || mine.Items[0].Status != restaurants.StatusAccepted {
			t.Errorf("carl's seatings on B: %+v, want %s ACCEPTED", mine.Items, st.ID)
		}
		var want []string
		for _, e := range c.committed(t, from, events.Filter{App: "restaurants", Subject: st.ID}) {
			want = append(want, logKey(e))
		}
		staff.expectSame(t, want)
		customer.expectSame(t, want)
	})

	// Scheduling: an event created through A is pushed to a calendar held
	// on B; a conflicting create on C is refused; of nine conflicting
	// creates fired at once across the three nodes exactly one wins.
	t.Run("scheduling", func(t *testing.T) {
		olivia := signUp(t, a, "olivia@flows.example", scheduling.ClientID)
		ed := signUp(t, b, "ed@flows.example", scheduling.ClientID)
		newOrg(t, a, &olivia, "Bike shop")
		join(t, b, olivia, &ed, "member")
		var bay scheduling.Resource
		mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, a.URL+"/scheduling/resources", `{"name":"Bay 1"}`, olivia.as()...).body, &bay)

		day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 3)
		at := func(h, m int) string {
			return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).Format(time.RFC3339)
		}
		booking := func(title string, h0, m0, h1, m1 int) string {
			return fmt.Sprintf(`{"title":%q,"start":%q,"end":%q,"resource_ids":[%q]}`, title, at(h0, m0), at(h1, m1), bay.ID)
		}
		from := c.head(t)
		cal := c.calendarFeed("ed's calendar on B", 1, ed, calendar{From: day, To: day.Add(24 * time.Hour), ResourceIDs: []string{bay.ID}}, from).start(t)

		var first scheduling.Booking
		mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, a.URL+"/scheduling/events", booking("Fix Anna's bike", 9, 0, 10, 0), olivia.as()...).body, &first)
		cal.awaitKey(t, scheduling.EventEventCreated+" "+first.ID)
		var p struct{ Reason, Detail string }
		mustJSON(t, expect(t, http.StatusConflict, http.MethodPost, cn.URL+"/scheduling/events", booking("Overlap", 9, 30, 10, 30), ed.as()...).body, &p)
		if p.Reason != scheduling.ReasonDoubleBooking || !strings.Contains(p.Detail, first.ID) {
			t.Errorf("conflict on C: %+v, want double_booking naming %s", p, first.ID)
		}

		const racers = 9
		answers := make([]answer, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-gate
				cl := &client{c: c, node: i % 3}
				answers[i], _, errs[i] = cl.retry(t.Context(), func(base string) (answer, error) {
					return call(t.Context(), http.MethodPost, base+"/scheduling/events",
						strings.NewReader(booking("racer "+strconv.Itoa(i), 11, 0, 12, 0)), append(ed.as(), jsonBody)...)
				})
			})
		}
		close(gate)
		wg.Wait()
		var winner scheduling.Booking
		wins := 0
		for i, ans := range answers {
			switch {
			case errs[i] != nil:
				t.Fatalf("racer %d: %v", i, errs[i])
			case ans.status == http.StatusCreated:
				wins++
				mustJSON(t, ans.body, &winner)
			case ans.status == http.StatusConflict && strings.Contains(ans.body, scheduling.ReasonDoubleBooking):
			default:
				t.Errorf("racer %d (node %d): %d %s", i, i%3, ans.status, ans.body)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent bookings of one slot across three nodes won, want exactly 1", wins, racers)
		}
		cal.awaitKey(t, scheduling.EventEventCreated+" "+winner.ID)
		var want []string
		for _, e := range c.committed(t, from, events.Filter{App: "scheduling", OrgID: olivia.org}) {
			if strings.HasPrefix(e.Type, "scheduling.event.") {
				want = append(want, logKey(e))
			}
		}
		cal.expectSame(t, want)
	})

	// Files: uploaded (3 MiB, streamed) through A, downloaded through B
	// with identical bytes, shared through C, then read by the grantee
	// through A.
	t.Run("files", func(t *testing.T) {
		ann := signUp(t, a, "ann@flows.example", "")
		bob := signUp(t, b, "bob@flows.example", "")
		newOrg(t, cn, &ann, "Acme")
		join(t, a, ann, &bob, "member")
		const name, size = "flows-report.bin", 3 << 20
		streamed := func(r *http.Request) { r.ContentLength = -1 }
		up := expectFrom(t, http.StatusCreated, http.MethodPost, a.URL+"/files", func() io.Reader { return payload(name, size) },
			ann.as(header("X-File-Name", name), header("Content-Type", "application/octet-stream"), streamed)...)
		var f files.File
		mustJSON(t, up.body, &f)
		want := payloadSum(name, size)
		download := func(n int, u user) {
			t.Helper()
			ans := expect(t, http.StatusOK, http.MethodGet, c.nodes[n].URL+"/files/"+f.ID+"/content", "", u.as()...)
			if sha256.Sum256([]byte(ans.body)) != want {
				t.Fatalf("download through node %d: %d bytes that differ from the %d uploaded through A", n, len(ans.body), size)
			}
		}
		download(1, ann)
		expect(t, http.StatusNotFound, http.MethodGet, b.URL+"/files/"+f.ID+"/content", "", bob.as()...) // not shared yet
		expect(t, http.StatusOK, http.MethodPut, cn.URL+"/files/"+f.ID+"/grants",
			`{"principal_type":"user","principal_id":"`+bob.id+`","access":"read"}`, ann.as()...)
		download(0, bob)
	})

	// Records: created through A, listed and read through B, changed
	// through C with If-Match; A then refuses the stale version.
	t.Run("records", func(t *testing.T) {
		rita := signUp(t, a, "rita@flows.example", "")
		newOrg(t, b, &rita, "Tomorro")
		var rec records.Record
		mustJSON(t, expect(t, http.StatusCreated, http.MethodPost, a.URL+"/records/contracts",
			`{"fields":{"title":"Office lease","value":18000}}`, rita.as()...).body, &rec)
		var list struct{ Items []records.Record }
		mustJSON(t, expect(t, http.StatusOK, http.MethodGet, b.URL+"/records/contracts", "", rita.as()...).body, &list)
		if len(list.Items) != 1 || list.Items[0].ID != rec.ID {
			t.Fatalf("list on B: %+v, want %s", list.Items, rec.ID)
		}
		if got := expect(t, http.StatusOK, http.MethodGet, b.URL+"/records/contracts/"+rec.ID, "", rita.as()...); got.header.Get("ETag") != `"1"` {
			t.Fatalf("get on B: ETag %s, want \"1\"", got.header.Get("ETag"))
		}
		expect(t, http.StatusOK, http.MethodPatch, cn.URL+"/records/contracts/"+rec.ID,
			`{"fields":{"status":"signed"}}`, rita.as(header("If-Match", `"1"`))...)
		expect(t, http.StatusPreconditionFailed, http.MethodPatch, a.URL+"/records/contracts/"+rec.ID,
			`{"fields":{"status":"review"}}`, rita.as(header("If-Match", `"1"`))...)
		mustJSON(t, expect(t, http.StatusOK, http.MethodGet, b.URL+"/records/contracts/"+rec.ID, "", rita.as()...).body, &rec)
		var fields struct{ Status string }
		if err := json.Unmarshal(rec.Fields, &fields); err != nil || rec.Version != 2 || fields.Status != "signed" {
			t.Fatalf("after the change on C, B shows version %d %s", rec.Version, rec.Fields)
		}
	})
}
