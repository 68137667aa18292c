package files_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The access-control tests: who may do what with a file (files.md, Model
// and API), that memberships and grants are read at request time, that
// grants are validated, and that concurrent writers never lose an update.

// accLevels names the access levels as the API does: 0 none, 1 read, 2
// write, 3 manage.
var accLevels = [...]string{"", "read", "write", "manage"}

// accMissingID is a well-formed id no file has: answers about it are what
// a file nobody may read must look like.
const accMissingID = "01900000-0000-7000-8000-000000000000"

// accWorld is the world of TestAccessMatrix: three orgs, their users, and
// one file per kind of sharing, with the access each user must have.
type accWorld struct {
	n     *nodetest.Node
	users map[string]*user
	files map[string]files.File
	// owner is each file's owner (a key of users).
	owner map[string]string
	// level is each file's expected access per user; absent is none.
	level map[string]map[string]int
	// grantKey is "type/id" of a grant each file has (what a caller
	// without manage fails to revoke), or a made-up one.
	grantKey map[string]string
	// ownerLink is a link of each file made by its owner.
	ownerLink map[string]string
	acme      string
}

// accAcmeMembers are the users who stay members of Acme.
var accAcmeMembers = []string{"olga", "adam", "fred", "nora", "rita", "walt", "mona", "sam", "gina"}

// accBuild builds the world of TestAccessMatrix on n.
//
// Acme (external sharing on): olga owner, adam admin; fred owns the files;
// nora, rita, walt, mona, sam and gina are members; sam is in the space
// "Design"; rex uploaded a file, then was removed from Acme. Other: oscar
// owns it and a file, xa is a member (and an outsider to Acme with a user
// grant). Closed (external sharing off): cleo owns it and a file shared
// with the outsider xo while sharing was on.
func accBuild(t *testing.T, n *nodetest.Node) *accWorld {
	t.Helper()
	w := &accWorld{n: n, users: map[string]*user{}, files: map[string]files.File{}, owner: map[string]string{},
		level: map[string]map[string]int{}, grantKey: map[string]string{}, ownerLink: map[string]string{}}
	for _, name := range []string{"olga", "adam", "fred", "nora", "rita", "walt", "mona", "sam", "gina", "rex", "oscar", "xa", "cleo", "xo"} {
		u := accUser(t, n, name+"@example.com")
		w.users[name] = &u
	}
	u := w.users
	w.acme = newOrg(t, n, u["olga"], "Acme")
	join(t, n, *u["olga"], u["adam"], "admin")
	for _, name := range []string{"fred", "nora", "rita", "walt", "mona", "sam", "gina", "rex"} {
		join(t, n, *u["olga"], u[name], "member")
	}
	newOrg(t, n, u["oscar"], "Other")
	join(t, n, *u["oscar"], u["xa"], "member")
	newOrg(t, n, u["cleo"], "Closed")
	space := accNewSpace(t, n, *u["olga"], "Design")
	accAddToSpace(t, n, *u["olga"], space, u["sam"].id)
	accSetSharing(t, n, *u["olga"], true)

	orgWide := func(l int) map[string]int {
		m := map[string]int{}
		for _, name := range accAcmeMembers {
			m[name] = l
		}
		m["fred"] = 3
		return m
	}
	type grant struct{ typ, id, access string }
	for _, f := range []struct {
		key, owner string
		grants     []grant
		level      map[string]int
	}{
		{"user", "fred", []grant{{"user", u["rita"].id, "read"}, {"user", u["walt"].id, "write"}, {"user", u["mona"].id, "manage"}, {"user", u["xa"].id, "write"}},
			map[string]int{"fred": 3, "rita": 1, "walt": 2, "mona": 3, "xa": 2}},
		{"org-read", "fred", []grant{{"org", w.acme, "read"}}, orgWide(1)},
		{"org-write", "fred", []grant{{"org", w.acme, "write"}}, orgWide(2)},
		{"org-manage", "fred", []grant{{"org", w.acme, "manage"}}, orgWide(3)},
		{"space-read", "fred", []grant{{"space", space, "read"}}, map[string]int{"fred": 3, "sam": 1}},
		{"space-write", "fred", []grant{{"space", space, "write"}}, map[string]int{"fred": 3, "sam": 2}},
		{"space-manage", "fred", []grant{{"space", space, "manage"}}, map[string]int{"fred": 3, "sam": 3}},
		{"org-read+user-write", "fred", []grant{{"org", w.acme, "read"}, {"user", u["nora"].id, "write"}},
			func() map[string]int { m := orgWide(1); m["nora"] = 2; return m }()},
		{"space-manage+user-read", "fred", []grant{{"space", space, "manage"}, {"user", u["sam"].id, "read"}}, map[string]int{"fred": 3, "sam": 3}},
		{"rex", "rex", nil, map[string]int{}}, // its owner is removed below
		{"other", "oscar", nil, map[string]int{"oscar": 3}},
		{"closed", "cleo", nil, map[string]int{"cleo": 3}}, // shared with xo below
	} {
		owner := *u[f.owner]
		file := owner.mustUpload(t, n, f.key+".txt", "the "+f.key+" file")
		w.files[f.key], w.owner[f.key], w.level[f.key] = file, f.owner, f.level
		w.grantKey[f.key] = "user/" + u["gina"].id
		for _, g := range f.grants {
			accGrant(t, n, owner, file.ID, g.typ, g.id, g.access)
			w.grantKey[f.key] = g.typ + "/" + g.id
		}
		w.ownerLink[f.key] = accLink(t, n, owner, file.ID)
	}
	testhttp.Expect(t, 204, "DELETE", n.URL+"/orgs/"+w.acme+"/members/"+u["rex"].id, "", u["olga"].as()...)
	u["rex"].org = ""
	accSetSharing(t, n, *u["cleo"], true)
	accGrant(t, n, *u["cleo"], w.files["closed"].ID, "user", u["xo"].id, "read")
	w.grantKey["closed"] = "user/" + u["xo"].id
	accSetSharing(t, n, *u["cleo"], false)
	return w
}

// accOp is one operation of the matrix: the access it needs and its
// answer when allowed.
type accOp struct {
	name   string
	method string
	need   int
	ok     int
	// path is the path after /files/{id}; body the request body.
	path func(r *accRow) string
	body func(r *accRow) string
	// ctype is the body's Content-Type when not JSON.
	ctype string
	// after reads an allowed answer.
	after func(t *testing.T, r *accRow, resp testhttp.Response)
	// id is the file the operation acts on (the row's file unless set).
	id func(t *testing.T, r *accRow) string
}

// accRow is one (who, file) of the matrix and what its operations made.
type accRow struct {
	w             *accWorld
	name, who, on string
	link          string // the link the caller made
}

func (r *accRow) level() int { return r.w.level[r.on][r.who] }

func (r *accRow) canManage() bool { return r.level() >= 3 }

// accOps are every operation on a file, with the access each needs.
var accOps = []accOp{
	{name: "get", method: "GET", need: 1, ok: 200, after: func(t *testing.T, r *accRow, resp testhttp.Response) {
		var f files.File
		mustJSON(t, resp.Body, &f)
		if f.Access != accLevels[r.level()] || f.ID != r.w.files[r.on].ID {
			t.Errorf("GET /files/{id}: access %q, want %q (id %s)", f.Access, accLevels[r.level()], f.ID)
		}
	}},
	{name: "download", method: "GET", path: func(*accRow) string { return "/content" }, need: 1, ok: 200},
	{name: "versions", method: "GET", path: func(*accRow) string { return "/versions" }, need: 1, ok: 200},
	{name: "signed url", method: "GET", path: func(*accRow) string { return "/url" }, need: 1, ok: 200,
		after: func(t *testing.T, _ *accRow, resp testhttp.Response) {
			if !strings.Contains(resp.Body, `"url":"http`) {
				t.Errorf("GET /files/{id}/url: %s", resp.Body)
			}
		}},
	{name: "new version", method: "PUT", path: func(*accRow) string { return "/content" }, need: 2, ok: 200, ctype: "text/plain",
		body: func(r *accRow) string { return "written by " + r.who }},
	{name: "rename", method: "PATCH", need: 2, ok: 200, body: func(r *accRow) string { return `{"name":"renamed by ` + r.who + `.txt"}` }},
	{name: "list grants", method: "GET", path: func(*accRow) string { return "/grants" }, need: 3, ok: 200},
	{name: "share", method: "PUT", path: func(*accRow) string { return "/grants" }, need: 3, ok: 200,
		body: func(r *accRow) string {
			return `{"principal_type":"user","principal_id":"` + r.w.users["gina"].id + `","access":"read"}`
		}},
	{name: "revoke", method: "DELETE", need: 3, ok: 204, path: func(r *accRow) string {
		if r.canManage() {
			return "/grants/user/" + r.w.users["gina"].id // the share above
		}
		return "/grants/" + r.w.grantKey[r.on] // an existing grant: it must survive
	}},
	{name: "create link", method: "POST", path: func(*accRow) string { return "/links" }, body: func(*accRow) string { return `{}` }, need: 3, ok: 201,
		after: func(t *testing.T, r *accRow, resp testhttp.Response) {
			var l files.Link
			mustJSON(t, resp.Body, &l)
			r.link = l.ID
		}},
	{name: "list links", method: "GET", path: func(*accRow) string { return "/links" }, need: 3, ok: 200},
	{name: "delete link", method: "DELETE", need: 3, ok: 204, path: func(r *accRow) string {
		if r.canManage() {
			return "/links/" + r.link
		}
		return "/links/" + r.w.ownerLink[r.on] // the owner's: it must survive
	}},
	{name: "trash", method: "DELETE", need: 3, ok: 204},
	{name: "restore", method: "POST", path: func(*accRow) string { return "/restore" }, need: 3, ok: 200},
	{name: "delete for good", method: "DELETE", path: func(*accRow) string { return "?permanent=true" }, need: 3, ok: 204,
		id: func(t *testing.T, r *accRow) string {
			if r.canManage() {
				return accClone(t, r.w, r.on) // a copy with the same grants
			}
			return r.w.files[r.on].ID // refused: the file stays
		},
		after: func(t *testing.T, r *accRow, _ testhttp.Response) {
			if st := accGetStatus(t, r.w.n, *r.w.users[r.w.owner[r.on]], r.w.files[r.on].ID); st != 200 {
				t.Errorf("the row's own file after deleting its copy: %d", st)
			}
		}},
}

// TestAccessMatrix proves the access rule on every operation: for each
// kind of principal (owner, members with and without grants, org and space
// grants, outsiders with external sharing on and off, org owners and
// admins who own nothing, a removed owner, combined grants) each file
// operation answers 404 without read access (exactly as for a missing
// file), 403 with too little access, and succeeds with enough; GET
// /files/{id} shows the effective access, every user's GET /files/{id} of
// every file agrees with the rule, and both listings show exactly the
// files each user can read.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	accEngines(t, func(t *testing.T, n *nodetest.Node) {
		w := accBuild(t, n)
		rows := []struct{ name, who, on string }{
			{"owner", "fred", "user"},
			{"member without grant", "nora", "user"},
			{"user grant read", "rita", "user"},
			{"user grant write", "walt", "user"},
			{"user grant manage", "mona", "user"},
			{"org grant read", "nora", "org-read"},
			{"org grant write", "nora", "org-write"},
			{"org grant manage", "nora", "org-manage"},
			{"space grant read", "sam", "space-read"},
			{"space grant write", "sam", "space-write"},
			{"space grant manage", "sam", "space-manage"},
			{"member outside the space", "nora", "space-manage"},
			{"member of another org", "oscar", "user"},
			{"file of another org", "fred", "other"},
			{"outsider with external sharing on", "xa", "user"},
			{"outsider with external sharing off", "xo", "closed"},
			{"org owner who owns nothing", "olga", "user"},
			{"org admin who owns nothing", "adam", "space-manage"},
			{"owner removed from the org", "rex", "rex"},
			{"org read + user write", "nora", "org-read+user-write"},
			{"space manage + user read", "sam", "space-manage+user-read"},
		}
		missingAnswers := map[string]testhttp.Response{} // by operation
		for _, row := range rows {
			r := &accRow{w: w, name: row.name, who: row.who, on: row.on}
			t.Run(strings.ReplaceAll(row.name, " ", "_"), func(t *testing.T) {
				caller := *w.users[r.who]
				for _, op := range accOps {
					id := w.files[r.on].ID
					if op.id != nil {
						id = op.id(t, r)
					}
					path, body := "", ""
					if op.path != nil {
						path = op.path(r)
					}
					if op.body != nil {
						body = op.body(r)
					}
					want := op.ok
					switch {
					case r.level() == 0:
						want = 404
					case r.level() < op.need:
						want = 403
					}
					var extra []func(*http.Request)
					if op.ctype != "" {
						extra = append(extra, header("Content-Type", op.ctype))
					}
					resp := testhttp.Send(t, op.method, n.URL+"/files/"+id+path, body, caller.as(extra...)...)
					if resp.Status != want {
						t.Errorf("%s (%s %s, %s access): %d %s, want %d", op.name, op.method, path, accLevels[r.level()], resp.Status, resp.Body, want)
						continue
					}
					switch want {
					case 404:
						// Exactly the answer about a file that does not exist.
						missing, ok := missingAnswers[op.name]
						if !ok {
							missing = testhttp.Send(t, op.method, n.URL+"/files/"+accMissingID+path, body, caller.as(extra...)...)
							missingAnswers[op.name] = missing
						}
						if missing.Status != 404 || !accSameProblem(resp.Body, missing.Body) {
							t.Errorf("%s: the 404 of a file one cannot read differs from a missing file's:\n%s\n%s", op.name, resp.Body, missing.Body)
						}
						if f := w.files[r.on]; strings.Contains(resp.Body, f.Name) || strings.Contains(resp.Body, f.OwnerID) {
							t.Errorf("%s: the 404 reveals the file: %s", op.name, resp.Body)
						}
					case 403:
						if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
							t.Errorf("%s: 403 is not a problem: %v %s", op.name, resp.Header, resp.Body)
						}
					default:
						if op.after != nil {
							op.after(t, r, resp)
						}
					}
				}
			})
		}

		t.Run("every_user_every_file", func(t *testing.T) {
			for _, who := range accSorted(w.users) {
				for _, key := range accSorted(w.files) {
					l := w.level[key][who]
					resp := testhttp.Send(t, "GET", n.URL+"/files/"+w.files[key].ID, "", w.users[who].as()...)
					var f files.File
					if resp.Status == 200 {
						mustJSON(t, resp.Body, &f)
					}
					switch {
					case l == 0 && resp.Status != 404:
						t.Errorf("%s reads %s: %d %s, want 404", who, key, resp.Status, resp.Body)
					case l > 0 && (resp.Status != 200 || f.Access != accLevels[l]):
						t.Errorf("%s reads %s: %d %s, want 200 with access %q", who, key, resp.Status, resp.Body, accLevels[l])
					}
				}
			}
		})

		t.Run("listings", func(t *testing.T) {
			for _, who := range accSorted(w.users) {
				u := *w.users[who]
				var inOrg, shared []string
				for _, key := range accSorted(w.files) {
					f := w.files[key]
					if w.level[key][who] == 0 {
						continue
					}
					if f.OrgID == u.org {
						inOrg = append(inOrg, key)
					}
					if w.owner[key] != who {
						shared = append(shared, key)
					}
				}
				if u.org != "" {
					if got := accList(t, w, u, ""); !slices.Equal(got, inOrg) {
						t.Errorf("%s lists its org: %v, want %v", who, got, inOrg)
					}
				}
				if got := accList(t, w, u, "&shared_with_me=true"); !slices.Equal(got, shared) {
					t.Errorf("%s lists shared_with_me: %v, want %v", who, got, shared)
				}
			}
			// rex, removed from Acme, cannot list it any more.
			rex := *w.users["rex"]
			rex.org = w.acme
			if r := testhttp.Send(t, "GET", n.URL+"/files", "", rex.as()...); r.Status != 403 {
				t.Errorf("rex lists Acme after his removal: %d %s", r.Status, r.Body)
			}
		})

		// A link or grant of another file is not reachable through a file
		// one manages: ids are looked up within the file of the path.
		t.Run("other_files_ids", func(t *testing.T) {
			mona, fred := *w.users["mona"], *w.users["fred"] // mona manages "user" only
			own := n.URL + "/files/" + w.files["user"].ID
			if r := testhttp.Send(t, "DELETE", own+"/links/"+w.ownerLink["space-manage"], "", mona.as()...); r.Status != 404 {
				t.Errorf("deleting another file's link through one's own: %d %s", r.Status, r.Body)
			}
			if body := testhttp.Expect(t, 200, "GET", n.URL+"/files/"+w.files["space-manage"].ID+"/links", "", fred.as()...); !strings.Contains(body, w.ownerLink["space-manage"]) {
				t.Errorf("the other file's link is gone: %s", body)
			}
			if r := testhttp.Send(t, "DELETE", own+"/grants/"+w.grantKey["space-manage"], "", mona.as()...); r.Status != 404 {
				t.Errorf("deleting another file's grant through one's own: %d %s", r.Status, r.Body)
			}
			if st := accGetStatus(t, n, *w.users["sam"], w.files["space-manage"].ID); st != 200 {
				t.Errorf("the other file's space grant: sam gets %d", st)
			}
		})

		// In the trash, a file is for those who may manage it: the others
		// get the 404 of a missing file, restoring included.
		t.Run("trash", func(t *testing.T) {
			fred := *w.users["fred"]
			trashed := []string{"org-manage", "org-write"}
			for _, key := range trashed {
				testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+w.files[key].ID, "", fred.as()...)
			}
			missing := testhttp.Send(t, "GET", n.URL+"/files/"+accMissingID, "", fred.as()...)
			for _, who := range accSorted(w.users) {
				u := *w.users[who]
				var manages []string
				for _, key := range trashed {
					resp := testhttp.Send(t, "GET", n.URL+"/files/"+w.files[key].ID, "", u.as()...)
					var f files.File
					switch {
					case w.level[key][who] < 3:
						if resp.Status != 404 || !accSameProblem(resp.Body, missing.Body) {
							t.Errorf("%s reads %s in the trash: %d %s, want a missing file's 404", who, key, resp.Status, resp.Body)
						}
						continue
					case resp.Status == 200:
						mustJSON(t, resp.Body, &f)
					}
					if f.DeletedAt == nil || f.Access != "manage" {
						t.Errorf("%s reads %s in the trash: %d %s, want it with deleted_at", who, key, resp.Status, resp.Body)
					}
					if f.OrgID == u.org {
						manages = append(manages, key)
					}
				}
				sort.Strings(manages)
				if u.org != "" {
					if got := accList(t, w, u, "&trashed=true"); !slices.Equal(got, manages) {
						t.Errorf("%s lists the trash: %v, want %v", who, got, manages)
					}
				}
			}
			nora := *w.users["nora"] // write on org-write, manage on org-manage
			if r := testhttp.Send(t, "POST", n.URL+"/files/"+w.files["org-write"].ID+"/restore", "", nora.as()...); r.Status != 404 {
				t.Errorf("a writer restores: %d %s, want 404", r.Status, r.Body)
			}
			testhttp.Expect(t, 200, "POST", n.URL+"/files/"+w.files["org-manage"].ID+"/restore", "", nora.as()...)
			testhttp.Expect(t, 200, "POST", n.URL+"/files/"+w.files["org-write"].ID+"/restore", "", fred.as()...)
			for _, key := range trashed {
				if st := accGetStatus(t, n, nora, w.files[key].ID); st != 200 {
					t.Errorf("%s restored: nora gets %d", key, st)
				}
			}
		})
	})
}

