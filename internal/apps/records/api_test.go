package records_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// ---- shared helpers (api_test.go, export_test.go, admin_test.go) ----

// problem is an RFC 9457 problem as the API answers it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// locations returns the problem's error locations, sorted, without
// duplicates.
func (p problem) locations() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Location)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// decodeProblem checks that r is a problem+json answer and decodes it.
func decodeProblem(t testing.TB, what string, r testhttp.Response) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s: %d with Content-Type %q, want application/problem+json: %.300s", what, r.Status, ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		t.Fatalf("%s: problem %.300s: %v", what, r.Body, err)
	}
	if p.Status != r.Status {
		t.Fatalf("%s: problem status %d on a %d answer", what, p.Status, r.Status)
	}
	return p
}

// expectProblem sends a request, checks that the answer is a problem of
// status want, and returns it.
func expectProblem(t testing.TB, want int, method, target, body string, prep ...func(*http.Request)) problem {
	t.Helper()
	r := testhttp.Send(t, method, target, body, prep...)
	if r.Status != want {
		t.Fatalf("%s %s %.200s: %d %.400s, want %d", method, target, body, r.Status, r.Body, want)
	}
	return decodeProblem(t, method+" "+target, r)
}

// listPage is one page of a list.
type listPage struct {
	Items      []records.Record `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// getPage reads one page of a list.
func getPage(t testing.TB, target string, prep ...func(*http.Request)) listPage {
	t.Helper()
	var p listPage
	mustJSON(t, testhttp.Expect(t, 200, "GET", target, "", prep...), &p)
	if p.NextCursor != nil && *p.NextCursor == "" {
		t.Fatalf("GET %s: next_cursor present but empty", target)
	}
	return p
}

// withQuery appends a query parameter to a URL.
func withQuery(u, kv string) string {
	if strings.Contains(u, "?") {
		return u + "&" + kv
	}
	return u + "?" + kv
}

// pageAll follows a list's cursors with the given page size and returns
// every item, checking that only the last page lacks next_cursor and that
// no page is empty or larger than limit.
func pageAll(t testing.TB, target string, limit int, prep ...func(*http.Request)) []records.Record {
	t.Helper()
	var out []records.Record
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("GET %s: no end after %d pages", target, pages)
		}
		u := withQuery(target, "limit="+strconv.Itoa(limit))
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		p := getPage(t, u, prep...)
		if len(p.Items) > limit {
			t.Fatalf("GET %s: %d items, limit %d", u, len(p.Items), limit)
		}
		if len(p.Items) == 0 && (pages > 0 || p.NextCursor != nil) {
			t.Fatalf("GET %s: an empty page (page %d, next_cursor %v)", u, pages, p.NextCursor)
		}
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		if len(p.Items) < limit {
			t.Fatalf("GET %s: a short page (%d of %d) with a next_cursor", u, len(p.Items), limit)
		}
		cursor = *p.NextCursor
	}
}

// listAll returns every record of a list (pages of 500).
func listAll(t testing.TB, n *nodetest.Node, u user, path string) []records.Record {
	t.Helper()
	return pageAll(t, n.URL+path, 500, u.as()...)
}

// snapshot maps the id of every record of plurals that u sees to its
// version and fields.
func snapshot(t testing.TB, n *nodetest.Node, u user, plurals ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range plurals {
		for _, r := range listAll(t, n, u, "/records/"+p) {
			out[r.ID] = fmt.Sprintf("%s v%d %s", r.Type, r.Version, canonical(t, r))
		}
	}
	return out
}

// sameSnapshot fails unless before and after are equal.
func sameSnapshot(t testing.TB, what string, before, after map[string]string) {
	t.Helper()
	for id, b := range before {
		if a, ok := after[id]; !ok {
			t.Errorf("%s: record %s (%s) is gone", what, id, b)
		} else if a != b {
			t.Errorf("%s: record %s changed: %s → %s", what, id, b, a)
		}
	}
	for id, a := range after {
		if _, ok := before[id]; !ok {
			t.Errorf("%s: new record %s (%s)", what, id, a)
		}
	}
}

// fieldsOf decodes a record's fields.
func fieldsOf(t testing.TB, r records.Record) map[string]any {
	t.Helper()
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(r.Fields))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("fields of %s: %s: %v", r.ID, r.Fields, err)
	}
	return m
}

// canonical is a record's fields as JSON with sorted keys (Postgres'
// jsonb keeps its own key order).
func canonical(t testing.TB, r records.Record) string {
	t.Helper()
	b, err := json.Marshal(fieldsOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// getRecord reads a record as u.
func getRecord(t testing.TB, n *nodetest.Node, u user, plural, id string) records.Record {
	t.Helper()
	var r records.Record
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/"+plural+"/"+id, "", u.as()...), &r)
	return r
}

// writeConfig writes a records config.json and returns its path.
func writeConfig(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hiringConfig is the path of the hiring domain's config (a ref field:
// referral.application → application).
func hiringConfig(t testing.TB) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("schema", "testdata", "hiring.json"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// everywhereWith is everywhere with TESSERA_* settings for the nodes.
func everywhereWith(t *testing.T, environ []string, fn func(t *testing.T, n *nodetest.Node)) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine, environ...))
	})
}

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rawDo sends a request without a testing.TB (for other goroutines).
func rawDo(method, target, body string, prep ...func(*http.Request)) (int, string, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, target, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, p := range prep {
		p(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ---- bad input ----

// badCase is a create that must be refused with 422 naming exactly want.
type badCase struct {
	name, plural, body string
	want               []string
}

// TestCreateRejectsBadFields posts a matrix of bad creates to every type of
// the default config: each is 422 listing every bad field (and only those),
// and nothing is created.
func TestCreateRejectsBadFields(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease"}}`)
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent"}}`)
		ob := alice.create(t, n, "obligations", `{"parent_id":"`+cl.ID+`","fields":{"description":"Pay"}}`)
		sg := alice.create(t, n, "signatories", `{"parent_id":"`+c.ID+`","fields":{"name":"Ann","email":"ann@example.com"}}`)
		bc := bob.create(t, n, "contracts", `{"fields":{"title":"Bob's"}}`)
		bcl := bob.create(t, n, "clauses", `{"parent_id":"`+bc.ID+`","fields":{"number":1,"heading":"His"}}`)

		// Values at the limits are accepted: 200 two-byte runes, an
		// integer written 2.0, a datetime with an offset.
		long := alice.create(t, n, "contracts", `{"fields":{"title":"`+strings.Repeat("é", 200)+`","value":0}}`)
		if f := fieldsOf(t, long); f["title"] != strings.Repeat("é", 200) || f["value"] != json.Number("0") || f["status"] != "draft" {
			t.Errorf("long title: %s", long.Fields)
		}
		two := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":2.0,"heading":"Two","body":"multi\nline\ttext"}}`)
		if f := fieldsOf(t, two); f["number"] != json.Number("2") {
			t.Errorf("number 2.0: %s", two.Fields)
		}
		at := alice.create(t, n, "signatories", `{"parent_id":"`+c.ID+`","fields":{"name":"Zed","email":"zed@example.com","signed_at":"2026-03-01T10:00:00+02:00"}}`)
		if f := fieldsOf(t, at); f["signed_at"] != "2026-03-01T08:00:00.000Z" {
			t.Errorf("signed_at with an offset: %s", at.Fields)
		}

		r := strings.NewReplacer("{contract}", c.ID, "{clause}", cl.ID, "{obligation}", ob.ID, "{signatory}", sg.ID,
			"{bobContract}", bc.ID, "{bobClause}", bcl.ID, "{random}", uuid.NewString())
		cases := []badCase{
			// contracts
			{"number as string", "contracts", `{"fields":{"title":"T","value":"12"}}`, []string{"body.fields.value"}},
			{"number as bool", "contracts", `{"fields":{"title":"T","value":true}}`, []string{"body.fields.value"}},
			{"number below minimum", "contracts", `{"fields":{"title":"T","value":-0.5}}`, []string{"body.fields.value"}},
			{"31 February", "contracts", `{"fields":{"title":"T","signed_on":"2026-02-31"}}`, []string{"body.fields.signed_on"}},
			{"month 13", "contracts", `{"fields":{"title":"T","signed_on":"2026-13-01"}}`, []string{"body.fields.signed_on"}},
			{"date with time", "contracts", `{"fields":{"title":"T","signed_on":"2026-01-01T00:00:00Z"}}`, []string{"body.fields.signed_on"}},
			{"date as number", "contracts", `{"fields":{"title":"T","signed_on":20260101}}`, []string{"body.fields.signed_on"}},
			{"enum not listed", "contracts", `{"fields":{"title":"T","status":"lost"}}`, []string{"body.fields.status"}},
			{"enum wrong case", "contracts", `{"fields":{"title":"T","status":"Draft"}}`, []string{"body.fields.status"}},
			{"title too long in runes", "contracts", `{"fields":{"title":"` + strings.Repeat("é", 201) + `"}}`, []string{"body.fields.title"}},
			{"title too long in emoji", "contracts", `{"fields":{"title":"` + strings.Repeat("😀", 201) + `"}}`, []string{"body.fields.title"}},
			{"title with BEL", "contracts", `{"fields":{"title":"a\u0007b"}}`, []string{"body.fields.title"}},
			{"title with NUL", "contracts", `{"fields":{"title":"a\u0000b"}}`, []string{"body.fields.title"}},
			{"title with newline", "contracts", `{"fields":{"title":"a\nb"}}`, []string{"body.fields.title"}},
			{"title with DEL", "contracts", `{"fields":{"title":"a\u007fb"}}`, []string{"body.fields.title"}},
			{"title as number", "contracts", `{"fields":{"title":5}}`, []string{"body.fields.title"}},
			{"title null", "contracts", `{"fields":{"title":null}}`, []string{"body.fields.title"}},
			{"title missing", "contracts", `{"fields":{"value":1}}`, []string{"body.fields.title"}},
			{"no fields at all", "contracts", `{}`, []string{"body.fields.title"}},
			{"unknown field", "contracts", `{"fields":{"title":"T","extra":1}}`, []string{"body.fields.extra"}},
			{"fields an array", "contracts", `{"fields":[1]}`, []string{"body.fields"}},
			{"fields a string", "contracts", `{"fields":"x"}`, []string{"body.fields"}},
			{"parent on a top-level type", "contracts", `{"parent_id":"{clause}","fields":{"title":"T"}}`, []string{"body.parent_id"}},
			{"every contract field bad", "contracts", `{"fields":{"value":"12","status":"lost","signed_on":"2026-02-31","extra":1}}`,
				[]string{"body.fields.extra", "body.fields.signed_on", "body.fields.status", "body.fields.title", "body.fields.value"}},
			{"every contract field bad with a parent", "contracts", `{"parent_id":"{contract}","fields":{"title":"","value":-1,"status":1,"signed_on":"2026-00-10"}}`,
				[]string{"body.fields.signed_on", "body.fields.status", "body.fields.value", "body.parent_id"}},
			// clauses
			{"integer with a fraction", "clauses", `{"parent_id":"{contract}","fields":{"number":1.5,"heading":"H"}}`, []string{"body.fields.number"}},
			{"integer as string", "clauses", `{"parent_id":"{contract}","fields":{"number":"12","heading":"H"}}`, []string{"body.fields.number"}},
			{"integer below minimum", "clauses", `{"parent_id":"{contract}","fields":{"number":0,"heading":"H"}}`, []string{"body.fields.number"}},
			{"integer out of int64", "clauses", `{"parent_id":"{contract}","fields":{"number":9223372036854775808,"heading":"H"}}`, []string{"body.fields.number"}},
			{"text with NUL", "clauses", `{"parent_id":"{contract}","fields":{"number":1,"heading":"H","body":"a\u0000b"}}`, []string{"body.fields.body"}},
			{"text as object", "clauses", `{"parent_id":"{contract}","fields":{"number":1,"heading":"H","body":{"a":1}}}`, []string{"body.fields.body"}},
			{"parent missing", "clauses", `{"fields":{"number":1,"heading":"H"}}`, []string{"body.parent_id"}},
			{"parent empty", "clauses", `{"parent_id":"","fields":{"number":1,"heading":"H"}}`, []string{"body.parent_id"}},
			{"parent not a uuid", "clauses", `{"parent_id":"abc","fields":{"number":1,"heading":"H"}}`, []string{"body.parent_id"}},
			{"parent unknown", "clauses", `{"parent_id":"{random}","fields":{"number":1,"heading":"H"}}`, []string{"body.parent_id"}},
			{"parent of the wrong type", "clauses", `{"parent_id":"{clause}","fields":{"number":1,"heading":"H"}}`, []string{"body.parent_id"}},
			{"parent in another org", "clauses", `{"parent_id":"{bobContract}","fields":{"number":1,"heading":"H"}}`, []string{"body.parent_id"}},
			{"parent missing and every field bad", "clauses", `{"fields":{"number":"x","body":7}}`,
				[]string{"body.fields.body", "body.fields.heading", "body.fields.number", "body.parent_id"}},
			{"parent unknown and a field bad", "clauses", `{"parent_id":"{random}","fields":{"number":1.5,"heading":"H"}}`,
				[]string{"body.fields.number", "body.parent_id"}},
			{"parent in another org and a field bad", "clauses", `{"parent_id":"{bobContract}","fields":{"number":1,"heading":"H","body":false}}`,
				[]string{"body.fields.body", "body.parent_id"}},
			// obligations
			{"obligation under a contract", "obligations", `{"parent_id":"{contract}","fields":{"description":"D"}}`, []string{"body.parent_id"}},
			{"obligation under a signatory", "obligations", `{"parent_id":"{signatory}","fields":{"description":"D"}}`, []string{"body.parent_id"}},
			{"obligation under another org's clause", "obligations", `{"parent_id":"{bobClause}","fields":{"description":"D"}}`, []string{"body.parent_id"}},
			{"boolean as string", "obligations", `{"parent_id":"{clause}","fields":{"description":"D","done":"true"}}`, []string{"body.fields.done"}},
			{"boolean as number", "obligations", `{"parent_id":"{clause}","fields":{"description":"D","done":1}}`, []string{"body.fields.done"}},
			{"email with a display name", "obligations", `{"parent_id":"{clause}","fields":{"description":"D","owner":"Bob <bob@x.com>"}}`, []string{"body.fields.owner"}},
			{"email without @", "obligations", `{"parent_id":"{clause}","fields":{"description":"D","owner":"no-at"}}`, []string{"body.fields.owner"}},
			{"email with spaces", "obligations", `{"parent_id":"{clause}","fields":{"description":"D","owner":" bob@x.com"}}`, []string{"body.fields.owner"}},
			{"30 February", "obligations", `{"parent_id":"{clause}","fields":{"description":"D","due_on":"2026-02-30"}}`, []string{"body.fields.due_on"}},
			{"every obligation field bad", "obligations", `{"fields":{"done":"yes","owner":"no-at","due_on":"2026-13-01","x":null}}`,
				[]string{"body.fields.description", "body.fields.done", "body.fields.due_on", "body.fields.owner", "body.fields.x", "body.parent_id"}},
			// signatories
			{"datetime without zone", "signatories", `{"parent_id":"{contract}","fields":{"name":"N","email":"n@example.com","signed_at":"2026-03-01T10:00:00"}}`, []string{"body.fields.signed_at"}},
			{"datetime as a date", "signatories", `{"parent_id":"{contract}","fields":{"name":"N","email":"n@example.com","signed_at":"2026-03-01"}}`, []string{"body.fields.signed_at"}},
			{"datetime 31 April", "signatories", `{"parent_id":"{contract}","fields":{"name":"N","email":"n@example.com","signed_at":"2026-04-31T10:00:00Z"}}`, []string{"body.fields.signed_at"}},
			{"email as display name", "signatories", `{"parent_id":"{contract}","fields":{"name":"N","email":"Bob <bob@x.com>"}}`, []string{"body.fields.email"}},
			{"email missing and name a number", "signatories", `{"parent_id":"{contract}","fields":{"name":12}}`, []string{"body.fields.email", "body.fields.name"}},
			{"signatory under an obligation", "signatories", `{"parent_id":"{obligation}","fields":{"name":"N","email":"n@example.com"}}`, []string{"body.parent_id"}},
		}
		plurals := []string{"contracts", "clauses", "obligations", "signatories"}
		before := snapshot(t, n, alice, plurals...)
		bobBefore := snapshot(t, n, bob, plurals...)
		// Malformed bodies are 400: unknown top-level keys, not JSON.
		for _, body := range []string{`{"fields":{"title":"T"},"extra":1}`, `{"fields":{"title":"T"},"Fields":{}}`, `{"fields":{"title":"T"},"id":"x"}`,
			`nope`, `{"fields":{"title":"T"}`, `{"fields":{"title":"T"}} {}`, ``} {
			p := expectProblem(t, 400, "POST", n.URL+"/records/contracts", body, alice.as()...)
			if strings.Contains(body, "extra") && !slices.Contains(p.locations(), "body.extra") {
				t.Errorf("unknown key: locations %v", p.locations())
			}
		}
		for _, bc := range cases {
			t.Run(bc.name, func(t *testing.T) {
				body := r.Replace(bc.body)
				p := expectProblem(t, 422, "POST", n.URL+"/records/"+bc.plural, body, alice.as()...)
				if got := p.locations(); !slices.Equal(got, bc.want) {
					t.Errorf("POST /records/%s %.200s: locations %v, want %v (%+v)", bc.plural, body, got, bc.want, p.Errors)
				}
				for _, e := range p.Errors {
					if e.Message == "" {
						t.Errorf("%s: no message", e.Location)
					}
				}
			})
		}
		sameSnapshot(t, "alice after the bad creates", before, snapshot(t, n, alice, plurals...))
		sameSnapshot(t, "bob after the bad creates", bobBefore, snapshot(t, n, bob, plurals...))
	})
}

