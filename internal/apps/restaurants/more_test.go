package restaurants_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// adminKey is an admin API key's Basic credentials.
type adminKey struct{ id, secret string }

func newAdminKey(t *testing.T, n *nodetest.Node) adminKey {
	t.Helper()
	key, secret, err := n.Identity().AdminKeys.Create(context.Background(), "restaurants tests")
	if err != nil {
		t.Fatal(err)
	}
	return adminKey{id: key.ID, secret: secret}
}

func (k adminKey) mustDo(t *testing.T, n *nodetest.Node, want int, method, path, body string) string {
	t.Helper()
	return testhttp.Expect(t, want, method, n.URL+path, body, testhttp.Basic(k.id, k.secret))
}

// venue is a public restaurant with its manager and a customer.
type venue struct {
	n                 *nodetest.Node
	r                 restaurants.Restaurant
	manager, customer user
}

func openVenue(t *testing.T, engine store.Engine, environ ...string) venue {
	v := venue{n: start(t, engine, environ...)}
	v.manager = signUp(t, v.n, "maria@example.com", "Maria", restaurants.ClientStaff)
	v.customer = signUp(t, v.n, "carl@example.com", "Carl", restaurants.ClientCustomer)
	mustJSON(t, v.manager.mustDo(t, v.n, http.StatusCreated, "POST", "/restaurants", `{"name":"Chez Maria","region":"EAST"}`), &v.r)
	v.manager.mustDo(t, v.n, http.StatusOK, "PATCH", "/restaurants/"+v.r.ID+"/visibility", `{"visibility":"PUBLIC"}`)
	return v
}

// TestBadInput: each bad request is a clear 4xx and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		v := openVenue(t, engine)
		path := "/restaurants/" + v.r.ID + "/seatings"
		future := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
		for _, tc := range []struct{ body, field string }{
			{fmt.Sprintf(`{"seatingTime":%q,"numSeats":2}`, time.Now().Add(-time.Hour).Format(time.RFC3339)), "seatingTime"},
			{fmt.Sprintf(`{"seatingTime":%q,"numSeats":0}`, future), "numSeats"},
			{fmt.Sprintf(`{"seatingTime":%q,"numSeats":51}`, future), "numSeats"},
			{fmt.Sprintf(`{"seatingTime":%q,"numSeats":"4"}`, future), "numSeats"},
			{fmt.Sprintf(`{"seatingTime":%q,"numSeats":2,"notes":%q}`, future, strings.Repeat("é", 501)), "notes"},
			{`{"seatingTime":"tomorrow","numSeats":2}`, "seatingTime"},
			{`{"numSeats":2}`, "seatingTime"},
		} {
			status, body := v.customer.do(t, v.n, "POST", path, tc.body)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, tc.field) {
				t.Errorf("%s: %d %s, want 422 naming %s", tc.body, status, body, tc.field)
			}
		}
		v.customer.mustDo(t, v.n, http.StatusCreated, "POST", path, fmt.Sprintf(`{"seatingTime":%q,"numSeats":2,"notes":%q}`, future, strings.Repeat("é", 500)))
		if status, body := v.manager.do(t, v.n, "POST", "/restaurants", `{"name":"X","region":"ATLANTIS"}`); status != http.StatusUnprocessableEntity || !strings.Contains(body, "region") {
			t.Errorf("unknown region: %d %s", status, body)
		}
		v.customer.mustDo(t, v.n, http.StatusUnprocessableEntity, "GET", "/restaurants/region/ATLANTIS", "")
		v.customer.mustDo(t, v.n, http.StatusUnprocessableEntity, "GET", "/restaurants/not-a-uuid", "")
		v.customer.mustDo(t, v.n, http.StatusNotFound, "GET", "/restaurants/0190f5a0-0000-7000-8000-000000000000", "")
		v.manager.mustDo(t, v.n, http.StatusUnprocessableEntity, "GET", path+"?cursor=zzz", "")
		v.manager.mustDo(t, v.n, http.StatusUnprocessableEntity, "GET", path+"?limit=501", "")
		if status, _ := testhttp.Do(t, "GET", v.n.URL+"/restaurants/me", ""); status != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", status)
		}
		var page struct{ Items []restaurants.Seating }
		mustJSON(t, v.manager.mustDo(t, v.n, http.StatusOK, "GET", path, ""), &page)
		if len(page.Items) != 1 {
			t.Errorf("bad requests changed something: %d seatings", len(page.Items))
		}
	})
}

