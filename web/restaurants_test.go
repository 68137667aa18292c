package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// signInBrowser signs a user in through the console's form and waits for
// the start page.
func signInBrowser(b *browser, email, name string) {
	b.t.Helper()
	b.load("/signin")
	b.waitHeading("Sign in")
	b.fill("Email", email)
	b.fill("Password", password+kb.Enter)
	b.waitHeading("Welcome, " + name)
}

// dropLive closes the page's live sockets (as a network failure would)
// through the live module the page loaded; the console reconnects.
func dropLive(b *browser) {
	b.t.Helper()
	eval[any](b, `(async () => {
	  const u = performance.getEntriesByType("resource").map((e) => e.name).find((n) => n.endsWith("/apps/restaurants/live.js"));
	  (await import(u)).drop();
	  return true;
	})()`)
}

// waitLive waits until the live status says the socket is open and it is
// the page's nth connection.
func waitLive(b *browser, n string) {
	b.t.Helper()
	b.waitFor(`(() => { const s = document.getElementById("live-status");
	  return s?.dataset.state === "live" && s.dataset.connections === ` + js(n) + `; })()`)
}

// setUpRestaurant signs Maria up as staff, creates her restaurant in region
// NORTH through the API and makes it public; it returns its id.
func setUpRestaurant(t *testing.T, n *nodetest.Node) string {
	t.Helper()
	_, maria := n.SignUp(t, "maria@example.com", password, "Maria", "restaurants-staff")
	r := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/restaurants",
		`{"name":"Chez Maria","description":"Fish from the harbour","region":"NORTH"}`, testhttp.Bearer(maria)))
	testhttp.Expect(t, http.StatusOK, http.MethodPatch, n.URL+"/restaurants/"+r.ID+"/visibility", `{"visibility":"PUBLIC"}`, testhttp.Bearer(maria))
	return r.ID
}

