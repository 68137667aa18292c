package realtime_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// Example shows how a node wires the hub and how an app serves a websocket
// endpoint with it. The lead passes the events Log as Source, connects the
// log's after-commit listener to hub.Notify, and hands hub.Shutdown to
// httpapi.Serve as an onShutdown hook.
func Example() {
	var log realtime.Source // events.Log in the node
	hub, err := realtime.New(realtime.Options{
		Source:   log,
		Compare:  func(a, b events.Cursor) int { return strings.Compare(string(a), string(b)) }, // events.CompareCursor
		RedisURL: "",                                                                            // cluster mode: redis.url
	})
	if err != nil {
		panic(err)
	}
	// Each app declares how its events route.
	hub.Route("restaurants", func(ev events.Event) realtime.Route {
		return realtime.Route{Topics: []string{"restaurant:" + ev.Subject}}
	})
	_ = func(ctx context.Context) error { return hub.Start(ctx) } // at node start
	// log.OnCommit(hub.Notify); httpapi.Serve(ctx, ln, h, logger, func(ctx context.Context) { _ = hub.Shutdown(ctx) })

	// The restaurants board: one implied subscription, resumed with ?since=.
	// The handler reads what it needs from the request, accepts, subscribes
	// and returns; the hub owns the connection from then on and hands each
	// inbound message to OnMessage, one at a time, on the connection's own
	// goroutine.
	http.HandleFunc("GET /restaurants/{id}/board", func(w http.ResponseWriter, r *http.Request) {
		restaurant := r.PathValue("id")
		since := events.Cursor(r.URL.Query().Get("since"))
		c, err := hub.Accept(w, r, realtime.AcceptOptions{
			Value: "principal",
			OnMessage: func(c *realtime.Conn, msg []byte) {
				var a struct {
					Action    string `json:"action"`
					RequestID string `json:"request_id"`
				}
				_ = json.Unmarshal(msg, &a)
				// Work on the connection's behalf uses c.Context(), never r.Context().
				_ = c.Context()
				_ = c.Send(map[string]any{"type": "result", "request_id": a.RequestID, "data": map[string]any{}})
			},
		})
		if err != nil {
			return // the response is written
		}
		err = c.Subscribe(realtime.Subscription{
			App: "restaurants", OrgID: "org-1", Topics: []string{"restaurant:" + restaurant}, Since: since,
		})
		if err != nil {
			c.Close(realtime.StatusInternalError, "")
		}
		// Return: the connection lives on without this goroutine.
	})
}
