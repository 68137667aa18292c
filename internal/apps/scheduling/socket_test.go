package scheduling_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The sockets' edges: the anonymous socket's user pool flows, the
// authenticated socket's refusals and token expiry, resuming subscriptions,
// several subscriptions per connection, the iCalendar feed and a removed
// member leaving future events.

// sockTokens is the result of signIn and refresh.
type sockTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// sockSub is the result of a subscribe action.
type sockSub struct {
	SubscriptionID string `json:"subscription_id"`
}

// anonDial opens the anonymous socket, without any credentials.
func anonDial(t testing.TB, n *nodetest.Node) *client {
	t.Helper()
	return &client{t: t, conn: testhttp.Dial(t, n.URL, "/scheduling/anonymous")}
}

// dialAs opens /scheduling/ws with token in org.
func dialAs(t testing.TB, n *nodetest.Node, token, org string) *client {
	t.Helper()
	return &client{t: t, conn: testhttp.Dial(t, n.URL, "/scheduling/ws?org_id="+url.QueryEscape(org), testhttp.Bearer(token))}
}

var sockSixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// sockMailCode waits for the mail to addr whose subject contains subject
// and returns the six-digit code in its text.
func sockMailCode(t testing.TB, n *nodetest.Node, addr, subject string) string {
	t.Helper()
	m := mailtest.Wait(t, n.Config.MailDir(), addr, subject)
	code := sockSixDigits.FindStringSubmatch(m.Text)
	if code == nil {
		t.Fatalf("no code in the mail %q to %s: %q", m.Subject, addr, m.Text)
	}
	return code[1]
}

// sockRefused tries a websocket upgrade of path that must be refused, and
// returns the answer's status, header and body.
func sockRefused(t testing.TB, n *nodetest.Node, path string, opts *websocket.DialOptions) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.URL, "http")+path, opts)
	if err == nil {
		_ = conn.CloseNow()
		t.Fatalf("upgrade of %s accepted, want a refusal", path)
	}
	if resp == nil {
		t.Fatalf("upgrade of %s: no answer: %v", path, err)
	}
	var body []byte
	if resp.Body != nil {
		body, _ = io.ReadAll(resp.Body) // what Dial kept of it
		_ = resp.Body.Close()
	}
	return resp.StatusCode, resp.Header, string(body)
}

// bearerHeader is the handshake header of a bearer token.
func bearerHeader(token string) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}}
}

