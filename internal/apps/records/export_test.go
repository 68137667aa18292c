package records_test

import (
	"encoding/csv"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// startExport posts an export of record id and checks the 202.
func startExport(t testing.TB, n *nodetest.Node, u user, plural, id, body string) records.ActionJob {
	t.Helper()
	r := testhttp.Send(t, "POST", n.URL+"/records/"+plural+"/"+id+"/actions/export", body, u.as()...)
	if r.Status != 202 {
		t.Fatalf("export %s %s: %d %s, want 202", plural, id, r.Status, r.Body)
	}
	var j records.ActionJob
	mustJSON(t, r.Body, &j)
	if loc := r.Header.Get("Location"); loc != "/records/jobs/"+j.ID {
		t.Errorf("Location %q, want /records/jobs/%s", loc, j.ID)
	}
	if _, err := uuid.Parse(j.ID); err != nil || j.Action != "export" || j.RecordID != id || j.Status != records.JobQueued || j.Result != nil {
		t.Errorf("new job: %+v", j)
	}
	return j
}

// waitJob polls a job until it has finished (30 s at most).
func waitJob(t testing.TB, n *nodetest.Node, u user, id string) records.ActionJob {
	t.Helper()
	var j records.ActionJob
	eventually(t, 30*time.Second, "job "+id+" to finish", func() bool {
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/records/jobs/"+id, "", u.as()...), &j)
		switch j.Status {
		case records.JobQueued, records.JobRunning:
			return false
		case records.JobSucceeded, records.JobFailed:
			return true
		}
		t.Fatalf("job status %q", j.Status)
		return false
	})
	return j
}

// localURL rewrites a URL the node made for its public URL to the test
// server's.
func localURL(n *nodetest.Node, u string) string {
	if rest, ok := strings.CutPrefix(u, n.Config.PublicURL); ok {
		return n.URL + rest
	}
	return u
}

// download fetches a succeeded export's file, without credentials.
func download(t testing.TB, n *nodetest.Node, j records.ActionJob) testhttp.Response {
	t.Helper()
	if j.Status != records.JobSucceeded || j.Result == nil || j.Result.DownloadURL == "" {
		t.Fatalf("job did not succeed: %+v", j)
	}
	if !j.Result.ExpiresAt.After(time.Now()) {
		t.Errorf("download URL expires at %v", j.Result.ExpiresAt)
	}
	r := testhttp.Send(t, "GET", localURL(n, j.Result.DownloadURL), "")
	if r.Status != 200 {
		t.Fatalf("download %s: %d %s", j.Result.DownloadURL, r.Status, r.Body)
	}
	if int64(len(r.Body)) != j.Result.Bytes {
		t.Errorf("downloaded %d bytes, the job says %d", len(r.Body), j.Result.Bytes)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != "" && !strings.Contains(cd, j.Type+"-"+j.RecordID+"."+j.Result.Format) {
		t.Errorf("Content-Disposition %q", cd)
	}
	return r
}

// exportTree is a contract with two clauses, an obligation and a
// signatory, with values a spreadsheet would run as formulas.
type exportTree struct {
	contract, clause1, clause2, obligation, signatory records.Record
}

func (e exportTree) ids() []string {
	return slices.Sorted(slices.Values([]string{e.contract.ID, e.clause1.ID, e.clause2.ID, e.obligation.ID, e.signatory.ID}))
}

const trickyBody = "a, \"b\"\nc; =1+1"

func newExportTree(t testing.TB, n *nodetest.Node, u user) exportTree {
	t.Helper()
	var e exportTree
	e.contract = u.create(t, n, "contracts", `{"fields":{"title":"=SUM(A1)","value":5,"signed_on":"2026-04-01"}}`)
	e.clause1 = u.create(t, n, "clauses", `{"parent_id":"`+e.contract.ID+`","fields":{"number":1,"heading":"+cmd","body":`+jsonString(trickyBody)+`}}`)
	e.clause2 = u.create(t, n, "clauses", `{"parent_id":"`+e.contract.ID+`","fields":{"number":2,"heading":"-1"}}`)
	e.obligation = u.create(t, n, "obligations", `{"parent_id":"`+e.clause1.ID+`","fields":{"description":"plain","done":true,"owner":"o@example.com"}}`)
	e.signatory = u.create(t, n, "signatories", `{"parent_id":"`+e.contract.ID+`","fields":{"name":"@evil","email":"ev@example.com"}}`)
	return e
}

// TestExportJSON exports a contract as JSON (the default): the file holds
// the contract and its descendants, nothing else.
func TestExportJSON(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		e := newExportTree(t, n, alice)
		other := alice.create(t, n, "contracts", `{"fields":{"title":"Other"}}`)
		alice.create(t, n, "clauses", `{"parent_id":"`+other.ID+`","fields":{"number":1,"heading":"Not exported"}}`)
		newExportTree(t, n, bob)

		for _, body := range []string{"", `{}`, `{"format":"json"}`} {
			j := waitJob(t, n, alice, startExport(t, n, alice, "contracts", e.contract.ID, body).ID)
			if j.Status != records.JobSucceeded || j.Result == nil || j.Result.Format != "json" || j.Result.Records != 5 || j.Type != "contract" {
				t.Fatalf("export with body %q: %+v %+v", body, j, j.Result)
			}
			r := download(t, n, j)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var file struct {
				RecordID   string           `json:"record_id"`
				ExportedAt time.Time        `json:"exported_at"`
				Records    []records.Record `json:"records"`
			}
			mustJSON(t, r.Body, &file)
			if file.RecordID != e.contract.ID || file.ExportedAt.IsZero() || int64(len(file.Records)) != j.Result.Records {
				t.Fatalf("file: %s", r.Body)
			}
			if file.Records[0].ID != e.contract.ID {
				t.Errorf("the first record is %s, want the contract", file.Records[0].ID)
			}
			if got := slices.Sorted(slices.Values(ids(file.Records))); !slices.Equal(got, e.ids()) {
				t.Errorf("exported %v, want %v", got, e.ids())
			}
			for _, rec := range file.Records {
				if rec.OrgID != alice.org {
					t.Errorf("exported a record of org %s", rec.OrgID)
				}
			}
			byID := map[string]records.Record{}
			for _, rec := range file.Records {
				byID[rec.ID] = rec
			}
			if got := canonical(t, byID[e.contract.ID]); got != canonical(t, e.contract) {
				t.Errorf("contract fields %s, want %s", got, canonical(t, e.contract))
			}
			if f := fieldsOf(t, byID[e.clause1.ID]); f["body"] != trickyBody || f["heading"] != "+cmd" {
				t.Errorf("clause fields in JSON: %v", f)
			}
			if p := byID[e.obligation.ID].ParentID; p == nil || *p != e.clause1.ID {
				t.Errorf("obligation parent %v", p)
			}
			// A tampered signature is refused.
			bad := strings.Replace(localURL(n, j.Result.DownloadURL), "sig=", "sig=x", 1)
			if r := testhttp.Send(t, "GET", bad, ""); r.Status == 200 || r.Status >= 500 {
				t.Errorf("tampered URL: %d", r.Status)
			}
		}

		// An export reflects the record's current descendants.
		testhttp.Expect(t, 204, "DELETE", n.URL+"/records/clauses/"+e.clause1.ID, "", alice.as()...)
		j := waitJob(t, n, alice, startExport(t, n, alice, "contracts", e.contract.ID, "").ID)
		if j.Status != records.JobSucceeded || j.Result.Records != 3 {
			t.Errorf("export after a delete: %+v %+v", j, j.Result)
		}
		// Exporting a contract without descendants: one record.
		j = waitJob(t, n, alice, startExport(t, n, alice, "contracts", alice.create(t, n, "contracts", `{"fields":{"title":"Lone"}}`).ID, "").ID)
		if j.Status != records.JobSucceeded || j.Result.Records != 1 {
			t.Errorf("export of a lone contract: %+v %+v", j, j.Result)
		}
	})
}

