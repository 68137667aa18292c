package identity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// cheapArgon keeps tests fast.
var cheapArgon = Argon2Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

const goodPassword = "correct horse battery staple 42"

type env struct {
	t      *testing.T
	st     *store.Store
	clk    *clock
	ks     *KeySet
	log    *events.Log
	outbox *mail.Outbox
	pool   *Pool
	srv    *httptest.Server
}

var testClients = []Client{
	{ID: "restaurants-staff", App: "restaurants", AllowedAttributes: []string{"restaurantId", "restaurantRole"}},
	{ID: "restaurants-customer", App: "restaurants"},
}

func newEnv(t *testing.T, s *store.Store, mod func(*PoolOptions)) *env {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, events.Migrations(), mail.Migrations(), Migrations()); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: s, clk: newClock()}
	e.ks = NewKeySet(s, KeyOptions{Issuer: testIssuer, Now: e.clk.Now})
	e.log = events.New(s, events.Options{})
	sender, err := mail.NewSender("", t.TempDir(), "Tessera <no-reply@example.test>")
	if err != nil {
		t.Fatal(err)
	}
	e.outbox = mail.NewOutbox(s, sender, mail.Options{Domain: "example.test", Events: e.log})
	opts := PoolOptions{Clients: testClients, Argon2: cheapArgon, Now: e.clk.Now}
	if mod != nil {
		mod(&opts)
	}
	e.pool, err = NewPool(s, e.ks, e.log, e.outbox, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = e.serve(e.pool)
	return e
}

// serve builds the edge with p's routes and a test authorizer: a Bearer
// token verified by KeySet.Verify becomes a platform principal.
func (e *env) serve(p *Pool) *httptest.Server {
	authn := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				c, err := e.ks.Verify(r.Context(), tok)
				if err != nil {
					httpapi.WriteProblem(w, r, err)
					return
				}
				r = r.WithContext(authz.WithPrincipal(r.Context(), authz.Principal{UserID: c.UserID, Email: c.Email,
					ClientID: c.ClientID, Attributes: c.Attributes, Via: authz.ViaPlatform}))
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Authenticate: authn})
	p.Register(srv.API())
	ts := httptest.NewServer(srv.Handler())
	e.t.Cleanup(ts.Close)
	return ts
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) req(method, path, contentType, body string, hdr ...string) resp {
	e.t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &out.body)
	}
	return out
}

func (e *env) post(path string, v any, hdr ...string) resp {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.req(http.MethodPost, path, "application/json", string(b), hdr...)
}