// upload asks for an upload URL and PUTs body to it; it returns the PUT's
// status.
func (v venue) upload(t *testing.T, body []byte) int {
	t.Helper()
	var up restaurants.PhotoUpload
	mustJSON(t, v.manager.mustDo(t, v.n, http.StatusOK, "POST", "/restaurants/"+v.r.ID+"/photo", ""), &up)
	if up.Method != http.MethodPut || up.MaxBytes != restaurants.MaxPhotoBytes || !up.ExpiresAt.After(time.Now()) {
		t.Fatalf("upload: %+v", up)
	}
	url := v.local(up.UploadURL)
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, val := range up.Headers {
		req.Header.Set(k, val)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// local points a filesystem-signed URL (which carries public_url) at the
// test server; an S3 presigned URL is used as it is.
func (v venue) local(signed string) string {
	if i := strings.Index(signed, blob.PathPrefix); i >= 0 && strings.HasPrefix(signed, v.n.Config.PublicURL) {
		return v.n.URL + signed[i:]
	}
	return signed
}

// waitEvents waits until the log holds want events of typ about the venue.
func (v venue) waitEvents(t *testing.T, k adminKey, typ string, want int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		var page struct{ Items []json.RawMessage }
		mustJSON(t, k.mustDo(t, v.n, http.StatusOK, "GET", "/admin/events?type="+typ+"&subject="+v.r.ID, ""), &page)
		if len(page.Items) >= want {
			return
		}
	}
	t.Fatalf("fewer than %d %s events within 30s", want, typ)
}

func encodePNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fetchJPEG downloads a signed photo URL and decodes it.
func (v venue) fetchJPEG(t *testing.T, signed string) image.Config {
	t.Helper()
	res := testhttp.Send(t, "GET", v.local(signed), "")
	cfg, format, err := image.DecodeConfig(bytes.NewReader([]byte(res.Body)))
	if res.Status != http.StatusOK || err != nil || format != "jpeg" {
		t.Fatalf("photo: %d %v %s", res.Status, err, format)
	}
	if _, err := jpeg.Decode(bytes.NewReader([]byte(res.Body))); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestProfilePhoto uploads a photo through the signed URL: it is re-encoded
// at 1024 px with a 256 px thumbnail; a text file, a truncated PNG and an
// image bomb are rejected and the photo kept; a 40 MiB body is refused at
// the upload.
func TestProfilePhoto(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		photoStory(t, openVenue(t, engine))
	})
}

// TestProfilePhotoS3 is the same story on the S3 backend, where the upload
// goes straight to the bucket and the app's confirm job finds it.
func TestProfilePhotoS3(t *testing.T) {
	t.Parallel()
	b := blobtest.NewBucket(t)
	photoStory(t, openVenue(t, store.EngineSQLite, "TESSERA_BLOBS="+b.URL.String(),
		"TESSERA_S3_ACCESS_KEY="+b.Access, "TESSERA_S3_SECRET_KEY="+b.Secret))
}

