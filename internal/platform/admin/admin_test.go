package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// env is one engine's platform services behind the admin API. The job
// runner is never started: jobs stay where the test puts them.
type env struct {
	st    *store.Store
	deps  Deps
	admin *Admin
	srv   *httptest.Server
}

// The test authorizer: X-Test-As "admin" is an admin key's principal,
// "user" a platform user's; without it the request goes through the real
// authorizer (admin keys only): anonymous, or an admin key's Basic auth.
var (
	adminPrincipal = authz.Principal{IsAdmin: true, Via: authz.ViaAdminKey, ClientID: "ak_test"}
	userPrincipal  = authz.Principal{UserID: "u-1", OrgID: "o-1", Role: orgs.RoleOwner, Via: authz.ViaPlatform}
)

// newEnv builds the services as node.Open does.
func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, st, nil); err != nil {
		t.Fatalf("jobs.Migrate: %v", err)
	}
	if err := st.Migrate(ctx, mail.Migrations(), orgs.Migrations(), identity.Migrations(), authz.Migrations()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	log := events.New(st, events.Options{})
	runner, err := jobs.New(st, log, jobs.Options{NoPurge: true})
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
	outbox := mail.NewOutbox(st, &mail.FileSender{Dir: t.TempDir(), From: "tessera@example.test"},
		mail.Options{Domain: "example.test", Events: log})
	if err := runner.Register(outbox.DeliveryHandler()); err != nil {
		t.Fatalf("register delivery: %v", err)
	}
	users, err := identity.NewPool(st, identity.NewKeySet(st, identity.KeyOptions{Issuer: "http://tessera.test"}), log, outbox, identity.PoolOptions{})
	if err != nil {
		t.Fatalf("identity.NewPool: %v", err)
	}
	e := &env{st: st, deps: Deps{Store: st, Events: log, Jobs: runner, Mail: outbox, Orgs: orgs.New(st, log, orgs.Options{}), Users: users,
		AdminKeys: authz.NewAdminKeys(st.App(authz.Schema))}}
	e.admin = New(e.deps)
	auth, err := authz.New(authz.Options{AdminKeys: e.deps.AdminKeys, Directory: e.deps.Orgs})
	if err != nil {
		t.Fatalf("authz.New: %v", err)
	}
	edge := httpapi.New(httpapi.Options{Title: "test", Version: "0", Logger: slog.New(slog.DiscardHandler)})
	e.admin.Register(edge.API())
	h := edge.Handler()
	authed := auth.Handler(h)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Test-As") {
		case "admin":
			h.ServeHTTP(w, r.WithContext(authz.WithPrincipal(r.Context(), adminPrincipal)))
		case "user":
			h.ServeHTTP(w, r.WithContext(authz.WithPrincipal(r.Context(), userPrincipal)))
		default: // anonymous, or real credentials (an admin key's Basic auth)
			authed.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, as, method, path, body string) response {
	t.Helper()
	return e.doAuth(t, as, "", method, path, body)
}