// TestRevocationOnNextRequest proves memberships and grants are read at
// request time: losing a space membership, an org membership, a user
// grant, or (for an outsider) the org's external sharing denies the very
// next request (404), and getting it back allows the next one, with the
// same token throughout (no refresh).
func TestRevocationOnNextRequest(t *testing.T) {
	t.Parallel()
	accEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann, sam, nora, uma, xena, otto := accUser(t, n, "ann@example.com"), accUser(t, n, "sam@example.com"),
			accUser(t, n, "nora@example.com"), accUser(t, n, "uma@example.com"), accUser(t, n, "xena@example.com"),
			accUser(t, n, "otto@example.com")
		org := newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &sam, "member")
		join(t, n, ann, &nora, "member")
		join(t, n, ann, &uma, "member")
		join(t, n, ann, &otto, "member")
		space := accNewSpace(t, n, ann, "Design")
		accAddToSpace(t, n, ann, space, sam.id)
		accSetSharing(t, n, ann, true)
		// Tokens minted now, after the memberships above: the changes below
		// must apply to them as they are.
		for _, u := range []*user{&sam, &nora, &uma, &xena, &otto} {
			u.token = accToken(t, n, u.id)
		}

		spaceFile := ann.mustUpload(t, n, "space.txt", "for the space")
		accGrant(t, n, ann, spaceFile.ID, "space", space, "read")
		orgFile := ann.mustUpload(t, n, "org.txt", "for the org")
		accGrant(t, n, ann, orgFile.ID, "org", org, "read")
		userFile := ann.mustUpload(t, n, "user.txt", "for uma")
		accGrant(t, n, ann, userFile.ID, "user", uma.id, "read")
		extFile := ann.mustUpload(t, n, "ext.txt", "for xena")
		accGrant(t, n, ann, extFile.ID, "user", xena.id, "read")
		ottoFile := otto.mustUpload(t, n, "otto.txt", "otto's own")

		// noOrg is u's requests without X-Org-ID: once removed from the org,
		// naming it is refused by the authorizer (403) whatever the file.
		noOrg := func(u user) user { u.org = ""; return u }
		steps := []struct {
			name   string
			change func()
			who    user
			file   files.File
			want   int
		}{
			{"space member reads", nil, sam, spaceFile, 200},
			{"removed from the space", func() {
				testhttp.Expect(t, 204, "DELETE", n.URL+"/orgs/"+org+"/groups/"+space+"/members/"+sam.id, "", ann.as()...)
			}, sam, spaceFile, 404},
			{"added back to the space", func() { accAddToSpace(t, n, ann, space, sam.id) }, sam, spaceFile, 200},
			{"a member outside the space", nil, nora, spaceFile, 404},
			{"added to the space", func() { accAddToSpace(t, n, ann, space, nora.id) }, nora, spaceFile, 200},
			{"org member reads", nil, nora, orgFile, 200},
			{"removed from the org", func() {
				testhttp.Expect(t, 204, "DELETE", n.URL+"/orgs/"+org+"/members/"+nora.id, "", ann.as()...)
			}, noOrg(nora), orgFile, 404},
			{"removed from the org, space grant too", nil, noOrg(nora), spaceFile, 404},
			{"added back to the org", func() { join(t, n, ann, &nora, "member") }, nora, orgFile, 200},
			{"user grant reads", nil, uma, userFile, 200},
			{"user grant revoked", func() {
				testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+userFile.ID+"/grants/user/"+uma.id, "", ann.as()...)
			}, uma, userFile, 404},
			{"user grant given again", func() { accGrant(t, n, ann, userFile.ID, "user", uma.id, "read") }, uma, userFile, 200},
			{"owner reads", nil, otto, ottoFile, 200},
			{"owner removed from the org", func() {
				testhttp.Expect(t, 204, "DELETE", n.URL+"/orgs/"+org+"/members/"+otto.id, "", ann.as()...)
			}, noOrg(otto), ottoFile, 404},
			{"owner added back to the org", func() { join(t, n, ann, &otto, "member") }, otto, ottoFile, 200},
			{"outsider reads", nil, xena, extFile, 200},
			{"external sharing off", func() { accSetSharing(t, n, ann, false) }, xena, extFile, 404},
			{"external sharing off, shared_with_me", nil, xena, files.File{}, 0},
			{"external sharing on again", func() { accSetSharing(t, n, ann, true) }, xena, extFile, 200},
		}
		for _, s := range steps {
			if s.change != nil {
				s.change()
			}
			if s.file.ID == "" {
				if got := accIDs(t, n, s.who, "&shared_with_me=true"); len(got) != 0 {
					t.Errorf("%s: %s lists %v as shared with her", s.name, s.who.email, got)
				}
				continue
			}
			r := testhttp.Send(t, "GET", n.URL+"/files/"+s.file.ID+"/content", "", s.who.as()...)
			if r.Status != s.want {
				t.Errorf("%s: %s's next download of %s: %d %s, want %d", s.name, s.who.email, s.file.Name, r.Status, r.Body, s.want)
			}
		}
	})
}