// TestAnonymousSocket runs the user pool's flows through
// /scheduling/anonymous: sign up, confirm with the mailed code, sign in,
// use the token on /scheduling/ws, refresh, forget and reset the password.
func TestAnonymousSocket(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		const email, newPassword = "ada@anon.example", "a brand new passphrase 42"
		a := anonDial(t, n)

		// Nothing but the user pool is reachable; the socket stays usable.
		if p := a.fail("events.list", map[string]any{"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}, 400); len(p.Errors) == 0 || p.Errors[0].Location != "action" {
			t.Fatalf("unknown action: %+v", p)
		}
		a.fail("subscribe.org", nil, 400)

		// The password policy of /auth: a weak password is 422 on data.password.
		if p := a.fail("signUp", map[string]any{"email": email, "password": "short", "name": "Ada"}, 422); len(p.Errors) == 0 || p.Errors[0].Location != "data.password" {
			t.Fatalf("weak password: %+v", p)
		}
		a.fail("signUp", map[string]any{"email": email, "password": "password", "name": "Ada"}, 422) // too common
		// Unknown fields are refused (400), as everywhere.
		a.fail("signUp", map[string]any{"email": email, "password": password, "name": "Ada", "admin": true}, 400)

		var u struct {
			ID        string `json:"id"`
			Email     string `json:"email"`
			Name      string `json:"name"`
			Confirmed bool   `json:"confirmed"`
			ClientID  string `json:"client_id"`
		}
		a.do("signUp", map[string]any{"email": email, "password": password, "name": "Ada"}, &u)
		if u.ID == "" || u.Email != email || u.Name != "Ada" || u.Confirmed || u.ClientID != scheduling.ClientID {
			t.Fatalf("signUp: %+v", u)
		}
		// Unconfirmed: signing in is refused like a bad password.
		a.fail("signIn", map[string]any{"email": email, "password": password}, 401)

		code := mailtest.Code(t, n.Config.MailDir(), email)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if p := a.fail("confirm", map[string]any{"email": email, "code": wrong}, 422); len(p.Errors) == 0 || p.Errors[0].Location != "data.code" {
			t.Fatalf("wrong code: %+v", p)
		}
		a.do("confirm", map[string]any{"email": email, "code": code}, nil)

		a.fail("signIn", map[string]any{"email": email, "password": "not the password at all"}, 401)
		var tok sockTokens
		a.do("signIn", map[string]any{"email": email, "password": password}, &tok)
		if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn <= 0 {
			t.Fatalf("signIn: %+v", tok)
		}

		// The token opens /scheduling/ws in an org of the user.
		var org struct {
			ID string `json:"id"`
		}
		mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/orgs", `{"name":"Ada's lab"}`, testhttp.Bearer(tok.AccessToken)), &org)
		ws := dialAs(t, n, tok.AccessToken, org.ID)
		var o scheduling.Org
		ws.do("org.get", nil, &o)
		if o.ID != org.ID || o.Name != "Ada's lab" {
			t.Fatalf("org.get: %+v", o)
		}

		// Refresh rotates the refresh token; the new access token works too.
		var tok2 sockTokens
		a.do("refresh", map[string]any{"refresh_token": tok.RefreshToken}, &tok2)
		if tok2.AccessToken == "" || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.ExpiresIn <= 0 {
			t.Fatalf("refresh: %+v", tok2)
		}
		dialAs(t, n, tok2.AccessToken, org.ID).do("org.get", nil, &o)
		a.fail("refresh", map[string]any{"refresh_token": "not-a-refresh-token"}, 401)

		// Forgotten password: the mailed reset code sets a new one.
		a.do("forgotPassword", map[string]any{"email": email}, nil)
		a.do("forgotPassword", map[string]any{"email": "nobody@anon.example"}, nil) // unknown: same answer
		reset := sockMailCode(t, n, email, "password reset code")
		a.fail("resetPassword", map[string]any{"email": email, "code": reset, "password": "short"}, 422)
		a.do("resetPassword", map[string]any{"email": email, "code": reset, "password": newPassword}, nil)
		a.fail("resetPassword", map[string]any{"email": email, "code": reset, "password": newPassword}, 422) // used up
		a.fail("signIn", map[string]any{"email": email, "password": password}, 401)
		var tok3 sockTokens
		a.do("signIn", map[string]any{"email": email, "password": newPassword}, &tok3)
		dialAs(t, n, tok3.AccessToken, org.ID).do("org.get", nil, &o)
		// The reset revoked the sessions: the earlier refresh token is dead.
		a.fail("refresh", map[string]any{"refresh_token": tok2.RefreshToken}, 401)
		// And /auth, the other door to the same pool, agrees.
		testhttp.Expect(t, 200, "POST", n.URL+"/auth/token", `{"grant_type":"password","email":"`+email+`","password":"`+newPassword+`"}`)
	})
}