// doAuth is do with an Authorization header (when not "").
func (e *env) doAuth(t *testing.T, as, authorization, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if as != "" {
		req.Header.Set("X-Test-As", as)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: res.StatusCode, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return out
}

// get is an admin's GET expecting status.
func (e *env) get(t *testing.T, path string, status int) response {
	t.Helper()
	r := e.do(t, "admin", http.MethodGet, path, "")
	if r.status != status {
		t.Fatalf("GET %s = %d %s, want %d", path, r.status, r.raw, status)
	}
	return r
}

func items(t *testing.T, r response) []map[string]any {
	t.Helper()
	raw, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items in %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

func nextCursor(r response) string {
	s, _ := r.body["next_cursor"].(string)
	return s
}

// pages follows next_cursor from path (which has a query) and returns every
// item's field, checking each page has at most limit items.
func (e *env) pages(t *testing.T, path string, limit int, field string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 100 {
		p := fmt.Sprintf("%s&limit=%d", path, limit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.get(t, p, http.StatusOK)
		its := items(t, r)
		if len(its) > limit {
			t.Fatalf("GET %s: %d items, limit %d", p, len(its), limit)
		}
		for _, it := range its {
			out = append(out, fmt.Sprint(it[field]))
		}
		if cursor = nextCursor(r); cursor == "" {
			return out
		}
	}
	t.Fatalf("GET %s: more than 100 pages", path)
	return nil
}

// waitEvents returns the events matching query once there are n of them:
// on Postgres an event becomes readable only once every older transaction
// of the server has ended, and other tests run on the same server.
func (e *env) waitEvents(t *testing.T, query string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		its := items(t, e.get(t, "/admin/events?limit=500&"+query, 200))
		if len(its) == n {
			return its
		}
		if len(its) > n || time.Now().After(deadline) {
			t.Fatalf("events?%s: %d events, want %d: %v", query, len(its), n, its)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createOrg(t *testing.T, e *env, name, externalID string) orgs.Org {
	t.Helper()
	o, err := e.deps.Orgs.CreateOrg(context.Background(), name, externalID, "owner-1")
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	return o
}

func enqueueMail(t *testing.T, e *env, app, to string) string {
	t.Helper()
	var id string
	err := e.st.App(mail.Schema).InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		id, _, err = e.deps.Mail.Enqueue(tx.Context(), tx, mail.Message{App: app, Template: "welcome", To: to,
			Content: mail.Content{Subject: "Hello", Text: "Hello " + to}})
		return err
	})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return id
}

// routes are every admin operation, with a valid path.
var routes = []struct{ method, path, body string }{
	{http.MethodGet, "/admin/events", ""},
	{http.MethodGet, "/admin/events?type=bad&limit=0", ""},
	{http.MethodGet, "/admin/jobs", ""},
	{http.MethodGet, "/admin/keys", ""},
	{http.MethodPost, "/admin/keys", `{"name":"n"}`},
	{http.MethodPost, "/admin/keys", `{"name":5}`},
	{http.MethodPost, "/admin/keys/x/revoke", ""},
	{http.MethodGet, "/admin/jobs?state=bogus", ""},
	{http.MethodGet, "/admin/jobs/1", ""},
	{http.MethodPost, "/admin/jobs/1/retry", ""},
	{http.MethodPost, "/admin/jobs/1/cancel", ""},
	{http.MethodGet, "/admin/mails", ""},
	{http.MethodGet, "/admin/mails/x", ""},
	{http.MethodGet, "/admin/orgs", ""},
	{http.MethodGet, "/admin/orgs/x", ""},
	{http.MethodPatch, "/admin/orgs/x", `{"name":"n"}`},
	{http.MethodGet, "/admin/users", ""},
	{http.MethodGet, "/admin/users/x", ""},
	{http.MethodPatch, "/admin/users/x", `{"disabled":true}`},
	{http.MethodPost, "/admin/users/x/password-reset", ""},
}

func TestOnlyAdmins(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		for _, rt := range routes {
			if r := e.do(t, "", rt.method, rt.path, rt.body); r.status != http.StatusUnauthorized {
				t.Errorf("anonymous %s %s = %d %s, want 401", rt.method, rt.path, r.status, r.raw)
			}
			if r := e.do(t, "user", rt.method, rt.path, rt.body); r.status != http.StatusForbidden {
				t.Errorf("user %s %s = %d %s, want 403", rt.method, rt.path, r.status, r.raw)
			}
			if r := e.do(t, "admin", rt.method, rt.path, rt.body); r.status == http.StatusUnauthorized ||
				r.status == http.StatusForbidden || r.status >= 500 {
				t.Errorf("admin %s %s = %d %s", rt.method, rt.path, r.status, r.raw)
			}
		}
		// The admin operations wrote nothing the audit log shows as an
		// admin's (job 1 and key x do not exist) but the admin's key: the
		// anonymous and user requests created none.
		e.waitEvents(t, "type="+KeyCreatedEvent, 1)
		if its := items(t, e.get(t, "/admin/events?type="+JobRetriedEvent+","+JobCancelledEvent+","+KeyRevokedEvent, 200)); len(its) != 0 {
			t.Errorf("admin events after failed writes: %v", its)
		}
	})
}

func TestEvents(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		start := time.Now().UTC().Add(-time.Second)
		var created []orgs.Org
		for i := range 5 {
			created = append(created, createOrg(t, e, fmt.Sprintf("Org %d", i), ""))
		}
		mailID := enqueueMail(t, e, "restaurants", "ann@example.test")

		// Each org: orgs.org.created and orgs.member.added; the mail:
		// mail.message.queued.
		all := e.waitEvents(t, "", 11)
		if all[0]["type"] != "orgs.org.created" || all[0]["org_id"] != created[0].ID || all[10]["type"] != mail.QueuedEvent {
			t.Errorf("events not in log order: %v", all)
		}

		// Filters.
		if its := items(t, e.get(t, "/admin/events?type=mail.message.queued", 200)); len(its) != 1 || its[0]["subject"] != mailID {
			t.Errorf("type filter: %v", its)
		}
		for _, q := range []string{"type=mail.message.queued,orgs.org.created", "type=mail.message.queued&type=orgs.org.created"} {
			if its := items(t, e.get(t, "/admin/events?"+q, 200)); len(its) != 6 {
				t.Errorf("%s: %d events, want 6 (5 orgs, 1 mail)", q, len(its))
			}
		}
		if its := items(t, e.get(t, "/admin/events?app=mail", 200)); len(its) != 1 {
			t.Errorf("app filter: %v", its)
		}
		if its := items(t, e.get(t, "/admin/events?org_id="+created[2].ID, 200)); len(its) != 2 || its[0]["org_id"] != created[2].ID {
			t.Errorf("org filter: %v", its)
		}
		if its := items(t, e.get(t, "/admin/events?subject="+mailID, 200)); len(its) != 1 {
			t.Errorf("subject filter: %v", its)
		}
		since := url.QueryEscape(start.Format(time.RFC3339Nano))
		until := url.QueryEscape(start.Add(time.Hour).Format(time.RFC3339))
		if its := items(t, e.get(t, "/admin/events?since="+since+"&until="+until, 200)); len(its) != 11 {
			t.Errorf("since/until: %d events, want 11", len(its))
		}
		future := url.QueryEscape(time.Now().Add(time.Hour).In(time.FixedZone("", 2*3600)).Format(time.RFC3339))
		if its := items(t, e.get(t, "/admin/events?since="+future, 200)); len(its) != 0 {
			t.Errorf("since the future: %v", its)
		}
		if its := items(t, e.get(t, "/admin/events?until="+since, 200)); len(its) != 0 {
			t.Errorf("until the start: %v", its)
		}

		// Pagination: every event once, in order.
		got := e.pages(t, "/admin/events?app=orgs", 2, "id")
		if len(got) != 10 {
			t.Fatalf("paged events = %v, want 10", got)
		}
		for i, id := range got {
			if id != all[i]["id"] {
				t.Errorf("page order: %v", got)
				break
			}
		}
		r := e.get(t, "/admin/events?limit=11", 200)
		if nextCursor(r) != "" {
			t.Errorf("a full last page has next_cursor %q", nextCursor(r))
		}

		// Newest first: the same events reversed, paged and filtered alike.
		newest := e.pages(t, "/admin/events?app=orgs&order=newest", 3, "id")
		if len(newest) != 10 {
			t.Fatalf("newest-first events = %v, want 10", newest)
		}
		for i, id := range newest {
			if id != all[9-i]["id"] {
				t.Errorf("newest-first order: %v", newest)
				break
			}
		}
		if its := items(t, e.get(t, "/admin/events?order=newest&limit=1", 200)); len(its) != 1 || its[0]["type"] != mail.QueuedEvent {
			t.Errorf("the newest event: %v", its)
		}
		if its := items(t, e.get(t, "/admin/events?order=newest&org_id="+created[2].ID, 200)); len(its) != 2 || its[0]["type"] != "orgs.member.added" {
			t.Errorf("newest first in one org: %v", its)
		}

		// Bad values: 422 (or 400), never 500.
		for _, q := range []string{
			"type=Bad", "type=a.b", "type=" + strings.Repeat("a.b.c,", 51) + "a.b.c", "since=yesterday", "until=2024-13-01T00:00:00Z",
			"since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z", "limit=0", "limit=501", "limit=x",
			"cursor=zz", "order=latest", "order=newest&cursor=zz", "cursor=" + strings.Repeat("g", 32), "cursor=" + strings.Repeat("A", 32), "cursor=" + strings.Repeat("a", 65),
		} {
			r := e.do(t, "admin", http.MethodGet, "/admin/events?"+q, "")
			if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
				t.Errorf("?%s = %d %s, want 422 or 400", q, r.status, r.raw)
			}
		}
	})
}

