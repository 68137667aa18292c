package messaging_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/apps/messaging"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

const secret = "messaging-test-secret"

// start runs a node with the messaging app on engine.
func start(t testing.TB, engine store.Engine, environ ...string) *nodetest.Node {
	t.Helper()
	apps := []app.App{messaging.App()}
	env := append([]string{"TESSERA_MESSAGING_JWT_SECRET=" + secret}, environ...)
	return nodetest.Start(t, nodetest.Config(t, engine, apps, env...), apps...)
}

// member is a user of an entity at a level, with a seed-style token.
type member struct {
	user, entity string
	level        int
	token        string
}

func newMember(t testing.TB, entity string, level int) member {
	t.Helper()
	m := member{user: uuid.NewString(), entity: entity, level: level}
	tok, err := authz.SignShared(secret, authz.SharedClaims{UserUUID: m.user, EntityUUID: entity, Level: level,
		Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	m.token = tok
	return m
}

// mustDo is do expecting a status.
func (m member) mustDo(t testing.TB, n *nodetest.Node, want int, method, path, body string) string {
	t.Helper()
	return testhttp.Expect(t, want, method, n.URL+path, body, testhttp.Bearer(m.token))
}

// createRoom creates a group room as m and returns its id.
func (m member) createRoom(t testing.TB, n *nodetest.Node, name string) int64 {
	t.Helper()
	var r messaging.Room
	body := m.mustDo(t, n, http.StatusCreated, "POST", "/messaging/rooms", `{"name":"`+name+`","level_admin":"9999","type":"group"}`)
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.ID <= 0 {
		t.Fatalf("room %s: %v", body, err)
	}
	return r.ID
}

// frame is a server frame; data is kept raw.
type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (f frame) String() string { return f.Type + " " + string(f.Data) }

// text is the data of a query or status frame.
func (f frame) text() string {
	var s string
	_ = json.Unmarshal(f.Data, &s)
	return s
}

func (f frame) message(t *testing.T) messaging.Message {
	t.Helper()
	var m messaging.Message
	if f.Type != "message" || json.Unmarshal(f.Data, &m) != nil {
		t.Fatalf("frame %s, want a message", f)
	}
	return m
}

// client is a chat websocket client.
type client struct {
	t    *testing.T
	conn *websocket.Conn
}

// dial connects to the chat and reads START?.
func dial(t *testing.T, base string) *client {
	t.Helper()
	return dialPath(t, base, "/messaging/chat")
}

// dialPath is dial with the chat's path and query (an org_id choice).
func dialPath(t *testing.T, base, path string) *client {
	t.Helper()
	conn := testhttp.Dial(t, base, path)
	conn.SetReadLimit(1 << 20)
	c := &client{t: t, conn: conn}
	c.expect("query", "START?")
	return c
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// read reads one frame within 30 s.
func (c *client) read() (frame, error) {
	var f frame
	err := testhttp.ReadJSON(c.conn, 30*time.Second, &f)
	return f, err
}

func (c *client) next() frame {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// expect reads a query or status frame with the given text.
func (c *client) expect(typ, text string) {
	c.t.Helper()
	if f := c.next(); f.Type != typ || f.text() != text {
		c.t.Fatalf("frame %s, want %s %q", f, typ, text)
	}
}

// expectMessage reads a message frame with the given content.
func (c *client) expectMessage(content string) messaging.Message {
	c.t.Helper()
	m := c.next().message(c.t)
	if m.Content != content {
		c.t.Fatalf("message %+v, want content %q", m, content)
	}
	return m
}

// expectError reads an error frame whose problem names field.
func (c *client) expectError(status int, field string) {
	c.t.Helper()
	f := c.next()
	var p struct {
		Status int `json:"status"`
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	if f.Type != "error" || json.Unmarshal(f.Data, &p) != nil || p.Status != status || len(p.Errors) == 0 || p.Errors[0].Location != field {
		c.t.Fatalf("frame %s, want a %d error naming %q", f, status, field)
	}
}

// login authenticates as m (READY).
func (c *client) login(m member) {
	c.t.Helper()
	c.send(map[string]string{"type": "token", "content": m.token})
	c.expect("status", "READY")
}

// join logs in as m and selects room (CONNECTED).
func join(t *testing.T, n *nodetest.Node, m member, room int64) *client {
	t.Helper()
	c := dial(t, n.URL)
	c.login(m)
	c.send(map[string]any{"type": "select_room", "room_id": room})
	c.expect("status", "CONNECTED")
	return c
}

// closeCode reads until the connection closes and returns its close code.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.read(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}
