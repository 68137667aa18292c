package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

const password = "correct horse battery staple"

// startNode runs a node of every app on a fresh SQLite database.
func startNode(t *testing.T) *nodetest.Node {
	t.Helper()
	apps := all.Apps()
	return nodetest.Start(t, nodetest.Config(t, store.EngineSQLite, apps), apps...)
}

// orgHeader sends X-Org-ID.
func orgHeader(org string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("X-Org-ID", org) }
}

// decode unmarshals a JSON body, failing the test otherwise.
func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

// TestConsoleUser drives the console as a person does, in Chromium against
// a real node: sign up, confirm with the mailed code, sign in, create an
// org, then records: a 422 shown next to its field, create, list and
// filter, edit (and a stale edit refused by If-Match), a child record,
// export with its job status and a working download link; a token refresh
// through /auth before expiry; a shared file's page; sign out. The browser
// harness fails the test on any request to another host and on any console
// error, exception, CSP violation or failed load.
func TestConsoleUser(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.URL)
	const email = "ada@example.com"

	// Sign up: /auth's per-field problem lands next to the field.
	b.load("/signup")
	b.fill("Name", "Ada Lovelace")
	b.fill("Email", email)
	b.fill("Password", "too short")
	b.click("Sign up")
	if got := b.waitFieldError("Password"); !strings.Contains(got, "at least 12 characters") {
		t.Fatalf("password error shown as %q", got)
	}
	b.fill("Password", password)
	b.click("Sign up")
	b.waitHeading("Confirm your address")
	b.waitText("We mailed a 6-digit code to " + email)

	// Confirm with the code from the mail sink, then sign in.
	b.fill("Code", mailtest.Code(t, n.Config.MailDir(), email))
	b.click("Confirm")
	b.waitHeading("Sign in")
	b.waitText("Your address is confirmed. Sign in.")
	if got := eval[string](b, controlJS("Email")+".value"); got != email {
		t.Fatalf("sign-in email prefilled with %q", got)
	}
	b.screenshot("signin", 0)
	b.fill("Password", password+kb.Enter) // the keyboard submits the form
	b.waitHeading("Welcome, Ada Lovelace")
	b.screenshot("home", 0)
	b.waitText("Signed in as ada@example.com. You are in no organization yet: create one.")

	// Records need an org: the app says so and links to creating one.
	b.click("Records")
	b.waitText("Choose an organization")
	b.click("Create one")
	b.waitHeading("Organizations")
	b.fill("Name", "Acme")
	b.click("Create")
	b.waitText("Acme is created and chosen.")
	if got := eval[string](b, `document.getElementById("org-switch").selectedOptions[0].text`); got != "Acme" {
		t.Fatalf("org switcher shows %q", got)
	}
	org, _ := b.session()["orgId"].(string)

	// The record types, a type's list, and the generated create form.
	b.click("Records")
	b.waitHeading("Records")
	b.click("Contracts")
	b.waitHeading("Contracts")
	b.waitText("No contract yet.")
	if !eval[bool](b, `document.activeElement === document.querySelector("main h1")`) {
		t.Fatal("a new page does not move the focus to its heading")
	}
	b.click("New contract")
	b.waitHeading("New contract")
	b.fill("Title", "Office lease")
	b.fill("Value", "-5")
	b.choose("Status", "review")
	b.choose("Signed on", "2026-11-02")
	b.click("Create contract")
	if got := b.waitFieldError("Value"); !strings.Contains(got, "must be at least 0") {
		t.Fatalf("the 422 on value shows %q next to the field", got)
	}
	if got := b.fieldError("Title"); got != "" {
		t.Fatalf("title marked invalid: %q", got)
	}
	b.waitFor(`document.activeElement === ` + controlJS("Value")) // the focus goes to the field to fix
	b.screenshot("record-form", 0)
	b.fill("Value", "18000")
	b.click("Create contract")
	b.waitHeading("Contract: Office lease")
	b.waitText("Contract created.")
	id := strings.TrimPrefix(eval[string](b, `location.hash`), "#/records/contracts/")

	// The list shows it; a filter on an indexed field narrows it.
	b.click("Contracts")
	b.waitHeading("Contracts")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Contracts", "Office lease", "18000", "review") {
		t.Fatalf("the list lacks the contract: %q", b.rowTexts("Contracts"))
	}
	b.choose("Status", "draft")
	b.click("Apply")
	b.waitText("No record matches these filters.")
	b.choose("Status", "review")
	b.click("Apply")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Contracts", "Office lease") || !strings.Contains(eval[string](b, `location.hash`), "filter%5Bstatus%5D=review") {
		t.Fatalf("filtered list: %q at %s", b.rowTexts("Contracts"), eval[string](b, `location.hash`))
	}
	b.screenshot("records-list", 0)
	b.screenshot("records-list-phone", 390)

	// Edit, with If-Match: the version read.
	b.click("Office lease")
	b.waitHeading("Contract: Office lease")
	b.click("Edit")
	b.waitHeading("Edit Office lease")
	b.fill("Title", "Office lease 2027")
	b.click("Save")
	b.waitHeading("Contract: Office lease 2027")
	b.waitText("Saved: version 2.")

	// A stale edit: someone else saves version 3 meanwhile; the console's
	// save of version 2 is a 412, shown, and nothing is overwritten.
	token := n.SignIn(t, email, password)
	b.click("Edit")
	b.waitHeading("Edit Office lease 2027")
	testhttp.Expect(t, http.StatusOK, http.MethodPatch, n.URL+"/records/contracts/"+id, `{"fields":{"title":"Changed elsewhere"}}`,
		testhttp.Bearer(token), orgHeader(org))
	b.fill("Title", "Stale")
	b.click("Save")
	b.waitText("The record changed since version 2 (now 3)")
	b.click("Open the current version")
	b.waitHeading("Contract: Changed elsewhere")

	// Child navigation: a clause under the contract, and back.
	b.click("New clause")
	b.waitHeading("New clause in Changed elsewhere")
	b.fill("Number", "1")
	b.fill("Heading", "Rent")
	b.click("Create clause")
	b.waitHeading("Clause: Rent")
	b.click("Changed elsewhere")
	b.waitHeading("Contract: Changed elsewhere")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Clauses of Changed elsewhere", "Rent", "1") {
		t.Fatalf("the contract's clauses: %q", b.rowTexts("Clauses of Changed elsewhere"))
	}

	// Export: the job's status until the file is ready, and its link works.
	b.choose("Format", "csv")
	b.click("Export")
	b.waitText("succeeded")
	link := eval[string](b, `[...document.querySelectorAll("main a")].find((a) => a.textContent === "Download the CSV file")?.href ?? ""`)
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/blobs/records/exports/") {
		t.Fatalf("download link %q", link)
	}
	// The link is on public_url (the configured address, not the test
	// server's): fetch the same path and signature from the test server.
	b.screenshot("record", 0)
	csv := testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+u.RequestURI(), "")
	if !strings.Contains(csv, "Changed elsewhere") || !strings.Contains(csv, "Rent") {
		t.Fatalf("the export holds %q", csv)
	}

	// All of a record's children, with filters; delete one (after a confirmation).
	b.click("All clauses, with filters")
	b.waitHeading("Clauses of Changed elsewhere")
	b.waitFor(`document.querySelector("main table")`)
	b.click("Rent")
	b.waitHeading("Clause: Rent")
	b.click("Delete")
	b.waitText("Delete this clause and everything under it?")
	b.click("Delete")
	b.waitHeading("Contract: Changed elsewhere")
	b.waitText("Clause deleted.")
	b.waitText("No clause yet.")

	// Refresh before expiry: a session whose access token expires within
	// the minute is refreshed through /auth/token when the page loads.
	refreshes := len(b.sent("POST " + n.URL + "/auth/token"))
	before, _ := b.session()["access"].(string)
	eval[any](b, `(() => { const s = JSON.parse(sessionStorage.getItem("tessera.console.session"));
	  s.expiresAt = Date.now() + 30000; sessionStorage.setItem("tessera.console.session", JSON.stringify(s)); })()`)
	b.do(chromedp.Reload())
	b.waitHeading("Contract: Changed elsewhere")
	b.waitFor(`JSON.parse(sessionStorage.getItem("tessera.console.session")).expiresAt > Date.now() + 120000`)
	if after, _ := b.session()["access"].(string); after == before || len(b.sent("POST "+n.URL+"/auth/token")) != refreshes+1 {
		t.Fatalf("no single refresh: token changed %v, POST /auth/token %d → %d", after != before, refreshes, len(b.sent("POST "+n.URL+"/auth/token")))
	}

	// A shared file's link (<public_url>/#/files/{id}) opens its page.
	up := testhttp.Send(t, http.MethodPost, n.URL+"/files", "hello, console", testhttp.Bearer(token), orgHeader(org),
		testhttp.ContentType("application/octet-stream"), func(r *http.Request) { r.Header.Set("X-File-Name", "notes.txt") })
	if up.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", up.Status, up.Body)
	}
	file := decode[struct{ ID string }](t, up.Body)
	b.goTo("/files/" + file.ID)
	b.waitHeading("notes.txt")
	b.waitText("14 bytes")
	if href := eval[string](b, `[...document.querySelectorAll("main a")].find((a) => a.textContent === "Download notes.txt")?.href ?? ""`); !strings.Contains(href, "sig=") {
		t.Fatalf("file download link %q", href)
	}

	// Sign out: the session is gone from the tab, the refresh token revoked.
	refresh, _ := b.session()["refresh"].(string)
	b.click("Sign out")
	b.waitHeading("Sign in")
	if s := b.session(); s != nil {
		t.Fatalf("session kept after sign-out: %v", s)
	}
	b.waitResponse("204 " + n.URL + "/auth/logout")
	body, err := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": refresh})
	if err != nil {
		t.Fatal(err)
	}
	if st, resp := testhttp.Do(t, http.MethodPost, n.URL+"/auth/token", string(body)); st/100 != 4 {
		t.Fatalf("the signed-out refresh token still works: %d %s", st, resp)
	}
}

