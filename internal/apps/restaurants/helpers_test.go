package restaurants_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/apps/restaurants"
	"github.com/tessera-dev/tessera/internal/platform/app"
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
	body := `{"email":"` + email + `","password":"` + password + `","name":"` + name + `","client_id":"` + client + `"}`
	if status, resp := testhttp.Do(t, "POST", n.URL+"/auth/signup", body); status != http.StatusCreated {
		t.Fatalf("signup %s: %d %s", email, status, resp)
	}
	m := waitMail(t, n, email, "confirmation code")
	code := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(m.Text)
	if code == nil {
		t.Fatalf("no code in %q", m.Text)
	}
	if status, resp := testhttp.Do(t, "POST", n.URL+"/auth/confirm", `{"email":"`+email+`","code":"`+code[1]+`"}`); status/100 != 2 {
		t.Fatalf("confirm %s: %d %s", email, status, resp)
	}
	u := signIn(t, n, email)
	var me struct{ ID string }
	mustJSON(t, u.mustDo(t, n, http.StatusOK, "GET", "/auth/me", ""), &me)
	u.id = me.ID
	return u
}

// signIn gets a fresh access token (with the current attributes).
func signIn(t testing.TB, n *nodetest.Node, email string) user {
	t.Helper()
	status, resp := testhttp.Do(t, "POST", n.URL+"/auth/token", `{"grant_type":"password","email":"`+email+`","password":"`+password+`"}`)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(resp), &tok) != nil {
		t.Fatalf("sign in %s: %d %s", email, status, resp)
	}
	return user{email: email, token: tok.AccessToken}
}

func (u user) do(t testing.TB, n *nodetest.Node, method, path, body string) (int, string) {
	t.Helper()
	return testhttp.Do(t, method, n.URL+path, body, testhttp.Bearer(u.token))
}

func (u user) mustDo(t testing.TB, n *nodetest.Node, want int, method, path, body string) string {
	t.Helper()
	status, resp := u.do(t, n, method, path, body)
	if status != want {
		t.Fatalf("%s %s %s as %s: %d %s, want %d", method, path, body, u.email, status, resp, want)
	}
	return resp
}

func mustJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}

// sentMail is a mail read back from the sink.
type sentMail struct {
	To, Subject, Text string
}

// readMails parses every .eml file of the node's mail sink.
func readMails(t testing.TB, n *nodetest.Node) []sentMail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.Config.MailDir(), "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []sentMail
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // a mail being written (renamed into place when complete)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue // being renamed into place
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		out = append(out, sentMail{To: msg.Header.Get("To"), Subject: subject, Text: plainText(t, msg)})
	}
	return out
}

// plainText returns the text/plain part of msg, decoded.
func plainText(t testing.TB, msg *mail.Message) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			return decodePart(t, p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}

func decodePart(t testing.TB, enc string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(enc, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// mailsTo returns the mails to addr whose subject contains subject.
func mailsTo(t testing.TB, n *nodetest.Node, addr, subject string) []sentMail {
	t.Helper()
	var out []sentMail
	for _, m := range readMails(t, n) {
		if strings.Contains(strings.ToLower(m.To), strings.ToLower(addr)) && strings.Contains(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

// waitMail waits for a mail to addr whose subject contains subject.
func waitMail(t testing.TB, n *nodetest.Node, addr, subject string) sentMail {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if ms := mailsTo(t, n, addr, subject); len(ms) > 0 {
			return ms[0]
		}
	}
	t.Fatalf("no mail to %s with subject %q within 30s", addr, subject)
	return sentMail{}
}

// board is a live board connection.
type board struct {
	conn *websocket.Conn
}

func openBoard(t testing.TB, n *nodetest.Node, u user, since string) *board {
	t.Helper()
	url := "ws" + strings.TrimPrefix(n.URL, "http") + "/restaurants/ws"
	if since != "" {
		url += "?since=" + since
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + u.token}}})
	if err != nil {
		t.Fatalf("dial live board: %v", err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &board{conn: conn}
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
