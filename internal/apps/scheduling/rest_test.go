package scheduling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The REST mirror (/scheduling/...) and the admin collections
// (/admin/scheduling/...), end to end over HTTP on a real node.

const restPassword = "correct horse battery staple"

// restDay is the (Monday) day the tests book on.
var restDay = time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)

// restAt is restDay at hh:mm, RFC 3339.
func restAt(hh, mm int) string {
	return restDay.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute).Format(time.RFC3339)
}

func restStart(t *testing.T, engine store.Engine) *nodetest.Node {
	t.Helper()
	apps := []app.App{scheduling.App()}
	return nodetest.Start(t, nodetest.Config(t, engine, apps), apps...)
}

// restUser is a signed-in user acting in org (sent as X-Org-ID).
type restUser struct {
	n                *nodetest.Node
	id, token, org   string
	email            string
	withoutOrgHeader bool
}

func restSignUp(t *testing.T, n *nodetest.Node, email string) restUser {
	t.Helper()
	id, token := n.SignUp(t, email, restPassword, email, scheduling.ClientID)
	return restUser{n: n, id: id, token: token, email: email}
}

// restOrg creates an org owned by u and makes it u's org.
func restOrg(t *testing.T, u *restUser, name string) {
	t.Helper()
	var o struct {
		ID string `json:"id"`
	}
	restDecode(t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, u.n.URL+"/orgs", `{"name":"`+name+`"}`, testhttp.Bearer(u.token)), &o)
	u.org = o.ID
}

// restJoin makes u a member of owner's org with role.
func restJoin(t *testing.T, owner restUser, u *restUser, role string) {
	t.Helper()
	testhttp.Expect(t, http.StatusCreated, http.MethodPut, owner.n.URL+"/orgs/"+owner.org+"/members/"+u.id, `{"role":"`+role+`"}`, testhttp.Bearer(owner.token))
	u.org = owner.org
}

// restHeader sets a request header.
func restHeader(name, value string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// send sends a request as u in u's org.
func (u restUser) send(t *testing.T, method, path, body string, prepare ...func(*http.Request)) testhttp.Response {
	t.Helper()
	prep := []func(*http.Request){testhttp.Bearer(u.token)}
	if u.org != "" && !u.withoutOrgHeader {
		prep = append(prep, restHeader("X-Org-ID", u.org))
	}
	return testhttp.Send(t, method, u.n.URL+path, body, append(prep, prepare...)...)
}

// expect is send requiring the status want; it returns the body.
func (u restUser) expect(t *testing.T, want int, method, path, body string, prepare ...func(*http.Request)) string {
	t.Helper()
	r := u.send(t, method, path, body, prepare...)
	if r.Status != want {
		t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, r.Status, r.Body, want)
	}
	return r.Body
}

// restAdminKey is an admin API key.
type restAdminKey struct {
	n          *nodetest.Node
	id, secret string
}

func restNewAdmin(t *testing.T, n *nodetest.Node) restAdminKey {
	t.Helper()
	key, secret, err := n.Identity().AdminKeys.Create(context.Background(), "scheduling tests")
	if err != nil {
		t.Fatal(err)
	}
	return restAdminKey{n: n, id: key.ID, secret: secret}
}

func (k restAdminKey) expect(t *testing.T, want int, method, path, body string, prepare ...func(*http.Request)) string {
	t.Helper()
	return testhttp.Expect(t, want, method, k.n.URL+path, body, append([]func(*http.Request){testhttp.Basic(k.id, k.secret)}, prepare...)...)
}

// restDecode decodes s into a fresh *v (fields absent from s are zero).
func restDecode(t *testing.T, s string, v any) {
	t.Helper()
	reflect.ValueOf(v).Elem().SetZero()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}