// TestConsoleAdmin signs in with an admin API key and uses the admin
// views: the users list (search, disable), the audit log showing a record's
// creation, a job retried, and a mail rendered in its sandboxed frame.
func TestConsoleAdmin(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	const email = "grace@example.com"
	userID, token := n.SignUp(t, email, password, "Grace Hopper", "")
	org := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Navy"}`, testhttp.Bearer(token))).ID
	rec := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/records/contracts",
		`{"fields":{"title":"COBOL manual"}}`, testhttp.Bearer(token), orgHeader(org))).ID
	key, secret, err := n.Identity().AdminKeys.Create(t.Context(), "console test")
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, n.URL)
	b.load("/admin/users")
	b.waitHeading("Sign in")
	b.click("An admin API key")
	b.fill("Key id", key.ID)
	b.fill("Secret", "wrong")
	b.click("Sign in")
	b.waitFor(`document.querySelector('main [role="alert"]:not(.empty)')`)
	b.fill("Secret", secret)
	b.click("Sign in")
	b.waitHeading("Users")
	if nav := eval[[]string](b, `[...document.querySelectorAll('nav[aria-label="Apps"] a')].map((a) => a.textContent)`); len(nav) != 1 || nav[0] != "Admin" {
		t.Fatalf("an admin key's navigation: %q", nav)
	}
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Users", email, "Grace Hopper", "Active") {
		t.Fatalf("users: %q", b.rowTexts("Users"))
	}
	b.screenshot("admin-users", 0)

	// Search, then disable the user (after a confirmation).
	b.fill("Email contains", "nobody")
	b.click("Apply")
	b.waitText("No user matches.")
	b.fill("Email contains", "grace")
	b.click("Apply")
	b.waitFor(`document.querySelector("main table")`)
	b.click("Disable")
	b.waitText("They are signed out everywhere.")
	b.click("Disable")
	b.waitText(email + " is disabled and signed out everywhere.")
	u := decode[struct{ Disabled bool }](t, testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/admin/users/"+userID, "", testhttp.Basic(key.ID, secret)))
	if !u.Disabled || !b.hasRow("Users", email, "Disabled") {
		t.Fatalf("user disabled: API %v, rows %q", u.Disabled, b.rowTexts("Users"))
	}

	b.click("Organizations")
	b.waitHeading("Organizations")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Organizations", "Navy", org) {
		t.Fatalf("orgs: %q", b.rowTexts("Organizations"))
	}

	// The audit log, filtered by type, shows the record's creation.
	b.click("Events")
	b.waitHeading("Events")
	b.fill("Type", "records.record.created")
	b.click("Apply")
	// Wait for the filtered log, not the one shown before Apply.
	b.waitFiltered(`r.textContent.includes("records.record.created")`)
	if !b.hasRow("Events", "records.record.created", rec, org) {
		t.Fatalf("events: %q", b.rowTexts("Events"))
	}
	b.screenshot("admin-events", 0)

	// Jobs by state; retry a completed one.
	b.click("Jobs")
	b.waitHeading("Jobs")
	b.choose("State", "completed")
	b.click("Apply")
	// Wait for the filtered list, not the one shown before Apply.
	b.waitFiltered(`r.querySelector(".state")?.textContent === "completed"`)
	job := eval[string](b, `document.querySelector("main table tbody tr td").textContent`)
	b.click("Retry job " + job)
	b.waitText("Job " + job + " (")

	// Mails: the confirmation mail, rendered in a sandboxed frame, and as text.
	b.click("Mails")
	b.waitHeading("Mails")
	b.waitFor(`document.querySelector("main table")`)
	subject := eval[string](b, `[...document.querySelectorAll("main table a")].find((a) => a.textContent.includes("confirmation code"))?.textContent ?? ""`)
	code := mailtest.Code(t, n.Config.MailDir(), email)
	if !strings.HasSuffix(subject, code) {
		t.Fatalf("mail subject %q, code %s", subject, code)
	}
	b.click(subject)
	b.waitHeading(subject)
	frame := eval[map[string]string](b, `(() => { const f = document.querySelector("main iframe"); return {sandbox: f.getAttribute("sandbox"), srcdoc: f.srcdoc}; })()`)
	if frame["sandbox"] != "" || !strings.Contains(frame["srcdoc"], "<strong>"+code+"</strong>") {
		t.Fatalf("mail frame: %v", frame)
	}
	b.screenshot("admin-mail", 0)
	b.click("Text")
	b.waitText("Your confirmation code is: " + code)
}