// TestAnonymousSocketThrottle: failed sign-ins on the anonymous socket back
// off per account like /auth (5 free failures, then 1 s, 2 s, …), and the
// two doors share the counters.
func TestAnonymousSocketThrottle(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	victim := signUp(t, n, "victim@throttle.example")
	a := anonDial(t, n)
	bad := map[string]any{"email": victim.email, "password": "guess guess guess"}
	free := identity.DefaultThrottle.Account.Free
	for i := range free + 1 { // the last one starts the back-off
		if p := a.fail("signIn", bad, 401); p.Status != 401 {
			t.Fatalf("attempt %d: %+v", i+1, p)
		}
	}
	// Blocked now (for 1 s): even the right password, on either door.
	p := a.fail("signIn", map[string]any{"email": victim.email, "password": password}, 429)
	if !strings.Contains(p.Detail, "retry in") {
		t.Fatalf("429 detail: %+v", p)
	}
	r := testhttp.Send(t, "POST", n.URL+"/auth/token", `{"grant_type":"password","email":"`+victim.email+`","password":"`+password+`"}`)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("/auth/token while the socket's back-off holds: %d %s", r.Status, r.Body)
	}
	// Another account is not blocked (the IP allows 20 failures).
	a.fail("signIn", map[string]any{"email": "other@throttle.example", "password": "guess guess guess"}, 401)
	// Once the back-off is over, the right password signs in.
	deadline := time.Now().Add(5 * time.Second)
	for {
		f := a.send("signIn", map[string]any{"email": victim.email, "password": password})
		if f.Type == "result" {
			break
		}
		var pr problem
		mustJSON(t, string(f.Data), &pr)
		if pr.Status != 429 || time.Now().After(deadline) {
			t.Fatalf("after the back-off: %s", f.Data)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSocketRefusals: /scheduling/ws refuses before the upgrade a missing,
// bad or expired token (401), an org the user is not a member of (403) and
// no org at all (422); the three token carriers work.
func TestSocketRefusals(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		owner := signUp(t, n, "owner@refuse.example")
		stranger := signUp(t, n, "stranger@refuse.example")
		loner := signUp(t, n, "loner@refuse.example") // no org at all
		newOrg(t, n, &owner, "Mine")
		newOrg(t, n, &stranger, "Theirs")
		q := "/scheduling/ws?org_id=" + owner.org

		problemOf := func(what string, status, want int, h http.Header, body string) {
			t.Helper()
			if status != want {
				t.Fatalf("%s: %d %s, want %d", what, status, body, want)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("%s: Content-Type %q (%s)", what, ct, body)
			}
			var p problem
			mustJSON(t, body, &p)
			if p.Status != want {
				t.Fatalf("%s: problem %s", what, body)
			}
		}

		// No token: 401 to a websocket handshake and to a plain GET alike.
		st, h, body := sockRefused(t, n, q, nil)
		problemOf("no token", st, 401, h, body)
		if h.Get("WWW-Authenticate") == "" {
			t.Errorf("no token: no WWW-Authenticate challenge")
		}
		if st, body := testhttp.Do(t, "GET", n.URL+q, ""); st != 401 {
			t.Fatalf("plain GET without a token: %d %s", st, body)
		}
		// A garbage token, in each carrier.
		st, h, body = sockRefused(t, n, q, bearerHeader("garbage"))
		problemOf("garbage bearer", st, 401, h, body)
		st, h, body = sockRefused(t, n, q+"&token=garbage.garbage.garbage", nil)
		problemOf("garbage ?token=", st, 401, h, body)
		st, h, body = sockRefused(t, n, q, &websocket.DialOptions{Subprotocols: []string{"bearer.garbage"}})
		problemOf("garbage subprotocol", st, 401, h, body)
		// A token expired beyond the leeway.
		expired, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: owner.id, TTL: -5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		st, h, body = sockRefused(t, n, q, bearerHeader(expired))
		problemOf("expired token", st, 401, h, body)

		// A valid token for an org of someone else: 403, by org_id or by
		// the token's own org claim.
		st, h, body = sockRefused(t, n, "/scheduling/ws?org_id="+stranger.org, bearerHeader(owner.token))
		problemOf("another org", st, 403, h, body)
		foreign, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: owner.id, OrgID: stranger.org})
		if err != nil {
			t.Fatal(err)
		}
		st, h, body = sockRefused(t, n, "/scheduling/ws", bearerHeader(foreign))
		problemOf("token of another org", st, 403, h, body)
		// No org chosen: a validation problem naming query.org_id.
		st, h, body = sockRefused(t, n, "/scheduling/ws", bearerHeader(loner.token))
		problemOf("no org", st, 422, h, body)
		if !strings.Contains(body, "query.org_id") {
			t.Fatalf("no org: %s", body)
		}
		st, h, body = sockRefused(t, n, "/scheduling/ws", bearerHeader(owner.token)) // a member, but none chosen
		problemOf("member without org_id", st, 422, h, body)

		// The carriers that work: ?token=, Authorization and the
		// bearer.<token> subprotocol (echoed back).
		var o scheduling.Org
		c := &client{t: t, conn: testhttp.Dial(t, n.URL, q+"&token="+url.QueryEscape(owner.token))}
		c.do("org.get", nil, &o)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.URL, "http")+q, &websocket.DialOptions{Subprotocols: []string{"bearer." + owner.token}})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatalf("subprotocol carrier: %v", err)
		}
		t.Cleanup(func() { _ = conn.CloseNow() })
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "bearer."+owner.token {
			t.Fatalf("subprotocol not echoed: %q", got)
		}
		c = &client{t: t, conn: conn}
		c.do("org.get", nil, &o)
		if o.ID != owner.org {
			t.Fatalf("org.get: %+v", o)
		}
		// A token with the org claim needs no org_id.
		own, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: owner.id, OrgID: owner.org})
		if err != nil {
			t.Fatal(err)
		}
		c = &client{t: t, conn: testhttp.Dial(t, n.URL, "/scheduling/ws", testhttp.Bearer(own))}
		c.do("org.get", nil, &o)
		if o.ID != owner.org {
			t.Fatalf("org.get with the token's org: %+v", o)
		}
	})
}