// TestGrantValidation proves grants are checked: a grant to a principal
// outside the file's org (another org, another org's space, an unknown
// user, an outsider while external sharing is off), to the owner, or with
// an unknown type or access is 422 naming the field, and changes nothing;
// the same grant twice is one grant and one files.grant.added event; a
// changed access is files.grant.changed; and only the org's owners and
// admins change its sharing settings.
func TestGrantValidation(t *testing.T) {
	t.Parallel()
	accEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann, adam, bob, oz, carl := accUser(t, n, "ann@example.com"), accUser(t, n, "adam@example.com"),
			accUser(t, n, "bob@example.com"), accUser(t, n, "oz@example.com"), accUser(t, n, "carl@example.com")
		org := newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &adam, "admin")
		join(t, n, ann, &bob, "member")
		otherOrg := newOrg(t, n, &oz, "Other")
		join(t, n, oz, &carl, "member")
		otherSpace := accNewSpace(t, n, oz, "Elsewhere")
		space := accNewSpace(t, n, ann, "Design")

		f := ann.mustUpload(t, n, "plan.txt", "the plan")
		accGrant(t, n, ann, f.ID, "space", space, "read")
		grantsURL := n.URL + "/files/" + f.ID + "/grants"
		before := testhttp.Expect(t, 200, "GET", grantsURL, "", ann.as()...)

		for _, c := range []struct {
			name, typ, id, access, field string
		}{
			{"another org", "org", otherOrg, "read", "body.principal_id"},
			{"another org's space", "space", otherSpace, "read", "body.principal_id"},
			{"an org id as a space", "space", org, "read", "body.principal_id"},
			{"an unknown user", "user", accMissingID, "read", "body.principal_id"},
			{"a user of another org, external sharing off", "user", carl.id, "read", "body.principal_id"},
			{"the owner", "user", ann.id, "write", "body.principal_id"},
			{"an unknown principal type", "group", space, "read", "body.principal_type"},
			{"an unknown access", "user", bob.id, "admin", "body.access"},
			{"an empty principal", "user", "", "read", "body.principal_id"},
			{"a space that is no id", "space", "design", "read", "body.principal_id"},
		} {
			body := `{"principal_type":"` + c.typ + `","principal_id":"` + c.id + `","access":"` + c.access + `"}`
			r := testhttp.Send(t, "PUT", grantsURL, body, ann.as()...)
			var p struct {
				Errors []struct{ Location string }
			}
			if r.Status == 422 {
				mustJSON(t, r.Body, &p)
			}
			if r.Status != 422 || !slices.ContainsFunc(p.Errors, func(e struct{ Location string }) bool { return e.Location == c.field }) {
				t.Errorf("%s: %d %s, want 422 naming %s", c.name, r.Status, r.Body, c.field)
			}
			if after := testhttp.Expect(t, 200, "GET", grantsURL, "", ann.as()...); after != before {
				t.Errorf("%s changed the grants:\n%s\n%s", c.name, before, after)
			}
		}

		put := `{"principal_type":"user","principal_id":"` + bob.id + `","access":"read"}`
		var g1, g2, g3 files.Grant
		mustJSON(t, testhttp.Expect(t, 200, "PUT", grantsURL, put, ann.as()...), &g1)
		mustJSON(t, testhttp.Expect(t, 200, "PUT", grantsURL, put, ann.as()...), &g2)
		if g1 != g2 || g1.Access != "read" || g1.PrincipalID != bob.id {
			t.Errorf("the same grant twice: %+v then %+v", g1, g2)
		}
		mustJSON(t, testhttp.Expect(t, 200, "PUT", grantsURL, strings.Replace(put, "read", "write", 1), ann.as()...), &g3)
		if g3.Access != "write" || !g3.CreatedAt.Equal(g1.CreatedAt) {
			t.Errorf("changed grant: %+v (first %+v)", g3, g1)
		}
		// The change's event is in the log once everything before it is.
		changed := accGrantEvents(t, accWaitEvents(t, n, files.EventGrantChanged, f.ID, 1), bob.id)
		added := accGrantEvents(t, accEvents(t, n, files.EventGrantAdded, f.ID), bob.id)
		if added != 1 || changed != 1 {
			t.Errorf("events about bob's grant: %d %s, %d %s; want one each", added, files.EventGrantAdded, changed, files.EventGrantChanged)
		}
		var list struct{ Items []files.Grant }
		mustJSON(t, testhttp.Expect(t, 200, "GET", grantsURL, "", ann.as()...), &list)
		if len(list.Items) != 2 {
			t.Errorf("grants: %+v, want the space's and bob's", list.Items)
		}

		settings := n.URL + "/files/settings"
		if r := testhttp.Send(t, "PUT", settings, `{"external_sharing":true}`, bob.as()...); r.Status != 403 {
			t.Errorf("a member changes the sharing settings: %d %s", r.Status, r.Body)
		}
		var st files.Settings
		mustJSON(t, testhttp.Expect(t, 200, "GET", settings, "", bob.as()...), &st)
		if st.ExternalSharing {
			t.Errorf("the member's refused change applied: %+v", st)
		}
		if r := testhttp.Send(t, "PUT", grantsURL, `{"principal_type":"user","principal_id":"`+carl.id+`","access":"read"}`, ann.as()...); r.Status != 422 {
			t.Errorf("outsider grant after a refused settings change: %d %s", r.Status, r.Body)
		}
		mustJSON(t, testhttp.Expect(t, 200, "PUT", settings, `{"external_sharing":true}`, adam.as()...), &st)
		if !st.ExternalSharing {
			t.Errorf("the admin's change: %+v", st)
		}
		testhttp.Expect(t, 200, "PUT", grantsURL, `{"principal_type":"user","principal_id":"`+carl.id+`","access":"read"}`, ann.as()...)
		mustJSON(t, testhttp.Expect(t, 200, "PUT", settings, `{"external_sharing":false}`, ann.as()...), &st)
		if st.ExternalSharing {
			t.Errorf("the owner's change: %+v", st)
		}
		// Even with external sharing on, another org's own principals stay out.
		accSetSharing(t, n, ann, true)
		if r := testhttp.Send(t, "PUT", grantsURL, `{"principal_type":"org","principal_id":"`+otherOrg+`","access":"read"}`, ann.as()...); r.Status != 422 {
			t.Errorf("another org with external sharing on: %d %s", r.Status, r.Body)
		}
		if r := testhttp.Send(t, "PUT", grantsURL, `{"principal_type":"space","principal_id":"`+otherSpace+`","access":"read"}`, ann.as()...); r.Status != 422 {
			t.Errorf("another org's space with external sharing on: %d %s", r.Status, r.Body)
		}
	})
}