func want(t *testing.T, what string, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// lastCode returns the code of the newest mail of template tmpl to addr.
func (e *env) lastCode(addr, tmpl string) string {
	e.t.Helper()
	mails, _, err := e.outbox.List(context.Background(), mail.ListFilter{To: addr, App: MailApp})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range mails {
		if m.Template == tmpl {
			if c := codeRE.FindString(m.Text); c != "" {
				return c
			}
		}
	}
	e.t.Fatalf("no %s mail to %s", tmpl, addr)
	return ""
}

func (e *env) mailCount(addr string) int {
	e.t.Helper()
	mails, _, err := e.outbox.List(context.Background(), mail.ListFilter{To: addr})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(mails)
}

// eventCount returns the number of events of typ about subject, waiting
// (up to 10 s) until there are at least min: on Postgres an event becomes
// readable only once every older transaction has ended.
func (e *env) eventCount(typ, subject string, min ...int) int {
	e.t.Helper()
	atLeast := 1
	if len(min) > 0 {
		atLeast = min[0]
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := e.log.Read(context.Background(), "", events.Filter{Types: []string{typ}, Subject: subject}, 100)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(evs) >= atLeast || time.Now().After(deadline) {
			return len(evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signUp signs up and confirms addr, returning the user id.
func (e *env) signUpConfirmed(addr string) string {
	e.t.Helper()
	r := e.post("/auth/signup", map[string]any{"email": addr, "password": goodPassword})
	want(e.t, "signup", r, http.StatusCreated)
	want(e.t, "confirm", e.post("/auth/confirm", map[string]any{"email": addr, "code": e.lastCode(addr, "confirm")}), http.StatusNoContent)
	return r.body["id"].(string)
}

func (e *env) signIn(addr, password string) resp {
	e.t.Helper()
	return e.post("/auth/token", map[string]any{"grant_type": "password", "email": addr, "password": password})
}

func wrongCode(c string) string {
	n, _ := strconv.Atoi(c)
	return strconv.Itoa(100000 + (n+1)%900000)
}

func TestSignUpConfirmSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		ctx := context.Background()
		r := e.post("/auth/signup", map[string]any{"email": "Ann@Example.test", "password": goodPassword, "name": "Ann",
			"client_id": "restaurants-staff", "attributes": map[string]string{"restaurantId": "r1"}})
		want(t, "signup", r, http.StatusCreated)
		if r.header.Get("Location") != "/auth/me" || r.body["email"] != "ann@example.test" || r.body["confirmed"] != false ||
			r.body["client_id"] != "restaurants-staff" {
			t.Fatalf("signup body %v, location %q", r.body, r.header.Get("Location"))
		}
		id := r.body["id"].(string)
		if e.eventCount(EventUserCreated, id) != 1 {
			t.Fatal("no auth.user.created event")
		}

		// Unconfirmed: the same 401 as a wrong password or an unknown email.
		unconfirmed := e.signIn("ann@example.test", goodPassword)
		want(t, "unconfirmed sign-in", unconfirmed, http.StatusUnauthorized)
		wrong := e.signIn("ann@example.test", goodPassword+"x")
		unknown := e.signIn("nobody@example.test", goodPassword)
		if unconfirmed.raw != wrong.raw || wrong.raw != unknown.raw || unknown.status != http.StatusUnauthorized {
			t.Fatalf("sign-in errors differ:\n%s\n%s\n%s", unconfirmed.raw, wrong.raw, unknown.raw)
		}

		code := e.lastCode("ann@example.test", "confirm")
		want(t, "wrong code", e.post("/auth/confirm", map[string]any{"email": "ann@example.test", "code": wrongCode(code)}), http.StatusUnprocessableEntity)
		want(t, "confirm", e.post("/auth/confirm", map[string]any{"email": "ANN@example.test", "code": code}), http.StatusNoContent)
		if e.eventCount(EventUserConfirmed, id) != 1 {
			t.Fatal("no auth.user.confirmed event")
		}
		want(t, "confirm twice", e.post("/auth/confirm", map[string]any{"email": "ann@example.test", "code": code}), http.StatusUnprocessableEntity)

		// JSON sign-in, with a client.
		r = e.post("/auth/token", map[string]any{"grant_type": "password", "email": "ann@example.test", "password": goodPassword, "client_id": "restaurants-staff"})
		want(t, "sign-in", r, http.StatusOK)
		if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(900) || r.body["refresh_token"] == "" || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("token body %v", r.body)
		}
		if e.eventCount(EventUserSignedIn, id) != 1 {
			t.Fatal("no auth.user.signed_in event")
		}
		c, err := e.ks.Verify(ctx, r.body["access_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if c.UserID != id || c.ClientID != "restaurants-staff" || c.Attributes["restaurantId"] != "r1" || c.Email != "ann@example.test" {
			t.Fatalf("claims %+v", c)
		}
		// The ID token: typ JWT, aud the client, and never an access token.
		idTok := r.body["id_token"].(string)
		if _, err := e.ks.Verify(ctx, idTok); err == nil {
			t.Fatal("the ID token passed Verify as an access token")
		}
		parts := strings.Split(idTok, ".")
		var hdr, claims map[string]any
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		_ = json.Unmarshal(hb, &hdr)
		_ = json.Unmarshal(cb, &claims)
		if hdr["typ"] != "JWT" || hdr["kid"] == nil || claims["aud"] != "restaurants-staff" || claims["sub"] != id || claims["token_use"] != "id" {
			t.Fatalf("id token %v %v", hdr, claims)
		}
		resp := e.req(http.MethodGet, "/auth/me", "", "", "Authorization", "Bearer "+idTok)
		want(t, "me with an id token", resp, http.StatusUnauthorized)

		// Form sign-in, without a client: aud tessera.
		form := url.Values{"grant_type": {"password"}, "username": {"ann@example.test"}, "password": {goodPassword}}
		r = e.req(http.MethodPost, "/auth/token", "application/x-www-form-urlencoded", form.Encode())
		want(t, "form sign-in", r, http.StatusOK)
		cb, _ = base64.RawURLEncoding.DecodeString(strings.Split(r.body["id_token"].(string), ".")[1])
		claims = nil
		_ = json.Unmarshal(cb, &claims)
		if claims["aud"] != Audience {
			t.Fatalf("aud %v", claims["aud"])
		}
		access := r.body["access_token"].(string)

		// /auth/me.
		want(t, "me anonymous", e.req(http.MethodGet, "/auth/me", "", ""), http.StatusUnauthorized)
		me := e.req(http.MethodGet, "/auth/me", "", "", "Authorization", "Bearer "+access)
		want(t, "me", me, http.StatusOK)
		if me.body["id"] != id || me.body["name"] != "Ann" {
			t.Fatalf("me %v", me.body)
		}
		patch := e.req(http.MethodPatch, "/auth/me", "application/json", `{"name":"Ann B","attributes":{"restaurantRole":"chef","restaurantId":""}}`, "Authorization", "Bearer "+access)
		want(t, "patch me", patch, http.StatusOK)
		attrs := patch.body["attributes"].(map[string]any)
		if patch.body["name"] != "Ann B" || attrs["restaurantRole"] != "chef" || attrs["restaurantId"] != nil {
			t.Fatalf("patched %v", patch.body)
		}
		want(t, "patch disallowed attribute", e.req(http.MethodPatch, "/auth/me", "application/json", `{"attributes":{"admin":"yes"}}`, "Authorization", "Bearer "+access), http.StatusUnprocessableEntity)
		want(t, "patch anonymous", e.req(http.MethodPatch, "/auth/me", "application/json", `{"name":"x"}`), http.StatusUnauthorized)
	})
}

func TestSignUpValidationAndDuplicates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		ctx := context.Background()
		cases := []struct {
			name string
			body map[string]any
		}{
			{"unknown client", map[string]any{"email": "a@x.test", "password": goodPassword, "client_id": "nope"}},
			{"attribute not allowed", map[string]any{"email": "a@x.test", "password": goodPassword, "client_id": "restaurants-customer", "attributes": map[string]string{"restaurantId": "r"}}},
			{"attributes without client", map[string]any{"email": "a@x.test", "password": goodPassword, "attributes": map[string]string{"restaurantId": "r"}}},
			{"short password", map[string]any{"email": "a@x.test", "password": "short"}},
			{"common password", map[string]any{"email": "a@x.test", "password": "123456789012"}},
			{"bad email", map[string]any{"email": "a\u200b@x.test", "password": goodPassword}},
		}
		for _, c := range cases {
			want(t, c.name, e.post("/auth/signup", c.body), http.StatusUnprocessableEntity)
		}
		r1 := e.post("/auth/signup", map[string]any{"email": "bob@x.test", "password": goodPassword})
		want(t, "signup", r1, http.StatusCreated)
		r2 := e.post("/auth/signup", map[string]any{"email": " BOB@X.test", "password": goodPassword + "!"})
		want(t, "duplicate signup", r2, http.StatusCreated)
		if len(r1.body) != len(r2.body) || r2.body["id"] == r1.body["id"] || r2.header.Get("Location") != r1.header.Get("Location") {
			t.Fatalf("duplicate answer differs: %v vs %v", r1.body, r2.body)
		}
		for k := range r1.body {
			if _, ok := r2.body[k]; !ok {
				t.Fatalf("duplicate answer lacks %s", k)
			}
		}
		users, _, err := e.pool.ListUsers(ctx, UserFilter{Query: "bob"})
		if err != nil || len(users) != 1 {
			t.Fatalf("users %v, %v", users, err)
		}
		// A later sign-up's event being readable means every earlier one is.
		want(t, "signup", e.post("/auth/signup", map[string]any{"email": "carol@x.test", "password": goodPassword}), http.StatusCreated)
		if n := e.eventCount(EventUserCreated, "", 2); n != 2 {
			t.Fatalf("%d auth.user.created events, want 2: the duplicate sign-up emitted one", n)
		}
		// The owner got the code mail and a notice, nothing else.
		mails, _, _ := e.outbox.List(ctx, mail.ListFilter{To: "bob@x.test"})
		if len(mails) != 2 || mails[0].Template != "exists" || mails[1].Template != "confirm" {
			t.Fatalf("mails %+v", mails)
		}
	})
}

