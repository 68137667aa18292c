package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// stepTimeout bounds one browser step (a navigation, a wait for text): long
// enough for a loaded CI machine under -race, short enough to fail clearly.
const stepTimeout = 30 * time.Second

// browser is one headless Chromium tab on a node's console, recording what
// the page does that a test must see: every request (to check that none
// leaves the node's origin) and every problem (an uncaught exception, a
// console.error, a browser log error such as a Content-Security-Policy
// violation, a failed load, a 5xx answer, a 4xx answer to an asset).
//
// Ownership: mu guards the lists below it, written by chromedp's event
// goroutine and read by the test.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base *url.URL

	mu        sync.Mutex
	requests  []string          // "METHOD URL" in the order sent
	responses []string          // "STATUS URL" in the order received
	urls      map[string]string // request id → URL, for failures
	problems  []string
}

// chromiumPath is Debian's Chromium, or the test is skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("short: no browser")
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("chromium not installed (apt-get install -y chromium)")
	return ""
}

// newBrowser starts Chromium (headless, no sandbox, no GPU, no background
// networking, and a resolver that fails every host but 127.0.0.1: nothing
// can load from elsewhere) with a 1280×800 window, and checks at the end of
// the test that the page made no request to another origin and showed no
// problem.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, base: u, urls: map[string]string{}}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Listen(ctx, b.observe); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	b.do(chromedp.EmulateViewport(1280, 800))
	t.Cleanup(b.check)
	return b
}

// observe records one browser event; it runs on chromedp's reading
// goroutine, so it only appends under the lock.
func (b *browser) observe(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.Method+" "+ev.Request.URL)
		b.urls[string(ev.RequestID)] = ev.Request.URL
	case *network.EventLoadingFailed:
		if !ev.Canceled {
			b.problems = append(b.problems, fmt.Sprintf("load failed: %s: %s %s", b.urls[string(ev.RequestID)], ev.ErrorText, ev.BlockedReason))
		}
	case *network.EventResponseReceived:
		// A 4xx to fetch() is an API answer the console shows (a 422 next
		// to a field); to a document, script, style or image it is a bug.
		api := ev.Type == network.ResourceTypeFetch || ev.Type == network.ResourceTypeXHR
		r := ev.Response
		b.responses = append(b.responses, fmt.Sprintf("%d %s", r.Status, r.URL))
		if r.Status >= 500 || (!api && r.Status >= 400) {
			b.problems = append(b.problems, fmt.Sprintf("HTTP %d: %s %s", r.Status, ev.Type, r.URL))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("exception: %s (%s:%d)", text, d.URL, d.LineNumber+1))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				var text string
				if json.Unmarshal(a.Value, &text) != nil {
					text = string(a.Value) + a.Description
				}
				parts = append(parts, text)
			}
			b.problems = append(b.problems, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *log.EventEntryAdded:
		// Network entries repeat the API's 4xx answers the console shows
		// on purpose; network failures are caught above.
		if e := ev.Entry; e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork {
			b.problems = append(b.problems, fmt.Sprintf("browser log (%s): %s %s", e.Source, e.Text, e.URL))
		}
	}
}

// failures are the requests to another origin and the recorded problems
// so far; reset forgets them.
func (b *browser) failures(reset bool) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		_, raw, _ := strings.Cut(r, " ")
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "data" && u.Host != b.base.Host) {
			out = append(out, "request to another origin: "+r)
		}
	}
	out = append(out, b.problems...)
	if reset {
		b.requests, b.problems = nil, nil
	}
	return out
}

// check fails the test on a request to another origin or a recorded problem.
func (b *browser) check() {
	for _, f := range b.failures(false) {
		b.t.Errorf("browser: %s", f)
	}
}

// sent returns the requests sent so far whose "METHOD URL" contains part.
func (b *browser) sent(part string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		if strings.Contains(r, part) {
			out = append(out, r)
		}
	}
	return out
}

// waitResponse waits until the page received an answer whose "STATUS URL" contains part.
func (b *browser) waitResponse(part string) {
	b.t.Helper()
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b.mu.Lock()
		got := slices.ContainsFunc(b.responses, func(r string) bool { return strings.Contains(r, part) })
		b.mu.Unlock()
		if got {
			return
		}
	}
	b.t.Fatalf("browser: no response %q within %s", part, stepTimeout)
}