// TestRefFields uses the hiring config: a ref must name a record of its
// target type in the caller's org, on create and on update.
func TestRefFields(t *testing.T) {
	everywhereWith(t, []string{"TESSERA_RECORDS_CONFIG=" + hiringConfig(t)}, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		pos := alice.create(t, n, "positions", `{"fields":{"title":"Engineer"}}`)
		app := alice.create(t, n, "applications", `{"parent_id":"`+pos.ID+`","fields":{"candidate_name":"Cy","email":"cy@example.com"}}`)
		bpos := bob.create(t, n, "positions", `{"fields":{"title":"Designer"}}`)
		bapp := bob.create(t, n, "applications", `{"parent_id":"`+bpos.ID+`","fields":{"candidate_name":"Di","email":"di@example.com"}}`)
		iv := alice.create(t, n, "interviews", `{"parent_id":"`+app.ID+`","fields":{"at":"2026-05-01T09:00:00Z"}}`)

		plurals := []string{"positions", "applications", "interviews", "referrals"}
		before := snapshot(t, n, alice, plurals...)
		bobBefore := snapshot(t, n, bob, plurals...)
		for _, bc := range []badCase{
			{"ref to another org", "referrals", `{"fields":{"application":"` + bapp.ID + `","referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref to the wrong type", "referrals", `{"fields":{"application":"` + pos.ID + `","referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref to a grandchild type", "referrals", `{"fields":{"application":"` + iv.ID + `","referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref unknown", "referrals", `{"fields":{"application":"` + uuid.NewString() + `","referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref not a uuid", "referrals", `{"fields":{"application":"abc","referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref in upper case", "referrals", `{"fields":{"application":"` + strings.ToUpper(app.ID) + `","referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref as number", "referrals", `{"fields":{"application":1,"referrer":"r@example.com"}}`, []string{"body.fields.application"}},
			{"ref fine, referrer bad", "referrals", `{"fields":{"application":"` + app.ID + `","referrer":"Bob <bob@x.com>"}}`, []string{"body.fields.referrer"}},
			{"ref to another org and referrer bad", "referrals", `{"fields":{"application":"` + bapp.ID + `","referrer":"no-at"}}`,
				[]string{"body.fields.application", "body.fields.referrer"}},
			{"score above maximum and url bad", "interviews", `{"parent_id":"` + app.ID + `","fields":{"at":"2026-05-01T09:00:00Z","score":6,"passed":"no"}}`,
				[]string{"body.fields.passed", "body.fields.score"}},
			{"url not http", "applications", `{"parent_id":"` + pos.ID + `","fields":{"candidate_name":"E","email":"e@example.com","resume_url":"javascript:alert(1)"}}`,
				[]string{"body.fields.resume_url"}},
		} {
			t.Run(bc.name, func(t *testing.T) {
				p := expectProblem(t, 422, "POST", n.URL+"/records/"+bc.plural, bc.body, alice.as()...)
				if got := p.locations(); !slices.Equal(got, bc.want) {
					t.Errorf("POST /records/%s %s: locations %v, want %v (%+v)", bc.plural, bc.body, got, bc.want, p.Errors)
				}
			})
		}
		sameSnapshot(t, "alice after the bad refs", before, snapshot(t, n, alice, plurals...))
		sameSnapshot(t, "bob after the bad refs", bobBefore, snapshot(t, n, bob, plurals...))

		// A good ref, then updates of it.
		ref := alice.create(t, n, "referrals", `{"fields":{"application":"`+app.ID+`","referrer":"r@example.com"}}`)
		before = snapshot(t, n, alice, plurals...)
		for _, body := range []string{
			`{"fields":{"application":"` + bapp.ID + `"}}`,
			`{"fields":{"application":"` + pos.ID + `"}}`,
			`{"fields":{"application":null}}`,
		} {
			p := expectProblem(t, 422, "PATCH", n.URL+"/records/referrals/"+ref.ID, body, alice.as()...)
			if got := p.locations(); !slices.Equal(got, []string{"body.fields.application"}) {
				t.Errorf("PATCH %s: locations %v", body, got)
			}
		}
		p := expectProblem(t, 422, "PATCH", n.URL+"/records/referrals/"+ref.ID, `{"fields":{"application":"`+bapp.ID+`","referrer":"no-at"}}`, alice.as()...)
		if got, want := p.locations(), []string{"body.fields.application", "body.fields.referrer"}; !slices.Equal(got, want) {
			t.Errorf("PATCH with a foreign ref and a bad referrer: locations %v, want %v", got, want)
		}
		sameSnapshot(t, "alice after the bad ref updates", before, snapshot(t, n, alice, plurals...))
		app2 := alice.create(t, n, "applications", `{"parent_id":"`+pos.ID+`","fields":{"candidate_name":"Fe","email":"fe@example.com"}}`)
		body := testhttp.Expect(t, 200, "PATCH", n.URL+"/records/referrals/"+ref.ID, `{"fields":{"application":"`+app2.ID+`"}}`, alice.as()...)
		if !strings.Contains(body, app2.ID) {
			t.Errorf("PATCH to another application: %s", body)
		}
		// Bob cannot refer to alice's application either.
		expectProblem(t, 422, "POST", n.URL+"/records/referrals", `{"fields":{"application":"`+app.ID+`","referrer":"r@example.com"}}`, bob.as()...)
	})
}

// garbage is one request of TestGarbageNeverFails; want 0 is any status
// below 500.
type garbage struct {
	method, path, body string
	want               int
	note               string // what prep does
	prep               []func(*http.Request)
}

// forgedCursor is a cursor made by hand.
func forgedCursor(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return url.QueryEscape(base64.RawURLEncoding.EncodeToString(b))
}

// TestGarbageNeverFails sends malformed bodies, query strings, paths and
// headers: every answer is below 500, and each error is a problem+json.
func TestGarbageNeverFails(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease","value":5,"signed_on":"2026-01-02"}}`)
		alice.create(t, n, "contracts", `{"fields":{"title":"Other","value":7}}`)
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent"}}`)
		alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":2,"heading":"Keys"}}`)
		ob := alice.create(t, n, "obligations", `{"parent_id":"`+cl.ID+`","fields":{"description":"Pay"}}`)
		sg := alice.create(t, n, "signatories", `{"parent_id":"`+c.ID+`","fields":{"name":"Ann","email":"ann@example.com"}}`)
		valueCursor := *getPage(t, n.URL+"/records/contracts?sort=value&limit=1", alice.as()...).NextCursor

		var cases []garbage
		add := func(want int, method, path, body string, prep ...func(*http.Request)) {
			cases = append(cases, garbage{method: method, path: path, body: body, want: want, prep: prep})
		}
		bodies := []string{
			`{`, `}`, `nope`, `"str"`, `123`, `true`, `null`, `[]`, `[{}]`, `{"fields":null}`, `{"fields":1}`,
			`{"fields":[]}`, `{"fields":{"title":{}}}`, `{"fields":{"title":[]}}`, `{"fields":{"title":"\ud800"}}`,
			`{"fields":{"value":1e999}}`, `{"fields":{"value":-0}}`, `{"fields":{"value":1e-400}}`, `{"fields":{"value":0.1e}}`,
			`{"fields":{"number":9223372036854775808}}`, `{"fields":{"number":-9223372036854775809}}`, `{"fields":{"number":1e30}}`,
			`{"parent_id":{},"fields":{}}`, `{"parent_id":[],"fields":{}}`, `{"parent_id":"` + strings.Repeat("a", 5000) + `"}`,
			`{"fields":{"":1}}`, `{"fields":{"title":"x","title":"y"}}`, "\xff\xfe{}", "{\"fields\":{\"title\":\"\xff\"}}",
			"\ufeff{\"fields\":{\"title\":\"bom\"}}", `{"fields":{"__proto__":1}}`, `{"fields":{"due_on":"0000-00-00"}}`,
			`{"fields":{"signed_at":"9999-12-31T23:59:59Z"}}`, `{"fields":{"signed_at":"10000-01-01T00:00:00Z"}}`,
			`{"fields":{"signed_at":"2026-01-01T00:00:00+25:00"}}`, `{"fields":{"email":"a@b"}}`, `{"fields":{"email":"` + strings.Repeat("a", 300) + `@x.com"}}`,
			strings.Repeat("[", 20000) + strings.Repeat("]", 20000), `{"fields":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`,
			`{"fields":{"title":"` + strings.Repeat("x", 2<<20) + `"}}`, `{"fields":{"status":"` + strings.Repeat("é", 1000) + `"}}`,
		}
		for _, plural := range []string{"contracts", "clauses", "obligations", "signatories", "nothing"} {
			for _, b := range bodies {
				add(0, "POST", "/records/"+plural, b)
			}
		}
		for _, path := range []string{"contracts/" + c.ID, "clauses/" + cl.ID, "obligations/" + ob.ID, "signatories/" + sg.ID} {
			for _, b := range bodies {
				add(0, "PATCH", "/records/"+path, b)
			}
		}
		cid := c.ID
		for _, q := range []struct {
			want int
			q    string
		}{
			{400, "cursor=abc"},
			{400, "cursor=" + url.QueryEscape(valueCursor) + "&sort=-value"},
			{200, "cursor=" + url.QueryEscape(valueCursor) + "&sort=value&filter[status]=draft"},
			{400, "cursor=" + url.QueryEscape(valueCursor)},
			{400, "sort=value&cursor=" + forgedCursor(map[string]any{"s": "value", "v": "abc", "t": 0, "i": cid})},
			{400, "sort=value&cursor=" + forgedCursor(map[string]any{"s": "value", "v": true, "t": 0, "i": cid})},
			{400, "sort=value&cursor=" + forgedCursor(map[string]any{"s": "value", "v": json.Number("1e999"), "t": 0, "i": cid})},
			{400, "sort=signed_on&cursor=" + forgedCursor(map[string]any{"s": "signed_on", "v": 5, "t": 0, "i": cid})},
			{400, "sort=signed_on&cursor=" + forgedCursor(map[string]any{"s": "signed_on", "v": map[string]any{}, "t": 0, "i": cid})},
			{400, "cursor=" + forgedCursor(map[string]any{"s": "-created_at", "t": "x", "i": cid})},
			{400, "cursor=" + forgedCursor(map[string]any{"s": "-created_at", "t": 1, "i": "nope"})},
			{400, "cursor=" + forgedCursor(map[string]any{"s": "-created_at", "t": 1e300, "i": cid})},
			{0, "cursor=" + forgedCursor(map[string]any{"s": "-created_at", "t": math.MaxInt64, "i": cid})},
			{0, "sort=value&cursor=" + forgedCursor(map[string]any{"s": "value", "v": nil, "t": -1, "i": cid})},
			{0, "sort=value&cursor=" + forgedCursor(map[string]any{"s": "value", "v": -1e308, "t": 0, "i": cid})},
			{0, "cursor=%00"},
			{0, "cursor=" + strings.Repeat("A", 2801)},
			{0, "cursor=" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte("x"), 2000))},
			{422, "limit=0"},
			{422, "limit=501"},
			{422, "limit=-1"},
			{0, "limit=1.5"},
			{422, "limit=abc"},
			{0, "limit=99999999999999999999"},
			{422, "sort=unknown"},
			{422, "sort=-unknown"},
			{0, "sort=-"},
			{0, "sort=--value"},
			{0, "sort=id"},
			{0, "sort=fields"},
			{0, "sort=" + url.QueryEscape("value;DROP TABLE records_records")},
			{0, "sort=" + strings.Repeat("v", 41)},
			{422, "filter[unknown]=x"},
			{422, "filter[value]=abc"},
			{422, "filter[value]=1e999"},
			{422, "filter[value]=NaN"},
			{422, "filter[value]="},
			{422, "filter[value]=%221%22"},
			{422, "filter[signed_on]=2026-02-31"},
			{422, "filter[signed_on]="},
			{422, "filter[status]=x"},
			{422, "filter[]=x"},
			{422, "filter[=x"},
			{0, "filter]=x"},
			{0, "filter[status][x]=y"},
			{200, "filter[title]=" + url.QueryEscape("';--")},
			{200, "filter[title]=" + url.QueryEscape("%")},
			{422, "filter[value]=1&filter[value]=2"},
			{200, "filter[value]=5&filter[status]=draft&sort=-value"},
			{0, "filter[title]=%00"},
			{0, "filter[title]=a%00b"},
			{0, "filter[title]=%FF"},
			{0, "filter[signed_on]=%00"},
			{0, "filter[status]=%00"},
			{0, "sort=title&cursor=" + forgedCursor(map[string]any{"s": "title", "v": "a\x00b", "t": 0, "i": cid})},
			{0, "sort=title&cursor=" + forgedCursor(map[string]any{"s": "title", "v": "\xff", "t": 0, "i": cid})},
			{0, "sort=%00"},
			{0, "cursor=%FF"},
		} {
			add(q.want, "GET", "/records/contracts?"+q.q, "")
		}
		for _, q := range []struct {
			want int
			q    string
		}{
			{422, "sort=body"},
			{422, "filter[body]=x"},
			{422, "filter[number]=1.5"},
			{422, "filter[number]=x"},
			{422, "filter[title]=x"},
			{400, "cursor=abc"},
			{422, "limit=0"},
			{200, "sort=-number&filter[heading]=Rent"},
		} {
			add(q.want, "GET", "/records/contracts/"+c.ID+"/clauses?"+q.q, "")
		}
		add(422, "GET", "/records/obligations?filter[done]=maybe", "")
		add(200, "GET", "/records/obligations?filter[done]=true", "")
		add(422, "GET", "/records/signatories?filter[signed_at]=garbage", "")
		add(200, "GET", "/records/signatories?filter[signed_at]=2026-01-01T00:00:00%2B01:00", "")
		add(422, "GET", "/records/signatories?sort=signed_at&cursor=abc&limit=0", "")
		for _, p := range []struct {
			want         int
			method, path string
		}{
			{404, "GET", "/records/nothing"},
			{404, "POST", "/records/nothing"},
			{404, "GET", "/records/nothing/" + c.ID},
			{404, "PATCH", "/records/nothing/" + c.ID},
			{404, "DELETE", "/records/nothing/" + c.ID},
			{404, "GET", "/records/nothing/" + c.ID + "/clauses"},
			{404, "POST", "/records/nothing/" + c.ID + "/actions/export"},
			{404, "GET", "/records/contracts/not-a-uuid"},
			{404, "PATCH", "/records/contracts/not-a-uuid"},
			{404, "DELETE", "/records/contracts/not-a-uuid"},
			{404, "GET", "/records/contracts/not-a-uuid/clauses"},
			{404, "POST", "/records/contracts/not-a-uuid/actions/export"},
			{404, "GET", "/records/contracts/" + strings.ToUpper(c.ID)},
			{404, "GET", "/records/contracts/" + strings.ReplaceAll(c.ID, "-", "")},
			{404, "GET", "/records/contracts/" + cl.ID},
			{404, "PATCH", "/records/contracts/" + cl.ID},
			{404, "DELETE", "/records/contracts/" + cl.ID},
			{404, "GET", "/records/contracts/" + uuid.NewString()},
			{404, "GET", "/records/contracts/" + c.ID + "/notachild"},
			{404, "GET", "/records/contracts/" + c.ID + "/obligations"},
			{404, "GET", "/records/contracts/" + c.ID + "/contracts"},
			{404, "GET", "/records/clauses/" + c.ID + "/obligations"},
			{404, "POST", "/records/contracts/" + c.ID + "/actions/nope"},
			{404, "POST", "/records/clauses/" + cl.ID + "/actions/export"},
			{404, "GET", "/records/jobs/not-a-uuid"},
			{404, "GET", "/records/jobs/" + uuid.NewString()},
			{0, "GET", "/records/"},
			{0, "GET", "/records/%20"},
			{0, "GET", "/records/contracts/%00"},
			{0, "GET", "/records/contracts/" + strings.Repeat("a", 100)},
			{0, "GET", "/records/" + strings.Repeat("x", 40)},
			{0, "GET", "/records/contracts/" + c.ID + "/actions/export"},
			{0, "PUT", "/records/contracts"},
			{0, "DELETE", "/records/contracts"},
			{0, "PUT", "/records/contracts/" + c.ID},
			{0, "POST", "/records/contracts/" + c.ID},
			{0, "POST", "/records/types"},
		} {
			body := ""
			if (p.method == "POST" || p.method == "PATCH") && !strings.Contains(p.path, "/actions/") {
				body = `{"fields":{}}`
			}
			add(p.want, p.method, p.path, body)
		}
		// Headers.
		for _, im := range []string{`abc`, `"abc"`, `"0"`, `"-1"`, `W/`, `"`, `""`, `"1", "2"`, `*`, `"99999999999999999999"`, strings.Repeat("9", 40)} {
			add(0, "PATCH", "/records/contracts/"+c.ID, `{"fields":{"value":9}}`, header("If-Match", im))
			add(0, "DELETE", "/records/contracts/"+uuid.NewString(), "", header("If-Match", im))
		}
		add(0, "POST", "/records/contracts", `{"fields":{"title":"ct"}}`, testhttp.ContentType("text/plain"))
		add(0, "POST", "/records/contracts", `{"fields":{"title":"ct"}}`, testhttp.ContentType("application/x-www-form-urlencoded"))
		add(0, "POST", "/records/contracts", `{"fields":{"title":"key"}}`, header("Idempotency-Key", strings.Repeat("k", 300)))
		add(0, "POST", "/records/contracts", `{"fields":{"title":"key"}}`, header("Idempotency-Key", "é"))
		for _, org := range []string{"\xff", "%00", "not-a-uuid", uuid.NewString(), strings.Repeat("o", 300)} {
			add(0, "GET", "/records/contracts", "", header("X-Org-ID", org))
			cases[len(cases)-1].note = fmt.Sprintf("X-Org-ID: %.20q", org)
		}
		add(0, "POST", "/records/contracts/"+c.ID+"/actions/export", `{"format":"xml"}`)
		add(0, "POST", "/records/contracts/"+c.ID+"/actions/export", `{"format":7}`)
		add(0, "POST", "/records/contracts/"+c.ID+"/actions/export", `[]`)
		add(0, "POST", "/records/contracts/"+c.ID+"/actions/export", `nope`)
		add(0, "POST", "/records/contracts/"+c.ID+"/actions/export", `{"format":"csv","x":1}`)

		plurals := []string{"contracts", "clauses", "obligations", "signatories"}
		before := snapshot(t, n, alice, plurals...)
		changed := false
		for _, g := range cases {
			r := testhttp.Send(t, g.method, n.URL+g.path, g.body, alice.as(g.prep...)...)
			what := fmt.Sprintf("%s %.150s %.80q %s", g.method, g.path, g.body, g.note)
			if r.Status >= 500 || (g.want != 0 && r.Status != g.want) {
				want := "below 500"
				if g.want != 0 {
					want = strconv.Itoa(g.want)
				}
				t.Errorf("%s: %d %.300s, want %s", what, r.Status, r.Body, want)
				continue
			}
			if r.Status >= 400 {
				decodeProblem(t, what, r)
			}
			if r.Status < 300 && g.method != "GET" {
				changed = true
			}
		}
		if !changed {
			sameSnapshot(t, "after the garbage", before, snapshot(t, n, alice, plurals...))
		}
	})
}

// ---- orgs ----

// TestOrgIsolation shows another org's records as missing, whatever the
// route, and refuses requests without an org or credentials.
func TestOrgIsolation(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Alice's lease"}}`)
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent"}}`)
		ob := alice.create(t, n, "obligations", `{"parent_id":"`+cl.ID+`","fields":{"description":"Pay"}}`)
		bc := bob.create(t, n, "contracts", `{"fields":{"title":"Bob's lease"}}`)

		for _, r := range []struct{ method, path, body string }{
			{"GET", "/records/contracts/" + c.ID, ""},
			{"PATCH", "/records/contracts/" + c.ID, `{"fields":{"title":"mine"}}`},
			{"PATCH", "/records/contracts/" + c.ID, `{"fields":{"title":"mine"}}`},
			{"DELETE", "/records/contracts/" + c.ID, ""},
			{"GET", "/records/contracts/" + c.ID + "/clauses", ""},
			{"GET", "/records/contracts/" + c.ID + "/signatories", ""},
			{"POST", "/records/contracts/" + c.ID + "/actions/export", ""},
			{"POST", "/records/contracts/" + c.ID + "/actions/export", `{"format":"csv"}`},
			{"GET", "/records/clauses/" + cl.ID, ""},
			{"PATCH", "/records/clauses/" + cl.ID, `{"fields":{"number":2}}`},
			{"DELETE", "/records/clauses/" + cl.ID, ""},
			{"GET", "/records/clauses/" + cl.ID + "/obligations", ""},
			{"GET", "/records/obligations/" + ob.ID, ""},
			{"DELETE", "/records/obligations/" + ob.ID, ""},
		} {
			expectProblem(t, 404, r.method, n.URL+r.path, r.body, bob.as()...)
		}
		// If-Match does not reveal the version either.
		expectProblem(t, 404, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"title":"x"}}`, bob.as(header("If-Match", `"9"`))...)
		// Bob's lists hold his record only; alice's hers.
		for _, who := range []struct {
			u    user
			want string
		}{{bob, bc.ID}, {alice, c.ID}} {
			list := listAll(t, n, who.u, "/records/contracts")
			if len(list) != 1 || list[0].ID != who.want || list[0].OrgID != who.u.org {
				t.Errorf("%s's contracts: %+v", who.u.org, list)
			}
			for _, p := range []string{"/records/clauses", "/records/obligations"} {
				if l := listAll(t, n, who.u, p); (who.u.org == bob.org) != (len(l) == 0) {
					t.Errorf("%s's %s: %d", who.u.org, p, len(l))
				}
			}
		}
		// Bob cannot hang a child on alice's records.
		expectProblem(t, 422, "POST", n.URL+"/records/clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"x"}}`, bob.as()...)
		// Alice's records are untouched.
		for _, r := range []struct{ plural, id string }{{"contracts", c.ID}, {"clauses", cl.ID}, {"obligations", ob.ID}} {
			if got := getRecord(t, n, alice, r.plural, r.id); got.Version != 1 {
				t.Errorf("%s %s changed: %+v", r.plural, r.id, got)
			}
		}
		if l := listAll(t, n, alice, "/records/contracts/"+c.ID+"/clauses"); len(l) != 1 {
			t.Errorf("alice's clauses: %+v", l)
		}

		// Bob choosing alice's org: 403.
		expectProblem(t, 403, "GET", n.URL+"/records/contracts/"+c.ID, "", testhttp.Bearer(bob.token), header("X-Org-ID", alice.org))
		expectProblem(t, 403, "GET", n.URL+"/records/contracts", "", testhttp.Bearer(bob.token), header("X-Org-ID", alice.org))
		// No org at all: 403 on every route.
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/records/contracts", ""},
			{"POST", "/records/contracts", `{"fields":{"title":"x"}}`},
			{"GET", "/records/contracts/" + c.ID, ""},
			{"GET", "/records/types", ""},
		} {
			resp := testhttp.Send(t, r.method, n.URL+r.path, r.body, testhttp.Bearer(alice.token))
			if resp.Status != 403 {
				t.Errorf("%s %s without X-Org-ID: %d %s, want 403", r.method, r.path, resp.Status, resp.Body)
			}
			decodeProblem(t, r.path, resp)
		}
		// Anonymous or a bad token: 401.
		for _, prep := range [][]func(*http.Request){
			nil,
			{header("X-Org-ID", alice.org)},
			{testhttp.Bearer("garbage"), header("X-Org-ID", alice.org)},
			{testhttp.Bearer(alice.token + "x"), header("X-Org-ID", alice.org)},
		} {
			for _, r := range []struct{ method, path, body string }{
				{"GET", "/records/types", ""},
				{"GET", "/records/contracts", ""},
				{"POST", "/records/contracts", `{"fields":{"title":"x"}}`},
				{"GET", "/records/contracts/" + c.ID, ""},
				{"PATCH", "/records/contracts/" + c.ID, `{"fields":{"title":"x"}}`},
				{"DELETE", "/records/contracts/" + c.ID, ""},
				{"GET", "/records/contracts/" + c.ID + "/clauses", ""},
				{"POST", "/records/contracts/" + c.ID + "/actions/export", ""},
				{"GET", "/records/jobs/" + uuid.NewString(), ""},
			} {
				expectProblem(t, 401, r.method, n.URL+r.path, r.body, prep...)
			}
		}
		if got := getRecord(t, n, alice, "contracts", c.ID); got.Version != 1 {
			t.Errorf("contract changed: %+v", got)
		}
	})
}

