package restaurants_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// cast is the people of the stories.
type cast struct {
	manager, server, customer, other, managerB user
}

func signUpCast(t *testing.T, n *nodetest.Node) cast {
	return cast{
		manager:  signUp(t, n, "maria@example.com", "Maria", restaurants.ClientStaff),
		server:   signUp(t, n, "sam@example.com", "Sam", restaurants.ClientStaff),
		customer: signUp(t, n, "carl@example.com", "Carl", restaurants.ClientCustomer),
		other:    signUp(t, n, "olga@example.com", "Olga", restaurants.ClientCustomer),
		managerB: signUp(t, n, "bert@example.com", "Bert", restaurants.ClientStaff),
	}
}

// TestUserStories walks every user story of the seed through HTTP and the
// live board, reading the mails from the sink, on both engines.
func TestUserStories(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		n := start(t, engine)
		c := signUpCast(t, n)

		// Sign-up: a profile and a welcome mail for each.
		if m := waitMail(t, n, c.customer.email, "Welcome"); !strings.Contains(m.Text, "reserve a seating") {
			t.Errorf("customer welcome: %q", m.Text)
		}
		if m := waitMail(t, n, c.manager.email, "Welcome"); !strings.Contains(m.Text, "Create your restaurant") {
			t.Errorf("staff welcome: %q", m.Text)
		}
		var me restaurants.Me
		mustJSON(t, c.customer.mustDo(t, n, http.StatusOK, "GET", "/restaurants/me", ""), &me)
		if me.Role != restaurants.RoleCustomer || me.RestaurantID != nil || me.Email != c.customer.email || me.ClientID != restaurants.ClientCustomer {
			t.Errorf("customer me: %+v", me)
		}

		// A manager creates a restaurant: PRIVATE, the caller its MANAGER,
		// attributes in the user pool.
		var r restaurants.Restaurant
		mustJSON(t, c.manager.mustDo(t, n, http.StatusCreated, "POST", "/restaurants", `{"name":"Chez Maria","description":"Fish","region":"north"}`), &r)
		if r.Visibility != restaurants.Private || r.Region != "NORTH" || r.ProfilePhotoURL != nil {
			t.Errorf("created: %+v", r)
		}
		mustJSON(t, c.manager.mustDo(t, n, http.StatusOK, "GET", "/restaurants/me", ""), &me)
		if me.Role != restaurants.RoleManager || me.RestaurantID == nil || *me.RestaurantID != r.ID {
			t.Errorf("manager me: %+v", me)
		}
		fresh := signIn(t, n, c.manager.email)
		if body := fresh.mustDo(t, n, http.StatusOK, "GET", "/auth/me", ""); !strings.Contains(body, `"restaurantId":"`+r.ID+`"`) || !strings.Contains(body, `"restaurantRole":"MANAGER"`) {
			t.Errorf("attributes not mirrored: %s", body)
		}
		c.manager.mustDo(t, n, http.StatusConflict, "POST", "/restaurants", `{"name":"Second","region":"NORTH"}`)
		c.customer.mustDo(t, n, http.StatusForbidden, "POST", "/restaurants", `{"name":"Mine","region":"NORTH"}`)

		// Private: invisible to customers, listed for its manager only.
		c.customer.mustDo(t, n, http.StatusNotFound, "GET", "/restaurants/"+r.ID, "")
		if body := c.customer.mustDo(t, n, http.StatusOK, "GET", "/restaurants?region=NORTH", ""); strings.Contains(body, r.ID) {
			t.Errorf("private restaurant listed: %s", body)
		}
		if body := c.manager.mustDo(t, n, http.StatusOK, "GET", "/restaurants/region/NORTH", ""); !strings.Contains(body, r.ID) {
			t.Errorf("own private restaurant not listed: %s", body)
		}
		c.manager.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID, `{"description":"Fish and chips"}`)
		c.manager.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/visibility", `{"visibility":"PUBLIC"}`)
		c.customer.mustDo(t, n, http.StatusForbidden, "PATCH", "/restaurants/"+r.ID, `{"name":"Mine now"}`)
		for _, path := range []string{"/restaurants?region=NORTH", "/restaurants/region/NORTH"} {
			if body := c.customer.mustDo(t, n, http.StatusOK, "GET", path, ""); !strings.Contains(body, "Fish and chips") {
				t.Errorf("%s: %s", path, body)
			}
		}
		if body := c.customer.mustDo(t, n, http.StatusOK, "GET", "/restaurants/region/SOUTH", ""); strings.Contains(body, r.ID) {
			t.Errorf("listed in the wrong region: %s", body)
		}

		// Staff management: never zero managers.
		c.manager.mustDo(t, n, http.StatusOK, "PUT", "/restaurants/"+r.ID+"/staff/"+c.server.id, `{"role":"STAFF"}`)
		c.manager.mustDo(t, n, http.StatusConflict, "DELETE", "/restaurants/"+r.ID+"/staff/"+c.manager.id, "")
		c.manager.mustDo(t, n, http.StatusConflict, "PUT", "/restaurants/"+r.ID+"/staff/"+c.manager.id, `{"role":"STAFF"}`)
		c.manager.mustDo(t, n, http.StatusConflict, "PUT", "/restaurants/"+r.ID+"/staff/"+c.customer.id, `{"role":"STAFF"}`)
		c.server.mustDo(t, n, http.StatusForbidden, "PUT", "/restaurants/"+r.ID+"/staff/"+c.managerB.id, `{"role":"STAFF"}`)
		// Its staff list the staff, in the order they joined; customers may not.
		var staff struct{ Items []restaurants.Staff }
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "GET", "/restaurants/me/staff", ""), &staff)
		if len(staff.Items) != 2 || staff.Items[0].UserID != c.manager.id || staff.Items[0].Role != restaurants.RoleManager ||
			staff.Items[1].UserID != c.server.id || staff.Items[1].Role != restaurants.RoleStaff || staff.Items[1].Email != c.server.email {
			t.Errorf("the staff: %+v", staff.Items)
		}
		c.customer.mustDo(t, n, http.StatusForbidden, "GET", "/restaurants/me/staff", "")

		// Restaurant B, whose manager must not reach restaurant A.
		var rb restaurants.Restaurant
		mustJSON(t, c.managerB.mustDo(t, n, http.StatusCreated, "POST", "/restaurants", `{"name":"Bert's","region":"SOUTH"}`), &rb)

		// The live boards: staff see the restaurant's seatings, the customer
		// their own.
		staffBoard := openBoard(t, n, c.server, "")
		customerBoard := openBoard(t, n, c.customer, "")
		otherBoard := openBoard(t, n, c.other, "")

		// A reservation, with its mails.
		when := nextWeekday(time.Now(), time.Tuesday).Add(19 * time.Hour)
		var st restaurants.Seating
		mustJSON(t, c.customer.mustDo(t, n, http.StatusCreated, "POST", "/restaurants/"+r.ID+"/seatings",
			fmt.Sprintf(`{"seatingTime":%q,"numSeats":4,"notes":"window please"}`, when.Format(time.RFC3339))), &st)
		if st.Status != restaurants.StatusPending || st.NumSeats != 4 || !st.SeatingTime.Equal(when) || st.UserID != c.customer.id {
			t.Fatalf("seating: %+v", st)
		}
		staffBoard.expect(t, restaurants.VerbCreated, st.ID)
		customerBoard.expect(t, restaurants.VerbCreated, st.ID)
		waitMail(t, n, c.customer.email, "We received your reservation at Chez Maria")
		for _, staff := range []user{c.manager, c.server} {
			if m := waitMail(t, n, staff.email, "New reservation at Chez Maria"); !strings.Contains(m.Text, "window please") || !strings.Contains(m.Text, "4 people") {
				t.Errorf("staff mail: %q", m.Text)
			}
		}

		// Who may see and do what.
		c.other.mustDo(t, n, http.StatusNotFound, "GET", "/restaurants/"+r.ID+"/seatings/"+st.ID, "")
		c.other.mustDo(t, n, http.StatusNotFound, "DELETE", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/cancel", "")
		c.managerB.mustDo(t, n, http.StatusNotFound, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/accept", "")
		c.managerB.mustDo(t, n, http.StatusForbidden, "GET", "/restaurants/"+r.ID+"/seatings", "")
		c.customer.mustDo(t, n, http.StatusForbidden, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/accept", "")
		c.customer.mustDo(t, n, http.StatusOK, "GET", "/restaurants/"+r.ID+"/seatings/"+st.ID, "")
		if _, body := c.customer.do(t, n, "POST", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", `{}`); !strings.Contains(body, "PENDING") {
			t.Errorf("hail when pending: %s", body)
		}
		c.customer.mustDo(t, n, http.StatusConflict, "POST", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", `{}`)
		c.server.mustDo(t, n, http.StatusConflict, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/seat", `{"tableNumber":3}`)

		// Accept, seat, hail, acknowledge, order, close.
		c.server.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/accept", "")
		if _, body := c.server.do(t, n, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/accept", ""); !strings.Contains(body, "ACCEPTED") {
			t.Errorf("second accept names no status: %s", body)
		}
		c.server.mustDo(t, n, http.StatusConflict, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/decline", "")
		waitMail(t, n, c.customer.email, "is confirmed")
		c.server.mustDo(t, n, http.StatusUnprocessableEntity, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/seat", `{"tableNumber":0}`)
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/seat", `{"tableNumber":12}`), &st)
		if st.Status != restaurants.StatusSeated || st.TableNumber == nil || *st.TableNumber != 12 {
			t.Errorf("seated: %+v", st)
		}
		c.server.mustDo(t, n, http.StatusForbidden, "POST", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", `{}`)
		mustJSON(t, c.customer.mustDo(t, n, http.StatusOK, "POST", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", `{"reason":"the bill"}`), &st)
		if !st.Hailing {
			t.Errorf("not hailing: %+v", st)
		}
		staffBoard.expect(t, restaurants.VerbAccepted, st.ID)
		staffBoard.expect(t, restaurants.VerbSeated, st.ID)
		if p := staffBoard.expect(t, restaurants.VerbHailed, st.ID); !p.Data.Seating.Hailing {
			t.Errorf("hail push: %+v", p)
		}
		if m := waitMail(t, n, c.server.email, "Table 12 at Chez Maria is asking for a server"); !strings.Contains(m.Text, "the bill") {
			t.Errorf("hail mail: %q", m.Text)
		}
		c.customer.mustDo(t, n, http.StatusForbidden, "DELETE", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", "")
		c.server.mustDo(t, n, http.StatusOK, "DELETE", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", "")
		c.server.mustDo(t, n, http.StatusConflict, "DELETE", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/hail", "")
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "PUT", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/order-items", `{"items":["soup","fish","wine"]}`), &st)
		if strings.Join(st.OrderItems, ",") != "soup,fish,wine" || st.Hailing {
			t.Errorf("order: %+v", st)
		}
		c.server.mustDo(t, n, http.StatusUnprocessableEntity, "PUT", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/order-items", `{"items":["soup",""]}`)
		c.server.mustDo(t, n, http.StatusUnprocessableEntity, "PUT", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/order-items", `{"items":["`+strings.Repeat("x", 201)+`"]}`)
		c.server.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/close", "")
		c.server.mustDo(t, n, http.StatusConflict, "PUT", "/restaurants/"+r.ID+"/seatings/"+st.ID+"/order-items", `{"items":["cake"]}`)
		staffBoard.expect(t, restaurants.VerbHailAcknowledged, st.ID)
		staffBoard.expect(t, restaurants.VerbOrderUpdated, st.ID)
		last := staffBoard.expect(t, restaurants.VerbClosed, st.ID)
		for _, verb := range []string{restaurants.VerbAccepted, restaurants.VerbSeated, restaurants.VerbHailed, restaurants.VerbHailAcknowledged, restaurants.VerbOrderUpdated, restaurants.VerbClosed} {
			customerBoard.expect(t, verb, st.ID)
		}

		// Decline, and cancel with the mails to both sides.
		later := when.Add(24 * time.Hour)
		var declined, cancelled restaurants.Seating
		mustJSON(t, c.customer.mustDo(t, n, http.StatusCreated, "POST", "/restaurants/"+r.ID+"/seatings",
			fmt.Sprintf(`{"seatingTime":%q,"numSeats":2}`, later.Format(time.RFC3339))), &declined)
		c.server.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/seatings/"+declined.ID+"/decline", "")
		waitMail(t, n, c.customer.email, "was declined")
		c.customer.mustDo(t, n, http.StatusConflict, "DELETE", "/restaurants/"+r.ID+"/seatings/"+declined.ID+"/cancel", "")
		mustJSON(t, c.other.mustDo(t, n, http.StatusCreated, "POST", "/restaurants/"+r.ID+"/seatings",
			fmt.Sprintf(`{"seatingTime":%q,"numSeats":1}`, later.Add(time.Hour).Format(time.RFC3339))), &cancelled)
		c.server.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/seatings/"+cancelled.ID+"/accept", "")
		c.other.mustDo(t, n, http.StatusOK, "PATCH", "/restaurants/"+r.ID+"/seatings/"+cancelled.ID+"/cancel", "")
		waitMail(t, n, c.other.email, "is cancelled")
		if m := waitMail(t, n, c.manager.email, "Reservation cancelled at Chez Maria"); !strings.Contains(m.Text, c.other.email) {
			t.Errorf("cancel mail to staff: %q", m.Text)
		}
		otherBoard.expect(t, restaurants.VerbCreated, cancelled.ID)

		// Resume: a board reconnecting with its last cursor gets what it
		// missed, in order, then live events.
		_ = staffBoard.conn.CloseNow()
		resumed := openBoard(t, n, c.server, last.Cursor)
		resumed.expect(t, restaurants.VerbCreated, declined.ID)
		resumed.expect(t, restaurants.VerbDeclined, declined.ID)
		resumed.expect(t, restaurants.VerbCreated, cancelled.ID)
		resumed.expect(t, restaurants.VerbAccepted, cancelled.ID)
		resumed.expect(t, restaurants.VerbCancelled, cancelled.ID)

		// Lists: upcoming by time, the customer's own, the visits summary.
		var page struct {
			Items []restaurants.Seating `json:"items"`
		}
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "GET", "/restaurants/"+r.ID+"/seatings", ""), &page)
		if len(page.Items) != 3 || page.Items[0].ID != st.ID || page.Items[1].ID != declined.ID || page.Items[2].ID != cancelled.ID {
			t.Errorf("upcoming: %+v", page.Items)
		}
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "GET", "/restaurants/"+r.ID+"/seatings?status=DECLINED", ""), &page)
		if len(page.Items) != 1 || page.Items[0].ID != declined.ID {
			t.Errorf("by status: %+v", page.Items)
		}
		mustJSON(t, c.customer.mustDo(t, n, http.StatusOK, "GET", "/restaurants/me/seatings", ""), &page)
		if len(page.Items) != 2 || page.Items[0].ID != st.ID {
			t.Errorf("my seatings: %+v", page.Items)
		}
		var v restaurants.Visits
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "GET", "/restaurants/"+r.ID+"/customers/"+c.customer.id+"/visits", ""), &v)
		if v.VisitsLast6Months != 0 || v.LastVisitAt != nil {
			t.Errorf("visits counted a future seating: %+v", v) // seated ahead of time: not a past visit yet
		}
		c.customer.mustDo(t, n, http.StatusForbidden, "GET", "/restaurants/"+r.ID+"/customers/"+c.customer.id+"/visits", "")

		// Each mail once: the acknowledgement of the first seating exists once.
		if ms := mailsTo(t, n, c.customer.email, "We received your reservation"); len(ms) != 2 {
			t.Errorf("%d acknowledgements for 2 seatings", len(ms))
		}

		// Removing a staff member closes their board's subscription and makes
		// them a customer again.
		c.manager.mustDo(t, n, http.StatusNoContent, "DELETE", "/restaurants/"+r.ID+"/staff/"+c.server.id, "")
		if p := resumed.next(t); p.Type != "error" {
			t.Errorf("removed staff's board: %+v", p)
		}
		mustJSON(t, c.server.mustDo(t, n, http.StatusOK, "GET", "/restaurants/me", ""), &me)
		if me.Role != restaurants.RoleCustomer {
			t.Errorf("removed staff: %+v", me)
		}
		c.server.mustDo(t, n, http.StatusForbidden, "GET", "/restaurants/"+r.ID+"/seatings", "")
	})
}

// nextWeekday is the midnight (UTC) of the first day after now that is wd,
// at least two days ahead.
func nextWeekday(now time.Time, wd time.Weekday) time.Time {
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 2)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d
}