// TestSocketTokenExpiry: the socket closes with 4001 when the access token
// it was opened with expires (its exp, without the verification leeway).
func TestSocketTokenExpiry(t *testing.T) {
	t.Parallel()
	n := start(t, store.EngineSQLite)
	owner := signUp(t, n, "owner@expiry.example")
	newOrg(t, n, &owner, "Expiry")

	minted := time.Now()
	short, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: owner.id, Email: owner.email,
		ClientID: scheduling.ClientID, TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := dialAs(t, n, short, owner.org)
	var o scheduling.Org
	c.do("org.get", nil, &o) // usable until then
	if code := c.closeCode(); code != scheduling.StatusTokenExpired {
		t.Fatalf("closed with %d, want %d", code, scheduling.StatusTokenExpired)
	}
	// exp is whole seconds: between 1 s and 2 s after minting.
	if d := time.Since(minted); d < 900*time.Millisecond || d > 6*time.Second {
		t.Fatalf("closed %v after minting a 2 s token", d)
	}

	// A token past its exp but within the leeway passes the upgrade and the
	// socket closes with 4001 at once.
	late, err := n.Identity().Keys.Mint(context.Background(), identity.Claims{UserID: owner.id, TTL: -5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c = dialAs(t, n, late, owner.org)
	if code := c.closeCode(); code != scheduling.StatusTokenExpired {
		t.Fatalf("token past exp: closed with %d, want %d", code, scheduling.StatusTokenExpired)
	}
}

// TestSubscriptionResume: subscribe.events and subscribe.org with since on
// a new connection replay exactly the pushes after that cursor, in order,
// then go live; unsubscribe stops the pushes.
func TestSubscriptionResume(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		owner := signUp(t, n, "owner@resume.example")
		newOrg(t, n, &owner, "Resume")
		waitEvent(t, n, scheduling.EventUserAdded, owner.id) // settled before any subscription
		ed := dial(t, n, owner)
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)

		var room, other scheduling.Resource
		ed.do("resources.create", map[string]any{"name": "Room"}, &room)
		ed.do("resources.create", map[string]any{"name": "Other"}, &other)
		window := map[string]any{"from": at(day, "08:00"), "to": at(day, "18:00"), "resource_ids": []string{room.ID}}

		// The first connection sees one event change and one catalog change.
		w1 := dial(t, n, owner)
		var ev1, org1 sockSub
		w1.do("subscribe.events", window, &ev1)
		w1.do("subscribe.org", nil, &org1)
		w1.mayHaveSeen(scheduling.EventResourceCreated, room.ID, other.ID)
		var e1 scheduling.Booking
		ed.do("events.create", map[string]any{"title": "one", "start": at(day, "09:00"), "end": at(day, "10:00"), "resource_ids": []string{room.ID}}, &e1)
		f, _ := w1.push()
		if f.SubscriptionID != ev1.SubscriptionID || f.Cursor == "" {
			t.Fatalf("first push: %+v", f)
		}
		evCursor := f.Cursor
		var p1 scheduling.Project
		ed.do("projects.create", map[string]any{"name": "P1"}, &p1)
		f, _ = w1.push()
		if f.SubscriptionID != org1.SubscriptionID || f.Cursor == "" {
			t.Fatalf("org push: %+v", f)
		}
		orgCursor := f.Cursor
		if err := w1.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}

		// Meanwhile (disconnected): two changes in the window, one on
		// another resource, one out of the window, two catalog changes.
		var e2, e1v2, e3, e4 scheduling.Booking
		ed.do("events.create", map[string]any{"title": "two", "start": at(day, "11:00"), "end": at(day, "12:00"), "resource_ids": []string{room.ID}}, &e2)
		ed.do("events.update", map[string]any{"id": e1.ID, "version": 1, "title": "one, renamed"}, &e1v2)
		ed.do("events.create", map[string]any{"title": "elsewhere", "start": at(day, "09:00"), "end": at(day, "10:00"), "resource_ids": []string{other.ID}}, &e3)
		ed.do("events.create", map[string]any{"title": "late", "start": at(day, "19:00"), "end": at(day, "20:00"), "resource_ids": []string{room.ID}}, &e4)
		var p2 scheduling.Project
		var lay scheduling.Layout
		ed.do("projects.create", map[string]any{"name": "P2"}, &p2)
		ed.do("layouts.create", map[string]any{"name": "Floor", "items": []map[string]any{{"resource_id": room.ID}}}, &lay)

		// A new connection resumes each subscription from its cursor.
		w2 := dial(t, n, owner)
		var ev2 sockSub
		resumed := map[string]any{"from": window["from"], "to": window["to"], "resource_ids": window["resource_ids"], "since": evCursor}
		w2.do("subscribe.events", resumed, &ev2)
		last := evCursor
		for _, want := range []struct {
			event, subject, title string
		}{{scheduling.EventEventCreated, e2.ID, "two"}, {scheduling.EventEventUpdated, e1.ID, "one, renamed"}} {
			f, d := w2.push()
			var item scheduling.Booking
			mustJSON(t, string(d.Item), &item)
			if f.SubscriptionID != ev2.SubscriptionID || d.Event != want.event || d.Subject != want.subject || item.Title != want.title {
				t.Fatalf("replayed %s %s (%s), want %s %s", d.Event, d.Subject, f.Data, want.event, want.subject)
			}
			if events.CompareCursor(events.Cursor(f.Cursor), events.Cursor(last)) <= 0 {
				t.Fatalf("cursor %s after %s", f.Cursor, last)
			}
			last = f.Cursor
		}
		// Then live: the next push is e5's creation, so nothing else was
		// replayed (not e1's creation again, not e3, not e4).
		var e5 scheduling.Booking
		ed.do("events.create", map[string]any{"title": "five", "start": at(day, "13:00"), "end": at(day, "14:00"), "resource_ids": []string{room.ID}}, &e5)
		w2.expectPush(ev2.SubscriptionID, scheduling.EventEventCreated, e5.ID)

		var org2 sockSub
		w2.do("subscribe.org", map[string]any{"since": orgCursor}, &org2)
		w2.expectPush(org2.SubscriptionID, scheduling.EventProjectCreated, p2.ID)
		w2.expectPush(org2.SubscriptionID, scheduling.EventLayoutCreated, lay.ID)
		ed.do("projects.update", map[string]any{"id": p2.ID, "version": 1, "name": "P2 renamed"}, nil)
		w2.expectPush(org2.SubscriptionID, scheduling.EventProjectUpdated, p2.ID)

		// Unsubscribing stops the pushes of that subscription only: the
		// next push after e5's update is the org's.
		w2.do("unsubscribe", map[string]any{"subscription_id": ev2.SubscriptionID}, nil)
		ed.do("events.update", map[string]any{"id": e5.ID, "version": 1, "title": "five, renamed"}, nil)
		ed.do("projects.update", map[string]any{"id": p2.ID, "version": 2, "name": "P2 again"}, nil)
		w2.expectPush(org2.SubscriptionID, scheduling.EventProjectUpdated, p2.ID)
		w2.fail("unsubscribe", map[string]any{"subscription_id": ev2.SubscriptionID}, 404)
		w2.do("unsubscribe", map[string]any{"subscription_id": org2.SubscriptionID}, nil)
		w2.fail("unsubscribe", map[string]any{"subscription_id": org2.SubscriptionID}, 404)
		ed.do("projects.create", map[string]any{"name": "P3"}, nil)
		ed.do("events.create", map[string]any{"title": "six", "start": at(day, "15:00"), "end": at(day, "16:00"), "resource_ids": []string{room.ID}}, nil)
		w2.quiet(500 * time.Millisecond) // (quiet ends the connection)
	})
}

