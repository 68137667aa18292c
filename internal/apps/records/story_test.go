package records_test

import (
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestContractStory walks the default hierarchy: a contract, a clause, an
// obligation; a list with a filter; an update with If-Match; a cascading
// delete.
func TestContractStory(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		c := alice.create(t, n, "contracts", `{"fields":{"title":"Lease","value":1200.5}}`)
		if c.Type != "contract" || c.ParentID != nil || c.Version != 1 || !strings.Contains(string(c.Fields), `"status":"draft"`) {
			t.Fatalf("contract %+v %s", c, c.Fields)
		}
		cl := alice.create(t, n, "clauses", `{"parent_id":"`+c.ID+`","fields":{"number":1,"heading":"Rent"}}`)
		ob := alice.create(t, n, "obligations", `{"parent_id":"`+cl.ID+`","fields":{"description":"Pay rent","due_on":"2026-12-01"}}`)
		_ = ob
		var page struct {
			Items []records.Record `json:"items"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts?filter[status]=draft&sort=-created_at&limit=20", "", alice.as()...), &page)
		if len(page.Items) != 1 || page.Items[0].ID != c.ID {
			t.Fatalf("list %+v", page)
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/contracts/"+c.ID+"/clauses", "", alice.as()...), &page)
		if len(page.Items) != 1 || page.Items[0].ID != cl.ID {
			t.Fatalf("children %+v", page)
		}
		testhttp.Expect(t, 412, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"status":"review"}}`, alice.as(header("If-Match", `"7"`))...)
		body := testhttp.Expect(t, 200, "PATCH", n.URL+"/records/contracts/"+c.ID, `{"fields":{"status":"review"}}`, alice.as(header("If-Match", `"1"`))...)
		if !strings.Contains(body, `"version":2`) {
			t.Fatalf("patch %s", body)
		}
		body = testhttp.Expect(t, 422, "POST", n.URL+"/records/contracts", `{"fields":{"value":"12","status":"lost","signed_on":"2026-02-31","extra":1}}`, alice.as()...)
		for _, want := range []string{"body.fields.title", "body.fields.value", "body.fields.status", "body.fields.signed_on", "body.fields.extra"} {
			if !strings.Contains(body, want) {
				t.Errorf("422 lacks %s: %s", want, body)
			}
		}
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/contracts/"+c.ID, "", alice.as()...)
		testhttp.Expect(t, 404, "GET", n.URL+"/records/obligations/"+ob.ID, "", alice.as()...)
		t.Log(testhttp.Expect(t, 200, "GET", n.URL+"/records/types", "", alice.as()...)[:200])
	})
}
