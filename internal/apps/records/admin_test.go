package records_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// admKey is an admin API key: its id and its Basic credentials.
type admKey struct {
	id   string
	auth func(*http.Request)
}

// newAdmKey creates an admin API key on n.
func newAdmKey(t testing.TB, n *nodetest.Node) admKey {
	t.Helper()
	key, secret, err := n.Identity().AdminKeys.Create(context.Background(), "records tests")
	if err != nil {
		t.Fatal(err)
	}
	return admKey{id: key.ID, auth: testhttp.Basic(key.ID, secret)}
}

// admIDs pages through an admin list (limit 500) and returns the ids.
func admIDs(t testing.TB, n *nodetest.Node, k admKey, query string) []string {
	t.Helper()
	return ids(pageAll(t, n.URL+"/admin/records/records"+query, 500, k.auth))
}

// sortedIDs sorts ids.
func sortedIDs(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

// TestAdminList lists every org's records, narrowed by org, type and
// text, in pages.
func TestAdminList(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		k := newAdmKey(t, n)
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		a1 := alice.create(t, n, "contracts", `{"fields":{"title":"Alpha Lease","value":1}}`)
		a2 := alice.create(t, n, "contracts", `{"fields":{"title":"beta"}}`)
		a3 := alice.create(t, n, "contracts", `{"fields":{"title":"100% sure"}}`)
		a4 := alice.create(t, n, "clauses", `{"parent_id":"`+a1.ID+`","fields":{"number":1,"heading":"Rent","body":"Paid monthly"}}`)
		b1 := bob.create(t, n, "contracts", `{"fields":{"title":"Bob's LEASE"}}`)
		b2 := bob.create(t, n, "contracts", `{"fields":{"title":"other"}}`)
		all := sortedIDs(a1.ID, a2.ID, a3.ID, a4.ID, b1.ID, b2.ID)

		if got := admIDs(t, n, k, ""); !slices.Equal(got, all) {
			t.Errorf("every record: %v, want %v (by id)", got, all)
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"?org_id=" + alice.org, sortedIDs(a1.ID, a2.ID, a3.ID, a4.ID)},
			{"?org_id=" + bob.org, sortedIDs(b1.ID, b2.ID)},
			{"?type=clause", []string{a4.ID}},
			{"?type=contract&org_id=" + bob.org, sortedIDs(b1.ID, b2.ID)},
			{"?q=lease", sortedIDs(a1.ID, b1.ID)},
			{"?q=LeAsE", sortedIDs(a1.ID, b1.ID)},
			{"?q=lease&org_id=" + bob.org, []string{b1.ID}},
			{"?q=monthly", []string{a4.ID}},
			{"?q=" + url.QueryEscape("%"), []string{a3.ID}},
			{"?q=" + url.QueryEscape("0% s"), []string{a3.ID}},
			{"?q=" + url.QueryEscape("Bob's"), []string{b1.ID}},
			{"?q=nowhere", nil},
			{"?type=nothing", nil},
			{"?org_id=" + uuid.NewString(), nil},
		} {
			if got := admIDs(t, n, k, c.query); !slices.Equal(got, c.want) {
				t.Errorf("GET /admin/records/records%s: %v, want %v", c.query, got, c.want)
			}
		}
		// Pages of 2 and of 1: each record once, by id.
		for _, limit := range []int{1, 2, 5} {
			if got := ids(pageAll(t, n.URL+"/admin/records/records", limit, k.auth)); !slices.Equal(got, all) {
				t.Errorf("pages of %d: %v, want %v", limit, got, all)
			}
		}
		// Malformed queries are refused without a 500.
		for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=" + strings.Repeat("z", 37), "?cursor=zzz", "?q=" + strings.Repeat("q", 300),
			"?q=" + url.QueryEscape(`'"\_!`), "?org_id=%00", "?org_id=%FF", "?q=%00", "?q=%FF", "?type=%00", "?type=" + strings.Repeat("t", 31)} {
			r := testhttp.Send(t, "GET", n.URL+"/admin/records/records"+q, "", k.auth)
			if r.Status >= 500 {
				t.Errorf("GET /admin/records/records%s: %d %s", q, r.Status, r.Body)
			} else if r.Status >= 400 {
				decodeProblem(t, q, r)
			}
		}
	})
}