// TestSeveralSubscriptions: two subscribe.events on disjoint resources of
// one connection each get their own pushes, with their subscription_id;
// an event on both reaches each once.
func TestSeveralSubscriptions(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		owner := signUp(t, n, "owner@several.example")
		newOrg(t, n, &owner, "Several")
		ed, w := dial(t, n, owner), dial(t, n, owner)
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
		var a, b scheduling.Resource
		ed.do("resources.create", map[string]any{"name": "A"}, &a)
		ed.do("resources.create", map[string]any{"name": "B"}, &b)

		var subA, subB sockSub
		w.do("subscribe.events", map[string]any{"from": at(day, "00:00"), "to": at(day, "12:00"), "resource_ids": []string{a.ID}}, &subA)
		w.do("subscribe.events", map[string]any{"from": at(day, "00:00"), "to": at(day, "12:00"), "resource_ids": []string{b.ID}}, &subB)
		if subA.SubscriptionID == "" || subA.SubscriptionID == subB.SubscriptionID {
			t.Fatalf("subscriptions: %+v %+v", subA, subB)
		}

		var ea, eb, eab, late scheduling.Booking
		ed.do("events.create", map[string]any{"title": "on A", "start": at(day, "09:00"), "end": at(day, "10:00"), "resource_ids": []string{a.ID}}, &ea)
		w.expectPush(subA.SubscriptionID, scheduling.EventEventCreated, ea.ID)
		ed.do("events.create", map[string]any{"title": "on B", "start": at(day, "09:00"), "end": at(day, "10:00"), "resource_ids": []string{b.ID}}, &eb)
		w.expectPush(subB.SubscriptionID, scheduling.EventEventCreated, eb.ID)
		// Outside both windows: nothing.
		ed.do("events.create", map[string]any{"title": "late on A", "start": at(day, "13:00"), "end": at(day, "14:00"), "resource_ids": []string{a.ID}}, &late)
		// On both resources: once for each subscription (and the next
		// pushes, so nothing came for the late one).
		ed.do("events.create", map[string]any{"title": "on A and B", "start": at(day, "10:00"), "end": at(day, "11:00"), "resource_ids": []string{a.ID, b.ID}}, &eab)
		var got []string
		for range 2 {
			f, d := w.push()
			if d.Event != scheduling.EventEventCreated || d.Subject != eab.ID {
				t.Fatalf("push %s %s, want the created %s", d.Event, d.Subject, eab.ID)
			}
			got = append(got, f.SubscriptionID)
		}
		slices.Sort(got)
		want := []string{subA.SubscriptionID, subB.SubscriptionID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("pushes to %v, want one each to %v", got, want)
		}
		// A change on B only reaches B's subscription (and nothing else
		// came before it).
		ed.do("events.cancel", map[string]any{"id": eb.ID, "version": 1}, nil)
		w.expectPush(subB.SubscriptionID, scheduling.EventEventCancelled, eb.ID)
		ed.do("events.update", map[string]any{"id": ea.ID, "version": 1, "title": "on A, renamed"}, nil)
		w.expectPush(subA.SubscriptionID, scheduling.EventEventUpdated, ea.ID)
		w.quiet(500 * time.Millisecond) // (quiet ends the connection)
	})
}