// ---- pagination ----

// compareBy orders records as sort (created_at, updated_at or a field of
// kind "number" or text-like, - first for descending) does: an absent
// field is the lowest value, ties go by the time then the id, in the same
// direction.
func compareBy(t testing.TB, sort string, numeric map[string]bool) func(a, b records.Record) int {
	desc := strings.HasPrefix(sort, "-")
	name := strings.TrimPrefix(sort, "-")
	num := func(r records.Record) float64 {
		if v, ok := fieldsOf(t, r)[name].(json.Number); ok {
			f, err := v.Float64()
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		return math.Inf(-1)
	}
	str := func(r records.Record) string {
		s, _ := fieldsOf(t, r)[name].(string)
		return s
	}
	return func(a, b records.Record) int {
		c := 0
		switch {
		case name == "created_at" || name == "updated_at":
		case numeric[name]:
			c = cmp.Compare(num(a), num(b))
		default:
			c = strings.Compare(str(a), str(b))
		}
		if c == 0 {
			if name == "updated_at" {
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			} else {
				c = a.CreatedAt.Compare(b.CreatedAt)
			}
		}
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if desc {
			c = -c
		}
		return c
	}
}

// ids lists records' ids.
func ids(recs []records.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// checkOrder pages through target with limit 7 and checks that it returns
// exactly want, in order.
func checkOrder(t *testing.T, target string, want []records.Record, prep ...func(*http.Request)) {
	t.Helper()
	got := pageAll(t, target, 7, prep...)
	g, w := ids(got), ids(want)
	seen := map[string]bool{}
	for _, id := range g {
		if seen[id] {
			t.Errorf("GET %s: %s twice", target, id)
		}
		seen[id] = true
	}
	if !slices.Equal(g, w) {
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Errorf("GET %s: %d items, want %d; first difference at %d: got %s %s, want %s %s",
					target, len(g), len(w), i, got[i].ID, got[i].Fields, want[i].ID, want[i].Fields)
				return
			}
		}
		t.Errorf("GET %s: %d items, want %d", target, len(g), len(w))
	}
}

