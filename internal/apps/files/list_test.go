package files_test

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// Listing tests: GET /files by folder, order, ?q=, pages, shared_with_me,
// the trash and the org checks. Helpers are prefixed "list"; the engines
// runner and a few helpers come from lifecycle_test.go.

// listPage is one page of GET /files.
type listPage struct {
	Items      []files.File `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

// listGet reads one page of /files?query as u, requiring 200.
func listGet(t *testing.T, n *nodetest.Node, u user, query string) listPage {
	t.Helper()
	var p listPage
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files?"+query, "", u.as()...), &p)
	if p.Items == nil {
		t.Fatalf("GET /files?%s: items is not an array", query)
	}
	return p
}

// listUpload uploads a small file named name into folder as u.
func listUpload(t *testing.T, n *nodetest.Node, u user, folder, name string) files.File {
	t.Helper()
	r := u.upload(t, n, url.PathEscape(name), "text/plain", name, header("X-Folder", folder))
	if r.Status != 201 {
		t.Fatalf("upload %s%s: %d %s", folder, name, r.Status, r.Body)
	}
	var f files.File
	mustJSON(t, r.Body, &f)
	if f.Name != name {
		t.Fatalf("uploaded as %q, want %q", f.Name, name)
	}
	return f
}

// listOrder sorts fs as the listing orders them: by folder, then name
// ignoring case, then id.
func listOrder(fs []files.File) []files.File {
	out := slices.Clone(fs)
	slices.SortFunc(out, func(a, b files.File) int {
		return cmp.Or(strings.Compare(a.Folder, b.Folder), strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
	})
	return out
}

// listNames are "folder|name" of each file, for messages.
func listNames(fs []files.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Folder + "|" + f.Name
	}
	return out
}

// TestListFolderAndOrder proves ?folder= lists that folder only (not its
// subfolders), and that without it every file is listed by folder, then
// name ignoring case, then id.
func TestListFolderAndOrder(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann := signUp(t, n, "ann@example.com")
		newOrg(t, n, &ann, "Acme")
		var all []files.File
		for _, p := range [][2]string{
			{"/", "b.txt"}, {"/", "A.txt"}, {"/", "a.txt"}, {"/", "C.txt"}, {"/", "B.txt"},
			{"/a", "z.txt"}, {"/a", "Y.txt"}, {"/a/b", "x.txt"}, {"/b", "w.txt"}, {"/ab", "v.txt"},
		} {
			all = append(all, listUpload(t, n, ann, p[0], p[1]))
		}
		want := listOrder(all)
		if got := listGet(t, n, ann, "").Items; !slices.Equal(lifeIDs(got), lifeIDs(want)) {
			t.Errorf("listing:\n got %v\nwant %v", listNames(got), listNames(want))
		}
		inFolder := func(folder string) []files.File {
			var out []files.File
			for _, f := range want {
				if f.Folder == folder {
					out = append(out, f)
				}
			}
			return out
		}
		for _, c := range []struct{ query, folder string }{
			{"folder=/a", "/a"}, {"folder=/a/", "/a"}, {"folder=%2F", "/"}, {"folder=/a/b", "/a/b"}, {"folder=/ab", "/ab"}, {"folder=/nothing", "/nothing"},
		} {
			got := listGet(t, n, ann, c.query).Items
			if exp := inFolder(c.folder); !slices.Equal(lifeIDs(got), lifeIDs(exp)) {
				t.Errorf("?%s:\n got %v\nwant %v", c.query, listNames(got), listNames(exp))
			}
		}
		for _, q := range []string{"folder=a", "folder=/a//b", "folder=/a/..", "folder=" + url.QueryEscape("/a\x01")} {
			if r := testhttp.Send(t, "GET", n.URL+"/files?"+q, "", ann.as()...); r.Status != 422 {
				t.Errorf("?%s: %d %s, want 422", q, r.Status, r.Body)
			}
		}
	})
}

// TestListSearch proves ?q= matches names case-insensitively, anywhere in
// the name, with % and _ (and the escape character) taken literally.
func TestListSearch(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann := signUp(t, n, "ann@example.com")
		newOrg(t, n, &ann, "Acme")
		byName := map[string]files.File{}
		for _, name := range []string{"100% done.txt", "1000 done.txt", "a_b.txt", "axb.txt", "Report.TXT", "ÄRGER.txt", "wow!.txt", "plain.txt"} {
			byName[name] = listUpload(t, n, ann, "/", name)
		}
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"%", []string{"100% done.txt"}},
			{"0%", []string{"100% done.txt"}},
			{"_", []string{"a_b.txt"}},
			{"a_b", []string{"a_b.txt"}},
			{"!", []string{"wow!.txt"}},
			{"report", []string{"Report.TXT"}},
			{"REPORT.txt", []string{"Report.TXT"}},
			{"ärger", []string{"ÄRGER.txt"}},
			{"done", []string{"100% done.txt", "1000 done.txt"}},
			{".TXT", nil}, // every file: checked below
			{"nothing", []string{}},
		} {
			got := listGet(t, n, ann, "q="+url.QueryEscape(c.q)).Items
			var want []files.File
			if c.want == nil {
				for _, f := range byName {
					want = append(want, f)
				}
			}
			for _, name := range c.want {
				want = append(want, byName[name])
			}
			want = listOrder(want)
			if !slices.Equal(lifeIDs(got), lifeIDs(want)) {
				t.Errorf("?q=%s:\n got %v\nwant %v", c.q, listNames(got), listNames(want))
			}
		}
	})
}

// TestListPages proves cursor pagination: limit=2 over 7 files visits each
// exactly once, in the listing's order, the last page has no next_cursor,
// and a cursor keeps the query's filters; bad cursors and limits are 422.
func TestListPages(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann := signUp(t, n, "ann@example.com")
		newOrg(t, n, &ann, "Acme")
		var all []files.File
		for _, p := range [][2]string{
			{"/", "same.txt"}, {"/", "SAME.txt"}, {"/", "Same.txt"}, {"/p", "b.txt"}, {"/p", "a.txt"}, {"/q", "a.txt"}, {"/", "zz.txt"},
		} {
			all = append(all, listUpload(t, n, ann, p[0], p[1]))
		}
		want := listOrder(all)
		var seen []files.File
		var sizes []int
		for cursor, pages := "", 0; ; pages++ {
			if pages > len(all) {
				t.Fatalf("pages do not end: %v", listNames(seen))
			}
			q := "limit=2"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			p := listGet(t, n, ann, q)
			seen, sizes = append(seen, p.Items...), append(sizes, len(p.Items))
			if p.NextCursor == nil {
				break
			}
			if *p.NextCursor == "" {
				t.Fatalf("page %d: empty next_cursor (absent on the last page)", pages)
			}
			cursor = *p.NextCursor
		}
		if !slices.Equal(lifeIDs(seen), lifeIDs(want)) {
			t.Errorf("pages of 2:\n got %v\nwant %v", listNames(seen), listNames(want))
		}
		if !slices.Equal(sizes, []int{2, 2, 2, 1}) {
			t.Errorf("page sizes %v, want [2 2 2 1]", sizes)
		}
		if p := listGet(t, n, ann, "limit=7"); p.NextCursor != nil {
			t.Errorf("a page holding every file has next_cursor %q", *p.NextCursor)
		}

		// A cursor keeps the filters: /p in pages of 1.
		first := listGet(t, n, ann, "folder=/p&limit=1")
		if len(first.Items) != 1 || first.NextCursor == nil {
			t.Fatalf("/p page 1: %+v", first)
		}
		second := listGet(t, n, ann, "folder=/p&limit=1&cursor="+url.QueryEscape(*first.NextCursor))
		if len(second.Items) != 1 || second.Items[0].Folder != "/p" || second.Items[0].Name != "b.txt" || second.NextCursor != nil {
			t.Errorf("/p page 2: %v next %v", listNames(second.Items), second.NextCursor)
		}

		for _, q := range []string{
			"cursor=" + url.QueryEscape("!!not a cursor!!"),
			"cursor=bm90LWEtY3Vyc29y", // base64url of "not-a-cursor"
			"cursor=" + url.QueryEscape(strings.Repeat("A", 9000)),
			"limit=0", "limit=501", "limit=-1", "limit=two",
		} {
			if r := testhttp.Send(t, "GET", n.URL+"/files?"+q, "", ann.as()...); r.Status != 422 {
				t.Errorf("?%.40s: %d %s, want 422", q, r.Status, r.Body)
			}
		}
		if p := listGet(t, n, ann, "limit=500"); len(p.Items) != len(all) {
			t.Errorf("limit=500: %d items", len(p.Items))
		}
	})
}

// TestListSharedWithMe proves shared_with_me: files of others shared with
// the caller through a user, org or space grant, across orgs while the
// other org allows external sharing, never the caller's own files nor
// trashed ones; and that the normal listing shows only what the caller
// can read in its org, never the trash.
func TestListSharedWithMe(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann, bob, carol := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com"), signUp(t, n, "carol@example.com")
		zed, dan := signUp(t, n, "zed@example.com"), signUp(t, n, "dan@example.com")
		acme := newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")
		join(t, n, ann, &carol, "member")
		newOrg(t, n, &zed, "Beta")
		ops := lifeSpace(t, n, ann, "Ops", bob)

		userShare := listUpload(t, n, ann, "/", "user-share.txt")
		lifeGrant(t, n, ann, userShare.ID, "user", bob.id, "read")
		orgShare := listUpload(t, n, ann, "/", "org-share.txt")
		lifeGrant(t, n, ann, orgShare.ID, "org", acme, "read")
		spaceShare := listUpload(t, n, ann, "/", "space-share.txt")
		lifeGrant(t, n, ann, spaceShare.ID, "space", ops, "write")
		private := listUpload(t, n, ann, "/", "private.txt")
		trashed := listUpload(t, n, ann, "/", "trashed-share.txt")
		lifeGrant(t, n, ann, trashed.ID, "user", bob.id, "manage")
		lifeStatus(t, 204, testhttp.Send(t, "DELETE", n.URL+"/files/"+trashed.ID, "", ann.as()...), "trash")
		bobs := listUpload(t, n, bob, "/", "bobs-own.txt")
		lifeGrant(t, n, bob, bobs.ID, "org", acme, "read")

		testhttp.Expect(t, 200, "PUT", n.URL+"/files/settings", `{"external_sharing":true}`, zed.as()...)
		fromBeta := listUpload(t, n, zed, "/", "from-beta.txt")
		lifeGrant(t, n, zed, fromBeta.ID, "user", bob.id, "read")
		toDan := listUpload(t, n, zed, "/", "to-dan.txt")
		lifeGrant(t, n, zed, toDan.ID, "user", dan.id, "read")

		check := func(what string, u user, query string, want ...files.File) {
			t.Helper()
			got := listGet(t, n, u, query).Items
			if want = listOrder(want); !slices.Equal(lifeIDs(got), lifeIDs(want)) {
				t.Errorf("%s (%s ?%s):\n got %v\nwant %v", what, u.email, query, listNames(got), listNames(want))
			}
		}
		check("shared with bob", bob, "shared_with_me=true", userShare, orgShare, spaceShare, fromBeta)
		check("shared with carol", carol, "shared_with_me=true", orgShare, bobs)
		check("shared with ann", ann, "shared_with_me=true", bobs)
		check("shared with dan, in no org", dan, "shared_with_me=true", toDan)
		check("bob's view of Acme", bob, "", userShare, orgShare, spaceShare, bobs)
		check("carol's view of Acme", carol, "", orgShare, bobs)
		check("ann's view of Acme", ann, "", userShare, orgShare, spaceShare, private, bobs)
		check("bob's trash", bob, "trashed=true", trashed)
		if got := listGet(t, n, bob, "shared_with_me=true").Items; len(got) > 0 && got[0].Access == "" {
			t.Errorf("shared_with_me items carry no access: %+v", got[0])
		}

		testhttp.Expect(t, 200, "PUT", n.URL+"/files/settings", `{"external_sharing":false}`, zed.as()...)
		check("shared with bob, Beta's external sharing off", bob, "shared_with_me=true", userShare, orgShare, spaceShare)
		check("shared with dan, Beta's external sharing off", dan, "shared_with_me=true")

		testhttp.Expect(t, 204, "DELETE", n.URL+"/orgs/"+acme+"/groups/"+ops+"/members/"+bob.id, "", testhttp.Bearer(ann.token))
		check("shared with bob, out of the space", bob, "shared_with_me=true", userShare, orgShare)
	})
}

// TestListOrgChecks proves the org checks of the listing: an unknown
// X-Org-ID or one of an org the caller is not a member of is 403, no
// token is 401, and a user in no org who chose none is told to choose.
func TestListOrgChecks(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann, out := signUp(t, n, "ann@example.com"), signUp(t, n, "out@example.com")
		acme := newOrg(t, n, &ann, "Acme")
		listUpload(t, n, ann, "/", "secret.txt")
		for _, c := range []struct {
			what string
			u    user
		}{
			{"an unknown org", user{token: ann.token, org: uuid.NewString()}},
			{"an org the caller is not a member of", user{token: out.token, org: acme}},
		} {
			for _, q := range []string{"", "shared_with_me=true", "trashed=true"} {
				if r := testhttp.Send(t, "GET", n.URL+"/files?"+q, "", c.u.as()...); r.Status != 403 {
					t.Errorf("?%s with X-Org-ID of %s: %d %s, want 403", q, c.what, r.Status, r.Body)
				}
			}
		}
		if r := testhttp.Send(t, "GET", n.URL+"/files", ""); r.Status != 401 {
			t.Errorf("no token: %d %s, want 401", r.Status, r.Body)
		}
		if r := testhttp.Send(t, "GET", n.URL+"/files", "", out.as()...); r.Status != 422 {
			t.Errorf("no org chosen by a user in none: %d %s, want 422", r.Status, r.Body)
		}
	})
}