// do runs steps within stepTimeout, failing the test on an error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression (promises awaited) and decodes its result.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %.120s: %v", expr, err)
	}
	return v
}

// js quotes v as a JavaScript literal.
func js(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// load opens the console at route ("/signup") as a fresh page load.
func (b *browser) load(route string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base.String() + "/#" + route))
	b.waitFor(`document.querySelector("main h1")`)
}

// go changes the route within the page, as a link does.
func (b *browser) goTo(route string) {
	b.t.Helper()
	eval[chromedp.Void](b, `location.hash = `+js("#"+route))
}

// waitFor waits until the JavaScript expression is truthy.
func (b *browser) waitFor(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(stepTimeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("browser: waiting for %s: %v\nthe page shows:\n%s", expr, err, b.mainText())
	}
}

// mainText is the text of the page's main landmark (for failure messages).
func (b *browser) mainText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main")?.innerText ?? ""`))
	return s
}

// waitText waits until the main landmark shows text.
func (b *browser) waitText(text string) {
	b.t.Helper()
	b.waitFor(`document.querySelector("main")?.innerText.includes(` + js(text) + `)`)
}

// waitHeading waits until the page heading is text, then checks the page
// as every page must be: each form control has a label (or an aria-label).
func (b *browser) waitHeading(text string) {
	b.t.Helper()
	b.waitFor(`document.querySelector("main h1")?.textContent.trim() === ` + js(text))
	unlabelled := eval[[]string](b, `[...document.querySelectorAll("input, select, textarea")]
	  .filter((c) => c.type !== "hidden" && c.labels.length === 0 && !c.getAttribute("aria-label")).map((c) => c.outerHTML)`)
	if len(unlabelled) != 0 {
		b.t.Errorf("page %q has controls without a label: %q", text, unlabelled)
	}
}

// controlJS finds the control labelled label (by its label's text, through
// the label's for attribute: an unlabelled control cannot be found).
func controlJS(label string) string {
	return `(() => {
	  const l = [...document.querySelectorAll("main label")].find((l) =>
	    (l.querySelector(".label-text")?.textContent ?? l.textContent).trim() === ` + js(label) + `);
	  if (!l || !l.control) throw new Error("no control labelled " + ` + js(label) + `);
	  return l.control;
	})()`
}

// fill types value into the text control labelled label, replacing its content.
func (b *browser) fill(label, value string) {
	b.t.Helper()
	id := eval[string](b, `(() => { const c = `+controlJS(label)+`; c.value = ""; c.dispatchEvent(new Event("input", {bubbles: true})); return c.id; })()`)
	b.do(chromedp.SendKeys(chromedp.ID(id), value))
}

// choose sets the select (or date) control labelled label to value, as a person picking it does.
func (b *browser) choose(label, value string) {
	b.t.Helper()
	eval[chromedp.Void](b, `(() => { const c = `+controlJS(label)+`;
	  if (c.tagName === "SELECT" && ![...c.options].some((o) => o.value === `+js(value)+`)) throw new Error("no option " + `+js(value)+`);
	  c.value = `+js(value)+`; c.dispatchEvent(new Event("input", {bubbles: true})); c.dispatchEvent(new Event("change", {bubbles: true})); })()`)
}

// click clicks (with the mouse) the first button, link or label, in the
// header or the main landmark, whose text is text.
func (b *browser) click(text string) {
	b.t.Helper()
	const clickable = `*[self::button or self::a or self::label][normalize-space()=%s]`
	xpath := fmt.Sprintf(`//header//`+clickable+` | //main//`+clickable, xq(text), xq(text))
	b.do(chromedp.Click(chromedp.Search(xpath), chromedp.NodeVisible))
}

// xq quotes s for XPath 1.0 (no escapes: it picks the quote s lacks).
func xq(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}

// fieldError is the error shown next to the control labelled label: the
// text of the elements its aria-describedby names, when it is aria-invalid.
func (b *browser) fieldError(label string) string {
	b.t.Helper()
	return eval[string](b, `(() => { const c = `+controlJS(label)+`;
	  if (c.getAttribute("aria-invalid") !== "true") return "";
	  return (c.getAttribute("aria-describedby") || "").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim(); })()`)
}