func TestJobs(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		// Each mail enqueues its delivery job; the runner is not started,
		// so they stay pending.
		for i := range 3 {
			enqueueMail(t, e, "restaurants", fmt.Sprintf("u%d@example.test", i))
		}
		pending := items(t, e.get(t, "/admin/jobs?state=pending", 200))
		if len(pending) != 3 || pending[0]["name"] != "mail.deliver" || pending[0]["state"] != jobs.StatePending {
			t.Fatalf("pending jobs = %v", pending)
		}
		if its := items(t, e.get(t, "/admin/jobs?state=dead", 200)); len(its) != 0 {
			t.Errorf("dead jobs = %v", its)
		}
		id := int64(pending[0]["id"].(float64))

		// Pagination, newest first.
		got := e.pages(t, "/admin/jobs?state=pending", 2, "id")
		if len(got) != 3 || got[0] != fmt.Sprint(pending[0]["id"]) || got[2] != fmt.Sprint(pending[2]["id"]) {
			t.Errorf("paged jobs = %v, want %v", got, pending)
		}

		j := e.get(t, fmt.Sprintf("/admin/jobs/%d", id), 200)
		if j.body["id"] != pending[0]["id"] || j.body["event_type"] != mail.QueuedEvent {
			t.Errorf("get job = %v", j.body)
		}

		// Cancel, then retry: each answers the job and emits its event.
		r := e.do(t, "admin", http.MethodPost, fmt.Sprintf("/admin/jobs/%d/cancel", id), "")
		if r.status != 200 || r.body["state"] != jobs.StateCancelled {
			t.Fatalf("cancel = %d %s", r.status, r.raw)
		}
		if its := items(t, e.get(t, "/admin/jobs?state=cancelled", 200)); len(its) != 1 {
			t.Errorf("cancelled jobs = %v", its)
		}
		r = e.do(t, "admin", http.MethodPost, fmt.Sprintf("/admin/jobs/%d/retry", id), "")
		if r.status != 200 || r.body["state"] != jobs.StatePending {
			t.Fatalf("retry = %d %s", r.status, r.raw)
		}
		evs := e.waitEvents(t, "type=admin.job.cancelled,admin.job.retried", 2)
		if evs[0]["type"] != JobCancelledEvent || evs[1]["type"] != JobRetriedEvent ||
			evs[0]["subject"] != fmt.Sprint(id) || evs[0]["app"] != "admin" {
			t.Fatalf("admin events = %v", evs)
		}
		payload := evs[1]["payload"].(map[string]any)
		if payload["previous_state"] != jobs.StateCancelled || payload["state"] != jobs.StatePending ||
			payload["admin_key_id"] != "ak_test" || payload["actor"] != "admin" {
			t.Errorf("retry event payload = %v", payload)
		}

		// Not found and bad values.
		for _, p := range []string{"/admin/jobs/999999", "/admin/jobs/999999/retry", "/admin/jobs/999999/cancel"} {
			method := http.MethodGet
			if strings.HasSuffix(p, "y") || strings.HasSuffix(p, "l") {
				method = http.MethodPost
			}
			if r := e.do(t, "admin", method, p, ""); r.status != http.StatusNotFound {
				t.Errorf("%s %s = %d %s, want 404", method, p, r.status, r.raw)
			}
		}
		for _, p := range []string{"/admin/jobs?state=bogus", "/admin/jobs?limit=0", "/admin/jobs?limit=501",
			"/admin/jobs?cursor=abc", "/admin/jobs?cursor=-1", "/admin/jobs?cursor=99999999999999999999",
			"/admin/jobs/abc", "/admin/jobs/0", "/admin/jobs/-5/retry", "/admin/jobs/1.5"} {
			method := http.MethodGet
			if strings.HasSuffix(p, "retry") {
				method = http.MethodPost
			}
			if r := e.do(t, "admin", method, p, ""); r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
				t.Errorf("%s %s = %d %s, want 422 or 400", method, p, r.status, r.raw)
			}
		}
	})
}