// TestConcurrentVersionsIfMatch proves the version pointer moves in one
// transaction: 8 writers with the same If-Match at once make exactly one
// new version (one 200, seven 412), and 8 writers without If-Match make 8
// distinct consecutive versions, each holding its writer's bytes.
func TestConcurrentVersionsIfMatch(t *testing.T) {
	t.Parallel()
	accEverywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann := accUser(t, n, "ann@example.com")
		newOrg(t, n, &ann, "Acme")
		const writers = 8

		t.Run("same_if_match", func(t *testing.T) {
			f := ann.mustUpload(t, n, "race.txt", "version one")
			res := accRace(n, ann, f.ID, writers, `"1"`)
			var won []int
			for i, r := range res {
				switch {
				case r.err != nil:
					t.Fatalf("writer %d: %v", i, r.err)
				case r.status == 200:
					won = append(won, i)
				case r.status != 412:
					t.Errorf("writer %d: %d %s, want 200 or 412", i, r.status, r.body)
				}
			}
			if len(won) != 1 {
				t.Fatalf("winners: %v, want exactly one", won)
			}
			var vs struct{ Items []files.Version }
			mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/versions", "", ann.as()...), &vs)
			if len(vs.Items) != 2 || vs.Items[0].Version != 2 || vs.Items[0].SHA256 != accSHA(accRaceBody(won[0])) {
				t.Errorf("versions: %+v, want 2, the second the winner's", vs.Items)
			}
			if got := testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/content", "", ann.as()...); got != accRaceBody(won[0]) {
				t.Errorf("content %q, want the winner's %q", got, accRaceBody(won[0]))
			}
		})

		t.Run("no_if_match", func(t *testing.T) {
			f := ann.mustUpload(t, n, "free.txt", "version one")
			res := accRace(n, ann, f.ID, writers, "")
			byVersion := map[int64]int{}
			for i, r := range res {
				if r.err != nil || r.status != 200 {
					t.Errorf("writer %d: %d %s %v, want 200", i, r.status, r.body, r.err)
					continue
				}
				var got files.File
				mustJSON(t, r.body, &got)
				if prev, dup := byVersion[got.Version]; dup {
					t.Errorf("writers %d and %d both made version %d", prev, i, got.Version)
				}
				byVersion[got.Version] = i
			}
			var vs struct{ Items []files.Version }
			mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/versions", "", ann.as()...), &vs)
			if len(vs.Items) != writers+1 {
				t.Fatalf("%d versions, want %d", len(vs.Items), writers+1)
			}
			for k, v := range vs.Items {
				if want := int64(writers + 1 - k); v.Version != want {
					t.Errorf("versions out of sequence: %+v", vs.Items)
					break
				}
				if v.Version == 1 {
					continue
				}
				i, ok := byVersion[v.Version]
				if !ok {
					t.Errorf("version %d was made by no successful writer", v.Version)
					continue
				}
				if v.SHA256 != accSHA(accRaceBody(i)) {
					t.Errorf("version %d does not hold writer %d's bytes", v.Version, i)
				}
				body := testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+fmt.Sprintf("/content?version=%d", v.Version), "", ann.as()...)
				if body != accRaceBody(i) {
					t.Errorf("version %d: %q, want %q", v.Version, body, accRaceBody(i))
				}
			}
		})
	})
}

