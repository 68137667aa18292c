package testhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

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