func TestMails(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		a := enqueueMail(t, e, "restaurants", "Ann@Example.test")
		b := enqueueMail(t, e, "restaurants", "bob@example.test")
		c := enqueueMail(t, e, "files", "cat@example.test")
		if err := e.deps.Mail.Deliver(context.Background(), b); err != nil {
			t.Fatalf("Deliver: %v", err)
		}

		all := items(t, e.get(t, "/admin/mails", 200))
		if len(all) != 3 || all[0]["id"] != c || all[2]["id"] != a {
			t.Fatalf("mails = %v, want newest first", all)
		}
		if its := items(t, e.get(t, "/admin/mails?status=sent", 200)); len(its) != 1 || its[0]["id"] != b {
			t.Errorf("sent = %v", its)
		}
		if its := items(t, e.get(t, "/admin/mails?status=pending&app=restaurants", 200)); len(its) != 1 || its[0]["id"] != a {
			t.Errorf("pending restaurants = %v", its)
		}
		if its := items(t, e.get(t, "/admin/mails?to=ANN@example.TEST", 200)); len(its) != 1 || its[0]["id"] != a {
			t.Errorf("to = %v", its)
		}
		if got := e.pages(t, "/admin/mails?app=", 2, "id"); strings.Join(got, ",") != strings.Join([]string{c, b, a}, ",") {
			t.Errorf("paged mails = %v", got)
		}

		m := e.get(t, "/admin/mails/"+b, 200)
		if m.body["status"] != string(mail.StatusSent) || m.body["to"] != "bob@example.test" || m.body["message_id"] == "" {
			t.Errorf("get mail = %v", m.body)
		}
		e.get(t, "/admin/mails/01900000-0000-7000-8000-000000000000", 404)
		for _, q := range []string{"status=bogus", "limit=0", "limit=501", "cursor=" + strings.Repeat("x", 65)} {
			if r := e.do(t, "admin", http.MethodGet, "/admin/mails?"+q, ""); r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
				t.Errorf("?%s = %d %s, want 422 or 400", q, r.status, r.raw)
			}
		}
		if r := e.do(t, "admin", http.MethodGet, "/admin/mails/"+strings.Repeat("x", 65), ""); r.status != http.StatusUnprocessableEntity {
			t.Errorf("long id = %d %s, want 422", r.status, r.raw)
		}
	})
}

