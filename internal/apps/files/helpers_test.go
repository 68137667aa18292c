package files_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

const password = "correct horse battery staple"

// start runs a node with the files app on engine (and environ, e.g. an S3
// blob store).
func start(t testing.TB, engine store.Engine, environ ...string) *nodetest.Node {
	t.Helper()
	apps := []app.App{files.App()}
	return nodetest.Start(t, nodetest.Config(t, engine, apps, environ...), apps...)
}

// everywhere runs fn on both engines with the filesystem blob store ("sqlite",
// "postgres"), and on both engines with the S3 one ("s3/sqlite",
// "s3/postgres"; skipped without TESSERA_TEST_S3_URL, which .ci/run sets).
func everywhere(t *testing.T, fn func(t *testing.T, n *nodetest.Node)) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine))
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		storetest.Engines(t, func(t *testing.T, engine store.Engine) {
			t.Parallel()
			fn(t, start(t, engine, s3Env(t)...))
		})
	})
}

// s3Env is the environment of a node on a fresh S3 bucket.
func s3Env(t testing.TB) []string {
	b := blobtest.NewBucket(t)
	return []string{"TESSERA_BLOBS=" + b.URL.String(), "TESSERA_S3_ACCESS_KEY=" + b.Access, "TESSERA_S3_SECRET_KEY=" + b.Secret}
}

// user is a signed-up user acting in one org.
type user struct {
	id, email, token, org string
}

func signUp(t testing.TB, n *nodetest.Node, email string) user {
	t.Helper()
	id, token := n.SignUp(t, email, password, email, "")
	return user{id: id, email: email, token: token}
}

// newOrg creates an org owned by owner, who then acts in it.
func newOrg(t testing.TB, n *nodetest.Node, owner *user, name string) string {
	t.Helper()
	var o struct {
		ID string `json:"id"`
	}
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/orgs", `{"name":"`+name+`"}`, testhttp.Bearer(owner.token)), &o)
	owner.org = o.ID
	return o.ID
}

// join makes u a member of owner's org with role.
func join(t testing.TB, n *nodetest.Node, owner user, u *user, role string) {
	t.Helper()
	testhttp.Expect(t, 201, "PUT", n.URL+"/orgs/"+owner.org+"/members/"+u.id, `{"role":"`+role+`","level":0}`, testhttp.Bearer(owner.token))
	u.org = owner.org
}

// as is the headers of u's requests: its token and its org.
func (u user) as(extra ...func(*http.Request)) []func(*http.Request) {
	return append([]func(*http.Request){testhttp.Bearer(u.token), func(r *http.Request) {
		if u.org != "" {
			r.Header.Set("X-Org-ID", u.org)
		}
	}}, extra...)
}

// header sets a request header.
func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// upload uploads body as name with a raw body and returns the answer.
func (u user) upload(t testing.TB, n *nodetest.Node, name, contentType, body string, extra ...func(*http.Request)) testhttp.Response {
	t.Helper()
	return testhttp.Send(t, "POST", n.URL+"/files", body, u.as(append([]func(*http.Request){
		header("X-File-Name", name), header("Content-Type", contentType)}, extra...)...)...)
}

// mustUpload uploads and returns the new file.
func (u user) mustUpload(t testing.TB, n *nodetest.Node, name, body string) files.File {
	t.Helper()
	r := u.upload(t, n, name, "text/plain", body)
	if r.Status != 201 {
		t.Fatalf("upload %s: %d %s", name, r.Status, r.Body)
	}
	var f files.File
	mustJSON(t, r.Body, &f)
	return f
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}