func TestConfirmLockExpiryResend(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		want(t, "signup", e.post("/auth/signup", map[string]any{"email": "c@x.test", "password": goodPassword}), http.StatusCreated)
		code := e.lastCode("c@x.test", "confirm")
		for i := 0; i < MaxCodeAttempts; i++ {
			want(t, "wrong code", e.post("/auth/confirm", map[string]any{"email": "c@x.test", "code": wrongCode(code)}), http.StatusUnprocessableEntity)
		}
		locked := e.post("/auth/confirm", map[string]any{"email": "c@x.test", "code": code})
		want(t, "locked code", locked, http.StatusUnprocessableEntity)
		unknown := e.post("/auth/confirm", map[string]any{"email": "nobody@x.test", "code": code})
		if unknown.raw != locked.raw {
			t.Fatalf("unknown email answered differently: %s vs %s", unknown.raw, locked.raw)
		}

		// Resend: same answer for unknown emails; a new code works.
		r1 := e.post("/auth/confirm/resend", map[string]any{"email": "c@x.test"})
		r2 := e.post("/auth/confirm/resend", map[string]any{"email": "nobody@x.test"})
		want(t, "resend", r1, http.StatusAccepted)
		if r1.status != r2.status || r1.raw != r2.raw {
			t.Fatalf("resend answers differ: %s vs %s", r1.raw, r2.raw)
		}
		code = e.lastCode("c@x.test", "confirm")

		// Expired.
		e.clk.Add(ConfirmCodeTTL + time.Second)
		want(t, "expired code", e.post("/auth/confirm", map[string]any{"email": "c@x.test", "code": code}), http.StatusUnprocessableEntity)
		want(t, "resend", e.post("/auth/confirm/resend", map[string]any{"email": "c@x.test"}), http.StatusAccepted)
		want(t, "confirm", e.post("/auth/confirm", map[string]any{"email": "c@x.test", "code": e.lastCode("c@x.test", "confirm")}), http.StatusNoContent)
	})
}

