package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// signInWithKey signs an admin API key in through the console's form.
func (b *browser) signInWithKey(id, secret string) {
	b.t.Helper()
	b.load("/admin/users")
	b.waitHeading("Sign in")
	b.click("An admin API key")
	b.fill("Key id", id)
	b.fill("Secret", secret)
	b.click("Sign in")
	b.waitHeading("Users")
}

// value is the value of the control labelled label.
func (b *browser) value(label string) string {
	b.t.Helper()
	return eval[string](b, controlJS(label)+".value")
}

// member is one item of GET /orgs/{id}/members.
type member struct {
	UserID string   `json:"user_id"`
	Role   string   `json:"role"`
	Level  int      `json:"level"`
	Groups []string `json:"groups"`
}

// members reads an org's members through the API, by user id.
func members(t *testing.T, base, org, token string) map[string]member {
	t.Helper()
	page := decode[struct{ Items []member }](t, testhttp.Expect(t, http.StatusOK, http.MethodGet, base+"/orgs/"+org+"/members", "", testhttp.Bearer(token)))
	out := map[string]member{}
	for _, m := range page.Items {
		out[m.UserID] = m
	}
	return out
}

// TestAdminKeysConsole creates an admin key in the console, reads its secret
// from the page (shown once) and uses it over HTTP, revokes it after a
// confirmation (the same call is then 401, the list shows it revoked), and
// finally revokes the console's own key, which warns first and signs out.
func TestAdminKeysConsole(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	key, secret, err := n.Identity().AdminKeys.Create(t.Context(), "console")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, n.URL)
	b.signInWithKey(key.ID, secret)

	b.click("API keys")
	b.waitHeading("API keys")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("API keys", "console", key.ID, "this console's key", "Live") {
		t.Fatalf("keys: %q", b.rowTexts("API keys"))
	}
	b.fill("Name", "backup")
	b.click("Create key")
	b.waitText("The secret is shown this once.")
	id, newSecret := b.value("Key id"), b.value("Secret")
	if id == "" || newSecret == "" || b.value("Basic credential (key_id:secret)") != id+":"+newSecret {
		t.Fatalf("shown: id %q, secret %q, credential %q", id, newSecret, b.value("Basic credential (key_id:secret)"))
	}
	b.waitFor(`document.querySelector("main table")?.innerText.includes("backup")`)
	eval[any](b, `window.scrollTo(0, 0)`)
	b.screenshot("admin-keys", 0)
	testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/admin/keys", "", testhttp.Basic(id, newSecret))

	// The secret goes once hidden; revoke the new key after a confirmation.
	b.click("I have copied it: hide the secret")
	if strings.Contains(b.mainText(), newSecret) {
		t.Fatal("the secret is still on the page")
	}
	b.click("Revoke backup")
	b.waitText("Revoke backup? Whoever uses it is refused from now on.")
	b.click("Revoke the key")
	b.waitText("Key backup (" + id + ") is revoked")
	testhttp.Expect(t, http.StatusUnauthorized, http.MethodGet, n.URL+"/admin/keys", "", testhttp.Basic(id, newSecret))
	if !b.hasRow("API keys", "backup", id, "Revoked") || b.hasRow("API keys", "backup", "Live") {
		t.Fatalf("keys after revoke: %q", b.rowTexts("API keys"))
	}

	// Revoking the console's own key says it signs out, then does.
	b.click("Revoke console")
	b.waitText("the key this console is signed in with? It signs you out at once.")
	b.click("Revoke the key")
	b.waitHeading("Sign in")
	b.waitText("You revoked the key this console was signed in with")
	if s := b.session(); s != nil {
		t.Fatalf("session kept after revoking its key: %v", s)
	}
	testhttp.Expect(t, http.StatusUnauthorized, http.MethodGet, n.URL+"/admin/keys", "", testhttp.Basic(key.ID, secret))
}