// waitFieldError waits until the control labelled label is marked invalid
// and returns the error shown next to it.
func (b *browser) waitFieldError(label string) string {
	b.t.Helper()
	b.waitFor(`(() => { try { return ` + controlJS(label) + `.getAttribute("aria-invalid") === "true"; } catch { return false; } })()`)
	return b.fieldError(label)
}

// screenshot saves the viewport as docs/screenshots/name.png when
// TESSERA_SCREENSHOTS=1 (see docs/console.md); width, when not 0, is the
// viewport width to shoot at (a phone), restored to 1280 after.
func (b *browser) screenshot(name string, width int64) {
	b.t.Helper()
	if os.Getenv("TESSERA_SCREENSHOTS") != "1" {
		return
	}
	if width != 0 {
		b.do(chromedp.EmulateViewport(width, 844))
		defer b.do(chromedp.EmulateViewport(1280, 800))
	}
	// No focus ring or caret in the picture, and let layout settle.
	eval[chromedp.Void](b, `document.activeElement?.blur(); new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// sessionStorage reads the console's session as the page keeps it.
func (b *browser) session() map[string]any {
	b.t.Helper()
	var s map[string]any
	raw := eval[string](b, `sessionStorage.getItem("tessera.console.session") ?? "null"`)
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		b.t.Fatal(err)
	}
	return s
}

// rowTexts are the texts of the rows of the table captioned caption.
func (b *browser) rowTexts(caption string) []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll("main table")].filter((t) => t.caption?.textContent === `+js(caption)+`)
	  .flatMap((t) => [...t.tBodies[0].rows].map((r) => r.innerText))`)
}

// hasRow reports whether a row of the table captioned caption contains every part.
func (b *browser) hasRow(caption string, parts ...string) bool {
	b.t.Helper()
	return rowWith(parts...)(b.rowTexts(caption))
}

// socketSpy, run in the page before the console's modules, keeps every
// WebSocket the page opens (window.__sockets, so a test can drop one) and
// the frames each sent and received (__sockets[i].sent / .received), so a
// test sees what went over the wire, not only what the view shows.
const socketSpy = `(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.sent = [];
      this.received = [];
      this.addEventListener("message", (e) => this.received.push(JSON.parse(e.data)));
      window.__sockets.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
      super.send(data);
    }
  };
})()`

// spySockets installs socketSpy for every page the tab loads from now on.
func (b *browser) spySockets() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: socketSpy})
		return err
	}))
}

// submitSignIn fills the sign-in form the page shows (its own route, or
// any route while signed out) with email and the tests' password, and
// submits it from the keyboard.
func (b *browser) submitSignIn(email string) {
	b.t.Helper()
	b.waitHeading("Sign in")
	b.fill("Email", email)
	b.fill("Password", password+kb.Enter)
}

// signInAs signs a user in through the console's sign-in page and waits
// for the start page, which greets them by name.
func (b *browser) signInAs(email, name string) {
	b.t.Helper()
	b.load("/signin")
	b.submitSignIn(email)
	b.waitHeading("Welcome, " + name)
}

// waitRows waits until the rows of the table captioned caption pass ok
// (a list read again after a change replaces the one shown before).
func (b *browser) waitRows(caption string, ok func(rows []string) bool) {
	b.t.Helper()
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok(b.rowTexts(caption)) {
			return
		}
	}
	b.t.Fatalf("browser: the table %q shows %q after %s", caption, b.rowTexts(caption), stepTimeout)
}

// waitRow waits until a row of the table captioned caption contains every part.
func (b *browser) waitRow(caption string, parts ...string) {
	b.t.Helper()
	b.waitRows(caption, rowWith(parts...))
}

// rowWith is a waitRows test: a row contains every part.
func rowWith(parts ...string) func(rows []string) bool {
	return func(rows []string) bool {
		return slices.ContainsFunc(rows, func(r string) bool {
			for _, p := range parts {
				if !strings.Contains(r, p) {
					return false
				}
			}
			return true
		})
	}
}

// waitFiltered waits until the main landmark's table shows rows and every
// one passes rowTest, a JavaScript expression of the row r: the list an
// applied filter asked for, not the one shown before.
func (b *browser) waitFiltered(rowTest string) {
	b.t.Helper()
	b.waitFor(`(() => { const rows = [...document.querySelectorAll("main table tbody tr")];
		return rows.length > 0 && rows.every((r) => ` + rowTest + `); })()`)
}
