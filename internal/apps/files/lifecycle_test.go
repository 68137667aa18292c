package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/tessera-dev/tessera/internal/apps/files"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// Lifecycle tests: versions, renames, the trash and its purge, permanent
// deletes, the blob sweeper, the thumbnail and share-mail handlers and the
// admin collection. The helpers are prefixed "life".

// lifeWait bounds every poll of these tests.
const lifeWait = 15 * time.Second

// lifeCheap makes password hashing cheap: these tests sign many users up.
var lifeCheap = []string{"TESSERA_AUTH_ARGON2_TIME=1", "TESSERA_AUTH_ARGON2_MEMORY=8192"}

// lifeEngines runs fn on both engines with the filesystem blob store.
func lifeEngines(t *testing.T, fn func(t *testing.T, n *nodetest.Node)) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		fn(t, start(t, engine, lifeCheap...))
	})
}

// lifeBackend is a node's blob store seen from outside the app: through
// the blob package, and raw (the filesystem's object files, or the S3
// bucket's listing).
type lifeBackend struct {
	blobs  blob.Store
	dir    string           // the filesystem's objects directory; "" on S3
	bucket *blobtest.Bucket // S3 only
}

// lifeEverywhere runs fn on both engines with the filesystem blob store,
// and on SQLite with S3 (skipped without TESSERA_TEST_S3_URL).
func lifeEverywhere(t *testing.T, fn func(t *testing.T, n *nodetest.Node, b lifeBackend)) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		n := start(t, engine, lifeCheap...)
		fn(t, n, lifeOpenBackend(t, n, nil))
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		bk := blobtest.NewBucket(t)
		n := start(t, store.EngineSQLite, append([]string{"TESSERA_BLOBS=" + bk.URL.String(), "TESSERA_S3_ACCESS_KEY=" + bk.Access, "TESSERA_S3_SECRET_KEY=" + bk.Secret}, lifeCheap...)...)
		fn(t, n, lifeOpenBackend(t, n, &bk))
	})
}

