package scheduling_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestDayInABikeShop plays a day in a small business through two sockets:
// Olivia (the owner) edits, Max (a mechanic) watches two resources and the
// org, and every push Max receives is checked, as are the ones he must not
// receive.
func TestDayInABikeShop(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine, "TESSERA_SCHEDULING_DIGEST_WINDOW=3s")
		olivia := signUp(t, n, "olivia@bikes.example")
		max := signUp(t, n, "max@bikes.example")
		newOrg(t, n, &olivia, "Bike shop")
		join(t, n, olivia, &max, "member")
		waitEvent(t, n, scheduling.EventUserAdded, max.id)

		ed, watch := dial(t, n, olivia), dial(t, n, max)
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour) // the day after tomorrow: in the future

		var bay1, bay2, van, desk scheduling.Resource
		ed.do("resources.create", map[string]any{"name": "Workshop bay 1", "kind": "room", "capacity": 2}, &bay1)
		ed.do("resources.create", map[string]any{"name": "Workshop bay 2", "kind": "room"}, &bay2)
		ed.do("resources.create", map[string]any{"name": "Van", "kind": "vehicle"}, &van)
		ed.do("resources.create", map[string]any{"name": "Front desk", "allow_overlap": true}, &desk)
		if bay1.Version != 1 || !strings.Contains(bay1.CalendarURL, "/scheduling/resources/"+bay1.ID+"/calendar.ics?token=") {
			t.Fatalf("resource: %+v", bay1)
		}

		// Max subscribes to the org and to bay 1 and the van for the day.
		var orgSub, evSub struct {
			SubscriptionID string `json:"subscription_id"`
		}
		watch.do("subscribe.org", nil, &orgSub)
		watch.do("subscribe.events", map[string]any{"from": at(day, "08:00"), "to": at(day, "18:00"),
			"resource_ids": []string{bay1.ID, van.ID}}, &evSub)
		if orgSub.SubscriptionID == "" || evSub.SubscriptionID == "" || orgSub.SubscriptionID == evSub.SubscriptionID {
			t.Fatalf("subscriptions: %+v %+v", orgSub, evSub)
		}
		// Changes committed just before a subscription without since may
		// reach it (docs/scheduling.md): these are skipped if they do.
		watch.mayHaveSeen(scheduling.EventResourceCreated, bay1.ID, bay2.ID, van.ID, desk.ID)
		watch.mayHaveSeen(scheduling.EventUserAdded, max.id)

		// The catalog: a project and a layout reach the org subscription.
		var repairs scheduling.Project
		ed.do("projects.create", map[string]any{"name": "Repairs", "color": "#00aa55"}, &repairs)
		d := watch.expectPush(orgSub.SubscriptionID, "scheduling.project.created", repairs.ID)
		if d.Kind != "project" || d.Change != "created" {
			t.Fatalf("project push: %+v", d)
		}
		var floor scheduling.Layout
		ed.do("layouts.create", map[string]any{"name": "Floor", "items": []map[string]any{
			{"resource_id": bay1.ID, "x": 0, "y": 0, "w": 4, "h": 3, "rotation": 0},
			{"resource_id": bay2.ID, "x": 5, "y": 0, "w": 4, "h": 3, "rotation": 90}}}, &floor)
		watch.expectPush(orgSub.SubscriptionID, "scheduling.layout.created", floor.ID)

		// 09:00 a repair in bay 1, Max attending: pushed, and mailed to Max.
		var fix scheduling.Booking
		ed.do("events.create", map[string]any{"title": "Fix Anna's bike", "start": at(day, "09:00"), "end": at(day, "10:00"),
			"resource_ids": []string{bay1.ID}, "attendee_user_ids": []string{max.id}, "project_id": repairs.ID}, &fix)
		d = watch.expectPush(evSub.SubscriptionID, "scheduling.event.created", fix.ID)
		var item scheduling.Booking
		mustJSON(t, string(d.Item), &item)
		if d.Change != "created" || item.Title != "Fix Anna's bike" || item.Version != 1 || *item.ProjectID != repairs.ID {
			t.Fatalf("created push: %+v %+v", d, item)
		}
		mailtest.Wait(t, n.Config.MailDir(), max.email, "Fix Anna's bike: scheduled")

		// Bay 2 is not watched: no push. The desk allows overlap.
		var other scheduling.Booking
		ed.do("events.create", map[string]any{"title": "Wheel truing", "start": at(day, "09:00"), "end": at(day, "12:00"),
			"resource_ids": []string{bay2.ID, desk.ID}}, &other)
		ed.do("events.create", map[string]any{"title": "Walk-ins", "start": at(day, "09:00"), "end": at(day, "17:00"),
			"resource_ids": []string{desk.ID}}, nil)

		// A double booking of bay 1 is refused and names the repair.
		p := ed.fail("events.create", map[string]any{"title": "Overlap", "start": at(day, "09:30"), "end": at(day, "10:30"),
			"resource_ids": []string{bay1.ID}}, 409)
		if p.Reason != scheduling.ReasonDoubleBooking || !strings.Contains(p.Detail, fix.ID) {
			t.Fatalf("double booking: %+v", p)
		}

		// The repair moves to 10:00: one push with the new values.
		var moved scheduling.Booking
		ed.do("events.update", map[string]any{"id": fix.ID, "version": 1, "start": at(day, "10:00"), "end": at(day, "11:00")}, &moved)
		d = watch.expectPush(evSub.SubscriptionID, "scheduling.event.updated", fix.ID)
		mustJSON(t, string(d.Item), &item)
		if d.Change != "updated" || item.Version != 2 || !item.Start.Equal(moved.Start) {
			t.Fatalf("updated push: %+v", item)
		}
		// A stale editor is refused.
		if p := ed.fail("events.update", map[string]any{"id": fix.ID, "version": 1, "title": "Stale"}, 409); p.Reason != scheduling.ReasonStale {
			t.Fatalf("stale: %+v", p)
		}

		// Out of the window (to the next day): pushed once, then silent.
		next := day.Add(24 * time.Hour)
		ed.do("events.update", map[string]any{"id": fix.ID, "version": 2, "start": at(next, "10:00"), "end": at(next, "11:00")}, &moved)
		d = watch.expectPush(evSub.SubscriptionID, "scheduling.event.updated", fix.ID)
		mustJSON(t, string(d.Item), &item)
		if !item.Start.Equal(moved.Start) {
			t.Fatalf("moved-out push carries %v, want %v", item.Start, moved.Start)
		}
		ed.do("events.update", map[string]any{"id": fix.ID, "version": 3, "title": "Fix Anna's bike (parts ordered)"}, &moved)

		// Into the window on another watched resource (the van): pushed.
		ed.do("events.update", map[string]any{"id": fix.ID, "version": 4, "start": at(day, "15:00"), "end": at(day, "16:00"),
			"resource_ids": []string{van.ID}}, &moved)
		watch.expectPush(evSub.SubscriptionID, "scheduling.event.updated", fix.ID)

		// A delivery in the van, cancelled, then deleted: three pushes.
		var delivery scheduling.Booking
		ed.do("events.create", map[string]any{"title": "Delivery", "start": at(day, "07:00"), "end": at(day, "08:30"),
			"resource_ids": []string{van.ID}}, &delivery)
		watch.expectPush(evSub.SubscriptionID, "scheduling.event.created", delivery.ID)
		ed.do("events.cancel", map[string]any{"id": delivery.ID, "version": 1}, &delivery)
		d = watch.expectPush(evSub.SubscriptionID, "scheduling.event.cancelled", delivery.ID)
		mustJSON(t, string(d.Item), &item)
		if item.Status != scheduling.StatusCancelled || d.Change != "updated" {
			t.Fatalf("cancel push: %+v %+v", d, item)
		}
		// The van is free again at that time.
		ed.do("events.create", map[string]any{"title": "Pickup", "start": at(day, "07:30"), "end": at(day, "08:00"),
			"resource_ids": []string{van.ID}}, nil) // before the window: no push
		ed.do("events.delete", map[string]any{"id": delivery.ID, "version": 2}, nil)
		d = watch.expectPush(evSub.SubscriptionID, "scheduling.event.deleted", delivery.ID)
		if d.Change != "deleted" {
			t.Fatalf("delete push: %+v", d)
		}

		// Max reads his day: the repair (now in the van) and nothing else.
		var list struct {
			Items []scheduling.Booking `json:"items"`
		}
		watch.do("events.list", map[string]any{"from": at(day, "08:00"), "to": at(day, "18:00"), "resource_ids": []string{bay1.ID, van.ID}}, &list)
		if len(list.Items) != 1 || list.Items[0].ID != fix.ID {
			t.Fatalf("list: %+v", list.Items)
		}
		var slots struct {
			Slots []scheduling.Slot `json:"slots"`
		}
		watch.do("availability", map[string]any{"from": at(day, "08:00"), "to": at(day, "18:00"),
			"resource_ids": []string{bay1.ID, van.ID}, "duration_minutes": 60}, &slots)
		if len(slots.Slots) != 2 || slots.Slots[0].End.Format("15:04") != "15:00" || slots.Slots[1].Start.Format("15:04") != "16:00" {
			t.Fatalf("availability: %+v", slots.Slots)
		}

		// Changes mailed within the digest window come as one digest.
		ed.do("events.update", map[string]any{"id": fix.ID, "version": 5, "notes": "bring the pump"}, &moved)
		watch.expectPush(evSub.SubscriptionID, "scheduling.event.updated", fix.ID)
		ed.do("events.update", map[string]any{"id": fix.ID, "version": 6, "notes": "bring the pump and a tube"}, &moved)
		watch.expectPush(evSub.SubscriptionID, "scheduling.event.updated", fix.ID)
		mailtest.Wait(t, n.Config.MailDir(), max.email, "changes to your events")

		// A member may not change the catalog; the connection stays usable.
		watch.fail("resources.create", map[string]any{"name": "Mine"}, 403)

		// Archiving the van cancels its future events (pushed) and a bay
		// leaves the layout (pushed to the org subscription).
		var archived scheduling.Resource
		ed.do("resources.archive", map[string]any{"id": van.ID, "version": 1}, &archived)
		watch.expectPush(orgSub.SubscriptionID, "scheduling.resource.archived", van.ID)
		d = watch.expectPush(evSub.SubscriptionID, "scheduling.event.cancelled", fix.ID)
		mustJSON(t, string(d.Item), &item)
		if item.Status != scheduling.StatusCancelled {
			t.Fatalf("archive cancel push: %+v", item)
		}
		ed.do("resources.archive", map[string]any{"id": bay2.ID, "version": 1}, nil)
		watch.expectPush(orgSub.SubscriptionID, "scheduling.resource.archived", bay2.ID)
		d = watch.expectPush(orgSub.SubscriptionID, "scheduling.layout.updated", floor.ID)
		var lay scheduling.Layout
		mustJSON(t, string(d.Item), &lay)
		if len(lay.Items) != 1 || lay.Items[0].ResourceID != bay1.ID {
			t.Fatalf("layout after archive: %+v", lay)
		}

		// A new colleague is invited: the org subscription sees the user.
		var sam scheduling.User
		ed.do("users.invite", map[string]any{"email": "sam@bikes.example", "role": "member"}, &sam)
		d = watch.expectPush(orgSub.SubscriptionID, scheduling.EventUserAdded, sam.UserID)
		if d.Kind != "user" {
			t.Fatalf("user push: %+v", d)
		}
		mailtest.Wait(t, n.Config.MailDir(), "sam@bikes.example", "")

		// Olivia removes Max: his socket closes with 4003 at once.
		ed.do("users.remove", map[string]any{"user_id": max.id}, nil)
		if code := watch.closeCode(); code != scheduling.StatusRemoved {
			t.Fatalf("removed member's socket closed with %d, want 4003", code)
		}
	})
}