// accRaceResult is one concurrent writer's answer.
type accRaceResult struct {
	status int
	body   string
	err    error
}

func accRaceBody(i int) string { return fmt.Sprintf("written by writer %d", i) }

func accSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// accRace has k writers PUT new content of file id at once (with ifMatch
// when not empty). Goroutines cannot fail the test: errors are returned.
func accRace(n *nodetest.Node, u user, id string, k int, ifMatch string) []accRaceResult {
	res := make([]accRaceResult, k)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range k {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			req, err := http.NewRequestWithContext(context.Background(), "PUT", n.URL+"/files/"+id+"/content", strings.NewReader(accRaceBody(i)))
			if err != nil {
				res[i].err = err
				ready.Done()
				return
			}
			req.Header.Set("Authorization", "Bearer "+u.token)
			req.Header.Set("X-Org-ID", u.org)
			req.Header.Set("Content-Type", "text/plain")
			if ifMatch != "" {
				req.Header.Set("If-Match", ifMatch)
			}
			ready.Done()
			<-gate
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				res[i].err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			res[i] = accRaceResult{status: resp.StatusCode, body: string(b), err: err}
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return res
}

// accCheap makes password hashes cheap: these tests create many users,
// and none signs in with a password.
var accCheap = []string{"TESSERA_AUTH_ARGON2_TIME=1", "TESSERA_AUTH_ARGON2_MEMORY=8192"}

// accEngines runs fn on a node of each engine (filesystem blobs): for
// tests where the blob store plays no part.
func accEngines(t *testing.T, fn func(t *testing.T, n *nodetest.Node)) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine, accCheap...))
	})
}

