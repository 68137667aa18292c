package restaurants_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

const (
	password    = "correct horse battery staple"
	reportAdmin = "ops@example.com"
)

// start runs a node with the restaurants app on engine.
func start(t testing.TB, engine store.Engine, environ ...string) *nodetest.Node {
	t.Helper()
	apps := []app.App{restaurants.App()}
	env := append([]string{"TESSERA_RESTAURANTS_REPORT_TO=" + reportAdmin}, environ...)
	return nodetest.Start(t, nodetest.Config(t, engine, apps, env...), apps...)
}

// user is a signed-in user of the pool.
type user struct {
	id, email, token string
}

// signUp signs a user up through /auth with client, confirms the address
// with the code from the mail sink and signs in.
func signUp(t testing.TB, n *nodetest.Node, email, name, client string) user {
	t.Helper()
	id, token := n.SignUp(t, email, password, name, client)
	return user{id: id, email: email, token: token}
}

// signIn gets a fresh access token (with the current attributes).
func signIn(t testing.TB, n *nodetest.Node, email string) user {
	t.Helper()
	return user{email: email, token: n.SignIn(t, email, password)}
}

func (u user) do(t testing.TB, n *nodetest.Node, method, path, body string) (int, string) {
	t.Helper()
	return testhttp.Do(t, method, n.URL+path, body, testhttp.Bearer(u.token))
}

func (u user) mustDo(t testing.TB, n *nodetest.Node, want int, method, path, body string) string {
	t.Helper()
	return testhttp.Expect(t, want, method, n.URL+path, body, testhttp.Bearer(u.token))
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}

// mailsTo returns the mails to addr whose subject contains subject.
func mailsTo(t testing.TB, n *nodetest.Node, addr, subject string) []mailtest.Mail {
	t.Helper()
	return mailtest.To(t, n.Config.MailDir(), addr, subject)
}

// waitMail waits for a mail to addr whose subject contains subject.
func waitMail(t testing.TB, n *nodetest.Node, addr, subject string) mailtest.Mail {
	t.Helper()
	return mailtest.Wait(t, n.Config.MailDir(), addr, subject)
}

// board is a live board connection.
type board struct {
	conn *websocket.Conn
}

func openBoard(t testing.TB, n *nodetest.Node, u user, since string) *board {
	t.Helper()
	path := "/restaurants/ws"
	if since != "" {
		path += "?since=" + since
	}
	return &board{conn: testhttp.Dial(t, n.URL, path, testhttp.Bearer(u.token))}
}

// push is a live board frame.
type push struct {
	Type   string `json:"type"`
	Cursor string `json:"cursor"`
	Data   struct {
		Event   string              `json:"event"`
		Subject string              `json:"subject"`
		Seating restaurants.Seating `json:"seating"`
	} `json:"data"`
}

// next reads the next frame.
func (b *board) next(t testing.TB) push {
	t.Helper()
	var p push
	if err := testhttp.ReadJSON(b.conn, 10*time.Second, &p); err != nil {
		t.Fatalf("live board: %v", err)
	}
	return p
}

// expect reads the next frame and checks its event and seating.
func (b *board) expect(t testing.TB, verb, seatingID string) push {
	t.Helper()
	p := b.next(t)
	if p.Type != "event" || p.Data.Event != restaurants.SeatingEvent(verb) || p.Data.Subject != seatingID || p.Data.Seating.ID != seatingID || p.Cursor == "" {
		t.Fatalf("live board: got %+v, want %s of %s", p, verb, seatingID)
	}
	return p
}
