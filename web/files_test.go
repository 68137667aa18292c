package web_test

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// startPublicNode is startNode served at its public_url too (base): signed
// download URLs and public links name public_url, and the console may only
// fetch its own origin (connect-src 'self'), as in production.
func startPublicNode(t *testing.T) (n *nodetest.Node, base string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + l.Addr().String()
	apps := all.Apps()
	n = nodetest.Start(t, nodetest.Config(t, store.EngineSQLite, apps, "TESSERA_PUBLIC_URL="+base), apps...)
	srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: stepTimeout}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() }) // before the node stops
	return n, base
}

// uploadThrough chooses path in the file control labelled label (as a
// person picking it does) and presses button.
func (b *browser) uploadThrough(label, path, button string) {
	b.t.Helper()
	id := eval[string](b, controlJS(label)+".id")
	b.do(chromedp.SetUploadFiles(chromedp.ID(id), []string{path}))
	b.click(button)
}

// TestConsoleFiles drives the file views in two browsers: Ann uploads a
// file into a folder with the progress bar reaching 100 %, finds it in the
// folder, uploads a second version (If-Match), shares it with Bob and makes
// a public link in the sharing dialog; Bob finds it under Shared with me and
// downloads it; Ann moves it to the trash and restores it; a file over 32 MiB
// goes through the direct-upload flow.
func TestConsoleFiles(t *testing.T) {
	t.Parallel()
	n, base := startPublicNode(t)
	_, annToken := n.SignUp(t, "ann@example.com", password, "Ann", "")
	bobID, _ := n.SignUp(t, "bob@example.com", password, "Bob", "")
	org := decode[struct{ ID string }](t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n.URL+"/orgs", `{"name":"Acme"}`,
		testhttp.Bearer(annToken))).ID
	testhttp.Expect(t, http.StatusCreated, http.MethodPut, n.URL+"/orgs/"+org+"/members/"+bobID, `{"role":"member","level":0}`,
		testhttp.Bearer(annToken))

	// A file of 3 MiB, so the upload reports progress on its way.
	dir := t.TempDir()
	v1 := strings.Repeat("Quarterly report, version 1.\n", 3<<20/29)
	v2 := "Quarterly report, version 2: revenue up.\n"
	p1, p2 := filepath.Join(dir, "report.txt"), filepath.Join(dir, "v2", "report.txt")
	if err := os.MkdirAll(filepath.Dir(p2), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, s := range map[string]string{p1: v1, p2: v2} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ann := newBrowser(t, base)
	ann.signInAs("ann@example.com", "Ann")
	ann.click("Files")
	ann.waitHeading("Files")
	ann.waitText("No file in this folder.")
	ann.fill("Folder", "/reports/2026")
	ann.uploadThrough("File", p1, "Upload")
	ann.waitText("Uploaded report.txt: version 1")
	if got := eval[[]float64](ann, `(() => { const p = document.querySelector("main form.upload progress"); return [p.value, p.max]; })()`); got[0] != float64(len(v1)) || got[1] != float64(len(v1)) {
		t.Fatalf("progress bar at %v, want %d of %d", got, len(v1), len(v1))
	}
	ann.waitText("100 %")
	// The upload went to its folder, which the view opens; the root lists it as a subfolder.
	ann.waitHeading("Files")
	ann.waitFor(`location.hash.includes("folder=%2Freports%2F2026")`)
	ann.waitRow("Files in /reports/2026", "report.txt", "3.0 MB", "text/plain")
	ann.click("All files")
	ann.waitText("reports/")
	ann.click("reports/")
	ann.waitText("2026/")
	ann.click("2026/")
	ann.waitFor(`[...document.querySelectorAll("main table")].some((t) => t.caption?.textContent === "Files in /reports/2026")`)
	ann.screenshot("files-browser", 0)

	// The file's page; a second version with If-Match.
	ann.click("report.txt")
	ann.waitHeading("report.txt")
	ann.waitFor(`document.querySelector("main table")`)
	ann.uploadThrough("New content", p2, "Upload new version")
	ann.waitText("Uploaded report.txt: version 2")
	ann.waitFor(`[...document.querySelectorAll("main table")].some((t) => t.caption?.textContent === "Versions" && t.tBodies[0].rows.length === 2)`)
	if got := ann.sent("PUT " + base + "/files/"); len(got) != 1 {
		t.Fatalf("new version requests: %q", got)
	}

	// Share with Bob, and a public link, in the sharing dialog.
	ann.click("Share…")
	ann.waitFor(`document.querySelector("dialog[open]")`)
	ann.fill("User id", bobID)
	ann.choose("Access", "read")
	ann.click("Share")
	ann.waitText("Shared with user " + bobID + " (read).")
	ann.waitRow("Shared with", bobID, "read")
	ann.click("Create link")
	ann.waitFor(`document.getElementById("files-new-link")`)
	link := eval[string](ann, `document.getElementById("files-new-link").textContent`)
	if st, body := testhttp.Do(t, http.MethodGet, link, ""); !strings.HasPrefix(link, base+"/files/links/") || st != http.StatusOK || body != v2 {
		t.Fatalf("public link %s: %d %.80q", link, st, body)
	}
	ann.screenshot("files-share", 0)
	ann.click("Close")
	ann.waitFor(`!document.querySelector("dialog[open]")`)

	// Bob finds it under Shared with me and downloads it.
	bob := newBrowser(t, base)
	bob.signInAs("bob@example.com", "Bob")
	bob.click("Files")
	bob.waitHeading("Files")
	bob.click("Shared with me")
	bob.waitHeading("Shared with me")
	bob.waitRow("Files shared with me", "report.txt", "/reports/2026", "read")
	bob.click("report.txt")
	bob.waitHeading("report.txt")
	bob.waitText("Download report.txt")
	got := eval[string](bob, `fetch([...document.querySelectorAll("main a")].find((a) => a.textContent === "Download report.txt").href).then((r) => r.text())`)
	if got != v2 {
		t.Fatalf("Bob downloaded %.80q", got)
	}
	if eval[bool](bob, `[...document.querySelectorAll("main button")].some((b) => ["Share…", "Move to trash"].includes(b.textContent))`) {
		t.Fatal("a reader is offered sharing or the trash")
	}

	// Ann trashes it; it leaves the folder and is in the trash; restored, it is back.
	ann.click("Move to trash")
	ann.click("Move to trash") // the confirmation
	ann.waitText("report.txt is in the trash.")
	ann.waitText("In the trash since")
	ann.click("Files")
	ann.waitHeading("Files")
	ann.click("Trash")
	ann.waitHeading("Trash")
	ann.waitRow("Files in the trash", "report.txt", "/reports/2026")
	ann.screenshot("files-trash", 0)
	ann.click("Restore")
	ann.waitText("report.txt is restored to /reports/2026.")
	ann.waitText("The trash is empty.")
	ann.goTo("/files?folder=/reports/2026")
	ann.waitRow("Files in /reports/2026", "report.txt", "41 bytes")

	// A large file goes through the direct-upload flow: a signed PUT URL
	// (here the node's own /blobs/), then complete.
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, make([]byte, 33<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ann.fill("Folder", "/raw")
	ann.uploadThrough("File", big, "Upload")
	ann.waitText("Uploaded big.bin: version 1, 33.0 MB.")
	ann.waitText("100 %")
	ann.waitRow("Files in /raw", "big.bin", "33.0 MB")
	for want, count := range map[string]int{
		"POST " + base + "/files/uploads":       2, // the signed URL, then complete
		"/complete":                             1,
		"PUT " + base + "/blobs/files/uploads/": 1,
	} {
		if got := ann.sent(want); len(got) != count {
			t.Fatalf("direct upload: requests %q, want %d %q", got, count, want)
		}
	}
}