// accEverywhere is everywhere with cheap password hashes.
func accEverywhere(t *testing.T, fn func(t *testing.T, n *nodetest.Node)) {
	accEngines(t, fn)
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		fn(t, start(t, store.EngineSQLite, append(s3Env(t), accCheap...)...))
	})
}

// accUser creates a confirmed user straight in the pool (sign-ups through
// HTTP are rate limited per IP) with an access token.
func accUser(t testing.TB, n *nodetest.Node, email string) user {
	t.Helper()
	u, err := n.Identity().Users.CreateUser(context.Background(), email, password, email, true)
	if err != nil {
		t.Fatal(err)
	}
	return user{id: u.ID, email: email, token: accToken(t, n, u.ID)}
}

// accToken mints a new access token of user id, as a sign-in does.
func accToken(t testing.TB, n *nodetest.Node, id string) string {
	t.Helper()
	tok, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: id})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// accNewSpace creates a space (a group) in owner's org.
func accNewSpace(t testing.TB, n *nodetest.Node, owner user, name string) string {
	t.Helper()
	var g struct{ ID string }
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/orgs/"+owner.org+"/groups", `{"name":"`+name+`"}`, owner.as()...), &g)
	return g.ID
}

// accAddToSpace adds user uid to space gid of owner's org.
func accAddToSpace(t testing.TB, n *nodetest.Node, owner user, gid, uid string) {
	t.Helper()
	testhttp.Expect(t, 201, "PUT", n.URL+"/orgs/"+owner.org+"/groups/"+gid+"/members/"+uid, "", owner.as()...)
}