func TestOrgs(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		var ids []string
		for i := range 7 {
			ext := ""
			if i%2 == 0 {
				ext = fmt.Sprintf("AUTH0-%d", i)
			}
			name := fmt.Sprintf("Org %d", i)
			if i == 3 || i == 6 {
				name = fmt.Sprintf("Acme %d", i)
			}
			ids = append(ids, createOrg(t, e, name, ext).ID)
		}
		if got := e.pages(t, "/admin/orgs?q=", 3, "id"); strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("paged orgs = %v, want %v", got, ids)
		}
		// Search: by name, external id (case-insensitive) and id, paged.
		for q, want := range map[string][]string{
			"acme":    {ids[3], ids[6]},
			"auth0-":  {ids[0], ids[2], ids[4], ids[6]},
			ids[5]:    {ids[5]},
			"nothing": nil,
		} {
			for _, limit := range []int{1, 2, 50} {
				got := e.pages(t, "/admin/orgs?q="+url.QueryEscape(q), limit, "id")
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("q=%s limit=%d: %v, want %v", q, limit, got, want)
				}
			}
		}

		o := e.get(t, "/admin/orgs/"+ids[2], 200)
		if o.body["name"] != "Org 2" || o.body["external_id"] != "AUTH0-2" {
			t.Errorf("get org = %v", o.body)
		}
		e.get(t, "/admin/orgs/nope", 404)
		for _, q := range []string{"limit=0", "limit=501", "cursor=!!!", "q=" + strings.Repeat("a", 201)} {
			if r := e.do(t, "admin", http.MethodGet, "/admin/orgs?"+q, ""); r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
				t.Errorf("?%s = %d %s, want 422 or 400", q, r.status, r.raw)
			}
		}
	})
}

