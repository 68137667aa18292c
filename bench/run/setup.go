package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// bench is one run. Its fields are the runner goroutine's: the set-up and
// the workloads' prepare and finish steps write them between workloads;
// while a workload runs, its workers only read them, except slots (below).
type bench struct {
	o     options
	c     *client
	log   io.Writer
	runID string // random: the run's users, org and names carry it

	owner   *user // the org's owner: records, events, files; a restaurants customer
	manager *user // the restaurant's manager (client restaurants-staff)
	org     string
	rest    string    // the restaurant
	res     []string  // scheduling resources, one per worker
	slots   []int     // next free 30-minute slot of each resource; worker w alone advances slots[w] while a workload runs
	base    time.Time // the start of slot 0
	records []string  // contracts created by the run
	files   []string  // files uploaded by the run

	notes []string // lines under the table
}

// note adds a line under the table and logs it.
func (b *bench) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	b.notes = append(b.notes, s)
	fmt.Fprintln(b.log, "bench/run: note:", s)
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.log, "bench/run: "+format+"\n", a...)
}

// checkStorage asks every URL's /readyz and checks -storage against it: a
// node with Redis has a redis check.
func (b *bench) checkStorage(ctx context.Context) error {
	wantRedis := strings.Contains(strings.ToLower(b.o.storage), "redis")
	for i, u := range b.o.urls {
		var ready struct {
			Checks map[string]string `json:"checks"`
		}
		if err := b.c.send(ctx, call{node: i, method: http.MethodGet, path: "/readyz", want: http.StatusOK, out: &ready}); err != nil {
			return fmt.Errorf("%s is not ready: %w", u, err)
		}
		_, redis := ready.Checks["redis"]
		switch {
		case redis && !wantRedis:
			return fmt.Errorf("%s has Redis (/readyz checks it) but -storage %q does not say so", u, b.o.storage)
		case !redis && wantRedis:
			return fmt.Errorf("-storage %q says Redis but %s has none (/readyz has no redis check)", b.o.storage, u)
		}
	}
	return nil
}

// user is a confirmed user of the run, signed in.
type user struct {
	email, id, token string
}

// password is every user's of the run.
const password = "bench runner correct horse battery staple"