// accSetSharing turns external sharing of admin's org on or off.
func accSetSharing(t testing.TB, n *nodetest.Node, admin user, on bool) {
	t.Helper()
	testhttp.Expect(t, 200, "PUT", n.URL+"/files/settings", fmt.Sprintf(`{"external_sharing":%t}`, on), admin.as()...)
}

// accGrant gives (typ, pid) access to file id, as by.
func accGrant(t testing.TB, n *nodetest.Node, by user, id, typ, pid, access string) {
	t.Helper()
	testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+id+"/grants",
		`{"principal_type":"`+typ+`","principal_id":"`+pid+`","access":"`+access+`"}`, by.as()...)
}

// accLink makes a public link to file id, as by, and returns its id.
func accLink(t testing.TB, n *nodetest.Node, by user, id string) string {
	t.Helper()
	var l files.Link
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/files/"+id+"/links", `{}`, by.as()...), &l)
	return l.ID
}

// accClone uploads a copy of file key, as its owner, with the same grants,
// and returns its id.
func accClone(t *testing.T, w *accWorld, key string) string {
	t.Helper()
	owner := *w.users[w.owner[key]]
	c := owner.mustUpload(t, w.n, "copy of "+key+".txt", "a copy")
	var list struct{ Items []files.Grant }
	mustJSON(t, testhttp.Expect(t, 200, "GET", w.n.URL+"/files/"+w.files[key].ID+"/grants", "", owner.as()...), &list)
	for _, g := range list.Items {
		accGrant(t, w.n, owner, c.ID, g.PrincipalType, g.PrincipalID, g.Access)
	}
	return c.ID
}