func TestRefreshRotationReuseLogout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		e.signUpConfirmed("d@x.test")
		r := e.signIn("d@x.test", goodPassword)
		want(t, "sign-in", r, http.StatusOK)
		rt1 := r.body["refresh_token"].(string)
		if b, err := base64.RawURLEncoding.DecodeString(rt1); err != nil || len(b) != 32 {
			t.Fatalf("refresh token %q", rt1)
		}
		r = e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": rt1})
		want(t, "refresh", r, http.StatusOK)
		rt2 := r.body["refresh_token"].(string)
		if rt2 == rt1 {
			t.Fatal("refresh token not rotated")
		}
		// Form refresh works too.
		r = e.req(http.MethodPost, "/auth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}.Encode())
		want(t, "form refresh", r, http.StatusOK)
		rt3 := r.body["refresh_token"].(string)
		// Reusing rt1 revokes the family: rt3 is dead too.
		want(t, "reuse", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": rt1}), http.StatusUnauthorized)
		want(t, "after reuse", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": rt3}), http.StatusUnauthorized)
		want(t, "garbage", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": "garbage"}), http.StatusUnauthorized)

		// Logout revokes the family; another session survives.
		a := e.signIn("d@x.test", goodPassword).body["refresh_token"].(string)
		b := e.signIn("d@x.test", goodPassword).body["refresh_token"].(string)
		want(t, "logout", e.post("/auth/logout", map[string]any{"refresh_token": a}), http.StatusNoContent)
		want(t, "logout unknown", e.post("/auth/logout", map[string]any{"refresh_token": "unknown"}), http.StatusNoContent)
		want(t, "after logout", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": a}), http.StatusUnauthorized)
		want(t, "other session", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": b}), http.StatusOK)

		// Expired refresh token.
		c := e.signIn("d@x.test", goodPassword).body["refresh_token"].(string)
		e.clk.Add(DefaultRefreshTTL + time.Second)
		want(t, "expired refresh", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": c}), http.StatusUnauthorized)
	})
}

func TestTokenRequestErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		want(t, "text/plain", e.req(http.MethodPost, "/auth/token", "text/plain", "grant_type=password"), http.StatusUnsupportedMediaType)
		want(t, "bad grant", e.post("/auth/token", map[string]any{"grant_type": "client_credentials"}), http.StatusUnprocessableEntity)
		want(t, "unknown json field", e.post("/auth/token", map[string]any{"grant_type": "password", "emial": "a@x.test"}), http.StatusBadRequest)
		want(t, "malformed json", e.req(http.MethodPost, "/auth/token", "application/json", `{"grant_type":`), http.StatusBadRequest)
		want(t, "unknown form field", e.req(http.MethodPost, "/auth/token", "application/x-www-form-urlencoded", "grant_type=password&x=1"), http.StatusUnprocessableEntity)
		want(t, "unknown client", e.post("/auth/token", map[string]any{"grant_type": "password", "email": "a@x.test", "password": goodPassword, "client_id": "nope"}), http.StatusUnprocessableEntity)
		want(t, "missing password", e.post("/auth/token", map[string]any{"grant_type": "password", "email": "a@x.test"}), http.StatusUnprocessableEntity)
		want(t, "long email", e.signIn(strings.Repeat("a", 300)+"@x.test", goodPassword), http.StatusUnauthorized)
	})
}

func TestPasswordReset(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		id := e.signUpConfirmed("r@x.test")
		rt := e.signIn("r@x.test", goodPassword).body["refresh_token"].(string)

		known := e.post("/auth/password/forgot", map[string]any{"email": "R@x.test"})
		unknown := e.post("/auth/password/forgot", map[string]any{"email": "nobody@x.test"})
		want(t, "forgot", known, http.StatusAccepted)
		if known.status != unknown.status || known.raw != unknown.raw {
			t.Fatalf("forgot answers differ: %s vs %s", known.raw, unknown.raw)
		}
		code := e.lastCode("r@x.test", "reset")
		newPassword := "another long passphrase 77"
		for i := 0; i < MaxCodeAttempts; i++ {
			want(t, "wrong reset code", e.post("/auth/password/reset", map[string]any{"email": "r@x.test", "code": wrongCode(code), "password": newPassword}), http.StatusUnprocessableEntity)
		}
		want(t, "locked reset code", e.post("/auth/password/reset", map[string]any{"email": "r@x.test", "code": code, "password": newPassword}), http.StatusUnprocessableEntity)

		want(t, "forgot again", e.post("/auth/password/forgot", map[string]any{"email": "r@x.test"}), http.StatusAccepted)
		code = e.lastCode("r@x.test", "reset")
		want(t, "weak new password", e.post("/auth/password/reset", map[string]any{"email": "r@x.test", "code": code, "password": "short"}), http.StatusUnprocessableEntity)
		want(t, "reset", e.post("/auth/password/reset", map[string]any{"email": "r@x.test", "code": code, "password": newPassword}), http.StatusNoContent)
		if e.eventCount(EventUserPasswordChanged, id) != 1 {
			t.Fatal("no auth.user.password_changed event")
		}
		want(t, "old refresh token", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": rt}), http.StatusUnauthorized)
		want(t, "old password", e.signIn("r@x.test", goodPassword), http.StatusUnauthorized)
		want(t, "new password", e.signIn("r@x.test", newPassword), http.StatusOK)
	})
}