// TestPagination pages with limit 7 through ~120 contracts in every sort,
// with and without a filter, and through a record's children: each record
// once, in order, the last page without next_cursor.
func TestPagination(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		statuses := []string{"draft", "review", "signed", "expired"}
		titles := []string{"alpha", "Beta", "gamma", "Éclair", "delta", "", "zeta"}
		var created []records.Record
		for i := range 120 {
			f := map[string]any{"title": titles[i%len(titles)] + strconv.Itoa(i%9), "status": statuses[(i*7)%4]}
			if i%5 != 0 {
				f["value"] = float64((i*37)%50) + 0.25*float64(i%3)
			}
			if i%4 != 0 {
				f["signed_on"] = fmt.Sprintf("2026-%02d-%02d", i%3+1, i%10+1)
			}
			if i%11 == 0 {
				f["value"] = 0
			}
			b, err := json.Marshal(map[string]any{"fields": f})
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, alice.create(t, n, "contracts", string(b)))
		}
		// Bob's records never show in alice's lists.
		for i := range 5 {
			bob.create(t, n, "contracts", `{"fields":{"title":"bob`+strconv.Itoa(i)+`","value":`+strconv.Itoa(i)+`}}`)
		}
		// Updates in another order than the creates, so that updated_at
		// differs from created_at.
		for i := len(created) - 1; i >= 0; i -= 6 {
			testhttp.Expect(t, 200, "PATCH", n.URL+"/records/contracts/"+created[i].ID, `{"fields":{"status":"review"}}`, alice.as()...)
		}
		all := listAll(t, n, alice, "/records/contracts")
		if len(all) != len(created) {
			t.Fatalf("%d contracts listed, %d created", len(all), len(created))
		}
		if got, want := slices.Sorted(slices.Values(ids(all))), slices.Sorted(slices.Values(ids(created))); !slices.Equal(got, want) {
			t.Fatalf("listed ids differ from the created ones")
		}
		numeric := map[string]bool{"value": true}
		for _, sort := range []string{"", "created_at", "-created_at", "updated_at", "-updated_at", "value", "-value", "status", "-status",
			"signed_on", "-signed_on", "title", "-title"} {
			want := slices.Clone(all)
			slices.SortStableFunc(want, compareBy(t, cmp.Or(sort, "-created_at"), numeric))
			base := n.URL + "/records/contracts"
			if sort != "" {
				base += "?sort=" + sort
			}
			checkOrder(t, base, want, alice.as()...)
			for _, st := range []string{"review", "expired"} {
				sub := slices.DeleteFunc(slices.Clone(want), func(r records.Record) bool { return fieldsOf(t, r)["status"] != st })
				checkOrder(t, withQuery(base, "filter[status]="+st), sub, alice.as()...)
			}
			sub := slices.DeleteFunc(slices.Clone(want), func(r records.Record) bool { return fieldsOf(t, r)["signed_on"] != "2026-02-05" })
			checkOrder(t, withQuery(base, "filter[signed_on]=2026-02-05"), sub, alice.as()...)
			sub = slices.DeleteFunc(slices.Clone(want), func(r records.Record) bool { return fieldsOf(t, r)["value"] != json.Number("0") })
			checkOrder(t, withQuery(base, "filter[value]=0"), sub, alice.as()...)
		}
		// A filter matching nothing: an empty page without next_cursor.
		if p := getPage(t, n.URL+"/records/contracts?filter[value]=12345&limit=7", alice.as()...); len(p.Items) != 0 || p.NextCursor != nil {
			t.Errorf("empty filter: %+v", p)
		}
		// A page as big as the list: no next_cursor.
		if p := getPage(t, n.URL+"/records/contracts?limit=120", alice.as()...); len(p.Items) != 120 || p.NextCursor != nil {
			t.Errorf("limit=120: %d items, next %v", len(p.Items), p.NextCursor)
		}
		if p := getPage(t, n.URL+"/records/contracts?limit=119", alice.as()...); len(p.Items) != 119 || p.NextCursor == nil {
			t.Errorf("limit=119: %d items, next %v", len(p.Items), p.NextCursor)
		}
		// The default limit is 50.
		if p := getPage(t, n.URL+"/records/contracts", alice.as()...); len(p.Items) != 50 || p.NextCursor == nil {
			t.Errorf("default page: %d items", len(p.Items))
		}

		// Children: 25 clauses of one contract (numbers with ties), a few
		// of another.
		k, other := created[1], created[2]
		headings := []string{"Rent", "keys", "Deposit", "rent"}
		for i := range 25 {
			alice.create(t, n, "clauses", fmt.Sprintf(`{"parent_id":%q,"fields":{"number":%d,"heading":%q}}`, k.ID, i%6+1, headings[i%4]))
		}
		for i := range 3 {
			alice.create(t, n, "clauses", fmt.Sprintf(`{"parent_id":%q,"fields":{"number":%d,"heading":"Other"}}`, other.ID, i+1))
		}
		kids := listAll(t, n, alice, "/records/contracts/"+k.ID+"/clauses")
		if len(kids) != 25 {
			t.Fatalf("%d clauses listed, want 25", len(kids))
		}
		for _, sort := range []string{"", "created_at", "-created_at", "updated_at", "number", "-number", "heading", "-heading"} {
			want := slices.Clone(kids)
			slices.SortStableFunc(want, compareBy(t, cmp.Or(sort, "-created_at"), map[string]bool{"number": true}))
			base := n.URL + "/records/contracts/" + k.ID + "/clauses"
			if sort != "" {
				base += "?sort=" + sort
			}
			checkOrder(t, base, want, alice.as()...)
			sub := slices.DeleteFunc(slices.Clone(want), func(r records.Record) bool { return fieldsOf(t, r)["number"] != json.Number("3") })
			checkOrder(t, withQuery(base, "filter[number]=3"), sub, alice.as()...)
		}
		if l := listAll(t, n, alice, "/records/clauses"); len(l) != 28 {
			t.Errorf("all clauses: %d, want 28", len(l))
		}
		if l := listAll(t, n, bob, "/records/contracts"); len(l) != 5 {
			t.Errorf("bob's contracts: %d, want 5", len(l))
		}
	})
}