// TestBadInputKeepsTheSocket sends each bad input of the contract and
// checks the error frame and that the socket still answers.
func TestBadInputKeepsTheSocket(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	owner := signUp(t, n, "owner@a.example")
	stranger := signUp(t, n, "owner@b.example")
	newOrg(t, n, &owner, "A")
	newOrg(t, n, &stranger, "B")
	c, s := dial(t, n, owner), dial(t, n, stranger)
	var mine, theirs scheduling.Resource
	c.do("resources.create", map[string]any{"name": "Room"}, &mine)
	s.do("resources.create", map[string]any{"name": "Their room"}, &theirs)
	var proj scheduling.Project
	c.do("projects.create", map[string]any{"name": "P"}, &proj)
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)

	for _, tc := range []struct {
		name, action string
		data         any
		status       int
		location     string
	}{
		{"end before start", "events.create", map[string]any{"title": "x", "start": at(day, "10:00"), "end": at(day, "09:00"), "resource_ids": []string{mine.ID}}, 422, "data.end"},
		{"end equals start", "events.create", map[string]any{"title": "x", "start": at(day, "10:00"), "end": at(day, "10:00")}, 422, "data.end"},
		{"longer than 31 days", "events.create", map[string]any{"title": "x", "start": at(day, "10:00"), "end": day.Add(32 * 24 * time.Hour).Format(time.RFC3339)}, 422, "data.end"},
		{"another org's resource", "events.create", map[string]any{"title": "x", "start": at(day, "10:00"), "end": at(day, "11:00"), "resource_ids": []string{theirs.ID}}, 422, "data.resource_ids"},
		{"another org's resource in a layout", "layouts.create", map[string]any{"name": "L", "items": []map[string]any{{"resource_id": theirs.ID}}}, 422, "data.items[0].resource_id"},
		{"unknown field", "events.create", map[string]any{"title": "x", "colour": "red"}, 400, ""},
		{"wrong type", "events.create", map[string]any{"title": 5}, 400, "data.title"},
		{"range over a year", "subscribe.events", map[string]any{"from": at(day, "00:00"), "to": day.Add(400 * 24 * time.Hour).Format(time.RFC3339), "resource_ids": []string{mine.ID}}, 422, "data.to"},
		{"another org's resources", "subscribe.events", map[string]any{"from": at(day, "00:00"), "to": at(day, "12:00"), "resource_ids": []string{theirs.ID}}, 422, "data.resource_ids"},
		{"bad since", "subscribe.org", map[string]any{"since": "nonsense"}, 422, "data.since"},
		{"unknown subscription", "unsubscribe", map[string]any{"subscription_id": "nope"}, 404, ""},
		{"unknown action", "events.explode", map[string]any{}, 400, "action"},
		{"empty name on update", "projects.update", map[string]any{"id": proj.ID, "version": 1, "name": "  "}, 422, "data.name"},
		{"control characters", "resources.update", map[string]any{"id": mine.ID, "version": 1, "name": "a\u0000b"}, 422, "data.name"},
		{"unknown event", "events.get", map[string]any{"id": theirs.ID}, 404, ""},
	} {
		p := c.fail(tc.action, tc.data, tc.status)
		if tc.location != "" && (len(p.Errors) == 0 || p.Errors[0].Location != tc.location) {
			t.Errorf("%s: errors %+v, want location %s", tc.name, p.Errors, tc.location)
		}
	}
	// A missing request_id and malformed JSON: error frames without one.
	c.sendRaw(`{"action":"org.get","data":{}}`)
	if f := c.read(); f.Type != "error" || !strings.Contains(string(f.Data), "request_id") {
		t.Fatalf("missing request_id: %+v %s", f, f.Data)
	}
	c.sendRaw(`{"action":`)
	if f := c.read(); f.Type != "error" {
		t.Fatalf("malformed: %+v", f)
	}
	var org scheduling.Org
	c.do("org.get", nil, &org)
	if org.Name != "A" {
		t.Fatalf("org.get after bad input: %+v", org)
	}
}