func TestSignInThrottle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, func(o *PoolOptions) {
			o.Throttle.Account = Backoff{Free: 3, Base: 2 * time.Second, Max: time.Minute, Reset: time.Hour}
			o.Throttle.IP = Backoff{Free: 8, Base: 4 * time.Second, Max: time.Minute, Reset: time.Hour}
		})
		e.signUpConfirmed("t@x.test")
		for i := 0; i < 4; i++ {
			want(t, "wrong password", e.signIn("t@x.test", "wrong password "+strconv.Itoa(i)), http.StatusUnauthorized)
		}
		// The 4th failure blocks the account for 2 s: even the right password.
		r := e.signIn("t@x.test", goodPassword)
		want(t, "throttled account", r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "2" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		// Another account from the same IP is not blocked.
		want(t, "other account", e.signIn("other@x.test", goodPassword), http.StatusUnauthorized)
		e.clk.Add(2 * time.Second)
		want(t, "after back-off", e.signIn("t@x.test", goodPassword), http.StatusOK)

		// Per IP: failures over many accounts (5 so far, counting the
		// unknown one) block the IP from the 9th.
		for i := 0; i < 4; i++ {
			want(t, "spray", e.signIn("spray"+strconv.Itoa(i)+"@x.test", goodPassword), http.StatusUnauthorized)
		}
		r = e.signIn("fresh@x.test", goodPassword)
		want(t, "throttled IP", r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "4" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		want(t, "throttled IP, good password", e.signIn("t@x.test", goodPassword), http.StatusTooManyRequests)
		e.clk.Add(4 * time.Second)
		want(t, "IP after back-off", e.signIn("t@x.test", goodPassword), http.StatusOK)
	})
}

func TestRateLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, func(o *PoolOptions) {
			o.Throttle.SignUp = Limit{Every: 10 * time.Second, Burst: 2}
			o.Throttle.Mail = Limit{Every: 30 * time.Second, Burst: 2}
		})
		for i := 0; i < 2; i++ {
			want(t, "signup", e.post("/auth/signup", map[string]any{"email": "s" + strconv.Itoa(i) + "@x.test", "password": goodPassword}), http.StatusCreated)
		}
		r := e.post("/auth/signup", map[string]any{"email": "s9@x.test", "password": goodPassword})
		want(t, "signup limited", r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "10" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		e.clk.Add(10 * time.Second)
		want(t, "signup after wait", e.post("/auth/signup", map[string]any{"email": "s9@x.test", "password": goodPassword}), http.StatusCreated)

		want(t, "forgot", e.post("/auth/password/forgot", map[string]any{"email": "s0@x.test"}), http.StatusAccepted)
		want(t, "resend", e.post("/auth/confirm/resend", map[string]any{"email": "s0@x.test"}), http.StatusAccepted)
		r = e.post("/auth/password/forgot", map[string]any{"email": "s0@x.test"})
		want(t, "forgot limited", r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "30" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
	})
}

func TestAdminOperations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		ctx := context.Background()
		u, err := e.pool.CreateUser(ctx, "Admin@X.test", goodPassword, "Admin", true)
		if err != nil || !u.Confirmed || u.Email != "admin@x.test" {
			t.Fatalf("CreateUser %+v %v", u, err)
		}
		if _, err := e.pool.CreateUser(ctx, "admin@x.test", goodPassword, "", true); err == nil {
			t.Fatal("duplicate CreateUser succeeded")
		}
		if _, err := e.pool.CreateUser(ctx, "weak@x.test", "short", "", true); err == nil {
			t.Fatal("weak password accepted")
		}
		if e.mailCount("admin@x.test") != 0 {
			t.Fatal("a confirmed user was mailed a code")
		}
		for i := 0; i < 4; i++ {
			if _, err := e.pool.CreateUser(ctx, "user"+strconv.Itoa(i)+"@x.test", goodPassword, "", false); err != nil {
				t.Fatal(err)
			}
		}
		page, next, err := e.pool.ListUsers(ctx, UserFilter{Limit: 3})
		if err != nil || len(page) != 3 || next == "" {
			t.Fatalf("page1 %v %q %v", page, next, err)
		}
		page2, next2, err := e.pool.ListUsers(ctx, UserFilter{Limit: 3, Cursor: next})
		if err != nil || len(page2) != 2 || next2 != "" || page2[0].ID == page[2].ID {
			t.Fatalf("page2 %v %q %v", page2, next2, err)
		}
		found, _, err := e.pool.ListUsers(ctx, UserFilter{Query: "USER1"})
		if err != nil || len(found) != 1 || found[0].Email != "user1@x.test" {
			t.Fatalf("query %v %v", found, err)
		}
		got, err := e.pool.GetUser(ctx, u.ID)
		if err != nil || got.Email != u.Email {
			t.Fatalf("GetUser %+v %v", got, err)
		}
		b, _ := json.Marshal(got)
		for _, k := range []string{`"id"`, `"email"`, `"name"`, `"confirmed"`, `"disabled"`, `"attributes":{}`, `"client_id"`, `"created_at"`} {
			if !bytes.Contains(b, []byte(k)) {
				t.Fatalf("user JSON %s lacks %s", b, k)
			}
		}

		rt := e.signIn("admin@x.test", goodPassword).body["refresh_token"].(string)
		if d, err := e.pool.SetDisabled(ctx, u.ID, true); err != nil || !d.Disabled {
			t.Fatalf("disable %+v %v", d, err)
		}
		want(t, "disabled sign-in", e.signIn("admin@x.test", goodPassword), http.StatusUnauthorized)
		want(t, "disabled refresh", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": rt}), http.StatusUnauthorized)
		if _, err := e.pool.SetDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		want(t, "enabled sign-in", e.signIn("admin@x.test", goodPassword), http.StatusOK)
		rt = e.signIn("admin@x.test", goodPassword).body["refresh_token"].(string)
		if err := e.pool.ForcePasswordReset(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		want(t, "refresh after forced reset", e.post("/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": rt}), http.StatusUnauthorized)
		want(t, "reset", e.post("/auth/password/reset", map[string]any{"email": "admin@x.test", "code": e.lastCode("admin@x.test", "reset"), "password": "a brand new passphrase"}), http.StatusNoContent)
		if err := e.pool.ForcePasswordReset(ctx, "no-such-id"); err == nil {
			t.Fatal("ForcePasswordReset of an unknown user succeeded")
		}
		if e.eventCount(EventUserDisabled, u.ID) != 1 || e.eventCount(EventUserEnabled, u.ID) != 1 {
			t.Fatal("disable/enable events missing")
		}
	})
}

func TestRehashOnSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		ctx := context.Background()
		u, err := e.pool.CreateUser(ctx, "h@x.test", goodPassword, "", true)
		if err != nil {
			t.Fatal(err)
		}
		stronger := cheapArgon
		stronger.Time = 2
		p2, err := NewPool(s, e.ks, e.log, e.outbox, PoolOptions{Argon2: stronger, Now: e.clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.srv = e.serve(p2)
		want(t, "sign-in", e.signIn("h@x.test", goodPassword), http.StatusOK)
		r, err := p2.userBy(ctx, p2.db, "id", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.hash, "t=2") {
			t.Fatalf("hash not upgraded: %s", r.hash)
		}
		want(t, "sign-in after rehash", e.signIn("h@x.test", goodPassword), http.StatusOK)
	})
}

func TestMailAddressLimit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, func(o *PoolOptions) {
			o.Throttle.MailAddress = Limit{Every: time.Minute, Burst: 2}
		})
		// Per address, known or not: a 429 reveals nothing.
		want(t, "forgot", e.post("/auth/password/forgot", map[string]any{"email": "nobody@x.test"}), http.StatusAccepted)
		want(t, "resend", e.post("/auth/confirm/resend", map[string]any{"email": "Nobody@x.test"}), http.StatusAccepted)
		r := e.post("/auth/password/forgot", map[string]any{"email": "nobody@x.test"})
		want(t, "address limited", r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		want(t, "other address", e.post("/auth/password/forgot", map[string]any{"email": "other@x.test"}), http.StatusAccepted)
	})
}