// ---- updates ----

// TestIfMatch checks optimistic concurrency: a stale If-Match is 412 and
// changes nothing; weak tags are accepted; garbage is refused without a
// 500; of concurrent updates with the same If-Match exactly one wins.
func TestIfMatch(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease","value":10}}`)
		self := n.URL + "/records/contracts/" + c.ID

		r := testhttp.Send(t, "GET", self, "", alice.as()...)
		if r.Status != 200 || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("GET: %d ETag %q", r.Status, r.Header.Get("ETag"))
		}
		for _, stale := range []string{`"2"`, `"7"`, `W/"3"`, `2`} {
			expectProblem(t, 412, "PATCH", self, `{"fields":{"value":11}}`, alice.as(header("If-Match", stale))...)
			expectProblem(t, 412, "DELETE", self, "", alice.as(header("If-Match", stale))...)
		}
		if got := getRecord(t, n, alice, "contracts", c.ID); got.Version != 1 || fieldsOf(t, got)["value"] != json.Number("10") {
			t.Fatalf("after stale If-Match: %+v %s", got, got.Fields)
		}
		r = testhttp.Send(t, "PATCH", self, `{"fields":{"value":11}}`, alice.as(header("If-Match", `W/"1"`))...)
		if r.Status != 200 || r.Header.Get("ETag") != `"2"` {
			t.Fatalf("PATCH with W/\"1\": %d %s ETag %q", r.Status, r.Body, r.Header.Get("ETag"))
		}
		testhttp.Expect(t, 200, "PATCH", self, `{"fields":{"value":12}}`, alice.as(header("If-Match", `"2"`))...)
		for _, bad := range []string{`abc`, `"abc"`, `"0"`, `"-1"`, `W/`, `""x`, `"1.5"`, `"+3"`, `"99999999999999999999"`} {
			r := testhttp.Send(t, "PATCH", self, `{"fields":{"value":13}}`, alice.as(header("If-Match", bad))...)
			if r.Status != 422 && r.Status != 400 {
				t.Errorf("If-Match %s: %d %s, want 422 or 400", bad, r.Status, r.Body)
				continue
			}
			p := decodeProblem(t, "If-Match "+bad, r)
			if r.Status == 422 && !slices.Contains(p.locations(), "header.If-Match") {
				t.Errorf("If-Match %s: locations %v", bad, p.locations())
			}
		}
		if got := getRecord(t, n, alice, "contracts", c.ID); got.Version != 3 || fieldsOf(t, got)["value"] != json.Number("12") {
			t.Fatalf("after bad If-Match: %+v %s", got, got.Fields)
		}

		// Eight concurrent updates with the current version: one wins.
		const racers = 8
		for round := range 3 {
			cur := getRecord(t, n, alice, "contracts", c.ID)
			var wg sync.WaitGroup
			codes := make([]int, racers)
			bodies := make([]string, racers)
			errs := make([]error, racers)
			for i := range racers {
				wg.Go(func() {
					codes[i], bodies[i], errs[i] = rawDo("PATCH", self, fmt.Sprintf(`{"fields":{"value":%d}}`, 100+i),
						alice.as(header("If-Match", httpETag(cur.Version)))...)
				})
			}
			wg.Wait()
			ok, won := 0, -1
			for i := range racers {
				if errs[i] != nil {
					t.Fatalf("racer %d: %v", i, errs[i])
				}
				switch codes[i] {
				case 200:
					ok, won = ok+1, i
				case 412:
				default:
					t.Errorf("round %d racer %d: %d %s, want 200 or 412", round, i, codes[i], bodies[i])
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d racers won (%v), want exactly 1", round, ok, codes)
			}
			got := getRecord(t, n, alice, "contracts", c.ID)
			if got.Version != cur.Version+1 || fieldsOf(t, got)["value"] != json.Number(strconv.Itoa(100+won)) {
				t.Errorf("round %d: after the race %+v %s, want the winner's value %d", round, got, got.Fields, 100+won)
			}
		}
		// Deleting with the current version works.
		cur := getRecord(t, n, alice, "contracts", c.ID)
		testhttp.Expect(t, 204, "DELETE", self, "", alice.as(header("If-Match", httpETag(cur.Version)))...)
	})
}