func photoStory(t *testing.T, v venue) {
	{
		k := newAdminKey(t, v.n)
		if status := v.upload(t, encodePNG(t, 1100, 825)); status/100 != 2 {
			t.Fatalf("upload: %d", status)
		}
		v.waitEvents(t, k, restaurants.EventRestaurantPhotoUpdated, 1)
		var r restaurants.Restaurant
		mustJSON(t, v.customer.mustDo(t, v.n, http.StatusOK, "GET", "/restaurants/"+v.r.ID, ""), &r)
		if r.ProfilePhotoURL == nil || r.ThumbnailURL == nil {
			t.Fatalf("no photo: %+v", r)
		}
		if c := v.fetchJPEG(t, *r.ProfilePhotoURL); c.Width != 1024 || c.Height != 768 {
			t.Errorf("photo %dx%d, want 1024x768", c.Width, c.Height)
		}
		if c := v.fetchJPEG(t, *r.ThumbnailURL); c.Width != 256 || c.Height != 192 {
			t.Errorf("thumbnail %dx%d, want 256x192", c.Width, c.Height)
		}
		png := encodePNG(t, 64, 64)
		bomb := append([]byte{}, png[:16]...)                   // signature + IHDR length and type
		bomb = append(bomb, 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0) // 100000 × 100000
		bomb = append(bomb, png[24:]...)
		for i, bad := range [][]byte{[]byte("just some text, not an image\n"), png[:len(png)/2], bomb} {
			if status := v.upload(t, bad); status/100 != 2 {
				t.Fatalf("upload %d: %d", i, status)
			}
			v.waitEvents(t, k, restaurants.EventRestaurantPhotoRejected, i+1)
		}
		// The filesystem's signed URL refuses the bytes over the limit; an S3
		// presigned PUT cannot, so the confirm job rejects the object.
		switch status := v.upload(t, bytes.Repeat([]byte{0xff}, 40<<20)); {
		case status == http.StatusRequestEntityTooLarge:
		case status/100 == 2 && strings.HasPrefix(v.n.Config.Blobs, "s3://"):
			v.waitEvents(t, k, restaurants.EventRestaurantPhotoRejected, 4)
		default:
			t.Errorf("40 MiB upload: %d, want 413", status)
		}
		var after restaurants.Restaurant
		mustJSON(t, v.customer.mustDo(t, v.n, http.StatusOK, "GET", "/restaurants/"+v.r.ID, ""), &after)
		if after.ProfilePhotoURL == nil || !sameKey(*after.ProfilePhotoURL, *r.ProfilePhotoURL) {
			t.Errorf("rejected uploads changed the photo: %v → %v", *r.ProfilePhotoURL, after.ProfilePhotoURL)
		}
		// The staff see why the last upload was refused; customers do not.
		if after.PhotoRejection != nil {
			t.Errorf("a customer sees the photo rejection: %+v", after.PhotoRejection)
		}
		var staffView restaurants.Restaurant
		mustJSON(t, v.manager.mustDo(t, v.n, http.StatusOK, "GET", "/restaurants/"+v.r.ID, ""), &staffView)
		if rej := staffView.PhotoRejection; rej == nil || rej.Reason == "" || rej.At.IsZero() {
			t.Errorf("the manager sees no photo rejection: %+v", rej)
		}
		// A later photo taken clears it.
		if status := v.upload(t, encodePNG(t, 300, 200)); status/100 != 2 {
			t.Fatalf("upload: %d", status)
		}
		v.waitEvents(t, k, restaurants.EventRestaurantPhotoUpdated, 2)
		var taken restaurants.Restaurant
		mustJSON(t, v.manager.mustDo(t, v.n, http.StatusOK, "GET", "/restaurants/"+v.r.ID, ""), &taken)
		if taken.PhotoRejection != nil || sameKey(*taken.ProfilePhotoURL, *r.ProfilePhotoURL) {
			t.Errorf("after a photo was taken: rejection %+v, photo %s", taken.PhotoRejection, *taken.ProfilePhotoURL)
		}
		v.customer.mustDo(t, v.n, http.StatusForbidden, "POST", "/restaurants/"+v.r.ID+"/photo", "")
	}
}

// sameKey compares two signed URLs without their signatures and expiry.
func sameKey(a, b string) bool {
	cut := func(s string) string { p, _, _ := strings.Cut(s, "?"); return p }
	return cut(a) == cut(b)
}