// TestAdminSearchFoldsNonASCII: ?q= is case-insensitive beyond ASCII.
func TestAdminSearchFoldsNonASCII(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		k := newAdmKey(t, n)
		alice := newUser(t, n, "alice@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"ÉCLAIR AU CAFÉ"}}`)
		for _, q := range []string{"ÉCLAIR", "éclair", "café", "Café"} {
			if got := admIDs(t, n, k, "?q="+url.QueryEscape(q)); !slices.Equal(got, []string{c.ID}) {
				t.Errorf("?q=%s: %v, want [%s]", q, got, c.ID)
			}
		}
	})
}

// TestAdminRecord reads, edits (with the users' validation) and deletes
// (with the cascade) any org's record; only admin keys may.
func TestAdminRecord(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		k := newAdmKey(t, n)
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease","value":3}}`)
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent"}}`)
		ob := alice.create(t, n, "obligations", `{"parent_id":"`+cl.ID+`","fields":{"description":"Pay"}}`)
		bc := bob.create(t, n, "contracts", `{"fields":{"title":"Bob's"}}`)
		base := n.URL + "/admin/records/records/"

		for _, want := range []records.Record{c, cl, ob, bc} {
			var got records.Record
			r := testhttp.Send(t, "GET", base+want.ID, "", k.auth)
			if r.Status != 200 || r.Header.Get("ETag") != `"1"` {
				t.Fatalf("GET %s: %d %s ETag %q", want.ID, r.Status, r.Body, r.Header.Get("ETag"))
			}
			mustJSON(t, r.Body, &got)
			if got.ID != want.ID || got.OrgID != want.OrgID || got.Type != want.Type || canonical(t, got) != canonical(t, want) {
				t.Errorf("GET %s: %+v, want %+v", want.ID, got, want)
			}
		}
		expectProblem(t, 404, "GET", base+uuid.NewString(), "", k.auth)
		expectProblem(t, 404, "GET", base+"not-a-uuid", "", k.auth)
		expectProblem(t, 404, "PATCH", base+uuid.NewString(), `{"fields":{"title":"x"}}`, k.auth)
		expectProblem(t, 404, "DELETE", base+uuid.NewString(), "", k.auth)

		// Only admin keys: a user's token is 403, nothing is 401.
		for _, rr := range []struct{ method, path, body string }{
			{"GET", "/admin/records/records", ""},
			{"GET", "/admin/records/records?org_id=" + bob.org, ""},
			{"GET", "/admin/records/records/" + bc.ID, ""},
			{"PATCH", "/admin/records/records/" + bc.ID, `{"fields":{"title":"x"}}`},
			{"DELETE", "/admin/records/records/" + bc.ID, ""},
			{"GET", "/admin/records/records/" + bc.ID + "/events", ""},
			{"GET", "/admin/records/misfits", ""},
		} {
			expectProblem(t, 403, rr.method, n.URL+rr.path, rr.body, alice.as()...)
			expectProblem(t, 403, rr.method, n.URL+rr.path, rr.body, testhttp.Bearer(alice.token))
			expectProblem(t, 401, rr.method, n.URL+rr.path, rr.body)
			expectProblem(t, 401, rr.method, n.URL+rr.path, rr.body, testhttp.Basic(k.id, "wrong"))
			expectProblem(t, 401, rr.method, n.URL+rr.path, rr.body, testhttp.Basic(uuid.NewString(), "wrong"))
		}

		// Edits are validated as the users' are.
		var r records.Record
		mustJSON(t, testhttp.Expect(t, 200, "PATCH", base+c.ID, `{"fields":{"status":"signed","value":null}}`, k.auth), &r)
		if f := fieldsOf(t, r); f["status"] != "signed" || f["value"] != nil || r.Version != 2 || r.OrgID != alice.org {
			t.Errorf("admin PATCH: %+v %s", r, r.Fields)
		}
		if got := getRecord(t, n, alice, "contracts", c.ID); canonical(t, got) != canonical(t, r) {
			t.Errorf("alice sees %s, the admin wrote %s", got.Fields, r.Fields)
		}
		before := snapshot(t, n, alice, "contracts", "clauses")
		for _, bc := range []badCase{
			{"bad values", "", `{"fields":{"value":-1,"status":"x","nope":1}}`, []string{"body.fields.nope", "body.fields.status", "body.fields.value"}},
			{"required removed", "", `{"fields":{"title":null}}`, []string{"body.fields.title"}},
			{"title too long", "", `{"fields":{"title":"` + strings.Repeat("ü", 201) + `"}}`, []string{"body.fields.title"}},
		} {
			p := expectProblem(t, 422, "PATCH", base+c.ID, bc.body, k.auth)
			if got := p.locations(); !slices.Equal(got, bc.want) {
				t.Errorf("%s: locations %v, want %v", bc.name, got, bc.want)
			}
		}
		p := expectProblem(t, 422, "PATCH", base+cl.ID, `{"fields":{"number":0,"heading":null}}`, k.auth)
		if got, want := p.locations(), []string{"body.fields.heading", "body.fields.number"}; !slices.Equal(got, want) {
			t.Errorf("clause: locations %v, want %v", got, want)
		}
		expectProblem(t, 412, "PATCH", base+c.ID, `{"fields":{"status":"draft"}}`, k.auth, header("If-Match", `"1"`))
		expectProblem(t, 400, "PATCH", base+c.ID, `{"fields":{},"type":"clause"}`, k.auth)
		sameSnapshot(t, "after the refused admin edits", before, snapshot(t, n, alice, "contracts", "clauses"))
		testhttp.Expect(t, 200, "PATCH", base+c.ID, `{"fields":{"status":"draft"}}`, k.auth, header("If-Match", `"2"`))

		// Deletes cascade.
		expectProblem(t, 412, "DELETE", base+c.ID, "", k.auth, header("If-Match", `"1"`))
		testhttp.Expect(t, 204, "DELETE", base+c.ID, "", k.auth)
		for _, rr := range []struct{ plural, id string }{{"contracts", c.ID}, {"clauses", cl.ID}, {"obligations", ob.ID}} {
			expectProblem(t, 404, "GET", n.URL+"/records/"+rr.plural+"/"+rr.id, "", alice.as()...)
			expectProblem(t, 404, "GET", base+rr.id, "", k.auth)
		}
		getRecord(t, n, bob, "contracts", bc.ID)

		if got := getRecord(t, n, bob, "contracts", bc.ID); got.Version != 1 {
			t.Errorf("bob's contract changed: %+v", got)
		}
	})
}