// sockFeed returns the feed URL of calendarURL on the test server (the URL
// carries the node's public_url).
func sockFeed(t testing.TB, n *nodetest.Node, calendarURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(calendarURL)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	return u
}

// TestCalendarFeed reads a resource's iCalendar feed without a token: its
// events (a cancelled one as CANCELLED), not another resource's; a wrong
// token, or another resource's id, is 404.
func TestCalendarFeed(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		owner := signUp(t, n, "owner@ics.example")
		newOrg(t, n, &owner, "Calendars")
		c := dial(t, n, owner)
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
		var room, other scheduling.Resource
		c.do("resources.create", map[string]any{"name": "Room"}, &room)
		c.do("resources.create", map[string]any{"name": "Other"}, &other)
		var kept, cancelled, elsewhere scheduling.Booking
		c.do("events.create", map[string]any{"title": "Standup; daily, short", "notes": "bring coffee", "start": at(day, "09:00"), "end": at(day, "09:15"),
			"resource_ids": []string{room.ID}}, &kept)
		c.do("events.create", map[string]any{"title": "Review", "start": at(day, "10:00"), "end": at(day, "11:30"), "resource_ids": []string{room.ID}}, &cancelled)
		c.do("events.cancel", map[string]any{"id": cancelled.ID, "version": 1}, &cancelled)
		c.do("events.create", map[string]any{"title": "Elsewhere", "start": at(day, "09:00"), "end": at(day, "10:00"), "resource_ids": []string{other.ID}}, &elsewhere)

		feed := sockFeed(t, n, room.CalendarURL)
		token := feed.Query().Get("token")
		if token == "" || feed.Path != "/scheduling/resources/"+room.ID+"/calendar.ics" {
			t.Fatalf("calendar_url %q", room.CalendarURL)
		}
		r := testhttp.Send(t, "GET", feed.String(), "") // no Authorization
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/calendar") {
			t.Fatalf("feed: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		cal, err := ics.ParseCalendar(strings.NewReader(r.Body))
		if err != nil {
			t.Fatalf("parse feed: %v\n%s", err, r.Body)
		}
		byUID := map[string]*ics.VEvent{}
		for _, v := range cal.Events() {
			byUID[v.Id()] = v
		}
		if len(byUID) != 2 {
			t.Fatalf("feed has %d events, want 2:\n%s", len(byUID), r.Body)
		}
		prop := func(v *ics.VEvent, p ics.ComponentProperty) string {
			if ip := v.GetProperty(p); ip != nil {
				return ip.Value
			}
			return ""
		}
		for _, want := range []struct {
			e      scheduling.Booking
			status string
		}{{kept, "CONFIRMED"}, {cancelled, "CANCELLED"}} {
			v := byUID[want.e.ID+"@tessera"]
			if v == nil {
				t.Fatalf("no VEVENT for %s:\n%s", want.e.ID, r.Body)
			}
			if got := prop(v, ics.ComponentPropertySummary); got != want.e.Title {
				t.Errorf("%s: SUMMARY %q, want %q", want.e.ID, got, want.e.Title)
			}
			if got := prop(v, ics.ComponentPropertyStatus); got != want.status {
				t.Errorf("%s: STATUS %q, want %q", want.e.ID, got, want.status)
			}
			st, err1 := v.GetStartAt()
			end, err2 := v.GetEndAt()
			if err1 != nil || err2 != nil || !st.Equal(want.e.Start) || !end.Equal(want.e.End) {
				t.Errorf("%s: DTSTART %v DTEND %v (%v %v), want %v %v", want.e.ID, st, end, err1, err2, want.e.Start, want.e.End)
			}
		}
		if got := prop(byUID[kept.ID+"@tessera"], ics.ComponentPropertyDescription); got != "bring coffee" {
			t.Errorf("DESCRIPTION %q", got)
		}

		// The other resource's feed shows its own event only.
		r = testhttp.Send(t, "GET", sockFeed(t, n, other.CalendarURL).String(), "")
		if r.Status != 200 {
			t.Fatalf("other feed: %d %s", r.Status, r.Body)
		}
		cal, err = ics.ParseCalendar(strings.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		if evs := cal.Events(); len(evs) != 1 || evs[0].Id() != elsewhere.ID+"@tessera" {
			t.Fatalf("other feed:\n%s", r.Body)
		}

		// Refusals: all 404, telling nothing.
		notFound := func(what string, u url.URL) {
			t.Helper()
			if st, body := testhttp.Do(t, "GET", u.String(), ""); st != 404 {
				t.Errorf("%s: %d %s, want 404", what, st, body)
			}
		}
		wrong := *feed
		wrong.RawQuery = url.Values{"token": {"wrong" + token}}.Encode()
		notFound("wrong token", wrong)
		none := *feed
		none.RawQuery = ""
		notFound("no token", none)
		swapped := *feed
		swapped.Path = "/scheduling/resources/" + other.ID + "/calendar.ics"
		notFound("another resource with this token", swapped)
		unknown := *feed
		unknown.Path = "/scheduling/resources/not-a-resource/calendar.ics"
		notFound("unknown resource", unknown)
		// A bearer token does not replace the feed's token.
		if st, body := testhttp.Do(t, "GET", none.String(), "", testhttp.Bearer(owner.token)); st != 404 {
			t.Errorf("bearer without the feed token: %d %s", st, body)
		}
	})
}