// httpETag is a version's ETag.
func httpETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// TestPatchSemantics: null removes an optional field, a required one
// cannot be removed, unknown fields are refused, and the result is
// validated as a whole; a refused update changes nothing.
func TestPatchSemantics(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease","value":10,"signed_on":"2026-01-02","status":"review"}}`)
		self := n.URL + "/records/contracts/" + c.ID

		var r records.Record
		mustJSON(t, testhttp.Expect(t, 200, "PATCH", self, `{"fields":{"value":null}}`, alice.as()...), &r)
		f := fieldsOf(t, r)
		if _, ok := f["value"]; ok || f["title"] != "Lease" || f["signed_on"] != "2026-01-02" || f["status"] != "review" || r.Version != 2 {
			t.Fatalf("null value: %+v %s", r, r.Fields)
		}
		if !r.UpdatedAt.After(c.UpdatedAt) && !r.UpdatedAt.Equal(c.UpdatedAt) || !r.CreatedAt.Equal(c.CreatedAt) {
			t.Errorf("times: created %v→%v updated %v→%v", c.CreatedAt, r.CreatedAt, c.UpdatedAt, r.UpdatedAt)
		}
		if got := getRecord(t, n, alice, "contracts", c.ID); canonical(t, got) != canonical(t, r) || got.Version != 2 {
			t.Errorf("GET after PATCH: %s v%d, PATCH answered %s", got.Fields, got.Version, r.Fields)
		}
		// Removing an absent optional field is fine.
		testhttp.Expect(t, 200, "PATCH", self, `{"fields":{"value":null}}`, alice.as()...)
		// A value is set back, canonical.
		mustJSON(t, testhttp.Expect(t, 200, "PATCH", self, `{"fields":{"value":1.50}}`, alice.as()...), &r)
		if fieldsOf(t, r)["value"] != json.Number("1.5") {
			t.Errorf("value 1.50: %s", r.Fields)
		}
		stable := getRecord(t, n, alice, "contracts", c.ID)

		for _, bc := range []badCase{
			{"null on a required field", "", `{"fields":{"title":null}}`, []string{"body.fields.title"}},
			{"empty fields removing title", "", `{"fields":{"title":null,"value":null}}`, []string{"body.fields.title"}},
			{"unknown field", "", `{"fields":{"nope":1}}`, []string{"body.fields.nope"}},
			{"unknown field set to null", "", `{"fields":{"nope":null}}`, []string{"body.fields.nope"}},
			{"bad values", "", `{"fields":{"value":-1,"status":"x","signed_on":"2026-02-29"}}`,
				[]string{"body.fields.signed_on", "body.fields.status", "body.fields.value"}},
			{"bad values and title removed", "", `{"fields":{"value":"1","title":null,"extra":true}}`,
				[]string{"body.fields.extra", "body.fields.title", "body.fields.value"}},
			{"good and bad together", "", `{"fields":{"title":"New","value":-1}}`, []string{"body.fields.value"}},
		} {
			p := expectProblem(t, 422, "PATCH", self, bc.body, alice.as()...)
			if got := p.locations(); !slices.Equal(got, bc.want) {
				t.Errorf("%s: PATCH %s: locations %v, want %v", bc.name, bc.body, got, bc.want)
			}
		}
		// Malformed bodies.
		for _, b := range []string{`{}`, `{"fields":null}`, `{"fields":[]}`, `{"fields":{},"parent_id":"` + c.ID + `"}`, `{"fields":{},"version":9}`} {
			r := testhttp.Send(t, "PATCH", self, b, alice.as()...)
			if r.Status != 400 && r.Status != 422 {
				t.Errorf("PATCH %s: %d %s, want 400 or 422", b, r.Status, r.Body)
			}
			decodeProblem(t, "PATCH "+b, r)
		}
		if got := getRecord(t, n, alice, "contracts", c.ID); canonical(t, got) != canonical(t, stable) || got.Version != stable.Version {
			t.Errorf("refused updates changed the record: %s v%d → %s v%d", stable.Fields, stable.Version, got.Fields, got.Version)
		}
		// A child's update keeps its parent and other fields.
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent","body":"Pay"}}`)
		mustJSON(t, testhttp.Expect(t, 200, "PATCH", n.URL+"/records/clauses/"+cl.ID, `{"fields":{"number":2,"body":null}}`, alice.as()...), &r)
		if f := fieldsOf(t, r); f["number"] != json.Number("2") || f["heading"] != "Rent" || f["body"] != nil || r.ParentID == nil || *r.ParentID != c.ID {
			t.Errorf("clause patch: %+v %s", r, r.Fields)
		}
		// A PATCH through another type's plural is 404.
		expectProblem(t, 404, "PATCH", n.URL+"/records/signatories/"+cl.ID, `{"fields":{"name":"x"}}`, alice.as()...)
	})
}