// TestBrowserHarness proves the checks every console test relies on: a
// fetch from another host, console.error, an uncaught exception, an inline
// script the Content-Security-Policy blocks, and a missing asset are each
// reported (then forgotten, so this test passes).
func TestBrowserHarness(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.URL)
	b.load("/signin")
	if f := b.failures(false); len(f) != 0 {
		t.Fatalf("a clean page load reported %q", f)
	}
	eval[chromedp.Void](b, `(async () => {
	  await fetch("http://cdn.example.com/lib.js").catch(() => {});
	  console.error("boom");
	  setTimeout(() => { throw new Error("uncaught"); });
	  const s = document.createElement("script"); s.textContent = "window.inlined = 1"; document.head.append(s);
	  const l = document.createElement("link"); l.rel = "stylesheet"; l.href = "/console/x/missing.css"; document.head.append(l);
	  await new Promise((r) => setTimeout(r, 300));
	})()`)
	// The CSP blocks the foreign fetch before it leaves (reported as a
	// security error); without the CSP it would be a request to another
	// origin, reported too.
	want := []string{"http://cdn.example.com/lib.js", "console.error: boom", "Uncaught Error: uncaught", "Executing inline script violates", "/console/x/missing.css"}
	b.waitFor(`window.inlined === undefined`)
	missing := want
	for range 100 { // events arrive on their own goroutine
		got := b.failures(false)
		missing = slices.DeleteFunc(slices.Clone(want), func(w string) bool {
			return slices.ContainsFunc(got, func(f string) bool { return strings.Contains(f, w) })
		})
		if len(missing) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := b.failures(true); len(missing) != 0 {
		t.Errorf("not reported: %q; reported: %q", missing, got)
	}
}