// restProblem is an error answer.
type restProblem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Reason string `json:"reason"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// fail expects the status want and decodes the problem.
func (u restUser) fail(t *testing.T, want int, method, path, body string, prepare ...func(*http.Request)) restProblem {
	t.Helper()
	var p restProblem
	restDecode(t, u.expect(t, want, method, path, body, prepare...), &p)
	return p
}

// hasError reports whether p has an error at location whose message
// contains msg.
func (p restProblem) hasError(location, msg string) bool {
	for _, e := range p.Errors {
		if e.Location == location && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

type restList[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func restIfMatch(v string) func(*http.Request) { return restHeader("If-Match", v) }

// restCreate posts body to the collection and decodes the created item,
// checking its Location and ETag.
func restCreate[T any](t *testing.T, u restUser, collection, body string) T {
	t.Helper()
	r := u.send(t, http.MethodPost, "/scheduling/"+collection, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create %s %s: %d %s", collection, body, r.Status, r.Body)
	}
	var item T
	restDecode(t, r.Body, &item)
	var meta struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	restDecode(t, r.Body, &meta)
	if want := "/scheduling/" + collection + "/" + meta.ID; r.Header.Get("Location") != want {
		t.Errorf("create %s: Location %q, want %q", collection, r.Header.Get("Location"), want)
	}
	if want := fmt.Sprintf(`"%d"`, meta.Version); r.Header.Get("ETag") != want || meta.Version != 1 {
		t.Errorf("create %s: ETag %q version %d", collection, r.Header.Get("ETag"), meta.Version)
	}
	return item
}

// TestRESTCatalog: projects, resources and layouts over REST, with
// If-Match on every change, the org's roles and tenancy.
func TestRESTCatalog(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		n := restStart(t, engine)
		owner := restSignUp(t, n, "olga@example.com")
		restOrg(t, &owner, "Bike shop")

		// Projects: create, list, get with ETag, patch with If-Match.
		p := restCreate[scheduling.Project](t, owner, "projects", `{"name":"Repairs","color":"#aa0000"}`)
		var projects restList[scheduling.Project]
		restDecode(t, owner.expect(t, http.StatusOK, "GET", "/scheduling/projects", ""), &projects)
		if len(projects.Items) != 1 || projects.Items[0].ID != p.ID || projects.NextCursor != "" {
			t.Fatalf("projects: %+v", projects)
		}
		r := owner.send(t, "GET", "/scheduling/projects/"+p.ID, "")
		if r.Status != http.StatusOK || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("get project: %d %s %q", r.Status, r.Body, r.Header.Get("ETag"))
		}
		r = owner.send(t, "PATCH", "/scheduling/projects/"+p.ID, `{"name":"Repairs and service"}`, restIfMatch(`"1"`))
		if r.Status != http.StatusOK || r.Header.Get("ETag") != `"2"` {
			t.Fatalf("patch project: %d %s", r.Status, r.Body)
		}
		restDecode(t, r.Body, &p)
		if p.Name != "Repairs and service" || p.Version != 2 || p.Color != "#aa0000" {
			t.Fatalf("patched project: %+v", p)
		}
		// A stale If-Match is 412 with the reason; a missing one 422.
		prob := owner.fail(t, http.StatusPreconditionFailed, "PATCH", "/scheduling/projects/"+p.ID, `{"name":"Lost update"}`, restIfMatch(`"1"`))
		if prob.Reason != scheduling.ReasonStale || !strings.Contains(prob.Detail, "version 2") {
			t.Errorf("stale If-Match: %+v", prob)
		}
		prob = owner.fail(t, http.StatusUnprocessableEntity, "PATCH", "/scheduling/projects/"+p.ID, `{"name":"Blind"}`)
		if !prob.hasError("header.If-Match", "required: the version you read") {
			t.Errorf("missing If-Match: %+v", prob)
		}
		owner.fail(t, http.StatusUnprocessableEntity, "PATCH", "/scheduling/projects/"+p.ID, `{"name":"Blind"}`, restIfMatch(`"two"`))
		// W/"2" and an unquoted 3 are accepted.
		owner.expect(t, http.StatusOK, "PATCH", "/scheduling/projects/"+p.ID, `{"description":"weak"}`, restIfMatch(`W/"2"`))
		owner.expect(t, http.StatusOK, "PATCH", "/scheduling/projects/"+p.ID, `{"description":"bare"}`, restIfMatch(`3`))
		// Unknown fields are refused; invalid values are 422.
		owner.expect(t, http.StatusBadRequest, "POST", "/scheduling/projects", `{"name":"Typo","colour":"#000000"}`)
		owner.expect(t, http.StatusUnprocessableEntity, "POST", "/scheduling/projects", `{"name":"Bad color","color":"red"}`)
		owner.expect(t, http.StatusUnprocessableEntity, "GET", "/scheduling/projects/not-an-id", "")
		// DELETE archives.
		restDecode(t, owner.expect(t, http.StatusOK, "DELETE", "/scheduling/projects/"+p.ID, "", restIfMatch(`"4"`)), &p)
		if !p.Archived || p.Version != 5 {
			t.Fatalf("archived project: %+v", p)
		}

		// Resources: calendar_url, paging, archive.
		bench := restCreate[scheduling.Resource](t, owner, "resources", `{"name":"Bench 1","kind":"bench","capacity":1,"attributes":{"floor":"1"}}`)
		if !strings.Contains(bench.CalendarURL, "/scheduling/resources/"+bench.ID+"/calendar.ics?token=") {
			t.Errorf("calendar_url: %q", bench.CalendarURL)
		}
		lift := restCreate[scheduling.Resource](t, owner, "resources", `{"name":"Lift"}`)
		var page restList[scheduling.Resource]
		restDecode(t, owner.expect(t, http.StatusOK, "GET", "/scheduling/resources?limit=1", ""), &page)
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Fatalf("resources page 1: %+v", page)
		}
		seen := []string{page.Items[0].ID}
		restDecode(t, owner.expect(t, http.StatusOK, "GET", "/scheduling/resources?limit=1&cursor="+url.QueryEscape(page.NextCursor), ""), &page)
		seen = append(seen, page.Items[0].ID)
		slices.Sort(seen)
		want := []string{bench.ID, lift.ID}
		slices.Sort(want)
		if !slices.Equal(seen, want) || page.NextCursor != "" || page.Items[0].CalendarURL == "" {
			t.Fatalf("resources pages: %v %+v", seen, page)
		}
		owner.expect(t, http.StatusUnprocessableEntity, "GET", "/scheduling/resources?limit=501", "")

		// Layouts: items must be resources of the org; DELETE deletes.
		l := restCreate[scheduling.Layout](t, owner, "layouts",
			fmt.Sprintf(`{"name":"Floor","items":[{"resource_id":%q,"x":1,"y":2,"w":3,"h":4,"rotation":90}]}`, bench.ID))
		if len(l.Items) != 1 || l.Items[0].ResourceID != bench.ID {
			t.Fatalf("layout: %+v", l)
		}
		owner.fail(t, http.StatusUnprocessableEntity, "POST", "/scheduling/layouts",
			`{"name":"Ghost","items":[{"resource_id":"01900000-0000-7000-8000-000000000000","x":0,"y":0,"w":1,"h":1,"rotation":0}]}`)
		owner.expect(t, http.StatusOK, "PATCH", "/scheduling/layouts/"+l.ID, `{"name":"Ground floor"}`, restIfMatch(`"1"`))
		owner.fail(t, http.StatusPreconditionFailed, "DELETE", "/scheduling/layouts/"+l.ID, "", restIfMatch(`"1"`))
		owner.fail(t, http.StatusUnprocessableEntity, "DELETE", "/scheduling/layouts/"+l.ID, "")
		owner.expect(t, http.StatusNoContent, "DELETE", "/scheduling/layouts/"+l.ID, "", restIfMatch(`"2"`))
		owner.expect(t, http.StatusNotFound, "GET", "/scheduling/layouts/"+l.ID, "")

		// A member reads the catalog but does not change it.
		mia := restSignUp(t, n, "mia@example.com")
		restJoin(t, owner, &mia, "member")
		mia.expect(t, http.StatusOK, "GET", "/scheduling/resources/"+bench.ID, "")
		mia.expect(t, http.StatusForbidden, "POST", "/scheduling/resources", `{"name":"Mine"}`)
		mia.expect(t, http.StatusForbidden, "PATCH", "/scheduling/resources/"+bench.ID, `{"name":"Mine"}`, restIfMatch(`"1"`))

		// Another org never sees this one's items (404), nor can it choose
		// this org (403); no org chosen is 422, no credentials 401.
		other := restSignUp(t, n, "otto@example.com")
		restOrg(t, &other, "Other shop")
		other.expect(t, http.StatusNotFound, "GET", "/scheduling/resources/"+bench.ID, "")
		other.expect(t, http.StatusNotFound, "PATCH", "/scheduling/resources/"+bench.ID, `{"name":"Taken"}`, restIfMatch(`"1"`))
		restDecode(t, other.expect(t, http.StatusOK, "GET", "/scheduling/resources", ""), &page)
		if len(page.Items) != 0 {
			t.Fatalf("another org's resources: %+v", page)
		}
		intruder := other
		intruder.org = owner.org
		intruder.expect(t, http.StatusForbidden, "GET", "/scheduling/resources", "")
		noOrg := owner
		noOrg.withoutOrgHeader = true
		noOrg.expect(t, http.StatusUnprocessableEntity, "GET", "/scheduling/resources", "")
		testhttp.Expect(t, http.StatusUnauthorized, "GET", n.URL+"/scheduling/resources", "")

		// An Idempotency-Key makes a retried create create once.
		key := restHeader("Idempotency-Key", "create-press-1")
		first := owner.expect(t, http.StatusCreated, "POST", "/scheduling/resources", `{"name":"Press"}`, key)
		again := owner.expect(t, http.StatusCreated, "POST", "/scheduling/resources", `{"name":"Press"}`, key)
		var a, b scheduling.Resource
		restDecode(t, first, &a)
		restDecode(t, again, &b)
		if a.ID != b.ID {
			t.Errorf("idempotent create made two resources: %s %s", a.ID, b.ID)
		}

		// DELETE archives a resource: 200 with it, then 409.
		var archived scheduling.Resource
		restDecode(t, owner.expect(t, http.StatusOK, "DELETE", "/scheduling/resources/"+lift.ID, "", restIfMatch(`"1"`)), &archived)
		if !archived.Archived || archived.CalendarURL == "" {
			t.Fatalf("archived resource: %+v", archived)
		}
		owner.expect(t, http.StatusConflict, "DELETE", "/scheduling/resources/"+lift.ID, "", restIfMatch(`"2"`))
	})
}

// TestRESTEvents: bookings over REST: double bookings, validation, lists
// by resource with paging, changes with If-Match, availability.
func TestRESTEvents(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		n := restStart(t, engine)
		owner := restSignUp(t, n, "olga@example.com")
		restOrg(t, &owner, "Bike shop")
		mia := restSignUp(t, n, "mia@example.com")
		restJoin(t, owner, &mia, "member")
		bench := restCreate[scheduling.Resource](t, owner, "resources", `{"name":"Bench"}`)
		stand := restCreate[scheduling.Resource](t, owner, "resources", `{"name":"Stand"}`)
		shared := restCreate[scheduling.Resource](t, owner, "resources", `{"name":"Yard","allow_overlap":true}`)
		event := func(title string, from, to string, resources ...string) string {
			ids, _ := json.Marshal(resources)
			return fmt.Sprintf(`{"title":%q,"start":%q,"end":%q,"resource_ids":%s}`, title, from, to, ids)
		}

		// A member books; an overlap on the bench is 409 naming the event.
		fix := restCreate[scheduling.Booking](t, mia, "events", event("Fix a wheel", restAt(10, 0), restAt(11, 0), bench.ID))
		if fix.Status != scheduling.StatusConfirmed || fix.CreatedBy != mia.id {
			t.Fatalf("event: %+v", fix)
		}
		prob := mia.fail(t, http.StatusConflict, "POST", "/scheduling/events", event("Overlap", restAt(10, 30), restAt(11, 30), stand.ID, bench.ID))
		if prob.Reason != scheduling.ReasonDoubleBooking || !strings.Contains(prob.Detail, fix.ID) ||
			len(prob.Errors) != 1 || prob.Errors[0].Value != fix.ID {
			t.Fatalf("double booking: %+v", prob)
		}
		// Back to back is fine; overlaps on an allow_overlap resource too.
		restCreate[scheduling.Booking](t, mia, "events", event("After", restAt(11, 0), restAt(11, 30), bench.ID))
		restCreate[scheduling.Booking](t, mia, "events", event("Yard 1", restAt(10, 0), restAt(12, 0), shared.ID))
		restCreate[scheduling.Booking](t, mia, "events", event("Yard 2", restAt(10, 0), restAt(12, 0), shared.ID))

		// Validation: end after start, at most 31 days, known resources.
		prob = mia.fail(t, http.StatusUnprocessableEntity, "POST", "/scheduling/events", event("Backwards", restAt(12, 0), restAt(11, 0), stand.ID))
		if !prob.hasError("body.end", "after the start") {
			t.Errorf("end before start: %+v", prob)
		}
		mia.fail(t, http.StatusUnprocessableEntity, "POST", "/scheduling/events", event("Empty", restAt(12, 0), restAt(12, 0), stand.ID))
		prob = mia.fail(t, http.StatusUnprocessableEntity, "POST", "/scheduling/events",
			event("Too long", restAt(12, 0), restDay.Add(32*24*time.Hour).Format(time.RFC3339), stand.ID))
		if !prob.hasError("body.end", "31 days") {
			t.Errorf("too long: %+v", prob)
		}
		mia.fail(t, http.StatusUnprocessableEntity, "POST", "/scheduling/events", `{"title":"No times"}`)
		mia.expect(t, http.StatusBadRequest, "POST", "/scheduling/events", `{"title":"Typo","start":"`+restAt(9, 0)+`","end":"`+restAt(10, 0)+`","resources":[]}`)

		// Lists by resource, one page at a time.
		var got []string
		path := "/scheduling/events?from=" + url.QueryEscape(restAt(0, 0)) + "&to=" + url.QueryEscape(restAt(23, 0)) +
			"&resource_ids=" + bench.ID + "," + stand.ID + "&limit=1"
		cursor := ""
		for range 5 {
			var pg restList[scheduling.Booking]
			p := path
			if cursor != "" {
				p += "&cursor=" + url.QueryEscape(cursor)
			}
			restDecode(t, mia.expect(t, http.StatusOK, "GET", p, ""), &pg)
			for _, e := range pg.Items {
				got = append(got, e.Title)
			}
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, []string{"Fix a wheel", "After"}) {
			t.Fatalf("events of bench and stand, paged: %v", got)
		}
		var all restList[scheduling.Booking]
		restDecode(t, mia.expect(t, http.StatusOK, "GET", "/scheduling/events?from="+url.QueryEscape(restAt(0, 0))+"&to="+url.QueryEscape(restAt(23, 0)), ""), &all)
		if len(all.Items) != 4 || all.NextCursor != "" {
			t.Fatalf("all events: %+v", all)
		}
		mia.fail(t, http.StatusUnprocessableEntity, "GET", "/scheduling/events?to="+url.QueryEscape(restAt(23, 0)), "")
		prob = mia.fail(t, http.StatusUnprocessableEntity, "GET", "/scheduling/events?from="+url.QueryEscape(restAt(0, 0))+"&to="+url.QueryEscape(restAt(23, 0))+"&resource_ids=nope", "")
		if !prob.hasError("query.resource_ids", "not an id") {
			t.Errorf("bad resource_ids: %+v", prob)
		}
		prob = mia.fail(t, http.StatusUnprocessableEntity, "GET", "/scheduling/events?from="+url.QueryEscape(restAt(23, 0))+"&to="+url.QueryEscape(restAt(0, 0)), "")
		if !prob.hasError("query.to", "after") {
			t.Errorf("to before from: %+v", prob)
		}

		// Changes carry If-Match.
		r := mia.send(t, "GET", "/scheduling/events/"+fix.ID, "")
		if r.Status != http.StatusOK || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("get event: %d %s %q", r.Status, r.Body, r.Header.Get("ETag"))
		}
		restDecode(t, mia.expect(t, http.StatusOK, "PATCH", "/scheduling/events/"+fix.ID, `{"title":"Fix two wheels","status":"tentative"}`, restIfMatch(`"1"`)), &fix)
		if fix.Title != "Fix two wheels" || fix.Status != scheduling.StatusTentative || fix.Version != 2 {
			t.Fatalf("patched event: %+v", fix)
		}
		prob = mia.fail(t, http.StatusPreconditionFailed, "PATCH", "/scheduling/events/"+fix.ID, `{"title":"Lost"}`, restIfMatch(`"1"`))
		if prob.Reason != scheduling.ReasonStale {
			t.Errorf("stale event patch: %+v", prob)
		}
		prob = mia.fail(t, http.StatusUnprocessableEntity, "PATCH", "/scheduling/events/"+fix.ID, `{"title":"Blind"}`)
		if !prob.hasError("header.If-Match", "required: the version you read") {
			t.Errorf("missing If-Match: %+v", prob)
		}
		// Moving onto a booked slot is a double booking too.
		mia.fail(t, http.StatusConflict, "PATCH", "/scheduling/events/"+fix.ID, `{"end":"`+restAt(11, 15)+`"}`, restIfMatch(`"2"`))

		// Cancelling frees the bench: the slot can be booked again.
		mia.fail(t, http.StatusUnprocessableEntity, "POST", "/scheduling/events/"+fix.ID+"/cancel", "")
		mia.fail(t, http.StatusPreconditionFailed, "POST", "/scheduling/events/"+fix.ID+"/cancel", "", restIfMatch(`"1"`))
		restDecode(t, mia.expect(t, http.StatusOK, "POST", "/scheduling/events/"+fix.ID+"/cancel", "", restIfMatch(`"2"`)), &fix)
		if fix.Status != scheduling.StatusCancelled || fix.Version != 3 {
			t.Fatalf("cancelled: %+v", fix)
		}
		mia.expect(t, http.StatusConflict, "POST", "/scheduling/events/"+fix.ID+"/cancel", "", restIfMatch(`"3"`))
		again := restCreate[scheduling.Booking](t, mia, "events", event("Fix a wheel again", restAt(10, 0), restAt(11, 0), bench.ID))

		// Availability: the free ranges common to the bench and the stand.
		restCreate[scheduling.Booking](t, mia, "events", event("Stand", restAt(11, 30), restAt(12, 0), stand.ID))
		var av struct {
			Slots []scheduling.Slot `json:"slots"`
		}
		avPath := "/scheduling/availability?from=" + url.QueryEscape(restAt(9, 0)) + "&to=" + url.QueryEscape(restAt(13, 0)) +
			"&resource_ids=" + bench.ID + "," + stand.ID + "&duration_minutes=30"
		restDecode(t, mia.expect(t, http.StatusOK, "GET", avPath, ""), &av)
		wantSlots := [][2]string{{restAt(9, 0), restAt(10, 0)}, {restAt(12, 0), restAt(13, 0)}}
		if len(av.Slots) != len(wantSlots) {
			t.Fatalf("availability: %+v", av)
		}
		for i, s := range av.Slots {
			if s.Start.Format(time.RFC3339) != wantSlots[i][0] || s.End.Format(time.RFC3339) != wantSlots[i][1] {
				t.Fatalf("availability: %+v, want %v", av.Slots, wantSlots)
			}
		}
		// The stand alone is free until 11:30 ("After" holds the bench).
		restDecode(t, mia.expect(t, http.StatusOK, "GET", "/scheduling/availability?from="+url.QueryEscape(restAt(9, 0))+"&to="+
			url.QueryEscape(restAt(13, 0))+"&resource_ids="+stand.ID+"&duration_minutes=15", ""), &av)
		if len(av.Slots) != 2 || av.Slots[0].End.Format(time.RFC3339) != restAt(11, 30) {
			t.Fatalf("stand availability: %+v", av)
		}
		mia.fail(t, http.StatusUnprocessableEntity, "GET", "/scheduling/availability?from="+url.QueryEscape(restAt(9, 0))+"&to="+url.QueryEscape(restAt(13, 0)), "")
		prob = mia.fail(t, http.StatusUnprocessableEntity, "GET", "/scheduling/availability?from="+url.QueryEscape(restAt(9, 0))+"&to="+
			url.QueryEscape(restAt(13, 0))+"&resource_ids=01900000-0000-7000-8000-000000000000", "")
		if !prob.hasError("query.resource_ids", "no such resource") {
			t.Errorf("availability of an unknown resource: %+v", prob)
		}

		// Another org does not see the events.
		other := restSignUp(t, n, "otto@example.com")
		restOrg(t, &other, "Other shop")
		other.expect(t, http.StatusNotFound, "GET", "/scheduling/events/"+again.ID, "")
		other.expect(t, http.StatusNotFound, "DELETE", "/scheduling/events/"+again.ID, "", restIfMatch(`"1"`))

		// DELETE deletes.
		mia.fail(t, http.StatusPreconditionFailed, "DELETE", "/scheduling/events/"+again.ID, "", restIfMatch(`"7"`))
		mia.expect(t, http.StatusNoContent, "DELETE", "/scheduling/events/"+again.ID, "", restIfMatch(`"1"`))
		mia.expect(t, http.StatusNotFound, "GET", "/scheduling/events/"+again.ID, "")
	})
}

// TestRESTAdminRoutes: admin keys list (org_id, q), read, change and
// delete every org's items under /admin/scheduling; nobody else can.
func TestRESTAdminRoutes(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		n := restStart(t, engine)
		k := restNewAdmin(t, n)
		olga := restSignUp(t, n, "olga@example.com")
		restOrg(t, &olga, "Bike shop")
		otto := restSignUp(t, n, "otto@example.com")
		restOrg(t, &otto, "Other shop")

		repairs := restCreate[scheduling.Project](t, olga, "projects", `{"name":"Repairs"}`)
		restCreate[scheduling.Project](t, olga, "projects", `{"name":"Sales 100%"}`)
		theirs := restCreate[scheduling.Project](t, otto, "projects", `{"name":"REPAIRS abroad"}`)
		bench := restCreate[scheduling.Resource](t, olga, "resources", `{"name":"Bench"}`)
		layout := restCreate[scheduling.Layout](t, olga, "layouts", `{"name":"Floor"}`)
		ev := restCreate[scheduling.Booking](t, olga, "events",
			fmt.Sprintf(`{"title":"Wheel truing","start":%q,"end":%q,"resource_ids":[%q]}`, restAt(10, 0), restAt(11, 0), bench.ID))

		ids := func(body string) []string {
			var l restList[struct {
				ID string `json:"id"`
			}]
			restDecode(t, body, &l)
			var out []string
			for _, it := range l.Items {
				out = append(out, it.ID)
			}
			slices.Sort(out)
			return out
		}
		sorted := func(s ...string) []string { slices.Sort(s); return s }

		// Lists across orgs, by org and by text (case-insensitive; a %
		// is a character, not a wildcard).
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?q=repairs", "")); !slices.Equal(got, sorted(repairs.ID, theirs.ID)) {
			t.Errorf("admin projects ?q=repairs: %v", got)
		}
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?q=repairs&org_id="+otto.org, "")); !slices.Equal(got, []string{theirs.ID}) {
			t.Errorf("admin projects ?q=repairs&org_id: %v", got)
		}
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?org_id="+olga.org, "")); len(got) != 2 {
			t.Errorf("admin projects ?org_id: %v", got)
		}
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?q="+url.QueryEscape("0%"), "")); len(got) != 1 {
			t.Errorf("admin projects ?q=0%%: %v", got)
		}
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?q="+url.QueryEscape("s_l"), "")); len(got) != 0 {
			t.Errorf("admin projects ?q=s_l matched a wildcard: %v", got)
		}
		var page restList[scheduling.Project]
		restDecode(t, k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?limit=2", ""), &page)
		if len(page.Items) != 2 || page.NextCursor == "" {
			t.Fatalf("admin projects page: %+v", page)
		}
		restDecode(t, k.expect(t, http.StatusOK, "GET", "/admin/scheduling/projects?limit=2&cursor="+url.QueryEscape(page.NextCursor), ""), &page)
		if len(page.Items) != 1 || page.NextCursor != "" {
			t.Fatalf("admin projects page 2: %+v", page)
		}
		var resources restList[scheduling.Resource]
		restDecode(t, k.expect(t, http.StatusOK, "GET", "/admin/scheduling/resources?org_id="+olga.org, ""), &resources)
		if len(resources.Items) != 1 || resources.Items[0].CalendarURL != bench.CalendarURL {
			t.Errorf("admin resources: %+v", resources)
		}
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/events?q=TRUING", "")); !slices.Equal(got, []string{ev.ID}) {
			t.Errorf("admin events ?q=: %v", got)
		}
		if got := ids(k.expect(t, http.StatusOK, "GET", "/admin/scheduling/layouts?org_id="+otto.org, "")); len(got) != 0 {
			t.Errorf("admin layouts of the other org: %v", got)
		}

		// Gets, with ETags.
		var rs scheduling.Resource
		restDecode(t, k.expect(t, http.StatusOK, "GET", "/admin/scheduling/resources/"+bench.ID, ""), &rs)
		if rs.OrgID != olga.org || rs.CalendarURL != bench.CalendarURL {
			t.Errorf("admin resource: %+v", rs)
		}
		k.expect(t, http.StatusOK, "GET", "/admin/scheduling/events/"+ev.ID, "")
		k.expect(t, http.StatusNotFound, "GET", "/admin/scheduling/layouts/01900000-0000-7000-8000-000000000000", "")

		// Changes: If-Match optional, a stale one is 412.
		var p scheduling.Project
		restDecode(t, k.expect(t, http.StatusOK, "PATCH", "/admin/scheduling/projects/"+theirs.ID, `{"name":"Renamed by ops"}`), &p)
		if p.Name != "Renamed by ops" || p.Version != 2 || p.OrgID != otto.org {
			t.Fatalf("admin patch: %+v", p)
		}
		k.expect(t, http.StatusPreconditionFailed, "PATCH", "/admin/scheduling/projects/"+theirs.ID, `{"name":"Stale"}`, restIfMatch(`"1"`))
		k.expect(t, http.StatusOK, "PATCH", "/admin/scheduling/projects/"+theirs.ID, `{"name":"Fresh"}`, restIfMatch(`"2"`))
		k.expect(t, http.StatusBadRequest, "PATCH", "/admin/scheduling/projects/"+theirs.ID, `{"nam":"Typo"}`)
		k.expect(t, http.StatusUnprocessableEntity, "PATCH", "/admin/scheduling/projects/"+theirs.ID, `{"color":"red"}`)
		var e scheduling.Booking
		restDecode(t, k.expect(t, http.StatusOK, "PATCH", "/admin/scheduling/events/"+ev.ID, `{"title":"Truing (moved)","end":"`+restAt(11, 30)+`"}`), &e)
		if e.Title != "Truing (moved)" || e.Version != 2 {
			t.Fatalf("admin event patch: %+v", e)
		}
		restDecode(t, olga.expect(t, http.StatusOK, "GET", "/scheduling/events/"+ev.ID, ""), &e)
		if e.Title != "Truing (moved)" {
			t.Fatalf("the org does not see the admin's change: %+v", e)
		}

		// Deletes: projects and resources archive, layouts and events go.
		restDecode(t, k.expect(t, http.StatusOK, "DELETE", "/admin/scheduling/projects/"+repairs.ID, ""), &p)
		if !p.Archived {
			t.Errorf("admin archive project: %+v", p)
		}
		k.expect(t, http.StatusNoContent, "DELETE", "/admin/scheduling/events/"+ev.ID, "")
		olga.expect(t, http.StatusNotFound, "GET", "/scheduling/events/"+ev.ID, "")
		k.expect(t, http.StatusNoContent, "DELETE", "/admin/scheduling/layouts/"+layout.ID, "", restIfMatch(`"1"`))
		k.expect(t, http.StatusNotFound, "GET", "/admin/scheduling/layouts/"+layout.ID, "")
		restDecode(t, k.expect(t, http.StatusOK, "DELETE", "/admin/scheduling/resources/"+bench.ID, ""), &rs)
		if !rs.Archived || rs.CalendarURL == "" {
			t.Errorf("admin archive resource: %+v", rs)
		}
		k.expect(t, http.StatusConflict, "DELETE", "/admin/scheduling/resources/"+bench.ID, "")

		// Users, even org owners, are not admins; anonymous is 401.
		olga.expect(t, http.StatusForbidden, "GET", "/admin/scheduling/projects", "")
		olga.expect(t, http.StatusForbidden, "DELETE", "/admin/scheduling/events/"+ev.ID, "")
		testhttp.Expect(t, http.StatusUnauthorized, "GET", n.URL+"/admin/scheduling/resources", "")
	})
}

// TestRESTOpenAPI: every REST and admin operation is documented, with a
// summary, and PATCH takes If-Match.
func TestRESTOpenAPI(t *testing.T) {
	t.Parallel()
	n := restStart(t, store.EngineSQLite)
	type param struct {
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Summary    string  `json:"summary"`
			Parameters []param `json:"parameters"`
		} `json:"paths"`
	}
	restDecode(t, testhttp.Expect(t, http.StatusOK, "GET", n.URL+"/openapi.json", ""), &doc)
	want := map[string][]string{
		"/scheduling/availability":       {"get"},
		"/scheduling/events":             {"get", "post"},
		"/scheduling/events/{id}":        {"get", "patch", "delete"},
		"/scheduling/events/{id}/cancel": {"post"},
	}
	for _, c := range []string{"projects", "resources", "layouts"} {
		want["/scheduling/"+c] = []string{"get", "post"}
		want["/scheduling/"+c+"/{id}"] = []string{"get", "patch", "delete"}
	}
	for _, c := range []string{"projects", "resources", "layouts", "events"} {
		want["/admin/scheduling/"+c] = []string{"get"}
		want["/admin/scheduling/"+c+"/{id}"] = []string{"get", "patch", "delete"}
	}
	for path, methods := range want {
		for _, m := range methods {
			op, ok := doc.Paths[path][m]
			if !ok || op.Summary == "" {
				t.Errorf("%s %s: not documented (%+v)", m, path, op)
				continue
			}
			if m == "patch" && !slices.Contains(op.Parameters, param{Name: "If-Match", In: "header"}) {
				t.Errorf("%s %s: If-Match not documented", m, path)
			}
		}
	}
}
