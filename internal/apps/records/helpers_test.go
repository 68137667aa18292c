package records_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

const password = "correct horse battery staple"

// start runs a node with the records app on engine (environ adds
// TESSERA_* settings, e.g. TESSERA_RECORDS_CONFIG).
func start(t testing.TB, engine store.Engine, environ ...string) *nodetest.Node {
	t.Helper()
	apps := []app.App{records.App()}
	return nodetest.Start(t, nodetest.Config(t, engine, apps, environ...), apps...)
}

// everywhere runs fn on a node of each engine, in parallel.
func everywhere(t *testing.T, fn func(t *testing.T, n *nodetest.Node)) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine))
	})
}

// user is a signed-up user acting in one org.
type user struct {
	id, token, org string
}

// newUser signs up email and gives it an org of its own.
func newUser(t testing.TB, n *nodetest.Node, email string) user {
	t.Helper()
	id, token := n.SignUp(t, email, password, email, "")
	u := user{id: id, token: token}
	var o struct {
		ID string `json:"id"`
	}
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/orgs", `{"name":"org of `+email+`"}`, testhttp.Bearer(token)), &o)
	u.org = o.ID
	return u
}

// as is the headers of u's requests: its token and its org.
func (u user) as(extra ...func(*http.Request)) []func(*http.Request) {
	return append([]func(*http.Request){testhttp.Bearer(u.token), header("X-Org-ID", u.org)}, extra...)
}

// header sets a request header.
func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// create creates a record and returns it.
func (u user) create(t testing.TB, n *nodetest.Node, plural, body string) records.Record {
	t.Helper()
	var r records.Record
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/records/"+plural, body, u.as()...), &r)
	return r
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}
