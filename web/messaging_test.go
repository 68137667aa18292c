package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// setOnline switches the tab's network state (navigator.onLine and the
// online/offline events), as a laptop losing and finding its Wi-Fi.
func (b *browser) setOnline(online bool) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: !online, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	}))
}

// chatLog is the chat's messages as shown: "id content" each, in order.
func (b *browser) chatLog() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('main ol[aria-label="Messages"] > li')]
	  .map((li) => li.dataset.id + " " + li.querySelector("p").textContent)`)
}

// say sends a chat message through the view's form and waits for its echo.
func (b *browser) say(text string) {
	b.t.Helper()
	b.fill("Message", text)
	b.click("Send")
	b.waitFor(`[...document.querySelectorAll('main ol[aria-label="Messages"] > li p')].some((p) => p.textContent === ` + js(text) + `)`)
}

// TestConsoleMessaging: two users in two browsers. Ada creates a room and
// adds Bob (an invitation he accepts from his rooms list); they chat live,
// each seeing the other's messages; Ada's connection drops while Bob writes
// three messages, and on resume (select_room with since = the last id she
// held) she gets exactly those three, once each, in order, over the wire
// and on screen. An empty message's 422 and a bad permission's show next
// to their fields. A reload shows the history. Then the rules editor bans
// Bob (his open chat says so at once), removes him, and the room is
// deleted.
func TestConsoleMessaging(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	adaID, adaToken := n.SignUp(t, "ada@example.com", password, "Ada Lovelace", "")
	bobID, _ := n.SignUp(t, "bob@example.com", password, "Bob Babbage", "")
	// Creating a room needs level 100 in the org (messaging.create_level);
	// an org's creator starts at level 0 and raises it as its owner.
	org := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Acme"}`, testhttp.Bearer(adaToken))).ID
	testhttp.Expect(t, http.StatusOK, http.MethodPut, n.URL+"/orgs/"+org+"/members/"+adaID, `{"role":"owner","level":100}`, testhttp.Bearer(adaToken))

	ada := newBrowser(t, n.URL)
	ada.spySockets()
	ada.signInAs("ada@example.com", "Ada Lovelace")
	ada.click("Messaging")
	ada.waitHeading("Rooms")
	ada.waitText("No room yet")
	ada.fill("Name", "Launch")
	ada.click("Create room")
	ada.waitHeading("Room: Launch")
	ada.waitText("No message yet: write the first.")
	room := strings.TrimPrefix(eval[string](ada, `location.hash`), "#/messaging/")

	// The rule editor: Bob as a user who reads and writes.
	ada.click("Members and rules")
	ada.waitHeading("Members of Launch")
	ada.fill("User or organization id", bobID)
	ada.fill("Permissions", "rwz")
	ada.click("Add member")
	if got := ada.waitFieldError("Permissions"); got == "" {
		t.Fatal("a bad permission's 422 is not shown next to the field")
	}
	ada.fill("Permissions", "rw")
	ada.click("Add member")
	ada.waitText(bobID + " is added (invited).")
	ada.waitFor(`[...document.querySelectorAll("main table tbody tr")].some((r) => r.innerText.includes(` + js(bobID) + `) && r.innerText.includes("Not yet"))`)
	if !ada.hasRow("Members", bobID, "User", "read, write", "Not yet") {
		t.Fatalf("members: %q", ada.rowTexts("Members"))
	}
	if got := eval[string](ada, controlJS("User or organization id")+".value"); got != "" {
		t.Fatalf("the editor keeps %q after adding", got)
	}
	eval[chromedp.Void](ada, `scrollTo(0, 0)`)
	ada.screenshot("messaging-members", 0)
	ada.click("Launch")
	ada.waitHeading("Room: Launch")
	ada.waitText("No message yet")

	// Bob accepts the invitation from his rooms list and opens the room.
	bob := newBrowser(t, n.URL)
	bob.signInAs("bob@example.com", "Bob Babbage")
	bob.click("Messaging")
	bob.waitHeading("Rooms")
	bob.waitFor(`document.querySelector("main table")`)
	if !bob.hasRow("Rooms", "Launch", "Invited") {
		t.Fatalf("Bob's rooms: %q", bob.rowTexts("Rooms"))
	}
	bob.click("Accept")
	bob.waitText("You joined Launch.")
	bob.click("Launch")
	bob.waitHeading("Room: Launch")
	bob.waitText("Live.")

	// Live both ways.
	ada.say("Hello Bob")
	bob.waitText("Hello Bob")
	bob.say("Hi Ada")
	ada.waitText("Hi Ada")
	before := ada.chatLog()
	if len(before) != 2 || !strings.HasSuffix(before[0], " Hello Bob") || !strings.HasSuffix(before[1], " Hi Ada") {
		t.Fatalf("Ada's chat before the drop: %q", before)
	}
	lastID, _, _ := strings.Cut(before[1], " ")

	// An empty message: the server's 422 next to the field.
	ada.click("Send")
	if got := ada.waitFieldError("Message"); !strings.Contains(got, "1 to 4000 characters") {
		t.Fatalf("empty message error %q", got)
	}

	// Ada's network goes and her socket drops; Bob writes meanwhile.
	ada.setOnline(false)
	eval[chromedp.Void](ada, `window.__sockets.at(-1).close()`)
	ada.waitText("Offline: the chat resumes when the network is back.")
	for _, m := range []string{"one", "two", "three"} {
		bob.say(m)
	}
	if got := ada.chatLog(); !slices.Equal(got, before) {
		t.Fatalf("Ada's chat changed while offline: %q", got)
	}

	// Back online: she resumes from the last id she held and gets exactly
	// the three messages, once each, in order.
	ada.setOnline(true)
	ada.waitText("three")
	ada.waitText("Live.")
	after := ada.chatLog()
	bobLog := bob.chatLog()
	if len(after) != 5 || !slices.Equal(after, bobLog) {
		t.Fatalf("after the resume Ada shows %q, Bob %q", after, bobLog)
	}
	resume := eval[map[string]any](ada, `(() => { const s = window.__sockets.at(-1);
	  return {sent: s.sent.filter((f) => f.type !== "token"), got: s.received.filter((f) => f.type === "message").map((f) => f.data.content)}; })()`)
	if got := js(resume["sent"]); got != `[{"room_id":`+room+`,"since":`+lastID+`,"type":"select_room"}]` {
		t.Fatalf("the resume sent %s (want select_room since %s)", got, lastID)
	}
	if got := js(resume["got"]); got != `["one","two","three"]` {
		t.Fatalf("the resumed socket received %s", got)
	}

	// And it is live again both ways.
	ada.say("Back")
	bob.waitText("Back")
	ada.screenshot("messaging-chat", 0)

	// History: a fresh load of the room shows the same conversation.
	bob.do(chromedp.Reload())
	bob.waitHeading("Room: Launch")
	bob.waitText("Back")
	if got, want := bob.chatLog(), ada.chatLog(); len(want) != 6 || !slices.Equal(got, want) {
		t.Fatalf("Bob's history after a reload %q, Ada's chat %q", got, want)
	}

	// The rules editor: Bob banned, his open chat is told at once.
	ada.click("Members and rules")
	ada.waitHeading("Members of Launch")
	ada.waitFor(`document.querySelector("main table")`)
	eval[chromedp.Void](ada, `document.querySelector(`+js(`[aria-label="Edit the rule of `+bobID+`"]`)+`).click()`)
	ada.waitText("Change the rule of " + bobID)
	ada.fill("Permissions", "b")
	ada.click("Save rule")
	ada.waitText(bobID + " is changed.")
	bob.waitText("You may not read this room: it does not exist, or your access was removed.")
	ada.waitFor(`[...document.querySelectorAll("main table tbody tr")].some((r) => r.innerText.includes(` + js(bobID) + `) && r.innerText.includes("banned"))`)

	// Removed (after a confirmation), then the room deleted.
	eval[chromedp.Void](ada, `[...document.querySelectorAll("main table tbody tr")].find((r) => r.innerText.includes(`+js(bobID)+`))
	  .querySelector("button.danger").click()`)
	ada.waitText("Remove " + bobID + " from the room?")
	eval[chromedp.Void](ada, `document.querySelector('main [role="group"] button.danger').click()`)
	ada.waitText(bobID + " is removed.")
	ada.waitFor(`![...document.querySelectorAll("main table tbody tr")].some((r) => r.innerText.includes(` + js(bobID) + `))`)
	ada.click("Delete room")
	ada.waitText("Delete this room, its rules and its history?")
	ada.click("Delete room")
	ada.waitHeading("Rooms")
	ada.waitText("Room Launch is deleted.")
	ada.waitText("No room yet")
}