// TestExportCSV exports a contract as CSV: a header row, one row per
// record, formula-like strings quoted with '.
func TestExportCSV(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		e := newExportTree(t, n, alice)
		alice.create(t, n, "contracts", `{"fields":{"title":"Other"}}`)

		j := waitJob(t, n, alice, startExport(t, n, alice, "contracts", e.contract.ID, `{"format":"csv"}`).ID)
		if j.Status != records.JobSucceeded || j.Result == nil || j.Result.Format != "csv" || j.Result.Records != 5 {
			t.Fatalf("csv export: %+v %+v", j, j.Result)
		}
		r := download(t, n, j)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v\n%s", err, r.Body)
		}
		if int64(len(rows)) != j.Result.Records+1 {
			t.Fatalf("%d rows, want a header and %d records:\n%s", len(rows), j.Result.Records, r.Body)
		}
		head := rows[0]
		if !slices.Equal(head[:6], []string{"id", "type", "parent_id", "created_at", "updated_at", "version"}) {
			t.Errorf("header %v", head)
		}
		col := func(name string) int {
			i := slices.Index(head, name)
			if i < 0 {
				t.Fatalf("no column %s in %v", name, head)
			}
			return i
		}
		byID := map[string][]string{}
		for _, row := range rows[1:] {
			if len(row) != len(head) {
				t.Fatalf("row %v: %d cells, header %d", row, len(row), len(head))
			}
			byID[row[0]] = row
		}
		if got := slices.Sorted(maps.Keys(byID)); !slices.Equal(got, e.ids()) {
			t.Fatalf("rows %v, want %v", got, e.ids())
		}
		if rows[1][0] != e.contract.ID {
			t.Errorf("first row %v, want the contract", rows[1])
		}
		checks := []struct {
			id, col, want string
		}{
			{e.contract.ID, "type", "contract"},
			{e.contract.ID, "parent_id", ""},
			{e.contract.ID, "version", "1"},
			{e.contract.ID, "contract.title", "'=SUM(A1)"},
			{e.contract.ID, "contract.value", "5"},
			{e.contract.ID, "contract.status", "draft"},
			{e.contract.ID, "contract.signed_on", "2026-04-01"},
			{e.contract.ID, "clause.heading", ""},
			{e.clause1.ID, "parent_id", e.contract.ID},
			{e.clause1.ID, "clause.heading", "'+cmd"},
			{e.clause1.ID, "clause.body", trickyBody},
			{e.clause1.ID, "clause.number", "1"},
			{e.clause1.ID, "contract.title", ""},
			{e.clause2.ID, "clause.heading", "'-1"},
			{e.clause2.ID, "clause.body", ""},
			{e.obligation.ID, "parent_id", e.clause1.ID},
			{e.obligation.ID, "obligation.description", "plain"},
			{e.obligation.ID, "obligation.done", "true"},
			{e.obligation.ID, "obligation.owner", "o@example.com"},
			{e.signatory.ID, "signatory.name", "'@evil"},
			{e.signatory.ID, "signatory.email", "ev@example.com"},
		}
		for _, c := range checks {
			if got := byID[c.id][col(c.col)]; got != c.want {
				t.Errorf("%s of %s: %q, want %q", c.col, c.id, got, c.want)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, byID[e.contract.ID][col("created_at")]); err != nil {
			t.Errorf("created_at: %v", err)
		}
	})
}