func TestPatchOrg(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id := createOrg(t, e, "Org", "ext").ID
		createOrg(t, e, "Other", "taken")
		r := e.do(t, "admin", http.MethodPatch, "/admin/orgs/"+id, `{"name":"Renamed","external_id":""}`)
		if r.status != 200 || r.body["name"] != "Renamed" || r.body["external_id"] != nil {
			t.Errorf("patch = %d %s", r.status, r.raw)
		}
		for body, status := range map[string]int{
			`{"name":""}`:             http.StatusUnprocessableEntity,
			`{"nme":"x"}`:             http.StatusBadRequest,
			`{"external_id":"taken"}`: http.StatusConflict,
			`{`:                       http.StatusBadRequest,
		} {
			if r := e.do(t, "admin", http.MethodPatch, "/admin/orgs/"+id, body); r.status != status {
				t.Errorf("patch %s = %d %s, want %d", body, r.status, r.raw, status)
			}
		}
		if r := e.do(t, "admin", http.MethodPatch, "/admin/orgs/nope", `{"name":"x"}`); r.status != http.StatusNotFound {
			t.Errorf("patch unknown = %d %s", r.status, r.raw)
		}
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		u, err := e.deps.Users.CreateUser(context.Background(), "Grace@Example.com", "correct horse battery staple", "Grace", true)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.get(t, "/admin/users?q=grace", 200); len(items(t, r)) != 1 {
			t.Errorf("search: %s", r.raw)
		}
		if r := e.get(t, "/admin/users/"+u.ID, 200); r.body["email"] != "grace@example.com" {
			t.Errorf("get: %s", r.raw)
		}
		e.get(t, "/admin/users/nope", 404)
		if r := e.do(t, "admin", http.MethodPatch, "/admin/users/"+u.ID, `{"disabled":true}`); r.status != 200 || r.body["disabled"] != true {
			t.Errorf("disable: %d %s", r.status, r.raw)
		}
		if r := e.do(t, "admin", http.MethodPatch, "/admin/users/"+u.ID, `{"disabled":"yes"}`); r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
			t.Errorf("bad body: %d %s", r.status, r.raw)
		}
		if r := e.do(t, "admin", http.MethodPost, "/admin/users/"+u.ID+"/password-reset", ""); r.status != http.StatusConflict {
			t.Errorf("password reset of a disabled user: %d %s, want 409", r.status, r.raw)
		}
		if r := e.do(t, "admin", http.MethodPatch, "/admin/users/"+u.ID, `{"disabled":false}`); r.status != 200 || r.body["disabled"] == true {
			t.Errorf("enable: %d %s", r.status, r.raw)
		}
		if r := e.do(t, "admin", http.MethodPost, "/admin/users/"+u.ID+"/password-reset", ""); r.status != http.StatusAccepted {
			t.Errorf("password reset: %d %s", r.status, r.raw)
		}
		e.get(t, "/admin/users?limit=0", http.StatusUnprocessableEntity)
	})
}