func TestTokenOpenAPI(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.EngineSQLite), nil)
	r := e.req(http.MethodGet, "/openapi.json", "", "")
	want(t, "openapi", r, http.StatusOK)
	post := r.body["paths"].(map[string]any)["/auth/token"].(map[string]any)["post"].(map[string]any)
	content := post["requestBody"].(map[string]any)["content"].(map[string]any)
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		if _, ok := content[ct]; !ok {
			t.Errorf("/auth/token documents no %s body", ct)
		}
	}
	if post["parameters"] != nil {
		t.Errorf("/auth/token documents parameters %v", post["parameters"])
	}
	for _, path := range []string{"/auth/signup", "/auth/confirm", "/auth/confirm/resend", "/auth/logout", "/auth/password/forgot", "/auth/password/reset", "/auth/me"} {
		if r.body["paths"].(map[string]any)[path] == nil {
			t.Errorf("%s not documented", path)
		}
	}
}

// TestInvite: an invitation returns an existing user as it is, or creates an
// unconfirmed one and mails a reset code with which the invited person sets
// a password (confirming the address) and signs in, as through /auth.
func TestInvite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, nil)
		ctx := context.Background()

		_, _, err := e.pool.Invite(ctx, "not an address", "X")
		var f *fault.Error
		if !errors.As(err, &f) || f.Code != fault.Invalid || len(f.Fields) != 1 || f.Fields[0].Location != "body.email" {
			t.Fatalf("invalid email: %v", err)
		}

		id := e.signUpConfirmed("old@x.test")
		before := e.mailCount("old@x.test")
		u, created, err := e.pool.Invite(ctx, " OLD@x.test", "Someone Else")
		if err != nil || created || u.ID != id || u.Name != "" || !u.Confirmed {
			t.Fatalf("existing user: %+v created=%v %v", u, created, err)
		}
		if e.mailCount("old@x.test") != before {
			t.Fatal("inviting an existing user mailed it")
		}

		u, created, err = e.pool.Invite(ctx, "Nina@X.test", "Nina")
		if err != nil || !created || u.Email != "nina@x.test" || u.Name != "Nina" || u.Confirmed || u.Disabled {
			t.Fatalf("new user: %+v created=%v %v", u, created, err)
		}
		if e.eventCount(EventUserCreated, u.ID) != 1 {
			t.Fatal("no auth.user.created event")
		}
		mails, _, err := e.outbox.List(ctx, mail.ListFilter{To: "nina@x.test"})
		if err != nil || len(mails) != 1 || mails[0].Template != "invite" || mails[0].App != MailApp ||
			!strings.Contains(mails[0].Subject, "invited") || !strings.Contains(mails[0].Text, "7 days") {
			t.Fatalf("invite mails %+v %v", mails, err)
		}
		code := e.lastCode("nina@x.test", "invite")
		again, created, err := e.pool.Invite(ctx, "nina@x.test", "")
		if err != nil || created || again.ID != u.ID || e.mailCount("nina@x.test") != 1 {
			t.Fatalf("second invite: %+v created=%v %v", again, created, err)
		}

		// Nobody knows the random password: no way in before the reset.
		if _, err := e.pool.SignIn(ctx, "192.0.2.1", "nina@x.test", goodPassword, ""); !fault.Is(err, fault.Unauthorized) {
			t.Fatalf("sign-in before reset: %v", err)
		}
		if err := e.pool.ResetPassword(ctx, "nina@x.test", code, goodPassword); err != nil {
			t.Fatalf("reset with the invite code: %v", err)
		}
		if e.eventCount(EventUserConfirmed, u.ID) != 1 {
			t.Fatal("no auth.user.confirmed event")
		}
		if got, err := e.pool.GetUser(ctx, u.ID); err != nil || !got.Confirmed {
			t.Fatalf("after reset: %+v %v", got, err)
		}
		tok, err := e.pool.SignIn(ctx, "192.0.2.1", "nina@x.test", goodPassword, "restaurants-customer")
		if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("sign-in: %+v %v", tok, err)
		}
		if c, err := e.ks.Verify(ctx, tok.AccessToken); err != nil || c.UserID != u.ID {
			t.Fatalf("access token: %+v %v", c, err)
		}
		if _, err := e.pool.Refresh(ctx, tok.RefreshToken); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if err := e.pool.ResetPassword(ctx, "nina@x.test", code, goodPassword); !fault.Is(err, fault.Invalid) {
			t.Fatalf("code used twice: %v", err)
		}
	})
}