// TestExportRefusals: unknown actions, types without actions, bad
// formats, other orgs' records and jobs.
func TestExportRefusals(t *testing.T) {
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		alice := newUser(t, n, "alice@example.com")
		bob := newUser(t, n, "bob@example.com")
		e := newExportTree(t, n, alice)
		base := n.URL + "/records/contracts/" + e.contract.ID + "/actions/"

		expectProblem(t, 404, "POST", base+"nope", "", alice.as()...)
		expectProblem(t, 404, "POST", base+"Export", "", alice.as()...)
		expectProblem(t, 404, "POST", n.URL+"/records/clauses/"+e.clause1.ID+"/actions/export", "", alice.as()...)
		expectProblem(t, 404, "POST", n.URL+"/records/signatories/"+e.signatory.ID+"/actions/export", `{"format":"csv"}`, alice.as()...)
		expectProblem(t, 404, "POST", n.URL+"/records/contracts/"+uuid.NewString()+"/actions/export", "", alice.as()...)
		expectProblem(t, 404, "POST", n.URL+"/records/contracts/"+e.clause1.ID+"/actions/export", "", alice.as()...)
		p := expectProblem(t, 422, "POST", base+"export", `{"format":"xml"}`, alice.as()...)
		if !slices.Contains(p.locations(), "body.format") {
			t.Errorf("format xml: %+v", p.Errors)
		}
		for _, b := range []string{`{"format":"CSV"}`, `{"format":7}`, `{"format":""}`} {
			if r := testhttp.Send(t, "POST", base+"export", b, alice.as()...); r.Status != 422 && r.Status != 400 {
				t.Errorf("export %s: %d %s", b, r.Status, r.Body)
			}
		}
		expectProblem(t, 400, "POST", base+"export", `{"format":"csv","extra":1}`, alice.as()...)

		j := startExport(t, n, alice, "contracts", e.contract.ID, `{"format":"csv"}`)
		expectProblem(t, 404, "GET", n.URL+"/records/jobs/"+j.ID, "", bob.as()...)
		expectProblem(t, 401, "GET", n.URL+"/records/jobs/"+j.ID, "")
		expectProblem(t, 404, "POST", base+"export", "", bob.as()...)
		expectProblem(t, 404, "GET", n.URL+"/records/jobs/"+e.contract.ID, "", alice.as()...)
		done := waitJob(t, n, alice, j.ID)
		if done.Status != records.JobSucceeded {
			t.Fatalf("job: %+v", done)
		}
		expectProblem(t, 404, "GET", n.URL+"/records/jobs/"+j.ID, "", bob.as()...)
		// Each read signs a fresh URL, all of which work.
		again := waitJob(t, n, alice, j.ID)
		if download(t, n, again).Body != download(t, n, done).Body {
			t.Errorf("two downloads of one export differ")
		}
		// The export of a record deleted before the job ran ends
		// "failed" (jobs.go), but nothing here can hold the job back
		// until the delete has committed, so that case is not tested.
	})
}