// admEvent is an event of a record's audit trail.
type admEvent struct {
	Cursor  string `json:"cursor"`
	ID      string `json:"id"`
	App     string `json:"app"`
	Type    string `json:"type"`
	OrgID   string `json:"org_id"`
	Subject string `json:"subject"`
	Payload struct {
		Actor       string `json:"actor"`
		Type        string `json:"type"`
		Version     int64  `json:"version"`
		DeletedWith string `json:"deleted_with"`
		Changes     map[string]struct {
			From json.RawMessage `json:"from"`
			To   json.RawMessage `json:"to"`
		} `json:"changes"`
	} `json:"payload"`
}

// admEvents reads a record's audit trail in pages of limit.
func admEvents(t testing.TB, n *nodetest.Node, k admKey, id string, limit int) []admEvent {
	t.Helper()
	var out []admEvent
	cursor := ""
	for range 1000 {
		u := n.URL + "/admin/records/records/" + id + "/events?limit=" + strconv.Itoa(limit)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []admEvent `json:"items"`
			NextCursor *string    `json:"next_cursor"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", u, "", k.auth), &page)
		out = append(out, page.Items...)
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
	t.Fatalf("events of %s: no end", id)
	return nil
}

// waitEvents polls a record's audit trail until it has want events (the
// event log lags behind running transactions on Postgres).
func waitEvents(t testing.TB, n *nodetest.Node, k admKey, id string, want int) []admEvent {
	t.Helper()
	var evs []admEvent
	eventually(t, 20*time.Second, "events of "+id, func() bool {
		evs = admEvents(t, n, k, id, 50)
		return len(evs) >= want
	})
	if len(evs) != want {
		t.Fatalf("events of %s: %d, want %d: %+v", id, len(evs), want, evs)
	}
	return evs
}

// TestAdminEvents reads records' audit trails: created, updated (each
// change's from and to), deleted, with who acted.
func TestAdminEvents(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		k := newAdmKey(t, n)
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease"}}`)
		testhttp.Expect(t, 200, "PATCH", n.URL+"/admin/records/records/"+c.ID, `{"fields":{"status":"signed"}}`, k.auth)
		testhttp.Expect(t, 200, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"value":5,"title":"New lease"}}`, alice.as()...)
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent"}}`)
		bc := bob.create(t, n, "contracts", `{"fields":{"title":"Bob's"}}`)
		// A refused update leaves no trace.
		expectProblem(t, 422, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"value":-1}}`, alice.as()...)
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/contracts/"+c.ID, "", alice.as()...)

		evs := waitEvents(t, n, k, c.ID, 4)
		wantTypes := []string{"records.record.created", "records.record.updated", "records.record.updated", "records.record.deleted"}
		wantActors := []string{alice.id, "admin:" + k.id, alice.id, alice.id}
		for i, e := range evs {
			if e.Type != wantTypes[i] || e.Payload.Actor != wantActors[i] || e.Subject != c.ID || e.OrgID != alice.org || e.App != "records" {
				t.Errorf("event %d: %+v, want %s by %s", i, e, wantTypes[i], wantActors[i])
			}
		}
		change := func(e admEvent, field, from, to string) {
			t.Helper()
			ch, ok := e.Payload.Changes[field]
			if !ok || string(ch.From) != from || string(ch.To) != to {
				t.Errorf("%s change of %s: %+v, want %s → %s", e.Type, field, e.Payload.Changes, from, to)
			}
		}
		change(evs[1], "status", `"draft"`, `"signed"`)
		if len(evs[1].Payload.Changes) != 1 {
			t.Errorf("admin update changes: %+v", evs[1].Payload.Changes)
		}
		change(evs[2], "value", "null", "5")
		change(evs[2], "title", `"Lease"`, `"New lease"`)
		if len(evs[2].Payload.Changes) != 2 {
			t.Errorf("alice's update changes: %+v", evs[2].Payload.Changes)
		}
		if evs[1].Payload.Version != 2 || evs[2].Payload.Version != 3 {
			t.Errorf("versions %d %d", evs[1].Payload.Version, evs[2].Payload.Version)
		}
		// Pages of one give the same trail.
		paged := admEvents(t, n, k, c.ID, 1)
		if len(paged) != len(evs) {
			t.Fatalf("paged trail: %d events, want %d", len(paged), len(evs))
		}
		for i := range paged {
			if paged[i].ID != evs[i].ID {
				t.Errorf("paged event %d: %s, want %s", i, paged[i].ID, evs[i].ID)
			}
		}
		// The clause went with its contract.
		cevs := waitEvents(t, n, k, cl.ID, 2)
		if cevs[0].Type != "records.record.created" || cevs[1].Type != "records.record.deleted" || cevs[1].Payload.DeletedWith != c.ID || cevs[1].Payload.Actor != alice.id {
			t.Errorf("clause events: %+v", cevs)
		}
		// Bob's trail is his own.
		bevs := waitEvents(t, n, k, bc.ID, 1)
		if bevs[0].Payload.Actor != bob.id || bevs[0].OrgID != bob.org {
			t.Errorf("bob's events: %+v", bevs)
		}
		if evs := admEvents(t, n, k, uuid.NewString(), 50); len(evs) != 0 {
			t.Errorf("events of an unknown id: %+v", evs)
		}
		expectProblem(t, 404, "GET", n.URL+"/admin/records/records/not-a-uuid/events", "", k.auth)
		for _, q := range []string{"?cursor=garbage", "?cursor=" + strings.Repeat("9", 200), "?limit=0", "?limit=501"} {
			r := testhttp.Send(t, "GET", n.URL+"/admin/records/records/"+bc.ID+"/events"+q, "", k.auth)
			if r.Status >= 500 {
				t.Errorf("events%s: %d %s", q, r.Status, r.Body)
			} else if r.Status >= 400 {
				decodeProblem(t, q, r)
			}
		}
	})
}

// The configs of TestAdminMisfits: B makes item.name required, changes
// count from number to integer and tag from string to date, and drops the
// gadget type.
const (
	misfitConfigA = `{"version": 1, "types": {
		"item": {"display_name": "Item", "plural": "items", "parameters": {
			"name": {"type": "string"}, "count": {"type": "number"}, "tag": {"type": "string"}}},
		"gadget": {"display_name": "Gadget", "plural": "gadgets", "parameters": {"label": {"type": "string"}}}}}`
	misfitConfigB = `{"version": 1, "types": {
		"item": {"display_name": "Item", "plural": "items", "parameters": {
			"name": {"type": "string", "required": true}, "count": {"type": "integer"}, "tag": {"type": "date"}}}}}`
)

// misfit is an entry of GET /admin/records/misfits.
type misfit struct {
	Record   records.Record `json:"record"`
	Problems []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"problems"`
}