// setup makes what the selected workloads need: the users, the org, the
// scheduling resources and the restaurant.
func (b *bench) setup(ctx context.Context) error {
	w := b.o.workloads
	needOwner := w["auth-me"] || w["records-create"] || w["records-get"] || w["events-create"] || w["events-list"] ||
		w["files-upload"] || w["files-download"] || w["seatings-create"]
	if !needOwner {
		return nil
	}
	var err error
	if b.owner, err = b.signUp(ctx, "owner", ""); err != nil {
		return err
	}
	// Tokens come from the first URL and go to every one: the nodes must
	// agree on the issuer (their public URL).
	for i := 1; i < len(b.o.urls); i++ {
		if err := b.c.send(ctx, call{node: i, method: http.MethodGet, path: "/auth/me", token: b.owner.token, want: http.StatusOK}); err != nil {
			return fmt.Errorf("%s refuses a token %s issued (the nodes must share one database and one public URL, TESSERA_PUBLIC_URL: it is the tokens' issuer): %w",
				b.o.urls[i], b.o.urls[0], err)
		}
	}
	var org struct {
		ID string `json:"id"`
	}
	body := fmt.Appendf(nil, `{"name":"bench run %s"}`, b.runID)
	if err := b.c.send(ctx, call{method: http.MethodPost, path: "/orgs", body: body, token: b.owner.token, want: http.StatusCreated, out: &org}); err != nil {
		return err
	}
	b.org = org.ID
	if w["events-create"] || w["events-list"] {
		n := max(b.o.concurrency, 2)
		for i := range n {
			var r struct {
				ID string `json:"id"`
			}
			body := fmt.Appendf(nil, `{"name":"bench %s resource %d","kind":"room"}`, b.runID, i)
			if err := b.c.send(ctx, call{method: http.MethodPost, path: "/scheduling/resources", body: body, token: b.owner.token, org: b.org, want: http.StatusCreated, out: &r}); err != nil {
				return err
			}
			b.res = append(b.res, r.ID)
		}
		b.slots = make([]int, n)
		// Slots start on the next day, at midnight UTC.
		b.base = time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if w["seatings-create"] {
		if b.manager, err = b.signUp(ctx, "manager", "restaurants-staff"); err != nil {
			return err
		}
		var r struct {
			ID string `json:"id"`
		}
		body := fmt.Appendf(nil, `{"name":"Bench %s","region":"NORTH"}`, b.runID)
		if err := b.c.send(ctx, call{method: http.MethodPost, path: "/restaurants", body: body, token: b.manager.token, want: http.StatusCreated, out: &r}); err != nil {
			return err
		}
		b.rest = r.ID
		if err := b.c.send(ctx, call{method: http.MethodPatch, path: "/restaurants/" + r.ID + "/visibility", body: []byte(`{"visibility":"PUBLIC"}`),
			token: b.manager.token, want: http.StatusOK}); err != nil {
			return err
		}
	}
	b.logf("set-up done: run %s, org %s", b.runID, b.org)
	return nil
}

// signUp makes a confirmed, signed-in user: POST /auth/signup, the code
// from the outbox (GET /admin/mails), POST /auth/confirm, a sign-in.
func (b *bench) signUp(ctx context.Context, role, clientID string) (*user, error) {
	u := &user{email: fmt.Sprintf("bench-%s-%s@example.com", b.runID, role)}
	body, err := json.Marshal(map[string]string{"email": u.email, "password": password, "name": "Bench " + role, "client_id": clientID})
	if err != nil {
		return nil, err
	}
	if err := b.c.send(ctx, call{method: http.MethodPost, path: "/auth/signup", body: body, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	code, err := b.confirmationCode(ctx, u.email)
	if err != nil {
		return nil, err
	}
	body = fmt.Appendf(nil, `{"email":%q,"code":%q}`, u.email, code)
	if err := b.c.send(ctx, call{method: http.MethodPost, path: "/auth/confirm", body: body, want: http.StatusNoContent}); err != nil {
		return nil, err
	}
	if err := b.signIn(ctx, u); err != nil {
		return nil, err
	}
	var me struct {
		ID string `json:"id"`
	}
	if err := b.c.send(ctx, call{method: http.MethodGet, path: "/auth/me", token: u.token, want: http.StatusOK, out: &me}); err != nil {
		return nil, err
	}
	u.id = me.ID
	return u, nil
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// confirmationCode waits (up to 30 s) for the confirmation mail to email in
// the outbox and returns its code.
func (b *bench) confirmationCode(ctx context.Context, email string) (string, error) {
	path := "/admin/mails?app=identity&to=" + url.QueryEscape(email)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct {
			Items []struct {
				Template string `json:"template"`
				Text     string `json:"text"`
			} `json:"items"`
		}
		if err := b.c.send(ctx, call{method: http.MethodGet, path: path, admin: true, want: http.StatusOK, out: &page}); err != nil {
			return "", fmt.Errorf("read the confirmation mail (is -admin-key an admin key of these nodes?): %w", err)
		}
		for _, m := range page.Items {
			if c := sixDigits.FindStringSubmatch(m.Text); m.Template == "confirm" && c != nil {
				return c[1], nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no confirmation mail to %s in the outbox after 30 s", email)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// signIn gets u a fresh access token (they live 15 minutes): the password
// grant.
func (b *bench) signIn(ctx context.Context, u *user) error {
	body, err := json.Marshal(map[string]string{"grant_type": "password", "email": u.email, "password": password})
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := b.c.send(ctx, call{method: http.MethodPost, path: "/auth/token", body: body, want: http.StatusOK, out: &tok}); err != nil {
		return err
	}
	if tok.AccessToken == "" {
		return fmt.Errorf("sign-in of %s: no access_token", u.email)
	}
	u.token = tok.AccessToken
	return nil
}

// refresh signs the run's users in again, before a workload.
func (b *bench) refresh(ctx context.Context) error {
	for _, u := range []*user{b.owner, b.manager} {
		if u != nil {
			if err := b.signIn(ctx, u); err != nil {
				return err
			}
		}
	}
	return nil
}

// settleQueue waits, up to -settle, until the durable job queue has no job
// due (pending with a time passed) and none running, and notes the wait
// when it was noticeable.
func (b *bench) settleQueue(ctx context.Context, after string) {
	if b.o.settle == 0 {
		return
	}
	start := time.Now()
	for {
		due, running, err := b.queue(ctx)
		if err != nil {
			b.note("job queue after %s not read: %v", after, err)
			return
		}
		waited := time.Since(start)
		if due == 0 && running == 0 {
			if waited >= time.Second {
				b.note("after %s the job queue took %.1f s to drain", after, waited.Seconds())
			}
			return
		}
		if waited > b.o.settle {
			b.note("after %s the job queue still had %d jobs due and %d running after %.0f s (-settle)", after, due, running, waited.Seconds())
			return
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			return
		}
	}
}

// queue counts the pending jobs that are due (at most 500) and the running
// ones (at most 500).
func (b *bench) queue(ctx context.Context) (due, running int, err error) {
	type page struct {
		Items []struct {
			ScheduledAt time.Time `json:"scheduled_at"`
		} `json:"items"`
	}
	var pending, run page
	if err := b.c.send(ctx, call{method: http.MethodGet, path: "/admin/jobs?state=pending&limit=500", admin: true, want: http.StatusOK, out: &pending}); err != nil {
		return 0, 0, err
	}
	if err := b.c.send(ctx, call{method: http.MethodGet, path: "/admin/jobs?state=running&limit=500", admin: true, want: http.StatusOK, out: &run}); err != nil {
		return 0, 0, err
	}
	now := time.Now().Add(time.Second) // the nodes' clock may be a little ahead
	for _, j := range pending.Items {
		if j.ScheduledAt.Before(now) {
			due++
		}
	}
	return due, len(run.Items), nil
}

// sleep waits d or until ctx ends (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
