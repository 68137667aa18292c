package files_test

import (
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestStory is the seed's flow: upload, share with a user, download,
// a new version, and the grant's revocation on the next request.
func TestStory(t *testing.T) {
	t.Parallel()
	everywhere(t, func(t *testing.T, n *nodetest.Node) {
		ann, bob := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com")
		newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")

		f := ann.mustUpload(t, n, "notes.txt", "hello world")
		if f.Size != 11 || f.Version != 1 || f.Access != "manage" || f.Folder != "/" {
			t.Fatalf("uploaded: %+v", f)
		}
		if r := testhttp.Send(t, "GET", n.URL+"/files/"+f.ID, "", bob.as()...); r.Status != 404 {
			t.Fatalf("bob before the share: %d %s", r.Status, r.Body)
		}
		testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+f.ID+"/grants", `{"principal_type":"user","principal_id":"`+bob.id+`","access":"read"}`, ann.as()...)
		r := testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content", "", bob.as()...)
		if r.Status != 200 || r.Body != "hello world" || r.Header.Get("ETag") == "" {
			t.Fatalf("bob's download: %d %q %v", r.Status, r.Body, r.Header)
		}
		r = testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content", "", bob.as(header("Range", "bytes=6-"))...)
		if r.Status != 206 || r.Body != "world" {
			t.Fatalf("range: %d %q", r.Status, r.Body)
		}
		if r := testhttp.Send(t, "PUT", n.URL+"/files/"+f.ID+"/content", "bye", bob.as()...); r.Status != 403 {
			t.Fatalf("bob writes with read access: %d %s", r.Status, r.Body)
		}
		r = testhttp.Send(t, "PUT", n.URL+"/files/"+f.ID+"/content", "hello again", ann.as(header("If-Match", `"1"`))...)
		var v2 files.File
		mustJSON(t, r.Body, &v2)
		if r.Status != 200 || v2.Version != 2 || v2.Revision != 2 {
			t.Fatalf("new version: %d %s", r.Status, r.Body)
		}
		if r := testhttp.Send(t, "PUT", n.URL+"/files/"+f.ID+"/content", "lost", ann.as(header("If-Match", `"1"`))...); r.Status != 412 {
			t.Fatalf("stale If-Match: %d %s", r.Status, r.Body)
		}
		if r := testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content?version=1", "", bob.as()...); r.Body != "hello world" {
			t.Fatalf("version 1: %d %q", r.Status, r.Body)
		}
		testhttp.Expect(t, 204, "DELETE", n.URL+"/files/"+f.ID+"/grants/user/"+bob.id, "", ann.as()...)
		if r := testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content", "", bob.as()...); r.Status != 404 {
			t.Fatalf("bob after the revoke: %d %s", r.Status, r.Body)
		}
	})
}