// TestRemovedMemberLeavesFutureEvents: removing a member takes them off
// the attendees of the org's future events (pushed as updates) but not of
// past ones; the org subscription sees scheduling.user.removed and the
// member's socket closes with 4003.
func TestRemovedMemberLeavesFutureEvents(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine)
		owner := signUp(t, n, "owner@leave.example")
		u := signUp(t, n, "u@leave.example")
		newOrg(t, n, &owner, "Leave")
		join(t, n, owner, &u, "member")
		waitEvent(t, n, scheduling.EventUserAdded, owner.id)
		waitEvent(t, n, scheduling.EventUserAdded, u.id)
		ed, watch, gone := dial(t, n, owner), dial(t, n, owner), dial(t, n, u)
		day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
		past := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)

		var room scheduling.Resource
		ed.do("resources.create", map[string]any{"name": "Room"}, &room)
		var orgSub, evSub sockSub
		watch.do("subscribe.org", nil, &orgSub)
		watch.do("subscribe.events", map[string]any{"from": at(day, "00:00"), "to": at(day, "23:00"), "resource_ids": []string{room.ID}}, &evSub)
		watch.mayHaveSeen(scheduling.EventResourceCreated, room.ID)
		watch.mayHaveSeen(scheduling.EventUserAdded, owner.id, u.id)

		var future, before scheduling.Booking
		ed.do("events.create", map[string]any{"title": "Planning", "start": at(day, "09:00"), "end": at(day, "10:00"),
			"resource_ids": []string{room.ID}, "attendee_user_ids": []string{owner.id, u.id}}, &future)
		watch.expectPush(evSub.SubscriptionID, scheduling.EventEventCreated, future.ID)
		ed.do("events.create", map[string]any{"title": "Retro", "start": at(past, "09:00"), "end": at(past, "10:00"),
			"resource_ids": []string{room.ID}, "attendee_user_ids": []string{u.id}}, &before)

		ed.do("users.remove", map[string]any{"user_id": u.id}, nil)
		if code := gone.closeCode(); code != scheduling.StatusRemoved {
			t.Fatalf("removed member's socket closed with %d, want %d", code, scheduling.StatusRemoved)
		}
		seen := map[string]pushData{}
		for range 2 {
			f, d := watch.push()
			switch {
			case f.SubscriptionID == orgSub.SubscriptionID && d.Event == scheduling.EventUserRemoved && d.Subject == u.id:
			case f.SubscriptionID == evSub.SubscriptionID && d.Event == scheduling.EventEventUpdated && d.Subject == future.ID:
			default:
				t.Fatalf("unexpected push %s %s on %s: %s", d.Event, d.Subject, f.SubscriptionID, f.Data)
			}
			if _, dup := seen[d.Event]; dup {
				t.Fatalf("twice: %s", d.Event)
			}
			seen[d.Event] = d
		}
		if d := seen[scheduling.EventUserRemoved]; d.Kind != "user" || d.Change != "deleted" {
			t.Fatalf("user.removed push: %+v", d)
		}
		var item scheduling.Booking
		mustJSON(t, string(seen[scheduling.EventEventUpdated].Item), &item)
		if !slices.Equal(item.AttendeeUserIDs, []string{owner.id}) || item.Version != future.Version+1 || item.Title != "Planning" {
			t.Fatalf("updated push: %+v", item)
		}
		watch.quiet(500 * time.Millisecond) // (quiet ends the connection)

		var got scheduling.Booking
		ed.do("events.get", map[string]any{"id": future.ID}, &got)
		if !slices.Equal(got.AttendeeUserIDs, []string{owner.id}) {
			t.Fatalf("future event attendees %v", got.AttendeeUserIDs)
		}
		ed.do("events.get", map[string]any{"id": before.ID}, &got)
		if !slices.Equal(got.AttendeeUserIDs, []string{u.id}) || got.Version != 1 {
			t.Fatalf("past event changed: %+v", got)
		}
		// The removed member can no longer be invited to events.
		ed.fail("events.update", map[string]any{"id": future.ID, "version": item.Version, "attendee_user_ids": []string{u.id}}, 422)
		// Nor open the socket again.
		st, _, body := sockRefused(t, n, "/scheduling/ws?org_id="+owner.org, bearerHeader(u.token))
		if st != 403 {
			t.Fatalf("removed member reconnecting: %d %s", st, body)
		}
	})
}