// TestWeeklyReport: the admin API runs the report of a week; each manager
// gets their restaurant's total and per-weekday counts, the platform admins
// the all-restaurants report.
func TestWeeklyReport(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		v := openVenue(t, engine)
		k := newAdminKey(t, v.n)
		monday := nextWeekday(time.Now(), time.Monday)
		book := func(day, hour int) restaurants.Seating {
			var st restaurants.Seating
			at := monday.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour)
			mustJSON(t, v.customer.mustDo(t, v.n, http.StatusCreated, "POST", "/restaurants/"+v.r.ID+"/seatings",
				fmt.Sprintf(`{"seatingTime":%q,"numSeats":2}`, at.Format(time.RFC3339))), &st)
			return st
		}
		book(1, 19) // Tuesday
		book(1, 20) // Tuesday
		book(4, 12) // Friday
		declined := book(6, 13)
		v.manager.mustDo(t, v.n, http.StatusOK, "PATCH", "/restaurants/"+v.r.ID+"/seatings/"+declined.ID+"/decline", "")
		book(7, 12) // the next Monday: another week

		k.mustDo(t, v.n, http.StatusUnprocessableEntity, "POST", "/admin/restaurants/reports/weekly", `{"week_start":"`+monday.AddDate(0, 0, 1).Format("2006-01-02")+`"}`)
		k.mustDo(t, v.n, http.StatusUnprocessableEntity, "POST", "/admin/restaurants/reports/weekly", `{"week_start":"last week"}`)
		v.manager.mustDo(t, v.n, http.StatusForbidden, "POST", "/admin/restaurants/reports/weekly", `{"week_start":"`+monday.Format("2006-01-02")+`"}`)
		k.mustDo(t, v.n, http.StatusAccepted, "POST", "/admin/restaurants/reports/weekly", `{"week_start":"`+monday.Format("2006-01-02")+`"}`)
		m := waitMail(t, v.n, v.manager.email, "Chez Maria: seatings of the week of "+monday.Format("2006-01-02"))
		for _, line := range []string{"Total seatings: 3", "Monday: 0", "Tuesday: 2", "Wednesday: 0", "Thursday: 0", "Friday: 1", "Saturday: 0", "Sunday: 0"} {
			if !strings.Contains(m.Text, line+"\n") {
				t.Errorf("manager's report lacks %q:\n%s", line, m.Text)
			}
		}
		all := waitMail(t, v.n, reportAdmin, "All restaurants")
		if !strings.Contains(all.Text, "Total seatings: 3\n") || !strings.Contains(all.Text, "Chez Maria (EAST): 3") {
			t.Errorf("admins' report:\n%s", all.Text)
		}
	})
}

// TestAdminRoutes: admin keys read and change every restaurant and seating.
func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		v := openVenue(t, engine)
		k := newAdminKey(t, v.n)
		var st restaurants.Seating
		mustJSON(t, v.customer.mustDo(t, v.n, http.StatusCreated, "POST", "/restaurants/"+v.r.ID+"/seatings",
			fmt.Sprintf(`{"seatingTime":%q,"numSeats":3}`, time.Now().Add(72*time.Hour).Format(time.RFC3339))), &st)
		if body := k.mustDo(t, v.n, http.StatusOK, "GET", "/admin/restaurants/restaurants?q=maria", ""); !strings.Contains(body, v.r.ID) {
			t.Errorf("admin list: %s", body)
		}
		if body := k.mustDo(t, v.n, http.StatusOK, "GET", "/admin/restaurants/seatings?restaurant_id="+v.r.ID, ""); !strings.Contains(body, st.ID) {
			t.Errorf("admin seatings: %s", body)
		}
		k.mustDo(t, v.n, http.StatusOK, "GET", "/admin/restaurants/seatings/"+st.ID, "")
		k.mustDo(t, v.n, http.StatusOK, "PATCH", "/admin/restaurants/restaurants/"+v.r.ID, `{"visibility":"PRIVATE"}`)
		v.customer.mustDo(t, v.n, http.StatusNotFound, "GET", "/restaurants/"+v.r.ID, "")
		k.mustDo(t, v.n, http.StatusUnprocessableEntity, "PATCH", "/admin/restaurants/restaurants/"+v.r.ID, `{"visibility":"SECRET"}`)
		k.mustDo(t, v.n, http.StatusNoContent, "DELETE", "/admin/restaurants/seatings/"+st.ID, "")
		k.mustDo(t, v.n, http.StatusNotFound, "GET", "/admin/restaurants/seatings/"+st.ID, "")
		k.mustDo(t, v.n, http.StatusNoContent, "DELETE", "/admin/restaurants/restaurants/"+v.r.ID, "")
		var me restaurants.Me
		mustJSON(t, v.manager.mustDo(t, v.n, http.StatusOK, "GET", "/restaurants/me", ""), &me)
		if me.Role != restaurants.RoleCustomer || me.RestaurantID != nil {
			t.Errorf("manager of a deleted restaurant: %+v", me)
		}
		v.customer.mustDo(t, v.n, http.StatusForbidden, "GET", "/admin/restaurants/restaurants", "")
	})
}