// TestOrgsMembers: an org's owner adds a member in the console, raises the
// member's level and their own, creates a group and puts the member in it,
// all seen through the API; a level out of range is shown next to its
// field and changes nothing; the plain member sees the page read-only.
func TestOrgsMembers(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ownerID, token := n.SignUp(t, "olga@example.com", password, "Olga Owner", "")
	memberID, _ := n.SignUp(t, "mia@example.com", password, "Mia Member", "")
	org := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Acme"}`, testhttp.Bearer(token))).ID

	b := newBrowser(t, n.URL)
	b.signInAs("olga@example.com", "Olga Owner")
	b.click("Members")
	b.waitHeading("Acme")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Members", ownerID+" (you)") {
		t.Fatalf("members: %q", b.rowTexts("Members"))
	}

	// Add Mia by id.
	b.fill("User id", memberID)
	b.choose("Role", "member")
	b.fill("Level", "5")
	b.click("Add member")
	b.waitText(memberID + " is added (member, level 5).")

	// Raise her level and the owner's own.
	b.fill("Level of "+memberID, "100")
	b.click("Save " + memberID)
	b.waitText(memberID + " is member at level 100.")
	b.fill("Level of "+ownerID, "250")
	b.click("Save " + ownerID)
	b.waitText(ownerID + " is owner at level 250.")

	// A level out of range: the 422 next to the field, nothing changed.
	b.fill("Level of "+memberID, "1000001")
	b.click("Save " + memberID)
	if got := b.waitFieldError("Level of " + memberID); got == "" {
		t.Fatal("no error next to the level out of range")
	}
	if got := b.fieldError("Level of " + ownerID); got != "" {
		t.Fatalf("the owner's level marked invalid: %q", got)
	}
	if m := members(t, n.URL, org, token)[memberID]; m.Level != 100 {
		t.Fatalf("an invalid level changed the member: %+v", m)
	}
	b.fill("Level of "+memberID, "100")
	b.click("Save " + memberID)
	b.waitFor(`!document.querySelector('main [aria-invalid="true"]')`)

	// A group, and Mia in it.
	b.fill("Group name", "Editors")
	b.click("Create group")
	b.waitText("Group Editors is created.")
	b.click(memberID + " in Editors")
	b.waitText(memberID + " is added to Editors.")
	eval[any](b, `window.scrollTo(0, 0)`)
	b.screenshot("org-members", 0)

	got := members(t, n.URL, org, token)
	if got[memberID].Level != 100 || got[memberID].Role != "member" || got[ownerID].Level != 250 || got[ownerID].Role != "owner" {
		t.Fatalf("members through the API: %+v", got)
	}
	if len(got[memberID].Groups) != 1 || len(got[ownerID].Groups) != 0 {
		t.Fatalf("groups through the API: %+v", got)
	}

	// Mia, a plain member, sees the page read-only.
	mia := newBrowser(t, n.URL)
	mia.signInAs("mia@example.com", "Mia Member")
	mia.click("Members")
	mia.waitHeading("Acme")
	mia.waitFor(`document.querySelector("main table")`)
	mia.waitText("this page is read-only for you")
	if !mia.hasRow("Members", memberID+" (you)", "member", "100") || !mia.hasRow("Members", ownerID, "owner", "250") {
		t.Fatalf("members as Mia sees them: %q", mia.rowTexts("Members"))
	}
	enabled := eval[[]string](mia, `[...document.querySelectorAll("main button, main input, main select, main textarea")]
	  .filter((c) => !c.disabled).map((c) => c.outerHTML)`)
	if len(enabled) != 0 {
		t.Fatalf("a plain member has enabled controls: %q", enabled)
	}
	if !eval[bool](mia, `document.querySelector("main table input[type=checkbox]:checked") !== null`) {
		t.Fatal("Mia's group is not shown")
	}
}

// TestOrgsAdmin: an admin key opens an org from the admin list, sees its
// members' emails, and acts as an owner: it raises a level and demoting the
// last owner is refused (409) and shown.
func TestOrgsAdmin(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ownerID, token := n.SignUp(t, "ivy@example.com", password, "Ivy", "")
	org := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Globex"}`, testhttp.Bearer(token))).ID
	key, secret, err := n.Identity().AdminKeys.Create(t.Context(), "console")
	if err != nil {
		t.Fatal(err)
	}
	st, body := testhttp.Do(t, http.MethodGet, n.URL+"/orgs/"+org+"/members", "", testhttp.Basic(key.ID, secret))
	b := newBrowser(t, n.URL)
	b.signInWithKey(key.ID, secret)
	b.click("Organizations")
	b.waitHeading("Organizations")
	b.click("Members of Globex")
	if st != http.StatusOK {
		t.Fatalf("an admin key on /orgs: %d %s", st, body)
	}
	b.waitHeading("Globex")
	b.waitFor(`document.querySelector("main table")`)
	if !b.hasRow("Members", "ivy@example.com", ownerID) {
		t.Fatalf("members: %q", b.rowTexts("Members"))
	}
	b.fill("Level of ivy@example.com", "100")
	b.click("Save ivy@example.com")
	b.waitText("ivy@example.com is owner at level 100.")
	b.choose("Role of ivy@example.com", "member")
	b.click("Save ivy@example.com")
	b.waitText("An org must keep at least one owner")
	if m := members(t, n.URL, org, token)[ownerID]; m.Level != 100 || m.Role != "owner" {
		t.Fatalf("the owner through the API: %+v", m)
	}
}