// TestConcurrentBookingsOneWinsPerSlot fires overlapping creates from many
// sockets at once: exactly one wins each slot, on both engines.
func TestConcurrentBookingsOneWinsPerSlot(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		owner := signUp(t, n, "owner@race.example")
		newOrg(t, n, &owner, "Race")
		c := dial(t, n, owner)
		var room scheduling.Resource
		c.do("resources.create", map[string]any{"name": "Room"}, &room)
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
		const writers, slots = 8, 4
		socks := make([]*client, writers)
		for i := range socks {
			socks[i] = dial(t, n, owner)
		}
		type outcome struct {
			slot   int
			status int
			err    string
		}
		results := make(chan outcome, writers*slots)
		for w := range writers {
			go func(c *client) {
				for k := range slots {
					slot := (k + w) % slots // each writer in its own order
					// Overlapping ranges per slot: 30 min shifted by the writer.
					start := day.Add(time.Duration(slot)*2*time.Hour + time.Duration(w)*time.Minute)
					msg := fmt.Sprintf(`{"action":"events.create","request_id":"w%d-%d","data":{"title":"s%d","start":%q,"end":%q,"resource_ids":[%q]}}`,
						w, slot, slot, start.Format(time.RFC3339), start.Add(30*time.Minute).Format(time.RFC3339), room.ID)
					if err := c.conn.Write(t.Context(), websocket.MessageText, []byte(msg)); err != nil {
						results <- outcome{slot: slot, err: err.Error()}
						continue
					}
					var f frame
					var fr struct {
						Status int `json:"status"`
					}
					if err := testhttp.ReadJSON(c.conn, 30*time.Second, &f); err != nil {
						results <- outcome{slot: slot, err: err.Error()}
						continue
					}
					if f.Type == "result" {
						results <- outcome{slot: slot, status: 201}
						continue
					}
					_ = json.Unmarshal(f.Data, &fr)
					results <- outcome{slot: slot, status: fr.Status}
				}
			}(socks[w])
		}
		won := make([]int, slots)
		for range writers * slots {
			o := <-results
			switch {
			case o.err != "":
				t.Fatalf("slot %d: %s", o.slot, o.err)
			case o.status == 201:
				won[o.slot]++
			case o.status != 409:
				t.Fatalf("slot %d: status %d, want 201 or 409", o.slot, o.status)
			}
		}
		for s, w := range won {
			if w != 1 {
				t.Errorf("slot %d: %d winners, want exactly 1", s, w)
			}
		}
		var list struct {
			Items []scheduling.Booking `json:"items"`
		}
		c.do("events.list", map[string]any{"from": at(day, "00:00"), "to": at(day, "23:00"), "resource_ids": []string{room.ID}}, &list)
		if len(list.Items) != slots {
			t.Fatalf("%d events stored, want %d", len(list.Items), slots)
		}
	})
}