// misfitsOf pages through the misfits (pages may be short or empty
// before the last).
func misfitsOf(t testing.TB, n *nodetest.Node, k admKey, limit int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	cursor := ""
	for range 1000 {
		u := n.URL + "/admin/records/misfits?limit=" + strconv.Itoa(limit)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []misfit `json:"items"`
			NextCursor *string  `json:"next_cursor"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", u, "", k.auth), &page)
		if len(page.Items) > limit {
			t.Fatalf("misfits: %d items, limit %d", len(page.Items), limit)
		}
		for _, m := range page.Items {
			if _, dup := out[m.Record.ID]; dup {
				t.Errorf("misfit %s twice", m.Record.ID)
			}
			var locs []string
			for _, p := range m.Problems {
				if p.Message == "" {
					t.Errorf("misfit %s: problem at %s without a message", m.Record.ID, p.Location)
				}
				locs = append(locs, p.Location)
			}
			slices.Sort(locs)
			out[m.Record.ID] = locs
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
	t.Fatalf("misfits: no end")
	return nil
}

// TestAdminMisfits restarts a node on the same database with a config its
// records no longer fit: they are listed with their problems, kept and
// readable, and a PATCH fixes them.
func TestAdminMisfits(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		dsn := storetest.DSN(t, engine)
		apps := []app.App{records.App()}
		n1 := nodetest.Start(t, nodetest.ConfigAt(t, dsn, apps, "TESSERA_RECORDS_CONFIG="+writeConfig(t, misfitConfigA)), apps...)
		alice := newUser(t, n1, "alice@example.com")
		bob := newUser(t, n1, "bob@example.com")
		fit := alice.create(t, n1, "items", `{"fields":{"name":"ok","count":3,"tag":"2026-01-02"}}`)
		noName := alice.create(t, n1, "items", `{"fields":{"count":3}}`)
		frac := alice.create(t, n1, "items", `{"fields":{"name":"x","count":1.5}}`)
		badTag := alice.create(t, n1, "items", `{"fields":{"name":"y","tag":"hello"}}`)
		allBad := alice.create(t, n1, "items", `{"fields":{"count":2.5,"tag":"nope"}}`)
		gadget := alice.create(t, n1, "gadgets", `{"fields":{"label":"g"}}`)
		bobs := bob.create(t, n1, "items", `{"fields":{"tag":"x"}}`)
		if err := n1.Stop(); err != nil {
			t.Fatal(err)
		}

		n := nodetest.Start(t, nodetest.ConfigAt(t, dsn, apps, "TESSERA_RECORDS_CONFIG="+writeConfig(t, misfitConfigB), "TESSERA_RECORDS_FORCE=true"), apps...)
		alice.token = n.SignIn(t, "alice@example.com", password)
		bob.token = n.SignIn(t, "bob@example.com", password)
		k := newAdmKey(t, n)

		want := map[string][]string{
			noName.ID: {"body.fields.name"},
			frac.ID:   {"body.fields.count"},
			badTag.ID: {"body.fields.tag"},
			allBad.ID: {"body.fields.count", "body.fields.name", "body.fields.tag"},
			gadget.ID: {"type"},
			bobs.ID:   {"body.fields.name", "body.fields.tag"},
		}
		check := func(what string, want map[string][]string) {
			t.Helper()
			for _, limit := range []int{50, 1, 4} {
				got := misfitsOf(t, n, k, limit)
				if len(got) != len(want) {
					t.Errorf("%s (limit %d): %d misfits %v, want %d %v", what, limit, len(got), got, len(want), want)
				}
				for id, locs := range want {
					if !slices.Equal(got[id], locs) {
						t.Errorf("%s (limit %d): misfit %s: %v, want %v", what, limit, id, got[id], locs)
					}
				}
			}
		}
		check("after the restart", want)

		// Kept as they were, and readable.
		for _, r := range []records.Record{fit, noName, frac, badTag, allBad} {
			if got := getRecord(t, n, alice, "items", r.ID); canonical(t, got) != canonical(t, r) || got.Version != 1 {
				t.Errorf("item %s: %s v%d, stored %s", r.ID, got.Fields, got.Version, r.Fields)
			}
		}
		if l := listAll(t, n, alice, "/records/items"); len(l) != 5 {
			t.Errorf("alice's items: %d, want 5", len(l))
		}
		if l := listAll(t, n, alice, "/records/items?sort=count"); len(l) != 5 {
			t.Errorf("alice's items by count: %d, want 5", len(l))
		}
		expectProblem(t, 404, "GET", n.URL+"/records/gadgets/"+gadget.ID, "", alice.as()...)
		testhttp.Expect(t, 200, "GET", n.URL+"/admin/records/records/"+gadget.ID, "", k.auth)
		p := expectProblem(t, 422, "PATCH", n.URL+"/admin/records/records/"+gadget.ID, `{"fields":{"label":"h"}}`, k.auth)
		if !slices.Contains(p.locations(), "type") {
			t.Errorf("PATCH of a dropped type: %+v", p.Errors)
		}

		// PATCH fixes them; a PATCH that leaves a stored misfit is 422.
		testhttp.Expect(t, 200, "PATCH", n.URL+"/records/items/"+noName.ID, `{"fields":{"name":"fixed"}}`, alice.as()...)
		testhttp.Expect(t, 200, "PATCH", n.URL+"/records/items/"+frac.ID, `{"fields":{"count":2}}`, alice.as()...)
		p = expectProblem(t, 422, "PATCH", n.URL+"/records/items/"+badTag.ID, `{"fields":{"count":1}}`, alice.as()...)
		if got := p.locations(); !slices.Equal(got, []string{"body.fields.tag"}) {
			t.Errorf("PATCH leaving a bad tag: %v", got)
		}
		if got := getRecord(t, n, alice, "items", badTag.ID); got.Version != 1 {
			t.Errorf("refused PATCH changed %s: %+v", badTag.ID, got)
		}
		testhttp.Expect(t, 200, "PATCH", n.URL+"/records/items/"+badTag.ID, `{"fields":{"tag":null}}`, alice.as()...)
		testhttp.Expect(t, 200, "PATCH", n.URL+"/admin/records/records/"+allBad.ID, `{"fields":{"name":"n","count":1,"tag":"2026-05-05"}}`, k.auth)
		check("after the fixes", map[string][]string{gadget.ID: {"type"}, bobs.ID: {"body.fields.name", "body.fields.tag"}})

		testhttp.Expect(t, 204, "DELETE", n.URL+"/admin/records/records/"+gadget.ID, "", k.auth)
		testhttp.Expect(t, 200, "PATCH", n.URL+"/records/items/"+bobs.ID, `{"fields":{"name":"Bob","tag":"2026-01-01"}}`, bob.as()...)
		check("after the delete", map[string][]string{})
		// Misfits are for admins only.
		expectProblem(t, 403, "GET", n.URL+"/admin/records/misfits", "", alice.as()...)
		expectProblem(t, 401, "GET", n.URL+"/admin/records/misfits", "")
	})
}
