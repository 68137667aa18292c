package web_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	_ "image/jpeg" // the processed photo
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

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
	staff.signInAs("maria@example.com", "Maria")
	staff.click("Restaurants")
	staff.waitHeading("Seating board: Chez Maria") // staff land on their board
	waitLive(staff, "1")
	staff.waitText("No pending seating.")

	carl := newBrowser(t, n.URL)
	carl.signInAs("carl@example.com", "Carl")
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
	if got := carl.waitFieldError("When"); got == "" {
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

// writePNG writes a w×h PNG (a colour gradient) to a file in dir and returns its path.
func writePNG(t *testing.T, dir string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "front.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// claims are the claims of a JWT's payload (not verified: the test reads
// what the console holds).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return decode[map[string]any](t, string(raw))
}

// TestRestaurantsSetup drives a manager's setup in the console: Maria signs
// up with the restaurants-staff client (the sign-up form's App client),
// confirms and signs in; the restaurants page offers her to create a
// restaurant (an empty region refused next to Region); created, she is its
// manager, in her refreshed token too. She renames it and makes it
// public. A text file and a truncated PNG go up and are refused by the
// server (the old photo kept; the page tells why). Meanwhile she adds Sam as staff and cannot
// remove herself, the only manager (the 409 shown); she makes Sam a
// manager, then removes him; and Carl, a customer, finds the restaurant by
// region. Then a real PNG is processed: its thumbnail and photo appear at
// their sizes. The board links to the settings.
func TestRestaurantsSetup(t *testing.T) {
	t.Parallel()
	n, base := startPublicNode(t) // the photo's signed URLs name public_url
	const email = "maria@example.com"
	b := newBrowser(t, base)
	b.load("/signup?client=restaurants-staff")
	b.waitHeading("Create an account")
	if got := eval[string](b, controlJS("App client")+".value"); got != "restaurants-staff" {
		t.Fatalf("the sign-up's app client is %q", got)
	}
	b.fill("Name", "Maria")
	b.fill("Email", email)
	b.fill("Password", password)
	b.click("Sign up")
	b.waitHeading("Confirm your address")
	b.fill("Code", mailtest.Code(t, n.Config.MailDir(), email))
	b.click("Confirm")
	b.submitSignIn(email)
	b.waitHeading("Welcome, Maria")
	mariaID, _ := b.session()["user"].(map[string]any)["id"].(string)

	// A staff account without a restaurant: the way to create one.
	b.click("Restaurants")
	b.waitHeading("Find a restaurant")
	b.waitText("Your user id, for a manager to add you to their staff: " + mariaID)
	b.click("create your restaurant")
	b.waitHeading("Create your restaurant")
	b.waitFor(`document.querySelector('main form[aria-label="Create your restaurant"]')`)
	b.fill("Name", "Chez Maria")
	b.fill("Description", "Fish")
	b.click("Create the restaurant")
	if got := b.waitFieldError("Region"); got == "" {
		t.Fatal("no error next to an empty Region")
	}
	b.fill("Region", "north")
	b.click("Create the restaurant")
	b.waitHeading("Restaurant settings: Chez Maria")
	b.waitText("Chez Maria is created, and you are its manager.")
	access, _ := b.session()["access"].(string)
	if c := claims(t, access); c["custom:restaurantRole"] != "MANAGER" || c["custom:restaurantId"] == "" {
		t.Fatalf("the session's token after creating: %v", c)
	}
	restaurant, _ := claims(t, access)["custom:restaurantId"].(string)
	token := n.SignIn(t, email, password)
	type shown struct {
		Name, Visibility string
		ProfilePhotoURL  string `json:"profilePhotoUrl"`
	}
	get := func() shown {
		return decode[shown](t, testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/restaurants/"+restaurant, "", testhttp.Bearer(token)))
	}

	// Name and description; then public.
	b.fill("Name", "Chez Maria et Fils")
	b.fill("Description", "Fish from the harbour")
	b.click("Save")
	b.waitHeading("Restaurant settings: Chez Maria et Fils")
	b.waitText("Saved.")
	b.waitText("Private: only its staff see it")
	b.click("Make it public")
	b.waitText("Public: customers find it in NORTH and book tables.")
	if r := get(); r.Name != "Chez Maria et Fils" || r.Visibility != "PUBLIC" {
		t.Fatalf("the restaurant after the edits: %+v", r)
	}

	// A text file goes up; the server refuses it, and the page tells why
	// (the restaurant's photoRejection) next to the file control.
	dir := t.TempDir()
	text := filepath.Join(dir, "menu.txt")
	if err := os.WriteFile(text, []byte("soup, fish"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.uploadThrough("Photo", text, "Upload photo")
	if got := b.waitFieldError("Photo"); !strings.Contains(got, "The server refused menu.txt: not a PNG, JPEG or WebP image") {
		t.Fatalf("a text file's error: %q", got)
	}

	// A truncated PNG goes up; while the server checks it, the staff and a
	// customer's search are done (the page stays usable).
	photo := writePNG(t, dir, 1088, 612) // 16:9, small: it is decoded under -race too
	whole, err := os.ReadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "cut.png")
	if err := os.WriteFile(truncated, whole[:len(whole)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	b.uploadThrough("Photo", truncated, "Upload photo")
	b.waitText("Uploaded: the server checks and scales the photo")

	// Staff: Sam added as staff; removing the only manager is refused.
	samID, samToken := n.SignUp(t, "sam@example.com", password, "Sam", "restaurants-staff")
	b.fill("User id", samID)
	b.choose("Role", "STAFF")
	b.click("Add to the staff")
	b.waitText("Sam is on the staff as staff.")
	if got := eval[string](b, controlJS("User id")+".value"); got != "" {
		t.Fatalf("the form keeps %q after adding", got)
	}
	b.waitRow("Staff", "Sam", samID, "Staff")
	if !b.hasRow("Staff", "Maria (you)", mariaID, "Manager") {
		t.Fatalf("the staff: %q", b.rowTexts("Staff"))
	}
	if me := decode[struct{ Role string }](t, testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/restaurants/me", "", testhttp.Bearer(samToken))); me.Role != "STAFF" {
		t.Fatalf("Sam's role: %s", me.Role)
	}
	b.click("Remove Maria")
	b.click("Yes, remove")
	b.waitResponse("409 " + base + "/restaurants/" + restaurant + "/staff/" + mariaID)
	b.waitText("A restaurant keeps at least one manager")
	if !b.hasRow("Staff", "Maria (you)", "Manager") {
		t.Fatalf("the staff after the refusal: %q", b.rowTexts("Staff"))
	}
	// Sam made a manager, then removed: a customer again.
	b.click("Make Sam a manager")
	b.waitText("Sam is on the staff as a manager.")
	b.waitRow("Staff", "Sam", "Manager")
	b.click("Remove Sam")
	b.click("Yes, remove")
	b.waitText("Sam is removed from the staff.")
	b.waitRows("Staff", func(rows []string) bool { return len(rows) == 1 && rowWith("Maria (you)")(rows) })
	if me := decode[struct{ Role string }](t, testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/restaurants/me", "", testhttp.Bearer(samToken))); me.Role != "CUSTOMER" {
		t.Fatalf("after removing Sam: role %s", me.Role)
	}

	// A customer finds it by region.
	n.SignUp(t, "carl@example.com", password, "Carl", "restaurants-customer")
	carl := newBrowser(t, base)
	carl.signInAs("carl@example.com", "Carl")
	carl.click("Restaurants")
	carl.waitHeading("Find a restaurant")
	if strings.Contains(carl.mainText(), "Run a restaurant") {
		t.Fatal("a customer account is offered to create a restaurant")
	}
	carl.fill("Region", "north")
	carl.click("Find")
	carl.waitRow("Restaurants in north", "Chez Maria et Fils", "Fish from the harbour", "NORTH")

	// The truncated PNG's refusal; then a real PNG becomes a 1024 px photo
	// and a 256 px thumbnail.
	b.waitFor(`document.querySelector('form[aria-label="Upload a photo"] [role="alert"]')?.innerText.includes("The server refused cut.png: image data is truncated or corrupt")`)
	if r := get(); r.ProfilePhotoURL != "" {
		t.Fatalf("a truncated PNG became the photo: %+v", r)
	}
	b.uploadThrough("Photo", photo, "Upload photo")
	b.waitText("The new photo is in place.")
	b.waitFor(`document.getElementById("restaurant-thumbnail")?.complete && document.getElementById("restaurant-thumbnail").naturalWidth > 0`)
	if size := eval[[]int](b, `(() => { const i = document.getElementById("restaurant-thumbnail"); return [i.naturalWidth, i.naturalHeight]; })()`); size[0] != 256 || size[1] != 144 {
		t.Fatalf("the thumbnail is %v", size)
	}
	full := eval[string](b, `[...document.querySelectorAll("main a")].find((a) => a.textContent === "The photo in full (1024 pixels)")?.href ?? ""`)
	u, err := url.Parse(full)
	if err != nil || !strings.Contains(u.Path, "/restaurants/photos/"+restaurant+"/") {
		t.Fatalf("the photo's link %q", full)
	}
	img, format, err := image.DecodeConfig(strings.NewReader(testhttp.Expect(t, http.StatusOK, http.MethodGet, full, "")))
	if err != nil || format != "jpeg" || img.Width != 1024 || img.Height != 576 {
		t.Fatalf("the photo: %s %dx%d %v", format, img.Width, img.Height, err)
	}
	eval[chromedp.Void](b, `document.getElementById("visibility-h").scrollIntoView()`) // visibility, photo, staff
	b.screenshot("restaurants-settings", 0)

	// The board links back to the settings.
	b.click("Seating board")
	b.waitHeading("Seating board: Chez Maria et Fils")
	b.click("Restaurant settings")
	b.waitHeading("Restaurant settings: Chez Maria et Fils")
}
