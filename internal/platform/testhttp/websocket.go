package testhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Dial opens a websocket to base (the server's http:// URL) + path, with
// prepare applied to the handshake request's headers (Bearer, Basic), within
// 10 s; the test fails otherwise, and the connection is closed when it ends.
func Dial(t testing.TB, base, path string, prepare ...func(*http.Request)) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + path
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prepare {
		p(req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: req.Header})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn
}

// ReadJSON reads one websocket frame within d and decodes it into v. The
// error wraps the connection's (websocket.CloseStatus reads its close code)
// or names the frame that is not JSON. Safe to call from any goroutine.
func ReadJSON(conn *websocket.Conn, d time.Duration, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := conn.Read(ctx)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("frame %s: %w", b, err)
	}
	return nil
}
