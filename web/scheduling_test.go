package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// openCalendar signs email in (the calendar's route shows the sign-in form
// in its place) and waits for the week of 2026-11-23 to be live, with the
// page's sockets recorded.
func openCalendar(t *testing.T, base, email string) *browser {
	t.Helper()
	b := newBrowser(t, base)
	b.spySockets()
	b.load("/scheduling?week=2026-11-23")
	b.submitSignIn(email)
	b.waitHeading("Calendar")
	b.landed()
	b.waitFor(`document.querySelector(".sch-live.live")`)
	return b
}

// landed waits until the shell moved the focus to the new page's heading
// (an effect that may run after the heading shows): keys typed before it
// would go to the heading.
func (b *browser) landed() {
	b.t.Helper()
	b.waitFor(`document.activeElement === document.querySelector("main h1")`)
}

// eventOn is the JavaScript of the calendar block titled title in the column of day (YYYY-MM-DD).
func eventOn(day, title string) string {
	return `[...document.querySelectorAll('.sch-day[data-day="` + day + `"] .sch-event')].find((e) => e.querySelector(".sch-title").textContent === ` + js(title) + `)`
}

// tableHas is the JavaScript of "the table captioned caption shows text".
func tableHas(caption, text string) string {
	return `[...document.querySelectorAll("main table")].some((t) => t.caption?.textContent === ` + js(caption) + ` && t.innerText.includes(` + js(text) + `))`
}

// point is a position in the viewport.
type point struct{ X, Y float64 }

// dayPoint is the viewport position of minutes after midnight in the column of day.
func (b *browser) dayPoint(day string, minutes int) point {
	b.t.Helper()
	return eval[point](b, fmt.Sprintf(`(() => { const r = document.querySelector('.sch-day[data-day="%s"]').getBoundingClientRect();
	  return {X: r.left + r.width / 2, Y: r.top + (%d - 6 * 60) / 60 * 40}; })()`, day, minutes))
}

// drag presses the left button at from, moves in steps to to, and releases it there.
func (b *browser) drag(from, to point) {
	b.t.Helper()
	left := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MouseMoved, from.X, from.Y), chromedp.MouseEvent(chromedp.MousePressed, from.X, from.Y, left, chromedp.ClickCount(1))}
	for i := 1; i <= 4; i++ {
		f := float64(i) / 4
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, from.X+(to.X-from.X)*f, from.Y+(to.Y-from.Y)*f, left))
	}
	b.do(append(steps, chromedp.MouseEvent(chromedp.MouseReleased, to.X, to.Y, left, chromedp.ClickCount(1)))...)
}