func lifeOpenBackend(t *testing.T, n *nodetest.Node, bk *blobtest.Bucket) lifeBackend {
	t.Helper()
	bs, err := blob.Open(context.Background(), n.Config.Blobs, blob.Options{AccessKey: n.Config.S3.AccessKey, SecretKey: n.Config.S3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	b := lifeBackend{blobs: bs, bucket: bk}
	if bk == nil {
		u, err := url.Parse(n.Config.Blobs)
		if err != nil || u.Scheme != "file" {
			t.Fatalf("blobs %q: not a file:// URL", n.Config.Blobs)
		}
		b.dir = filepath.Join(filepath.FromSlash(u.Host+u.Path), "objects")
	}
	return b
}

// raw lists the keys under prefix as the backend itself has them: the
// object files on the filesystem, the bucket's listing on S3.
func (b lifeBackend) raw(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	if b.bucket != nil {
		for o := range b.bucket.Client.ListObjects(context.Background(), b.bucket.Name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("list %s: %v", prefix, o.Err)
			}
			keys = append(keys, o.Key)
		}
		return keys
	}
	err := filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(b.dir, p)
		if k := filepath.ToSlash(rel); err == nil && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// has reports whether key is stored (raw).
func (b lifeBackend) has(t *testing.T, key string) bool {
	t.Helper()
	return slices.Contains(b.raw(t, key), key)
}

// put stores an object the app knows nothing of.
func (b lifeBackend) put(t *testing.T, key, body string) {
	t.Helper()
	if _, err := b.blobs.Put(context.Background(), key, strings.NewReader(body), blob.PutOptions{}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// age makes key look d old; false on S3, where a client cannot.
func (b lifeBackend) age(t *testing.T, key string, d time.Duration) bool {
	t.Helper()
	if b.dir == "" {
		return false
	}
	old := time.Now().Add(-d)
	if err := os.Chtimes(filepath.Join(b.dir, filepath.FromSlash(key)), old, old); err != nil {
		t.Fatalf("age %s: %v", key, err)
	}
	return true
}

// lifeCount runs a COUNT query on the files app's tables.
func lifeCount(t *testing.T, n *nodetest.Node, query string, args ...any) int {
	t.Helper()
	var c int
	if err := n.Store().App("files").QueryRow(context.Background(), query, args...).Scan(&c); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return c
}

// lifeExec runs a statement on the files app's tables.
func lifeExec(t *testing.T, n *nodetest.Node, query string, args ...any) {
	t.Helper()
	if _, err := n.Store().App("files").Exec(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// lifeKeys are the blob keys of file id's versions, oldest first, and of
// their thumbnails (those made).
func lifeKeys(t *testing.T, n *nodetest.Node, id string) (versions, thumbs []string) {
	t.Helper()
	rows, err := n.Store().App("files").Query(context.Background(), `SELECT blob_key, thumbnail FROM files_versions WHERE file_id = ? ORDER BY version`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var thumb int
		if err := rows.Scan(&k, &thumb); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, k)
		if thumb == 1 {
			thumbs = append(thumbs, k+".thumb.jpg")
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return versions, thumbs
}

// lifeChange is the payload of the app's events.
type lifeChange struct {
	File      *files.File    `json:"file"`
	Version   *files.Version `json:"version"`
	Grant     *files.Grant   `json:"grant"`
	Previous  *files.File    `json:"previous"`
	Permanent bool           `json:"permanent"`
	Actor     string         `json:"actor"`
}

// lifeEvents reads the events of type typ about subject.
func lifeEvents(t *testing.T, n *nodetest.Node, subject, typ string) ([]events.Event, []lifeChange) {
	t.Helper()
	evs, err := n.Identity().Events.Read(context.Background(), "", events.Filter{Subject: subject, Types: []string{typ}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	changes := make([]lifeChange, len(evs))
	for i, e := range evs {
		mustJSON(t, string(e.Payload), &changes[i])
	}
	return evs, changes
}

// lifeEvent waits for an event of type typ about subject that match
// accepts, and returns it.
func lifeEvent(t *testing.T, n *nodetest.Node, subject, typ string, what string, match func(lifeChange) bool) (events.Event, lifeChange) {
	t.Helper()
	var seen []string
	for deadline := time.Now().Add(lifeWait); ; time.Sleep(20 * time.Millisecond) {
		evs, changes := lifeEvents(t, n, subject, typ)
		seen = seen[:0]
		for i, c := range changes {
			if match(c) {
				return evs[i], c
			}
			seen = append(seen, string(evs[i].Payload))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event about %s with %s; seen: %v", typ, subject, what, seen)
		}
	}
}

// lifeJobs lists the node's jobs.
func lifeJobs(t *testing.T, n *nodetest.Node) []jobs.Job {
	t.Helper()
	list, err := n.Jobs().List(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// lifeRunSchedule runs the schedule name now and waits for that run to
// complete (a failed attempt fails the test with its error).
func lifeRunSchedule(t *testing.T, n *nodetest.Node, name string) {
	t.Helper()
	var before int64
	for _, j := range lifeJobs(t, n) {
		before = max(before, j.ID)
	}
	if err := n.Jobs().RunSchedule(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(lifeWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, j := range lifeJobs(t, n) {
			if j.ID <= before || j.Kind != "schedule" || j.Name != name {
				continue
			}
			switch j.State {
			case jobs.StateCompleted:
				return
			case jobs.StateFailed, jobs.StateDead, jobs.StateCancelled:
				t.Fatalf("schedule %s: %s: %s", name, j.State, j.LastError)
			}
		}
	}
	t.Fatalf("schedule %s did not complete within %s", name, lifeWait)
}

// lifeHandlerJob waits for the job of handler for event eventID to be
// completed and returns it.
func lifeHandlerJob(t *testing.T, n *nodetest.Node, handler, eventID string, minAttempt int) jobs.Job {
	t.Helper()
	for deadline := time.Now().Add(lifeWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, j := range lifeJobs(t, n) {
			if j.Kind != "handler" || j.Name != handler || j.EventID != eventID {
				continue
			}
			if j.State == jobs.StateDead || j.State == jobs.StateFailed {
				t.Fatalf("handler %s of event %s: %s: %s", handler, eventID, j.State, j.LastError)
			}
			if j.State == jobs.StateCompleted && j.Attempt >= minAttempt {
				return j
			}
		}
	}
	t.Fatalf("handler %s of event %s: no completed job (attempt ≥ %d) within %s", handler, eventID, minAttempt, lifeWait)
	return jobs.Job{}
}

// lifeGet reads a file's metadata as u.
func lifeGet(t *testing.T, n *nodetest.Node, u user, id string) (testhttp.Response, files.File) {
	t.Helper()
	r := testhttp.Send(t, "GET", n.URL+"/files/"+id, "", u.as()...)
	var f files.File
	if r.Status == 200 {
		mustJSON(t, r.Body, &f)
	}
	return r, f
}

// lifeMustGet is lifeGet requiring 200.
func lifeMustGet(t *testing.T, n *nodetest.Node, u user, id string) files.File {
	t.Helper()
	r, f := lifeGet(t, n, u, id)
	if r.Status != 200 {
		t.Fatalf("GET /files/%s as %s: %d %s", id, u.email, r.Status, r.Body)
	}
	return f
}

// lifeStatus requires a request's status.
func lifeStatus(t *testing.T, want int, r testhttp.Response, what string) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, want)
	}
}

// lifeGrant shares file id as u.
func lifeGrant(t *testing.T, n *nodetest.Node, u user, id, typ, principal, access string) {
	t.Helper()
	testhttp.Expect(t, 200, "PUT", n.URL+"/files/"+id+"/grants",
		`{"principal_type":"`+typ+`","principal_id":"`+principal+`","access":"`+access+`"}`, u.as()...)
}

// lifeSpace creates a space (group) of owner's org with members.
func lifeSpace(t *testing.T, n *nodetest.Node, owner user, name string, members ...user) string {
	t.Helper()
	var g struct {
		ID string `json:"id"`
	}
	mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/orgs/"+owner.org+"/groups", `{"name":"`+name+`"}`, testhttp.Bearer(owner.token)), &g)
	for _, m := range members {
		testhttp.Expect(t, 201, "PUT", n.URL+"/orgs/"+owner.org+"/groups/"+g.ID+"/members/"+m.id, "", testhttp.Bearer(owner.token))
	}
	return g.ID
}

// lifeUsed is u's org's used_bytes.
func lifeUsed(t *testing.T, n *nodetest.Node, u user) int64 {
	t.Helper()
	var s files.Settings
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/settings", "", u.as()...), &s)
	return s.UsedBytes
}

// lifeList lists /files?query as u (one page) and returns the items.
func lifeList(t *testing.T, n *nodetest.Node, u user, query string) []files.File {
	t.Helper()
	var page struct {
		Items []files.File `json:"items"`
	}
	mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files?"+query, "", u.as()...), &page)
	return page.Items
}

// lifeIDs are the ids of list.
func lifeIDs(list []files.File) []string {
	ids := make([]string, len(list))
	for i, f := range list {
		ids[i] = f.ID
	}
	return ids
}

func lifeSHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// lifePNG encodes a w×h gradient as PNG.
func lifePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: 255}) //nolint:gosec // G115: < 256
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// lifeWaitThumbnail polls file id as u until it has a thumbnail.
func lifeWaitThumbnail(t *testing.T, n *nodetest.Node, u user, id string) files.File {
	t.Helper()
	for deadline := time.Now().Add(lifeWait); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if f := lifeMustGet(t, n, u, id); f.Thumbnail {
			return f
		}
	}
	t.Fatalf("file %s: no thumbnail within %s", id, lifeWait)
	return files.File{}
}

// lifeThumbSize downloads file id's thumbnail as u and returns its size,
// checking it is a JPEG.
func lifeThumbSize(t *testing.T, n *nodetest.Node, u user, id string) (w, h int) {
	t.Helper()
	r := testhttp.Send(t, "GET", n.URL+"/files/"+id+"/thumbnail", "", u.as()...)
	lifeStatus(t, 200, r, "GET thumbnail")
	if ct := r.Header.Get("Content-Type"); ct != "image/jpeg" {
		t.Fatalf("thumbnail Content-Type %q, want image/jpeg", ct)
	}
	img, err := jpeg.Decode(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("thumbnail is not a JPEG: %v", err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

// lifePut uploads body as a new version of file id as u.
func lifePut(t *testing.T, n *nodetest.Node, u user, id, contentType, body string, extra ...func(*http.Request)) testhttp.Response {
	t.Helper()
	return testhttp.Send(t, "PUT", n.URL+"/files/"+id+"/content", body, u.as(append([]func(*http.Request){header("Content-Type", contentType)}, extra...)...)...)
}

// TestLifecycleVersions proves that each new content is a new immutable
// version: the version list is newest first with each version's size,
// SHA-256 and author, and every old version still serves its own bytes.
func TestLifecycleVersions(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, _ lifeBackend) {
		ann, bob, carol := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com"), signUp(t, n, "carol@example.com")
		newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")
		join(t, n, ann, &carol, "member")
		bodies := []string{"first", "second, by bob", "the third and longest version"}
		authors := []user{ann, bob, ann}
		f := ann.mustUpload(t, n, "plan.txt", bodies[0])
		lifeGrant(t, n, ann, f.ID, "user", bob.id, "write")
		for i := 1; i < len(bodies); i++ {
			r := lifePut(t, n, authors[i], f.ID, "text/plain", bodies[i], header("If-Match", fmt.Sprintf(`"%d"`, i)))
			lifeStatus(t, 200, r, fmt.Sprintf("version %d", i+1))
		}

		var vs struct {
			Items []files.Version `json:"items"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", n.URL+"/files/"+f.ID+"/versions", "", bob.as()...), &vs)
		if len(vs.Items) != 3 {
			t.Fatalf("versions: %+v, want 3", vs.Items)
		}
		for i, v := range vs.Items {
			want := int64(3 - i)
			body, author := bodies[want-1], authors[want-1]
			if v.Version != want || v.Size != int64(len(body)) || v.SHA256 != lifeSHA(body) || v.CreatedBy != author.id || v.ContentType != "text/plain" {
				t.Errorf("versions[%d] = %+v, want version %d, size %d, sha256 %s, created_by %s", i, v, want, len(body), lifeSHA(body), author.id)
			}
			if i > 0 && v.CreatedAt.After(vs.Items[i-1].CreatedAt) {
				t.Errorf("versions not newest first: %v after %v", v.CreatedAt, vs.Items[i-1].CreatedAt)
			}
		}
		cur := lifeMustGet(t, n, bob, f.ID)
		if cur.Version != 3 || cur.Size != int64(len(bodies[2])) || cur.SHA256 != lifeSHA(bodies[2]) {
			t.Fatalf("current: %+v", cur)
		}
		for v, body := range bodies {
			r := testhttp.Send(t, "GET", fmt.Sprintf("%s/files/%s/content?version=%d", n.URL, f.ID, v+1), "", bob.as()...)
			if r.Status != 200 || r.Body != body || r.Header.Get("ETag") != `"`+lifeSHA(body)+`"` {
				t.Errorf("version %d after version 3: %d %q ETag %s, want %q with its SHA-256 as ETag", v+1, r.Status, r.Body, r.Header.Get("ETag"), body)
			}
		}
		if r := testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content", "", bob.as()...); r.Body != bodies[2] {
			t.Errorf("current content %q, want %q", r.Body, bodies[2])
		}
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content?version=4", "", bob.as()...), "version 4 of 3")
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/versions", "", carol.as()...), "versions for a member without access")
	})
}

// TestLifecycleRename proves renames and moves: under a current If-Match
// (200, a files.file.renamed event carrying the previous name and folder),
// a stale one (412, nothing changes), none (200); a PATCH that changes
// nothing is 200 at the same revision with no event; bad names are 422
// and only writers may rename.
func TestLifecycleRename(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann, bob, carol := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com"), signUp(t, n, "carol@example.com")
		newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")
		join(t, n, ann, &carol, "member")
		f := ann.mustUpload(t, n, "draft.txt", "text")
		lifeGrant(t, n, ann, f.ID, "user", bob.id, "read")
		patch := func(body string, extra ...func(*http.Request)) (testhttp.Response, files.File) {
			t.Helper()
			r := testhttp.Send(t, "PATCH", n.URL+"/files/"+f.ID, body, ann.as(extra...)...)
			var out files.File
			if r.Status == 200 {
				mustJSON(t, r.Body, &out)
			}
			return r, out
		}

		r, got := patch(`{"name":"Final.txt"}`, header("If-Match", `"1"`))
		lifeStatus(t, 200, r, "rename with the current If-Match")
		if got.Name != "Final.txt" || got.Folder != "/" || got.Revision != 2 || r.Header.Get("ETag") != `"2"` {
			t.Fatalf("renamed: %+v ETag %s", got, r.Header.Get("ETag"))
		}
		lifeEvent(t, n, f.ID, files.EventRenamed, "previous draft.txt in /", func(c lifeChange) bool {
			return c.Previous != nil && c.Previous.Name == "draft.txt" && c.Previous.Folder == "/" &&
				c.File != nil && c.File.Name == "Final.txt" && c.Actor == ann.id
		})

		r, _ = patch(`{"folder":"/elsewhere"}`, header("If-Match", `"1"`))
		lifeStatus(t, 412, r, "move with a stale If-Match")
		if cur := lifeMustGet(t, n, ann, f.ID); cur.Folder != "/" || cur.Revision != 2 {
			t.Fatalf("after the refused move: %+v", cur)
		}

		r, got = patch(`{"folder":"/Reports/2024/"}`)
		lifeStatus(t, 200, r, "move without If-Match")
		if got.Folder != "/Reports/2024" || got.Name != "Final.txt" || got.Revision != 3 {
			t.Fatalf("moved: %+v", got)
		}
		lifeEvent(t, n, f.ID, files.EventRenamed, "previous Final.txt in /", func(c lifeChange) bool {
			return c.Previous != nil && c.Previous.Name == "Final.txt" && c.Previous.Folder == "/" && c.File != nil && c.File.Folder == "/Reports/2024"
		})

		for _, body := range []string{`{"name":"Final.txt"}`, `{"name":"Final.txt","folder":"/Reports/2024"}`, `{}`} {
			r, got = patch(body, header("If-Match", `"3"`))
			lifeStatus(t, 200, r, "no-op PATCH "+body)
			if got.Revision != 3 || r.Header.Get("ETag") != `"3"` || got.Name != "Final.txt" {
				t.Fatalf("no-op PATCH %s: %+v ETag %s, want revision 3 unchanged", body, got, r.Header.Get("ETag"))
			}
		}
		if evs, _ := lifeEvents(t, n, f.ID, files.EventRenamed); len(evs) != 2 {
			t.Fatalf("%d renamed events, want 2 (no-op PATCHes emit none)", len(evs))
		}

		for _, body := range []string{`{"name":"a/b.txt"}`, `{"name":""}`, `{"name":".."}`, `{"name":"tab\there"}`, `{"folder":"no-slash"}`, `{"folder":"/a//b"}`} {
			r, _ := patch(body)
			lifeStatus(t, 422, r, "PATCH "+body)
		}
		lifeStatus(t, 403, testhttp.Send(t, "PATCH", n.URL+"/files/"+f.ID, `{"name":"bob.txt"}`, bob.as()...), "rename by a reader")
		lifeStatus(t, 404, testhttp.Send(t, "PATCH", n.URL+"/files/"+f.ID, `{"name":"carol.txt"}`, carol.as()...), "rename by a member without access")
		if cur := lifeMustGet(t, n, ann, f.ID); cur.Name != "Final.txt" || cur.Revision != 3 {
			t.Fatalf("after refused renames: %+v", cur)
		}
	})
}

// TestLifecycleTrashAndRestore proves the trash: only managers trash; a
// trashed file is 404 to readers but visible with deleted_at to managers,
// listed in ?trashed=true for managers only and never in the normal
// listing; restore brings it back for everyone.
func TestLifecycleTrashAndRestore(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, _ lifeBackend) {
		ann, bob, carol := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com"), signUp(t, n, "carol@example.com")
		newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")
		join(t, n, ann, &carol, "member")
		f := ann.mustUpload(t, n, "old.txt", "old bytes")
		lifeGrant(t, n, ann, f.ID, "user", bob.id, "read")
		lifeGrant(t, n, ann, f.ID, "user", carol.id, "manage")
		url := n.URL + "/files/" + f.ID

		lifeStatus(t, 403, testhttp.Send(t, "DELETE", url, "", bob.as()...), "trash by a reader")
		lifeStatus(t, 412, testhttp.Send(t, "DELETE", url, "", ann.as(header("If-Match", `"7"`))...), "trash with a stale If-Match")
		lifeStatus(t, 204, testhttp.Send(t, "DELETE", url, "", ann.as(header("If-Match", `"1"`))...), "trash")

		for _, path := range []string{"", "/content", "/versions"} {
			lifeStatus(t, 404, testhttp.Send(t, "GET", url+path, "", bob.as()...), "reader GET "+path+" of a trashed file")
		}
		for _, u := range []user{ann, carol} {
			got := lifeMustGet(t, n, u, f.ID)
			if got.DeletedAt == nil || got.Revision != 2 || got.Access != "manage" {
				t.Fatalf("%s sees the trashed file as %+v, want deleted_at set, revision 2", u.email, got)
			}
		}
		lifeEvent(t, n, f.ID, files.EventDeleted, "a non-permanent delete by ann", func(c lifeChange) bool {
			return !c.Permanent && c.Actor == ann.id && c.File != nil && c.File.DeletedAt != nil
		})
		for _, u := range []user{ann, bob, carol} {
			if ids := lifeIDs(lifeList(t, n, u, "")); slices.Contains(ids, f.ID) {
				t.Errorf("%s's listing shows the trashed file", u.email)
			}
		}
		for u, want := range map[*user]bool{&ann: true, &carol: true, &bob: false} {
			if got := slices.Contains(lifeIDs(lifeList(t, n, *u, "trashed=true")), f.ID); got != want {
				t.Errorf("%s's trash lists the file: %v, want %v", u.email, got, want)
			}
		}

		lifeStatus(t, 404, testhttp.Send(t, "POST", url+"/restore", "", bob.as()...), "restore by a reader")
		r := testhttp.Send(t, "POST", url+"/restore", "", carol.as()...)
		lifeStatus(t, 200, r, "restore by a manager")
		var back files.File
		mustJSON(t, r.Body, &back)
		if back.DeletedAt != nil || back.Revision != 3 {
			t.Fatalf("restored: %+v", back)
		}
		lifeEvent(t, n, f.ID, files.EventRestored, "a restore by carol", func(c lifeChange) bool { return c.Actor == carol.id })
		if r := testhttp.Send(t, "GET", url+"/content", "", bob.as()...); r.Status != 200 || r.Body != "old bytes" {
			t.Fatalf("reader after the restore: %d %q", r.Status, r.Body)
		}
		if ids := lifeIDs(lifeList(t, n, bob, "")); !slices.Contains(ids, f.ID) {
			t.Errorf("bob's listing after the restore lacks the file: %v", ids)
		}
		if ids := lifeIDs(lifeList(t, n, ann, "trashed=true")); len(ids) != 0 {
			t.Errorf("ann's trash after the restore: %v", ids)
		}
	})
}

// TestLifecycleTrashPurge proves the purge: a file trashed more than 30
// days ago is deleted with its rows and every version's blob, its bytes
// leave the org's usage and files.file.deleted is emitted with
// "permanent": true; one trashed 29 days ago stays.
func TestLifecycleTrashPurge(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, b lifeBackend) {
		ann := signUp(t, n, "ann@example.com")
		newOrg(t, n, &ann, "Acme")
		old := ann.mustUpload(t, n, "old.txt", "old one")
		lifeStatus(t, 200, lifePut(t, n, ann, old.ID, "text/plain", "old two!"), "second version")
		recent := ann.mustUpload(t, n, "recent.txt", "recent")
		kept := ann.mustUpload(t, n, "kept.txt", "never trashed")
		for _, f := range []files.File{old, recent} {
			lifeStatus(t, 204, testhttp.Send(t, "DELETE", n.URL+"/files/"+f.ID, "", ann.as()...), "trash "+f.Name)
		}
		used := lifeUsed(t, n, ann)
		oldKeys, _ := lifeKeys(t, n, old.ID)
		recentKeys, _ := lifeKeys(t, n, recent.ID)
		if len(oldKeys) != 2 || len(recentKeys) != 1 {
			t.Fatalf("blob keys: %v %v", oldKeys, recentKeys)
		}
		for _, k := range append(slices.Clone(oldKeys), recentKeys...) {
			if !b.has(t, k) {
				t.Fatalf("blob %s missing before the purge", k)
			}
		}
		now := time.Now()
		lifeExec(t, n, `UPDATE files_files SET deleted_at = ? WHERE id = ?`, now.AddDate(0, 0, -31).UnixMicro(), old.ID)
		lifeExec(t, n, `UPDATE files_files SET deleted_at = ? WHERE id = ?`, now.AddDate(0, 0, -29).UnixMicro(), recent.ID)

		lifeRunSchedule(t, n, "files.trash.purge")

		for _, tbl := range []string{"files_files WHERE id = ?", "files_versions WHERE file_id = ?"} {
			if c := lifeCount(t, n, `SELECT COUNT(*) FROM `+tbl, old.ID); c != 0 {
				t.Errorf("%s for the purged file: %d rows", tbl, c)
			}
		}
		for _, k := range oldKeys {
			if b.has(t, k) {
				t.Errorf("blob %s of the purged file is still stored", k)
			}
		}
		if left := b.raw(t, "files/"+old.ID+"/"); len(left) != 0 {
			t.Errorf("objects left under the purged file's prefix: %v", left)
		}
		lifeEvent(t, n, old.ID, files.EventDeleted, `"permanent":true`, func(c lifeChange) bool { return c.Permanent })
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+old.ID, "", ann.as()...), "the purged file")

		if got := lifeMustGet(t, n, ann, recent.ID); got.DeletedAt == nil {
			t.Errorf("the file trashed 29 days ago: %+v", got)
		}
		for _, k := range recentKeys {
			if !b.has(t, k) {
				t.Errorf("blob %s of the file trashed 29 days ago is gone", k)
			}
		}
		if r := testhttp.Send(t, "GET", n.URL+"/files/"+kept.ID+"/content", "", ann.as()...); r.Body != "never trashed" {
			t.Errorf("the untrashed file: %d %q", r.Status, r.Body)
		}
		if got, want := lifeUsed(t, n, ann), used-int64(len("old one")+len("old two!")); got != want {
			t.Errorf("used_bytes after the purge %d, want %d", got, want)
		}
		if ids := lifeIDs(lifeList(t, n, ann, "trashed=true")); !slices.Equal(ids, []string{recent.ID}) {
			t.Errorf("trash after the purge: %v, want [%s]", ids, recent.ID)
		}
	})
}

// TestLifecyclePermanentDelete proves DELETE ?permanent=true: it removes
// every version's blob and thumbnail, the rows, grants and links, gives
// the bytes back to the org, emits files.file.deleted (permanent), and
// respects If-Match and manage access; a trashed file can be deleted for
// good too.
func TestLifecyclePermanentDelete(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, b lifeBackend) {
		ann, bob := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com")
		newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")
		png1, png2 := lifePNG(t, 600, 400), lifePNG(t, 320, 480)
		r := ann.upload(t, n, "pic.png", "image/png", png1)
		lifeStatus(t, 201, r, "upload a PNG")
		var f files.File
		mustJSON(t, r.Body, &f)
		lifeWaitThumbnail(t, n, ann, f.ID)
		lifeStatus(t, 200, lifePut(t, n, ann, f.ID, "image/png", png2), "second version")
		lifeWaitThumbnail(t, n, ann, f.ID)
		lifeGrant(t, n, ann, f.ID, "user", bob.id, "read")
		var link files.Link
		mustJSON(t, testhttp.Expect(t, 201, "POST", n.URL+"/files/"+f.ID+"/links", `{}`, ann.as()...), &link)
		lu, err := url.Parse(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		linkURL := n.URL + lu.Path
		lifeStatus(t, 200, testhttp.Send(t, "GET", linkURL, ""), "the public link before the delete")

		keys, thumbs := lifeKeys(t, n, f.ID)
		if len(keys) != 2 || len(thumbs) != 2 {
			t.Fatalf("keys %v thumbnails %v, want 2 of each", keys, thumbs)
		}
		all := append(slices.Clone(keys), thumbs...)
		for _, k := range all {
			if !b.has(t, k) {
				t.Fatalf("blob %s missing before the delete", k)
			}
		}
		used := lifeUsed(t, n, ann)

		url := n.URL + "/files/" + f.ID + "?permanent=true"
		lifeStatus(t, 403, testhttp.Send(t, "DELETE", url, "", bob.as()...), "permanent delete by a reader")
		lifeStatus(t, 412, testhttp.Send(t, "DELETE", url, "", ann.as(header("If-Match", `"1"`))...), "permanent delete with a stale If-Match")
		if c := lifeCount(t, n, `SELECT COUNT(*) FROM files_versions WHERE file_id = ?`, f.ID); c != 2 || !b.has(t, keys[0]) {
			t.Fatalf("the refused delete removed something: %d versions, blob %v", c, b.has(t, keys[0]))
		}
		lifeStatus(t, 204, testhttp.Send(t, "DELETE", url, "", ann.as(header("If-Match", `"2"`))...), "permanent delete")

		for _, q := range []string{"files_files WHERE id = ?", "files_versions WHERE file_id = ?", "files_grants WHERE file_id = ?", "files_links WHERE file_id = ?"} {
			if c := lifeCount(t, n, `SELECT COUNT(*) FROM `+q, f.ID); c != 0 {
				t.Errorf("%s: %d rows left", q, c)
			}
		}
		for _, k := range all {
			if b.has(t, k) {
				t.Errorf("blob %s still stored after the permanent delete", k)
			}
		}
		if left := b.raw(t, "files/"+f.ID+"/"); len(left) != 0 {
			t.Errorf("objects left under the file's prefix: %v", left)
		}
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+f.ID, "", ann.as()...), "owner GET after the delete")
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/content", "", bob.as()...), "grantee download after the delete")
		lifeStatus(t, 404, testhttp.Send(t, "GET", linkURL, ""), "the public link after the delete")
		if got, want := lifeUsed(t, n, ann), used-int64(len(png1)+len(png2)); got != want {
			t.Errorf("used_bytes %d after the delete, want %d", got, want)
		}
		lifeEvent(t, n, f.ID, files.EventDeleted, "a permanent delete by ann", func(c lifeChange) bool { return c.Permanent && c.Actor == ann.id })

		g := ann.mustUpload(t, n, "trashed.txt", "in the trash")
		gKeys, _ := lifeKeys(t, n, g.ID)
		lifeStatus(t, 204, testhttp.Send(t, "DELETE", n.URL+"/files/"+g.ID, "", ann.as()...), "trash")
		lifeStatus(t, 204, testhttp.Send(t, "DELETE", n.URL+"/files/"+g.ID+"?permanent=true", "", ann.as()...), "delete a trashed file for good")
		if c := lifeCount(t, n, `SELECT COUNT(*) FROM files_files WHERE id = ?`, g.ID); c != 0 || b.has(t, gKeys[0]) {
			t.Errorf("trashed file deleted for good: %d rows, blob stored %v", c, b.has(t, gKeys[0]))
		}
		if got := lifeUsed(t, n, ann); got != used-int64(len(png1)+len(png2)) {
			t.Errorf("used_bytes %d after deleting the trashed file, want %d", got, used-int64(len(png1)+len(png2)))
		}
	})
}

// TestLifecycleSweep proves the sweeper: an object under files/ that no
// row names (what a crash between a delete's commit and its blob deletes,
// or between an upload's bytes and its commit, leaves) is removed once
// older than 24 h, a younger one stays, and every blob a version or a
// thumbnail names is kept and still downloads. On S3 objects cannot be
// aged from a client: there the scheduled sweep is shown to keep
// everything young, and the sweeper itself (files.Service.Sweep) is run
// with a cutoff past the objects.
func TestLifecycleSweep(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, b lifeBackend) {
		ann := signUp(t, n, "ann@example.com")
		newOrg(t, n, &ann, "Acme")
		txt := ann.mustUpload(t, n, "keep.txt", "version one")
		lifeStatus(t, 200, lifePut(t, n, ann, txt.ID, "text/plain", "version two"), "second version")
		pic := ann.upload(t, n, "pic.png", "image/png", lifePNG(t, 300, 200))
		lifeStatus(t, 201, pic, "upload a PNG")
		var img files.File
		mustJSON(t, pic.Body, &img)
		lifeWaitThumbnail(t, n, ann, img.ID)

		var named []string
		for _, id := range []string{txt.ID, img.ID} {
			keys, thumbs := lifeKeys(t, n, id)
			named = append(append(named, keys...), thumbs...)
		}
		orphans := []string{
			"files/" + uuid.NewString() + "/" + uuid.NewString(),      // a version whose commit never came
			"files/" + img.ID + "/" + uuid.NewString() + ".thumb.jpg", // a thumbnail of a deleted version
			"files/uploads/" + uuid.NewString(),                       // a direct upload no row names
			"files/" + txt.ID + "/" + uuid.NewString(),                // under a live file's prefix
		}
		fresh := "files/" + uuid.NewString() + "/" + uuid.NewString()
		for _, k := range append(slices.Clone(orphans), fresh) {
			b.put(t, k, "orphan bytes")
		}

		aged := true
		for _, k := range append(slices.Clone(orphans), named...) {
			aged = b.age(t, k, 48*time.Hour) && aged
		}
		lifeRunSchedule(t, n, "files.blobs.sweep")
		if !aged {
			// S3: nothing is 24 h old; the scheduled sweep removes nothing.
			for _, k := range orphans {
				if !b.has(t, k) {
					t.Errorf("S3: the scheduled sweep removed %s, younger than 24 h", k)
				}
			}
			svc := files.NewService(n.Store().App("files"), n.Identity().Events, b.blobs, nil, nil, files.Options{})
			removed, err := svc.Sweep(context.Background(), -time.Minute)
			if err != nil {
				t.Fatalf("files.Service.Sweep: %v", err)
			}
			if removed != len(orphans)+1 {
				t.Errorf("S3: Sweep removed %d objects, want %d (the orphans)", removed, len(orphans)+1)
			}
			t.Log("S3: objects cannot be aged from a client; the sweep ran with a cutoff past them (files.Service.Sweep)")
		}
		for _, k := range orphans {
			if b.has(t, k) {
				t.Errorf("orphan %s survived the sweep", k)
			}
		}
		if aged && !b.has(t, fresh) {
			t.Errorf("an orphan younger than 24 h (%s) was swept", fresh)
		}
		for _, k := range named {
			if !b.has(t, k) {
				t.Errorf("the sweep removed %s, which a version names", k)
			}
		}
		for v, body := range []string{"version one", "version two"} {
			r := testhttp.Send(t, "GET", fmt.Sprintf("%s/files/%s/content?version=%d", n.URL, txt.ID, v+1), "", ann.as()...)
			if r.Status != 200 || r.Body != body {
				t.Errorf("version %d after the sweep: %d %q", v+1, r.Status, r.Body)
			}
		}
		lifeStatus(t, 200, testhttp.Send(t, "GET", n.URL+"/files/"+img.ID+"/content", "", ann.as()...), "the image after the sweep")
		if w, h := lifeThumbSize(t, n, ann, img.ID); max(w, h) != files.ThumbnailSize {
			t.Errorf("thumbnail after the sweep: %dx%d", w, h)
		}
	})
}

// TestHandlersThumbnails proves the thumbnail handler: a PNG upload gets
// a JPEG thumbnail whose longer side is 256 px, a text file never gets
// one (404), and a new image version gets its own.
func TestHandlersThumbnails(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, b lifeBackend) {
		ann, bob, carol := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com"), signUp(t, n, "carol@example.com")
		newOrg(t, n, &ann, "Acme")
		join(t, n, ann, &bob, "member")
		join(t, n, ann, &carol, "member")
		r := ann.upload(t, n, "photo.png", "image/png", lifePNG(t, 600, 400))
		lifeStatus(t, 201, r, "upload a PNG")
		var f files.File
		mustJSON(t, r.Body, &f)
		if f.ContentType != "image/png" {
			t.Fatalf("content type %q", f.ContentType)
		}
		lifeWaitThumbnail(t, n, ann, f.ID)
		if w, h := lifeThumbSize(t, n, ann, f.ID); w != 256 || (h != 170 && h != 171) {
			t.Errorf("thumbnail of 600×400: %d×%d, want 256×171", w, h)
		}
		lifeGrant(t, n, ann, f.ID, "user", bob.id, "read")
		lifeThumbSize(t, n, bob, f.ID)
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/thumbnail", "", carol.as()...), "thumbnail for a member without access")

		txt := ann.mustUpload(t, n, "notes.txt", "just text")
		e, _ := lifeEvent(t, n, txt.ID, files.EventUploaded, "the upload", func(lifeChange) bool { return true })
		lifeHandlerJob(t, n, "files.thumbnail", e.ID, 1)
		if got := lifeMustGet(t, n, ann, txt.ID); got.Thumbnail {
			t.Errorf("a text file has a thumbnail: %+v", got)
		}
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+txt.ID+"/thumbnail", "", ann.as()...), "thumbnail of a text file")
		if keys := b.raw(t, "files/"+txt.ID+"/"); len(keys) != 1 {
			t.Errorf("objects of the text file: %v, want its one version", keys)
		}

		r = lifePut(t, n, ann, f.ID, "image/png", lifePNG(t, 300, 600))
		lifeStatus(t, 200, r, "new image version")
		var v2 files.File
		mustJSON(t, r.Body, &v2)
		if v2.Version != 2 || v2.Thumbnail {
			t.Errorf("new version answer: %+v, want version 2 without a thumbnail yet", v2)
		}
		lifeWaitThumbnail(t, n, ann, f.ID)
		if w, h := lifeThumbSize(t, n, bob, f.ID); h != 256 || w != 128 {
			t.Errorf("thumbnail of the 300×600 version: %d×%d, want 128×256", w, h)
		}
		_, thumbs := lifeKeys(t, n, f.ID)
		if len(thumbs) != 2 {
			t.Errorf("thumbnails %v, want one per version", thumbs)
		}
		for _, k := range thumbs {
			if !b.has(t, k) {
				t.Errorf("thumbnail %s not stored", k)
			}
		}

		r = lifePut(t, n, ann, f.ID, "text/plain", "now text")
		lifeStatus(t, 200, r, "text version over an image")
		e, _ = lifeEvent(t, n, f.ID, files.EventVersionAdded, "version 3", func(c lifeChange) bool { return c.Version != nil && c.Version.Version == 3 })
		lifeHandlerJob(t, n, "files.thumbnail.version", e.ID, 1)
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+f.ID+"/thumbnail", "", ann.as()...), "thumbnail of a text version")
	})
}

// lifeMailKey names a mail by recipient and subject.
func lifeMailKey(to, subject string) string { return strings.ToLower(to) + " | " + subject }

// lifeSubject is the share mail's subject.
func lifeSubject(sharer user, name string) string {
	return sharer.email + ` shared "` + name + `" with you`
}

// TestHandlersShareMails proves the share mails: a user grant mails the
// grantee, an org grant every member but the sharer (the owner included
// when someone else shares), a space grant the space's members but the
// sharer; re-running a handler mails nobody twice.
func TestHandlersShareMails(t *testing.T) {
	t.Parallel()
	lifeEverywhere(t, func(t *testing.T, n *nodetest.Node, _ lifeBackend) {
		ann, bob := signUp(t, n, "ann@example.com"), signUp(t, n, "bob@example.com")
		carol, dave := signUp(t, n, "carol@example.com"), signUp(t, n, "dave@example.com")
		newOrg(t, n, &ann, "Acme")
		for _, u := range []*user{&bob, &carol, &dave} {
			join(t, n, ann, u, "member")
		}
		space := lifeSpace(t, n, ann, "Design", ann, carol, dave)
		forBob := ann.mustUpload(t, n, "for-bob.txt", "1")
		forAll := ann.mustUpload(t, n, "for-everyone.txt", "2")
		forDesign := ann.mustUpload(t, n, "for-design.txt", "3")

		lifeGrant(t, n, ann, forBob.ID, "user", bob.id, "read")
		lifeGrant(t, n, ann, forAll.ID, "user", bob.id, "manage")
		lifeGrant(t, n, bob, forAll.ID, "org", ann.org, "read")
		lifeGrant(t, n, ann, forDesign.ID, "space", space, "read")

		want := map[string]int{
			lifeMailKey(bob.email, lifeSubject(ann, "for-bob.txt")):        1,
			lifeMailKey(bob.email, lifeSubject(ann, "for-everyone.txt")):   1, // the manage grant
			lifeMailKey(ann.email, lifeSubject(bob, "for-everyone.txt")):   1, // the owner, not the sharer
			lifeMailKey(carol.email, lifeSubject(bob, "for-everyone.txt")): 1,
			lifeMailKey(dave.email, lifeSubject(bob, "for-everyone.txt")):  1,
			lifeMailKey(carol.email, lifeSubject(ann, "for-design.txt")):   1,
			lifeMailKey(dave.email, lifeSubject(ann, "for-design.txt")):    1,
		}
		dir := n.Config.MailDir()
		mailtest.Wait(t, dir, bob.email, `"for-bob.txt"`)
		for _, u := range []user{ann, carol, dave} {
			mailtest.Wait(t, dir, u.email, `"for-everyone.txt"`)
		}
		for _, u := range []user{carol, dave} {
			mailtest.Wait(t, dir, u.email, `"for-design.txt"`)
		}

		// Every grant's handler has run; run two of them once more.
		// The log is read up to the oldest transaction still running on the
		// server (other tests' included), so the events may take a moment.
		var grants []events.Event
		for deadline := time.Now().Add(lifeWait); ; time.Sleep(20 * time.Millisecond) {
			grants = grants[:0]
			for _, f := range []files.File{forBob, forAll, forDesign} {
				evs, _ := lifeEvents(t, n, f.ID, files.EventGrantAdded)
				grants = append(grants, evs...)
			}
			if len(grants) >= 4 || time.Now().After(deadline) {
				break
			}
		}
		var jobsDone []jobs.Job
		for _, e := range grants {
			jobsDone = append(jobsDone, lifeHandlerJob(t, n, "files.share.mail", e.ID, 1))
		}
		if len(jobsDone) != 4 {
			t.Fatalf("%d share-mail jobs, want 4", len(jobsDone))
		}
		for _, j := range []jobs.Job{jobsDone[0], jobsDone[2]} {
			if err := n.Jobs().Retry(context.Background(), j.ID); err != nil {
				t.Fatal(err)
			}
			lifeHandlerJob(t, n, "files.share.mail", j.EventID, j.Attempt+1)
		}

		got := map[string]int{}
		list, _, err := n.Identity().Mail.List(context.Background(), mail.ListFilter{App: "files", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			got[lifeMailKey(m.To, m.Subject)]++
		}
		for k, c := range want {
			if got[k] != c {
				t.Errorf("outbox: %d mails %s, want %d", got[k], k, c)
			}
		}
		for k, c := range got {
			if want[k] == 0 {
				t.Errorf("outbox: %d unexpected mails %s", c, k)
			}
		}
		for _, u := range []user{ann, bob, carol, dave} {
			for _, m := range mailtest.To(t, dir, u.email, "shared") {
				k := lifeMailKey(u.email, m.Subject)
				if want[k] == 0 {
					t.Errorf("mail dir: unexpected mail %s", k)
				}
			}
		}
		for k := range want {
			to, subject, _ := strings.Cut(k, " | ")
			if ms := mailtest.To(t, dir, to, subject); len(ms) != 1 {
				t.Errorf("mail dir: %d mails %s, want 1", len(ms), k)
			}
		}
	})
}

// lifeAdminKey is an admin API key's credentials.
func lifeAdminKey(t *testing.T, n *nodetest.Node) func(*http.Request) {
	t.Helper()
	key, secret, err := n.Identity().AdminKeys.Create(context.Background(), "files lifecycle tests")
	if err != nil {
		t.Fatal(err)
	}
	return testhttp.Basic(key.ID, secret)
}

// TestAdminFiles proves /admin/files/files: admin keys list every org's
// files (trash included, ?org_id=, ?q=, pages), read, rename (422 on a
// bad name), trash and delete any of them, with events whose actor is
// "admin"; user tokens are refused.
func TestAdminFiles(t *testing.T) {
	t.Parallel()
	lifeEngines(t, func(t *testing.T, n *nodetest.Node) {
		ann, zed := signUp(t, n, "ann@example.com"), signUp(t, n, "zed@example.com")
		acme := newOrg(t, n, &ann, "Acme")
		beta := newOrg(t, n, &zed, "Beta")
		a1 := ann.mustUpload(t, n, "Quarterly REPORT.txt", "a1")
		a2 := ann.mustUpload(t, n, "notes.txt", "a2")
		z1 := zed.mustUpload(t, n, "report-draft.txt", "z1")
		lifeStatus(t, 204, testhttp.Send(t, "DELETE", n.URL+"/files/"+a2.ID, "", ann.as()...), "trash a2")
		key := lifeAdminKey(t, n)
		base := n.URL + "/admin/files/files"
		list := func(query string) []string {
			t.Helper()
			var page struct {
				Items      []files.File `json:"items"`
				NextCursor string       `json:"next_cursor"`
			}
			mustJSON(t, testhttp.Expect(t, 200, "GET", base+"?"+query, "", key), &page)
			if page.NextCursor != "" {
				t.Fatalf("admin list %s: a second page", query)
			}
			return lifeIDs(page.Items)
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"", sorted(a1.ID, a2.ID, z1.ID)},
			{"org_id=" + beta, []string{z1.ID}},
			{"org_id=" + acme, sorted(a1.ID, a2.ID)},
			{"q=report", sorted(a1.ID, z1.ID)},
			{"q=REPORT&org_id=" + acme, []string{a1.ID}},
			{"q=nothing-like-this", []string{}},
		} {
			if got := list(c.query); !slices.Equal(got, c.want) {
				t.Errorf("admin list ?%s: %v, want %v", c.query, got, c.want)
			}
		}
		var seen []string
		for cursor, pages := "", 0; ; pages++ {
			if pages > 3 {
				t.Fatalf("admin pages do not end: %v", seen)
			}
			var page struct {
				Items      []files.File `json:"items"`
				NextCursor string       `json:"next_cursor"`
			}
			mustJSON(t, testhttp.Expect(t, 200, "GET", base+"?limit=1&cursor="+url.QueryEscape(cursor), "", key), &page)
			seen = append(seen, lifeIDs(page.Items)...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if want := sorted(a1.ID, a2.ID, z1.ID); !slices.Equal(seen, want) {
			t.Errorf("admin pages of 1: %v, want %v", seen, want)
		}

		var got files.File
		mustJSON(t, testhttp.Expect(t, 200, "GET", base+"/"+a2.ID, "", key), &got)
		if got.Name != "notes.txt" || got.DeletedAt == nil || got.OrgID != acme {
			t.Errorf("admin GET of a trashed file: %+v", got)
		}
		for _, id := range []string{uuid.NewString(), "not-an-id"} {
			lifeStatus(t, 404, testhttp.Send(t, "GET", base+"/"+id, "", key), "admin GET of "+id)
		}

		for _, body := range []string{`{"name":"a/b.txt"}`, `{"name":""}`, `{"name":"bad\u0000name"}`, `{"folder":"relative"}`} {
			lifeStatus(t, 422, testhttp.Send(t, "PATCH", base+"/"+a1.ID, body, key), "admin PATCH "+body)
		}
		lifeStatus(t, 412, testhttp.Send(t, "PATCH", base+"/"+a1.ID, `{"name":"x.txt"}`, key, header("If-Match", `"9"`)), "admin PATCH with a stale If-Match")
		r := testhttp.Send(t, "PATCH", base+"/"+a1.ID, `{"name":"Q1 report.txt","folder":"/board"}`, key, header("If-Match", `"1"`))
		lifeStatus(t, 200, r, "admin rename")
		mustJSON(t, r.Body, &got)
		if got.Name != "Q1 report.txt" || got.Folder != "/board" || got.Revision != 2 {
			t.Errorf("admin rename: %+v", got)
		}
		if f := lifeMustGet(t, n, ann, a1.ID); f.Name != "Q1 report.txt" || f.Folder != "/board" {
			t.Errorf("the owner sees %+v after the admin's rename", f)
		}
		lifeEvent(t, n, a1.ID, files.EventRenamed, `actor "admin"`, func(c lifeChange) bool {
			return c.Actor == "admin" && c.Previous != nil && c.Previous.Name == "Quarterly REPORT.txt"
		})

		lifeStatus(t, 204, testhttp.Send(t, "DELETE", base+"/"+a1.ID, "", key), "admin trash")
		if f := lifeMustGet(t, n, ann, a1.ID); f.DeletedAt == nil {
			t.Errorf("after the admin's DELETE the owner sees %+v, want it in the trash", f)
		}
		lifeEvent(t, n, a1.ID, files.EventDeleted, `actor "admin", not permanent`, func(c lifeChange) bool { return c.Actor == "admin" && !c.Permanent })

		lifeStatus(t, 204, testhttp.Send(t, "DELETE", base+"/"+z1.ID+"?permanent=true", "", key), "admin permanent delete")
		lifeStatus(t, 404, testhttp.Send(t, "GET", base+"/"+z1.ID, "", key), "admin GET after the permanent delete")
		lifeStatus(t, 404, testhttp.Send(t, "GET", n.URL+"/files/"+z1.ID, "", zed.as()...), "owner GET after the admin's permanent delete")
		if c := lifeCount(t, n, `SELECT COUNT(*) FROM files_versions WHERE file_id = ?`, z1.ID); c != 0 {
			t.Errorf("%d versions left after the admin's permanent delete", c)
		}
		lifeEvent(t, n, z1.ID, files.EventDeleted, `actor "admin", permanent`, func(c lifeChange) bool { return c.Actor == "admin" && c.Permanent })

		for _, c := range []struct{ method, path, body string }{
			{"GET", "", ""}, {"GET", "/" + a2.ID, ""}, {"PATCH", "/" + a2.ID, `{"name":"mine.txt"}`}, {"DELETE", "/" + a2.ID + "?permanent=true", ""},
		} {
			for _, who := range []struct {
				name string
				as   []func(*http.Request)
			}{{"a user token", ann.as()}, {"no credentials", nil}} {
				r := testhttp.Send(t, c.method, base+c.path, c.body, who.as...)
				if r.Status != 401 && (r.Status != 403 || who.as == nil) {
					t.Errorf("%s %s with %s: %d %s, want 401 (403 allowed for a user token)", c.method, c.path, who.name, r.Status, r.Body)
				}
			}
		}
		if f := lifeMustGet(t, n, ann, a2.ID); f.Name != "notes.txt" {
			t.Errorf("a2 changed by refused admin calls: %+v", f)
		}
	})
}
