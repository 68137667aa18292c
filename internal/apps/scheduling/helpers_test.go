package scheduling_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/apps/scheduling"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

const password = "correct horse battery staple"

// start runs a node with the scheduling app on engine.
func start(t testing.TB, engine store.Engine, environ ...string) *nodetest.Node {
	t.Helper()
	apps := []app.App{scheduling.App()}
	return nodetest.Start(t, nodetest.Config(t, engine, apps, environ...), apps...)
}

// member is a signed-up user acting in one org.
type member struct {
	id, email, token, org string
}

// signUp signs a user up, confirms and signs in.
func signUp(t testing.TB, n *nodetest.Node, email string) member {
	t.Helper()
	id, token := n.SignUp(t, email, password, email, scheduling.ClientID)
	return member{id: id, email: email, token: token}
}

// newOrg creates an org owned by owner.
func newOrg(t testing.TB, n *nodetest.Node, owner *member, name string) string {
	t.Helper()
	var o struct {
		ID string `json:"id"`
	}
	body := testhttp.Expect(t, 201, "POST", n.URL+"/orgs", `{"name":"`+name+`"}`, testhttp.Bearer(owner.token))
	mustJSON(t, body, &o)
	owner.org = o.ID
	return o.ID
}

// join makes u a member of org with role (as the owner).
func join(t testing.TB, n *nodetest.Node, owner member, u *member, role string) {
	t.Helper()
	testhttp.Expect(t, 201, "PUT", n.URL+"/orgs/"+owner.org+"/members/"+u.id, `{"role":"`+role+`","level":0}`, testhttp.Bearer(owner.token))
	u.org = owner.org
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}

// client is a scheduling websocket client.
type client struct {
	t    testing.TB
	conn *websocket.Conn
	seq  atomic.Int64
	// pushes holds event frames read while waiting for an answer.
	pushes []frame
	// earlier are the changes ("<type> <subject>") committed just before a
	// subscription without since: they may or may not be pushed to it.
	earlier map[string]bool
}

// mayHaveSeen lists changes committed just before a subscription that
// push skips if they arrive.
func (c *client) mayHaveSeen(typ string, subjects ...string) {
	if c.earlier == nil {
		c.earlier = map[string]bool{}
	}
	for _, s := range subjects {
		c.earlier[typ+" "+s] = true
	}
}

// frame is any server frame.
type frame struct {
	Type           string          `json:"type"`
	RequestID      string          `json:"request_id"`
	SubscriptionID string          `json:"subscription_id"`
	Cursor         string          `json:"cursor"`
	Data           json.RawMessage `json:"data"`
}

// pushData is the data of a push frame.
type pushData struct {
	Event   string          `json:"event"`
	Subject string          `json:"subject"`
	Change  string          `json:"change"`
	Kind    string          `json:"kind"`
	Item    json.RawMessage `json:"item"`
}

// problem is an error frame's data.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Reason string `json:"reason"`
	Errors []struct {
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// dial opens /scheduling/ws as m in m's org.
func dial(t testing.TB, n *nodetest.Node, m member) *client {
	t.Helper()
	return &client{t: t, conn: testhttp.Dial(t, n.URL, "/scheduling/ws?org_id="+m.org, testhttp.Bearer(m.token))}
}

func (c *client) read() frame {
	c.t.Helper()
	var f frame
	if err := testhttp.ReadJSON(c.conn, 10*time.Second, &f); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// send sends an action and returns the answer (result or error), keeping
// pushes read meanwhile.
func (c *client) send(action string, data any) frame {
	c.t.Helper()
	id := "r" + strconv.FormatInt(c.seq.Add(1), 10)
	msg, err := json.Marshal(map[string]any{"action": action, "request_id": id, "data": data})
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(msg))
	for {
		f := c.read()
		if f.Type == "event" {
			c.pushes = append(c.pushes, f)
			continue
		}
		if f.RequestID != id {
			c.t.Fatalf("%s: answer for %q, want %q: %+v", action, f.RequestID, id, f)
		}
		return f
	}
}

func (c *client) sendRaw(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// do sends an action that must succeed and decodes its result into out.
func (c *client) do(action string, data any, out any) {
	c.t.Helper()
	f := c.send(action, data)
	if f.Type != "result" {
		c.t.Fatalf("%s: %s", action, f.Data)
	}
	if out != nil {
		mustJSON(c.t, string(f.Data), out)
	}
}

// fail sends an action that must fail with status and returns the problem.
func (c *client) fail(action string, data any, status int) problem {
	c.t.Helper()
	f := c.send(action, data)
	var p problem
	if f.Type != "error" {
		c.t.Fatalf("%s: got %s %s, want error %d", action, f.Type, f.Data, status)
	}
	mustJSON(c.t, string(f.Data), &p)
	if p.Status != status {
		c.t.Fatalf("%s: status %d (%s), want %d", action, p.Status, f.Data, status)
	}
	return p
}

// push returns the next push frame (kept or read).
func (c *client) push() (frame, pushData) {
	c.t.Helper()
	for {
		var f frame
		if len(c.pushes) > 0 {
			f, c.pushes = c.pushes[0], c.pushes[1:]
		} else {
			f = c.read()
		}
		if f.Type != "event" {
			c.t.Fatalf("want a push, got %s %s", f.Type, f.Data)
		}
		var d pushData
		mustJSON(c.t, string(f.Data), &d)
		if key := d.Event + " " + d.Subject; c.earlier[key] {
			delete(c.earlier, key) // once at most
			continue
		}
		return f, d
	}
}

// expectPush reads the next push and checks its subscription, event type
// and subject.
func (c *client) expectPush(sub, event, subject string) pushData {
	c.t.Helper()
	f, d := c.push()
	if f.SubscriptionID != sub || d.Event != event || d.Subject != subject || f.Cursor == "" {
		c.t.Fatalf("push: got sub %s %s %s (%s), want sub %s %s %s", f.SubscriptionID, d.Event, d.Subject, f.Data, sub, event, subject)
	}
	return d
}

// quiet checks that no push arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	if len(c.pushes) > 0 {
		c.t.Fatalf("unexpected push %s", c.pushes[0].Data)
	}
	var f frame
	if err := testhttp.ReadJSON(c.conn, d, &f); err == nil {
		c.t.Fatalf("unexpected frame %s %s", f.Type, f.Data)
	}
}

// closeCode waits for the server to close the connection and returns the code.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// at is a time on the test day.
func at(day time.Time, hhmm string) string {
	d, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return day.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute).Format(time.RFC3339)
}

// waitEvent waits until the event log holds an event of typ about subject
// (a handler's reaction has committed).
func waitEvent(t testing.TB, n *nodetest.Node, typ, subject string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := n.Identity().Events.Read(context.Background(), "", events.Filter{Types: []string{typ}, Subject: subject}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event about %s", typ, subject)
}