// TestRestaurantsLiveBoard drives the restaurants views in two browsers: a
// customer finds a restaurant by region and books; the staff's board
// (another browser) shows the seating live, without a reload; the staff
// accept it while the customer's live socket is dropped, and the
// customer's view, having reconnected with its cursor, shows it accepted.
// The staff then seat it at a table (the customer's view resumes from its
// cursor after another drop), the customer calls the staff, the board shows
// the hail, the staff acknowledge it, take the order and close; the weekly
// numbers count it. A second seating booked through the API appears live
// in the customer's list, is cancelled there, and shows cancelled on the board.
func TestRestaurantsLiveBoard(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	restaurant := setUpRestaurant(t, n)
	_, carlToken := n.SignUp(t, "carl@example.com", password, "Carl", "restaurants-customer")

	staff := newBrowser(t, n.URL)
	signInBrowser(staff, "maria@example.com", "Maria")
	staff.click("Restaurants")
	staff.waitHeading("Seating board: Chez Maria") // staff land on their board
	waitLive(staff, "1")
	staff.waitText("No pending seating.")

	carl := newBrowser(t, n.URL)
	signInBrowser(carl, "carl@example.com", "Carl")
	carl.click("Restaurants")
	carl.waitHeading("Find a restaurant")
	carl.fill("Region", "north")
	carl.click("Find")
	carl.waitFor(`document.querySelector("main table")`)
	if !carl.hasRow("Restaurants in north", "Chez Maria", "Fish from the harbour", "NORTH") {
		t.Fatalf("the search shows %q", carl.rowTexts("Restaurants in north"))
	}
	carl.click("Book a table at Chez Maria")
	carl.waitHeading("Book at Chez Maria")

	// A seating in the past is the server's 422, shown next to When.
	carl.choose("When", "2020-01-01T19:00")
	carl.fill("Seats", "4")
	carl.fill("Notes", "window please")
	carl.click("Book")
	carl.waitFor(`document.querySelector('[aria-invalid="true"]')`)
	if got := carl.fieldError("When"); got == "" {
		t.Fatal("no error next to When for a time in the past")
	}
	when := time.Now().AddDate(0, 0, 2)
	day := when.Format("2006-01-02")
	carl.choose("When", day+"T19:00")
	carl.click("Book")
	carl.waitHeading("My seatings")
	carl.waitText("Booked at Chez Maria: the restaurant will confirm.")
	waitLive(carl, "1")
	carl.waitFor(`document.querySelector('[aria-label="My seatings"] tbody')?.innerText.includes("Chez Maria")`)
	if !carl.hasRow("My seatings", "Chez Maria", "4", "Pending", "window please") {
		t.Fatalf("my seatings: %q", carl.rowTexts("My seatings"))
	}

	// The board shows it live, in Pending.
	staff.waitFor(`document.querySelector('[aria-label="Pending seatings"] tbody tr')`)
	if !staff.hasRow("Pending seatings", "4", "window please") {
		t.Fatalf("the board's pending seatings: %q", staff.rowTexts("Pending seatings"))
	}
	staff.screenshot("restaurants-board", 0)

	// The customer's socket drops before any event reached it (no cursor);
	// the staff accept meanwhile; the customer's view reconnects, reloads
	// and shows the seating accepted.
	dropLive(carl)
	staff.click("Accept")
	staff.waitText("No pending seating.")
	if !staff.hasRow("Accepted seatings", "window please") {
		t.Fatalf("the board's accepted seatings: %q", staff.rowTexts("Accepted seatings"))
	}
	waitLive(carl, "2")
	carl.waitFor(`document.querySelector('[aria-label="My seatings"] tbody')?.innerText.includes("Accepted")`)

	// The customer's socket drops again, now with the accept event's cursor;
	// the staff seat them at table 12 meanwhile; the view resumes from the
	// cursor and shows it. They call the staff; the board alerts.
	dropLive(carl)
	label := eval[string](staff, `[...document.querySelectorAll("main label .label-text")].map((l) => l.textContent).find((t) => t.startsWith("Table for")) ?? ""`)
	staff.fill(label, "12")
	staff.click("Seat")
	staff.waitFor(`document.querySelector('[aria-label="Seated seatings"] tbody tr')`)
	waitLive(carl, "3")
	carl.waitText("Seated at table 12")
	carl.fill("Reason for calling the staff at Chez Maria", "the bill")
	carl.click("Call the staff")
	carl.waitText("The staff are called: the bill")
	staff.waitText("Table 12 calls the staff: the bill")
	staff.click("Acknowledge table 12")
	staff.waitFor(`!document.querySelector("main").innerText.includes("Table 12 calls the staff")`)
	staff.fill("Order of table 12", "soup\nfish")
	staff.click("Save the order")
	staff.waitFor(`document.querySelector('[aria-label="Seated seatings"] tbody')?.innerText.includes("soup, fish")`)
	staff.click("Close")
	staff.click("Yes, close it")
	staff.waitFor(`document.querySelector('[aria-label="Closed seatings"] tbody tr')`)
	carl.waitFor(`document.querySelector('[aria-label="My seatings"] tbody')?.innerText.includes("Closed")`)
	carl.screenshot("restaurants-customer", 0)
	if strings.Contains(eval[string](carl, `document.querySelector("main").innerText`), "Cancel seating") {
		t.Fatal("a closed seating offers Cancel")
	}

	// The weekly numbers of the seating's week: one (closed) seating on its
	// day, as a chart and as a table.
	staff.click("Weekly numbers")
	staff.waitFor(`document.querySelector("main h1")?.textContent.startsWith("Weekly numbers")`)
	monday := when.AddDate(0, 0, -(int(when.Weekday())+6)%7).Format("2006-01-02")
	staff.goTo("/restaurants/week?start=" + monday)
	staff.waitHeading("Weekly numbers: week of " + monday)
	staff.waitFor(`document.querySelector("main table")`)
	if !staff.hasRow("Seatings per day", when.Weekday().String()+"\t1") || !staff.hasRow("Seatings per day", "Monday") {
		t.Fatalf("the week's table: %q", staff.rowTexts("Seatings per day"))
	}
	if desc := eval[string](staff, `document.querySelector("main svg[role=img] desc")?.textContent ?? ""`); !strings.Contains(desc, when.Weekday().String()+": 1") {
		t.Fatalf("the chart's description: %q", desc)
	}
	staff.screenshot("restaurants-week", 0)

	// A second booking, made through the API, appears live in the
	// customer's list; they cancel it there, and the board shows it cancelled.
	testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/restaurants/"+restaurant+"/seatings",
		`{"seatingTime":"`+when.Add(time.Hour).UTC().Format(time.RFC3339)+`","numSeats":2,"notes":"a second one"}`, testhttp.Bearer(carlToken))
	carl.waitFor(`document.querySelector('[aria-label="My seatings"] tbody')?.innerText.includes("a second one")`)
	carl.click("Cancel seating")
	carl.click("Yes, cancel it")
	carl.waitFor(`document.querySelector('[aria-label="My seatings"] tbody')?.innerText.includes("Cancelled")`)
	if !carl.hasRow("My seatings", "a second one", "Cancelled") {
		t.Fatalf("my seatings after cancelling: %q", carl.rowTexts("My seatings"))
	}
	staff.click("Seating board")
	staff.waitFor(`document.querySelector('[aria-label="Cancelled seatings"] tbody')?.innerText.includes("a second one")`)
}