// TestConsoleScheduling drives the calendar in two browsers, signed in as
// two members of one org: resources and projects are listed and created;
// an event created through the form in one browser appears in the other's
// calendar without a reload; the other's socket is dropped, an event is
// booked meanwhile, and the reconnect (subscribing again with since)
// brings it; a conflicting create is refused with 409 and shown, naming
// the event in the way and marking it; an event is created by dragging
// over free time and moved by dragging, and both changes reach the other
// browser live, as does an event edited from the keyboard; a layout is
// drawn and edited with the mouse, the keyboard and its fields, and saved.
func TestConsoleScheduling(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	_, ada := n.SignUp(t, "ada@example.com", password, "Ada Lovelace", "")
	bobID, _ := n.SignUp(t, "bob@example.com", password, "Bob Bike", "")
	org := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Bike shop"}`, testhttp.Bearer(ada))).ID
	testhttp.Expect(t, http.StatusCreated, http.MethodPut, n.URL+"/orgs/"+org+"/members/"+bobID, `{"role":"member"}`, testhttp.Bearer(ada))
	bay := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/scheduling/resources",
		`{"name":"Bay 1","kind":"room"}`, testhttp.Bearer(ada), orgHeader(org))).ID

	// Resources and projects: the lists and the create forms.
	a := openCalendar(t, n.URL, "ada@example.com")
	a.click("Resources")
	a.waitHeading("Resources")
	a.landed()
	a.fill("Name", "Bay 2")
	a.fill("Kind", "room")
	a.click("Create resource")
	a.waitText("Bay 2 is created.")
	a.waitFor(tableHas("Resources", "Bay 2"))
	if !a.hasRow("Resources", "Bay 1", "room") || !a.hasRow("Resources", "Bay 2", "room") {
		t.Fatalf("resources shown: %q", a.rowTexts("Resources"))
	}
	a.click("Create resource")
	if got := a.waitFieldError("Name"); got == "" {
		t.Fatal("a resource without a name: no error next to Name")
	}
	a.click("Projects")
	a.waitHeading("Projects")
	a.landed()
	a.fill("Name", "Repairs")
	a.click("Create project")
	a.waitText("Repairs is created.")
	a.waitFor(tableHas("Projects", "Repairs"))
	if !a.hasRow("Projects", "Repairs", "live") {
		t.Fatalf("projects shown: %q", a.rowTexts("Projects"))
	}
	a.load("/scheduling?week=2026-11-23&resources=" + bay)
	a.waitHeading("Calendar")
	a.waitFor(`document.querySelector(".sch-live.live")`)

	b := openCalendar(t, n.URL, "bob@example.com")

	// Created in one browser (the keyboard's form), shown live in the other.
	a.fill("Title", "Fix Anna's bike")
	a.choose("Start", "2026-11-25T09:00")
	a.choose("End", "2026-11-25T10:00")
	a.click("Create event")
	a.waitText("“Fix Anna's bike” is booked.")
	b.waitFor(eventOn("2026-11-25", "Fix Anna's bike"))
	if got := eval[string](b, eventOn("2026-11-25", "Fix Anna's bike")+`.querySelector(".sch-time").textContent`); got != "09:00–10:00" {
		t.Fatalf("the event shows %q", got)
	}

	// A dropped socket resumes with since: what was booked meanwhile arrives.
	eval[chromedp.Void](b, `window.__sockets[0].close()`)
	start := eval[string](b, `new Date("2026-11-24T11:00").toISOString()`)
	end := eval[string](b, `new Date("2026-11-24T12:00").toISOString()`)
	testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/scheduling/events",
		`{"title":"Tyre change","start":"`+start+`","end":"`+end+`","resource_ids":["`+bay+`"]}`, testhttp.Bearer(ada), orgHeader(org))
	b.waitFor(eventOn("2026-11-24", "Tyre change"))
	b.waitFor(`document.querySelector(".sch-live.live")`)
	subs := eval[[]map[string]any](b, `window.__sockets.flatMap((s) => s.sent).filter((f) => f.action === "subscribe.events").map((f) => f.data)`)
	if len(subs) != 2 || subs[0]["since"] != nil || subs[1]["since"] == nil || subs[1]["since"] == "" {
		t.Fatalf("subscribes sent: %v (want one without since, then one with)", subs)
	}

	// A conflicting create is refused (409 double_booking) and shown.
	b.fill("Title", "Overlap")
	b.choose("Start", "2026-11-25T09:30")
	b.choose("End", "2026-11-25T10:30")
	b.click("Create event")
	b.waitFor(`document.querySelector('.sch-form [role="alert"]:not(.empty)')`)
	b.waitResponse("409 " + n.URL + "/scheduling/events")
	alert := eval[string](b, `document.querySelector('.sch-form [role="alert"]').innerText`)
	for _, want := range []string{"Double booking", "Fix Anna's bike", "09:00–10:00", "Bay 1"} {
		if !strings.Contains(alert, want) {
			t.Fatalf("the conflict shows %q, without %q", alert, want)
		}
	}
	if !eval[bool](b, eventOn("2026-11-25", "Fix Anna's bike")+`.classList.contains("conflict")`) {
		t.Fatal("the event in the way is not marked")
	}
	if eval[bool](b, eventOn("2026-11-25", "Overlap")+` !== undefined`) || eval[bool](a, eventOn("2026-11-25", "Overlap")+` !== undefined`) {
		t.Fatal("the refused event is shown")
	}
	b.screenshot("scheduling-conflict", 0)

	// Drag over free time: the form gets the range; the event reaches the other browser.
	a.drag(a.dayPoint("2026-11-26", 13*60), a.dayPoint("2026-11-26", 14*60+30))
	if got := eval[string](a, controlJS("Start")+`.value + " " + `+controlJS("End")+`.value`); got != "2026-11-26T13:00 2026-11-26T14:30" {
		t.Fatalf("the dragged range fills the form with %q", got)
	}
	a.waitFor(`document.activeElement === ` + controlJS("Title")) // named next, from the keyboard
	a.fill("Title", "Wheel truing")
	a.click("Create event")
	a.waitText("“Wheel truing” is booked.")
	b.waitFor(eventOn("2026-11-26", "Wheel truing"))

	// Drag an event to another day and hour: moved for both.
	from := b.dayPoint("2026-11-24", 11*60+30)
	to := b.dayPoint("2026-11-27", 15*60+30)
	b.drag(from, to)
	b.waitText("“Tyre change” is moved to")
	a.waitFor(eventOn("2026-11-27", "Tyre change") + `?.querySelector(".sch-time").textContent === "15:00–16:00"`)
	if eval[bool](a, eventOn("2026-11-24", "Tyre change")+` !== undefined`) {
		t.Fatal("the moved event stays on its old day")
	}
	a.screenshot("scheduling-week", 0)

	// From the keyboard: Enter on an event opens it in the form; saved, it moves for both.
	eval[chromedp.Void](b, eventOn("2026-11-26", "Wheel truing")+`.focus()`)
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitFor(`document.querySelector("#sch-form-title").textContent === "Edit event"`)
	b.waitFor(`document.activeElement === ` + controlJS("Title"))
	b.choose("Start", "2026-11-26T16:00")
	b.choose("End", "2026-11-26T17:00")
	b.click("Save event")
	b.waitText("“Wheel truing” is saved.")
	a.waitFor(eventOn("2026-11-26", "Wheel truing") + `?.querySelector(".sch-time").textContent === "16:00–17:00"`)

	// A layout: resources placed, one dragged, one moved with the arrow
	// keys, one set through its fields; saved with its version.
	a.click("Layouts")
	a.waitHeading("Layouts")
	a.landed()
	a.fill("Name", "Shop floor")
	a.click("Create layout")
	a.waitHeading("Shop floor")
	a.landed()
	a.choose("Resource to add", bay)
	a.click("Add to the plan")
	a.click("Add to the plan") // Bay 2, the one left
	a.waitFor(`document.querySelectorAll(".sch-item").length === 2`)
	a.choose("X", "300")
	item := func(name string) string { return `document.querySelector('.sch-item[data-resource="` + name + `"]')` }
	box := eval[point](a, `(() => { const r = `+item("Bay 1")+`.getBoundingClientRect(); return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`)
	a.drag(box, point{box.X + 60, box.Y})
	eval[chromedp.Void](a, item("Bay 1")+`.focus()`)
	a.do(chromedp.KeyEvent(kb.ArrowDown))
	a.waitFor(item("Bay 1") + `.getAttribute("aria-label").endsWith(", 30")`)
	a.click("Save layout")
	a.waitText("The layout is saved (version 2).")
	eval[chromedp.Void](a, `window.scrollTo(0, 0)`)
	a.screenshot("scheduling-layout", 0)
	layouts := decode[struct {
		Items []struct {
			ID    string `json:"id"`
			Items []struct {
				ResourceID string  `json:"resource_id"`
				X, Y, W, H float64 //nolint:tagliatelle // the API's own names
			} `json:"items"`
		} `json:"items"`
	}](t, testhttp.Expect(t, http.StatusOK, http.MethodGet, n.URL+"/scheduling/layouts", "", testhttp.Bearer(ada), orgHeader(org)))
	if len(layouts.Items) != 1 || len(layouts.Items[0].Items) != 2 {
		t.Fatalf("layouts saved: %+v", layouts.Items)
	}
	placed := layouts.Items[0].Items
	if placed[0].ResourceID != bay || placed[0].X <= 20 || placed[0].Y != 30 || placed[1].X != 300 || placed[1].W != 80 {
		t.Fatalf("items saved: %+v", placed)
	}
}