// ---- deletes ----

// TestCascadeDelete deletes a contract with 3 clauses of 5 obligations and
// 2 signatories: every descendant goes, nothing else does.
func TestCascadeDelete(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		type rec struct{ plural, id string }
		tree := func(title string) (records.Record, [][]rec, []rec) {
			c := alice.create(t, n, "contracts", `{"fields":{"title":"`+title+`"}}`)
			var clauses [][]rec
			for i := range 3 {
				cl := alice.create(t, n, "clauses", fmt.Sprintf(`{"parent_id":%q,"fields":{"number":%d,"heading":"H"}}`, c.ID, i+1))
				group := []rec{{"clauses", cl.ID}}
				for j := range 5 {
					ob := alice.create(t, n, "obligations", fmt.Sprintf(`{"parent_id":%q,"fields":{"description":"D%d"}}`, cl.ID, j))
					group = append(group, rec{"obligations", ob.ID})
				}
				clauses = append(clauses, group)
			}
			var sigs []rec
			for i := range 2 {
				s := alice.create(t, n, "signatories", fmt.Sprintf(`{"parent_id":%q,"fields":{"name":"S%d","email":"s%d@example.com"}}`, c.ID, i, i))
				sigs = append(sigs, rec{"signatories", s.ID})
			}
			return c, clauses, sigs
		}
		c, clauses, sigs := tree("Doomed")
		keep, keepClauses, keepSigs := tree("Kept")
		status := func(r rec) int {
			st, _ := testhttp.Do(t, "GET", n.URL+"/records/"+r.plural+"/"+r.id, "", alice.as()...)
			return st
		}
		expect := func(want int, recs ...rec) {
			t.Helper()
			for _, r := range recs {
				if got := status(r); got != want {
					t.Errorf("GET /records/%s/%s: %d, want %d", r.plural, r.id, got, want)
				}
			}
		}
		// Deleting a clause takes its obligations only.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/clauses/"+clauses[0][0].id, "", alice.as()...)
		expect(404, clauses[0]...)
		expect(200, rec{"contracts", c.ID})
		expect(200, clauses[1]...)
		expect(200, clauses[2]...)
		expect(200, sigs...)
		if l := listAll(t, n, alice, "/records/contracts/"+c.ID+"/clauses"); len(l) != 2 {
			t.Errorf("clauses left: %d, want 2", len(l))
		}
		// Deleting the contract takes everything under it.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/contracts/"+c.ID, "", alice.as()...)
		expect(404, rec{"contracts", c.ID})
		for _, g := range clauses {
			expect(404, g...)
		}
		expect(404, sigs...)
		expectProblem(t, 404, "DELETE", n.URL+"/records/contracts/"+c.ID, "", alice.as()...)
		expectProblem(t, 404, "GET", n.URL+"/records/contracts/"+c.ID+"/clauses", "", alice.as()...)
		// The other tree is whole.
		expect(200, rec{"contracts", keep.ID})
		for _, g := range keepClauses {
			expect(200, g...)
		}
		expect(200, keepSigs...)
		for plural, want := range map[string]int{"contracts": 1, "clauses": 3, "obligations": 15, "signatories": 2} {
			if l := listAll(t, n, alice, "/records/"+plural); len(l) != want {
				t.Errorf("%s left: %d, want %d", plural, len(l), want)
			}
		}
		// Deleting an obligation leaves its clause.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/obligations/"+keepClauses[0][1].id, "", alice.as()...)
		expect(200, keepClauses[0][0])
		expect(404, keepClauses[0][1])
	})
}

// TestDeleteReferredRecord uses the hiring config: a referral refers to an
// application; deleting the application or its position is 409 naming the
// referral and deletes nothing, until the referral is gone.
func TestDeleteReferredRecord(t *testing.T) {
	everywhereWith(t, []string{"TESSERA_RECORDS_CONFIG=" + hiringConfig(t)}, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		pos := alice.create(t, n, "positions", `{"fields":{"title":"Engineer"}}`)
		app := alice.create(t, n, "applications", `{"parent_id":"`+pos.ID+`","fields":{"candidate_name":"Cy","email":"cy@example.com"}}`)
		other := alice.create(t, n, "applications", `{"parent_id":"`+pos.ID+`","fields":{"candidate_name":"Di","email":"di@example.com"}}`)
		iv := alice.create(t, n, "interviews", `{"parent_id":"`+app.ID+`","fields":{"at":"2026-05-01T09:00:00Z"}}`)
		ref := alice.create(t, n, "referrals", `{"fields":{"application":"`+app.ID+`","referrer":"r@example.com"}}`)
		ref2 := alice.create(t, n, "referrals", `{"fields":{"application":"`+app.ID+`","referrer":"s@example.com"}}`)

		plurals := []string{"positions", "applications", "interviews", "referrals"}
		before := snapshot(t, n, alice, plurals...)
		for _, path := range []string{"/records/applications/" + app.ID, "/records/positions/" + pos.ID} {
			p := expectProblem(t, 409, "DELETE", n.URL+path, "", alice.as()...)
			var named []string
			for _, e := range p.Errors {
				if s, ok := e.Value.(string); ok {
					named = append(named, s)
				}
			}
			slices.Sort(named)
			if want := slices.Sorted(slices.Values([]string{ref.ID, ref2.ID})); !slices.Equal(named, want) {
				t.Errorf("DELETE %s: 409 names %v, want the referrals %v (%+v)", path, named, want, p.Errors)
			}
		}
		sameSnapshot(t, "after the refused deletes", before, snapshot(t, n, alice, plurals...))
		// An application nobody refers to goes.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/applications/"+other.ID, "", alice.as()...)
		// After the referrals go, the delete works.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/referrals/"+ref.ID, "", alice.as()...)
		expectProblem(t, 409, "DELETE", n.URL+"/records/positions/"+pos.ID, "", alice.as()...)
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/referrals/"+ref2.ID, "", alice.as()...)
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/positions/"+pos.ID, "", alice.as()...)
		for _, r := range []struct{ plural, id string }{{"positions", pos.ID}, {"applications", app.ID}, {"interviews", iv.ID}} {
			expectProblem(t, 404, "GET", n.URL+"/records/"+r.plural+"/"+r.id, "", alice.as()...)
		}
	})
}

// ---- types and OpenAPI ----

// TestTypes reads the default hierarchy from GET /records/types.
func TestTypes(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		var v schema.View
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/types", "", alice.as()...), &v)
		byName := map[string]schema.TypeView{}
		for _, tv := range v.Types {
			byName[tv.Name] = tv
		}
		want := []struct {
			name, display, plural, parent string
			children, actions             []string
			params                        []string
		}{
			{"contract", "Contract", "contracts", "", []string{"clause", "signatory"}, []string{"export"}, []string{"signed_on", "status", "title", "value"}},
			{"clause", "Clause", "clauses", "contract", []string{"obligation"}, []string{}, []string{"body", "heading", "number"}},
			{"obligation", "Obligation", "obligations", "clause", []string{}, []string{}, []string{"description", "done", "due_on", "owner"}},
			{"signatory", "Signatory", "signatories", "contract", []string{}, []string{}, []string{"email", "name", "signed_at"}},
		}
		if v.Version != 1 || len(v.Types) != len(want) {
			t.Fatalf("types: %+v", v)
		}
		for _, w := range want {
			tv, ok := byName[w.name]
			if !ok {
				t.Errorf("no type %s", w.name)
				continue
			}
			var params []string
			for _, p := range tv.Parameters {
				params = append(params, p.Name)
			}
			parent := ""
			if tv.Parent != nil {
				parent = *tv.Parent
			}
			if tv.DisplayName != w.display || tv.Plural != w.plural || parent != w.parent || !slices.Equal(tv.Children, w.children) ||
				!slices.Equal(tv.Actions, w.actions) || !slices.Equal(params, w.params) {
				t.Errorf("type %s: %+v", w.name, tv)
			}
		}
		param := func(typ, name string) schema.ParamView {
			for _, p := range byName[typ].Parameters {
				if p.Name == name {
					return p
				}
			}
			t.Fatalf("no %s.%s", typ, name)
			return schema.ParamView{}
		}
		if p := param("contract", "title"); p.DisplayName != "Title" || p.Type != schema.KindString || !p.Required || p.MaxLength != 200 {
			t.Errorf("contract.title: %+v", p)
		}
		if p := param("contract", "status"); p.Type != schema.KindEnum || !slices.Equal(p.Values, []string{"draft", "review", "signed", "expired"}) ||
			string(p.Default) != `"draft"` || p.Required {
			t.Errorf("contract.status: %+v", p)
		}
		if p := param("contract", "value"); p.Type != schema.KindNumber || p.Minimum == nil || *p.Minimum != 0 {
			t.Errorf("contract.value: %+v", p)
		}
		if p := param("obligation", "due_on"); p.DisplayName != "Due on" || p.Type != schema.KindDate {
			t.Errorf("obligation.due_on: %+v", p)
		}
		if p := param("signatory", "signed_at"); p.DisplayName != "Signed at" || p.Type != schema.KindDateTime {
			t.Errorf("signatory.signed_at: %+v", p)
		}
		if p := param("clause", "body"); p.Type != schema.KindText || p.Indexed {
			t.Errorf("clause.body: %+v", p)
		}
		expectProblem(t, 401, "GET", n.URL+"/records/types", "")
	})
}