func basicAuth(keyID, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(keyID+":"+secret))
}

func TestKeys(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)

		// Create: 201, Location, the secret this once, the name trimmed.
		r := e.do(t, "admin", http.MethodPost, "/admin/keys", `{"name":"  ops  "}`)
		id, _ := r.body["key_id"].(string)
		secret, _ := r.body["secret"].(string)
		if r.status != http.StatusCreated || id == "" || len(secret) < 43 || r.body["name"] != "ops" ||
			r.body["created_at"] == nil || r.body["revoked_at"] != nil {
			t.Fatalf("create = %d %s", r.status, r.raw)
		}
		res, err := e.srv.Client().Get(e.srv.URL + "/admin/keys") // anonymous
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous list = %d", res.StatusCode)
		}
		ops := basicAuth(id, secret)

		// The secret works as Basic auth on /admin; the list never shows a
		// secret or its hash.
		r = e.doAuth(t, "", ops, http.MethodGet, "/admin/keys", "")
		if r.status != 200 || strings.Contains(r.raw, secret) || strings.Contains(r.raw, "hash") || strings.Contains(r.raw, "secret") {
			t.Fatalf("list with the new key = %d %s", r.status, r.raw)
		}
		if its := items(t, r); len(its) != 1 || its[0]["key_id"] != id || its[0]["name"] != "ops" || its[0]["revoked_at"] != nil {
			t.Fatalf("keys = %v", its)
		}
		for _, bad := range []string{basicAuth(id, secret+"x"), basicAuth(id, ""), basicAuth("nope", secret)} {
			if r := e.doAuth(t, "", bad, http.MethodGet, "/admin/keys", ""); r.status != http.StatusUnauthorized || r.body["status"] != 401.0 {
				t.Fatalf("bad key = %d %s", r.status, r.raw)
			}
		}
		// A key creates the next one: its id is the event's admin_key_id.
		r = e.doAuth(t, "", ops, http.MethodPost, "/admin/keys", `{"name":"ci"}`)
		ci, _ := r.body["key_id"].(string)
		ciSecret, _ := r.body["secret"].(string)
		if r.status != http.StatusCreated || ci == "" || ciSecret == "" {
			t.Fatalf("create with a key = %d %s", r.status, r.raw)
		}

		// Revoke: the key fails at once on this node (it was cached).
		r = e.do(t, "admin", http.MethodPost, "/admin/keys/"+id+"/revoke", "")
		revokedAt, _ := r.body["revoked_at"].(string)
		if r.status != 200 || r.body["key_id"] != id || r.body["name"] != "ops" || revokedAt == "" || r.body["secret"] != nil {
			t.Fatalf("revoke = %d %s", r.status, r.raw)
		}
		if r := e.doAuth(t, "", ops, http.MethodGet, "/admin/keys", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("revoked key = %d %s", r.status, r.raw)
		}
		// Twice: 200, unchanged, and no second event.
		r = e.do(t, "admin", http.MethodPost, "/admin/keys/"+id+"/revoke", "")
		if r.status != 200 || r.body["revoked_at"] != revokedAt {
			t.Fatalf("revoke again = %d %s, revoked_at was %s", r.status, r.raw, revokedAt)
		}
		if r := e.do(t, "admin", http.MethodPost, "/admin/keys/01900000-0000-7000-8000-000000000000/revoke", ""); r.status != http.StatusNotFound || r.body["status"] != 404.0 {
			t.Fatalf("revoke unknown = %d %s", r.status, r.raw)
		}
		if r := e.doAuth(t, "", basicAuth(ci, ciSecret), http.MethodGet, "/admin/keys", ""); r.status != 200 {
			t.Fatalf("the other key = %d %s", r.status, r.raw)
		}

		// The events: key_id, name, the acting key; never a secret.
		created := e.waitEvents(t, "type="+KeyCreatedEvent, 2)
		revoked := e.waitEvents(t, "type="+KeyRevokedEvent, 1)
		for i, want := range []struct {
			ev           map[string]any
			id, name, by string
		}{
			{created[0], id, "ops", adminPrincipal.ClientID}, {created[1], ci, "ci", id}, {revoked[0], id, "ops", adminPrincipal.ClientID},
		} {
			p, _ := want.ev["payload"].(map[string]any)
			if want.ev["subject"] != want.id || want.ev["app"] != "admin" || p["key_id"] != want.id || p["name"] != want.name ||
				p["admin_key_id"] != want.by || p["actor"] != "admin" {
				t.Errorf("event %d = %v", i, want.ev)
			}
		}
		if r := e.get(t, "/admin/events?app=admin&limit=500", 200); strings.Contains(r.raw, secret) || strings.Contains(r.raw, ciSecret) {
			t.Errorf("a secret in the audit log: %s", r.raw)
		}

		// Paging, oldest first, revoked keys included.
		for _, name := range []string{"k3", "k4", "k5"} {
			if r := e.do(t, "admin", http.MethodPost, "/admin/keys", `{"name":"`+name+`"}`); r.status != http.StatusCreated {
				t.Fatalf("create %s = %d %s", name, r.status, r.raw)
			}
		}
		all := items(t, e.get(t, "/admin/keys", 200))
		var want []string
		for _, k := range all {
			want = append(want, fmt.Sprint(k["key_id"]))
		}
		if len(all) != 5 || all[0]["key_id"] != id || all[0]["revoked_at"] != revokedAt || all[1]["key_id"] != ci || all[4]["name"] != "k5" {
			t.Fatalf("keys = %v", all)
		}
		if got := e.pages(t, "/admin/keys?", 2, "key_id"); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("paged keys = %v, want %v", got, want)
		}

		// Bad input: 4xx with a problem, never 500.
		long := strings.Repeat("é", 201)
		for _, c := range []struct{ method, path, body string }{
			{http.MethodPost, "/admin/keys", `{"name":"` + long + `"}`},
			{http.MethodPost, "/admin/keys", `{"name":"a\tb"}`},
			{http.MethodPost, "/admin/keys", `{"name":"a\u0000b"}`},
			{http.MethodPost, "/admin/keys", `{`},
			{http.MethodPost, "/admin/keys", `{"name":5}`},
			{http.MethodPost, "/admin/keys", `{}`},
			{http.MethodPost, "/admin/keys", `{"name":"x","nme":"y"}`},
			{http.MethodPost, "/admin/keys", `["x"]`},
			{http.MethodPost, "/admin/keys/" + strings.Repeat("x", 256) + "/revoke", ""},
			{http.MethodGet, "/admin/keys?cursor=abc", ""},
			{http.MethodGet, "/admin/keys?cursor=" + strings.ToUpper(id), ""},
			{http.MethodGet, "/admin/keys?cursor=" + strings.Repeat("a", 37), ""},
			{http.MethodGet, "/admin/keys?limit=0", ""},
			{http.MethodGet, "/admin/keys?limit=501", ""},
		} {
			r := e.do(t, "admin", c.method, c.path, c.body)
			if r.status < 400 || r.status >= 500 || r.body["status"] != float64(r.status) || r.body["title"] == nil {
				t.Errorf("%s %s %s = %d %s, want a 4xx problem", c.method, c.path, c.body, r.status, r.raw)
			}
		}
		if its := items(t, e.get(t, "/admin/keys", 200)); len(its) != 5 {
			t.Errorf("bad requests created keys: %v", its)
		}
	})
}