func accGetStatus(t testing.TB, n *nodetest.Node, u user, id string) int {
	t.Helper()
	return testhttp.Send(t, "GET", n.URL+"/files/"+id, "", u.as()...).Status
}

// accSameProblem reports whether two problem bodies say the same.
func accSameProblem(a, b string) bool {
	var x, y map[string]any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// accIDs lists the ids of the files u sees (GET /files?limit=500 plus
// query), failing unless 200.
func accIDs(t testing.TB, n *nodetest.Node, u user, query string) []string {
	t.Helper()
	var page struct {
		Items      []files.File
		NextCursor string `json:"next_cursor"`
	}
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files?limit=500"+query, "", u.as()...), &page)
	if page.NextCursor != "" {
		t.Errorf("more than one page: %s", page.NextCursor)
	}
	ids := make([]string, 0, len(page.Items))
	for _, f := range page.Items {
		ids = append(ids, f.ID)
	}
	return ids
}

// accList is accIDs as the world's file keys, sorted (an unknown file is
// its id).
func accList(t testing.TB, w *accWorld, u user, query string) []string {
	t.Helper()
	keys := []string{}
	for _, id := range accIDs(t, w.n, u, query) {
		key := id
		for k, f := range w.files {
			if f.ID == id {
				key = k
			}
		}
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// accSorted is m's keys, sorted.
func accSorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// accEvents reads the events of typ about subject.
func accEvents(t testing.TB, n *nodetest.Node, typ, subject string) []events.Event {
	t.Helper()
	evs, err := n.Identity().Events.Read(context.Background(), "", events.Filter{Types: []string{typ}, Subject: subject}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// accWaitEvents waits until the log shows at least want events of typ
// about subject (on Postgres the log shows an event once every older
// transaction has ended) and returns them.
func accWaitEvents(t testing.TB, n *nodetest.Node, typ, subject string, want int) []events.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		evs := accEvents(t, n, typ, subject)
		if len(evs) >= want || time.Now().After(deadline) {
			return evs
		}
	}
}

// accGrantEvents counts the events of evs about a grant to principal.
func accGrantEvents(t testing.TB, evs []events.Event, principal string) int {
	t.Helper()
	k := 0
	for _, e := range evs {
		var p struct{ Grant files.Grant }
		mustJSON(t, string(e.Payload), &p)
		if p.Grant.PrincipalID == principal {
			k++
		}
	}
	return k
}