// TestTypesOfAnotherConfig serves the hiring config's types.
func TestTypesOfAnotherConfig(t *testing.T) {
	everywhereWith(t, []string{"TESSERA_RECORDS_CONFIG=" + hiringConfig(t)}, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		var v schema.View
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/types", "", alice.as()...), &v)
		var names []string
		for _, tv := range v.Types {
			names = append(names, tv.Name)
			if tv.Name == "referral" {
				for _, p := range tv.Parameters {
					if p.Name == "application" && (p.Type != schema.KindRef || p.Target != "application") {
						t.Errorf("referral.application: %+v", p)
					}
				}
			}
		}
		if !slices.Equal(names, []string{"application", "interview", "position", "referral"}) {
			t.Errorf("types: %v", names)
		}
		expectProblem(t, 404, "GET", n.URL+"/records/contracts", "", alice.as()...)
	})
}

// TestOpenAPI checks the per-type OpenAPI document.
func TestOpenAPI(t *testing.T) {
	n := start(t, store.EngineSQLite)
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Type       string                     `json:"type"`
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/openapi.json", ""), &doc)
	for path := range doc.Paths {
		if strings.Contains(path, "{plural}") || strings.Contains(path, "{child}") || strings.Contains(path, "{action}") {
			t.Errorf("generic path %s in the document", path)
		}
	}
	for _, p := range []string{"/records/contracts", "/records/contracts/{id}", "/records/contracts/{id}/clauses", "/records/contracts/{id}/signatories",
		"/records/clauses/{id}/obligations", "/records/contracts/{id}/actions/export", "/records/types", "/records/jobs/{id}", "/records/signatories"} {
		if doc.Paths[p] == nil {
			t.Errorf("no path %s", p)
		}
	}
	for _, p := range []string{"/records/contracts/{id}/obligations", "/records/clauses/{id}/actions/export", "/records/obligations/{id}/clauses"} {
		if doc.Paths[p] != nil {
			t.Errorf("path %s should not exist", p)
		}
	}
	var post struct {
		RequestBody struct {
			Content map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	}
	if err := json.Unmarshal(doc.Paths["/records/contracts"]["post"], &post); err != nil {
		t.Fatalf("POST /records/contracts: %v", err)
	}
	if got := post.RequestBody.Content["application/json"].Schema.Ref; got != "#/components/schemas/RecordsContractCreate" {
		t.Errorf("POST /records/contracts body: %q", got)
	}
	create, ok := doc.Components.Schemas["RecordsContractCreate"]
	if !ok {
		t.Fatalf("no RecordsContractCreate")
	}
	var ref struct {
		Ref string `json:"$ref"`
	}
	if err := json.Unmarshal(create.Properties["fields"], &ref); err != nil || ref.Ref != "#/components/schemas/RecordsContractFields" {
		t.Errorf("RecordsContractCreate.fields: %s", create.Properties["fields"])
	}
	if _, ok := create.Properties["parent_id"]; ok {
		t.Errorf("RecordsContractCreate has a parent_id")
	}
	fields := doc.Components.Schemas["RecordsContractFields"]
	var names []string
	for name := range fields.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"signed_on", "status", "title", "value"}) || !slices.Equal(fields.Required, []string{"title"}) {
		t.Errorf("RecordsContractFields: %v required %v", names, fields.Required)
	}
	var status struct {
		Enum    []string `json:"enum"`
		Default string   `json:"default"`
	}
	if err := json.Unmarshal(fields.Properties["status"], &status); err != nil ||
		!slices.Equal(status.Enum, []string{"draft", "review", "signed", "expired"}) || status.Default != "draft" {
		t.Errorf("status: %s", fields.Properties["status"])
	}
	var title struct {
		Type      string `json:"type"`
		MaxLength int    `json:"maxLength"`
	}
	if err := json.Unmarshal(fields.Properties["title"], &title); err != nil || title.Type != "string" || title.MaxLength != 200 {
		t.Errorf("title: %s", fields.Properties["title"])
	}
	var signed struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(fields.Properties["signed_on"], &signed); err != nil || signed.Format != "date" {
		t.Errorf("signed_on: %s", fields.Properties["signed_on"])
	}
	if cl := doc.Components.Schemas["RecordsClauseCreate"]; !slices.Contains(cl.Required, "parent_id") {
		t.Errorf("RecordsClauseCreate required %v", cl.Required)
	}
	for _, s := range []string{"RecordsContract", "RecordsContractPatch", "RecordsContractList", "RecordsObligationFields", "RecordsSignatoryFields"} {
		if _, ok := doc.Components.Schemas[s]; !ok {
			t.Errorf("no schema %s", s)
		}
	}
	var list struct {
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(doc.Paths["/records/contracts"]["get"], &list); err != nil {
		t.Fatal(err)
	}
	var params []string
	for _, p := range list.Parameters {
		params = append(params, p.In+":"+p.Name)
	}
	for _, want := range []string{"query:filter[status]", "query:filter[value]", "query:sort", "query:limit", "query:cursor"} {
		if !slices.Contains(params, want) {
			t.Errorf("GET /records/contracts lacks %s: %v", want, params)
		}
	}
	if slices.Contains(params, "path:plural") {
		t.Errorf("GET /records/contracts keeps the {plural} parameter")
	}
}

// ---- idempotency ----

// TestIdempotentCreate sends the same create twice with one
// Idempotency-Key: one record, the answer replayed.
func TestIdempotentCreate(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		body := `{"fields":{"title":"Once","value":3}}`
		first := testhttp.Send(t, "POST", n.URL+"/records/contracts", body, alice.as(header("Idempotency-Key", "k-1"))...)
		second := testhttp.Send(t, "POST", n.URL+"/records/contracts", body, alice.as(header("Idempotency-Key", "k-1"))...)
		if first.Status != 201 || second.Status != 201 {
			t.Fatalf("statuses %d %d: %s %s", first.Status, second.Status, first.Body, second.Body)
		}
		var a, b records.Record
		mustJSON(t, first.Body, &a)
		mustJSON(t, second.Body, &b)
		if a.ID != b.ID || second.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay: %s vs %s, Idempotent-Replayed %q", a.ID, b.ID, second.Header.Get("Idempotent-Replayed"))
		}
		if loc := first.Header.Get("Location"); loc != "/records/contracts/"+a.ID {
			t.Errorf("Location %q", loc)
		}
		if l := listAll(t, n, alice, "/records/contracts"); len(l) != 1 {
			t.Errorf("%d contracts after a replayed create", len(l))
		}
		// The same key with another body is refused.
		r := testhttp.Send(t, "POST", n.URL+"/records/contracts", `{"fields":{"title":"Twice"}}`, alice.as(header("Idempotency-Key", "k-1"))...)
		if r.Status != 422 && r.Status != 409 {
			t.Errorf("same key, other body: %d %s", r.Status, r.Body)
		}
		// A failed create is not remembered: fixed, it goes through.
		expectProblem(t, 422, "POST", n.URL+"/records/contracts", `{"fields":{"value":1}}`, alice.as(header("Idempotency-Key", "k-2"))...)
		expectProblem(t, 422, "POST", n.URL+"/records/contracts", `{"fields":{"value":1}}`, alice.as(header("Idempotency-Key", "k-2"))...)
		// Another key, or another caller with the same key: new records.
		alice.create(t, n, "contracts", body)
		var bb records.Record
		mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/records/contracts", body, bob.as(header("Idempotency-Key", "k-1"))...), &bb)
		if bb.ID == a.ID || bb.OrgID != bob.org {
			t.Errorf("bob with alice's key: %+v", bb)
		}
		if l := listAll(t, n, alice, "/records/contracts"); len(l) != 2 {
			t.Errorf("%d contracts, want 2", len(l))
		}
		// Concurrent retries: still one record.
		var wg sync.WaitGroup
		codes := make([]int, 6)
		bodies := make([]string, 6)
		for i := range codes {
			wg.Go(func() {
				codes[i], bodies[i], _ = rawDo("POST", n.URL+"/records/contracts", `{"fields":{"title":"Race"}}`, alice.as(header("Idempotency-Key", "k-race"))...)
			})
		}
		wg.Wait()
		made := map[string]bool{}
		for i, c := range codes {
			switch c {
			case 201:
				var r records.Record
				mustJSON(t, bodies[i], &r)
				made[r.ID] = true
			case 409:
			default:
				t.Errorf("concurrent retry: %d %s", c, bodies[i])
			}
		}
		if len(made) != 1 {
			t.Errorf("concurrent retries made %d records", len(made))
		}
		if l := listAll(t, n, alice, "/records/contracts"); len(l) != 3 {
			t.Errorf("%d contracts, want 3", len(l))
		}
	})
}
