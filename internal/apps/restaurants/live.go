package restaurants

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// Topics of the live board: a seating event goes to its restaurant's staff
// and to its customer.
func restaurantTopic(id string) string { return "restaurant:" + id }
func userTopic(id string) string       { return "user:" + id }

// route maps the app's events to hub topics: seating events only.
func route(e events.Event) realtime.Route {
	if !strings.HasPrefix(e.Type, "restaurants.seating.") {
		return realtime.Route{}
	}
	var p struct {
		Seating struct {
			RestaurantID string `json:"restaurantId"`
			UserID       string `json:"userId"`
		} `json:"seating"`
	}
	if json.Unmarshal(e.Payload, &p) != nil {
		return realtime.Route{}
	}
	return realtime.Route{Topics: []string{restaurantTopic(p.Seating.RestaurantID), userTopic(p.Seating.UserID)}}
}

// live serves GET /restaurants/ws, the live seating board: staff receive
// every seating event of their restaurant, customers those of their own
// seatings, as push frames {"type":"event","cursor",…,"data":{"event",
// "subject","seating"}}; ?since=<cursor> resumes.
type live struct {
	svc  *Service
	hub  *realtime.Hub
	auth *authz.Authorizer
}

func (l *live) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, proto, err := l.auth.AuthenticateUpgrade(r, appName)
	if err == nil && p.UserID == "" {
		err = fault.New(fault.Forbidden, "the live board is for users")
	}
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	since := events.Cursor(r.URL.Query().Get("since"))
	if since != "" && !events.ValidCursor(since) {
		httpapi.WriteProblem(w, r, fault.WithFields("bad since", fault.FieldError{Location: "query.since", Value: string(since), Message: "not a cursor of a pushed event"}))
		return
	}
	c, err := l.svc.callerOf(r.Context(), p.UserID)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	opts := realtime.AcceptOptions{Value: c}
	if proto != "" {
		opts.Subprotocols = []string{proto}
	}
	conn, err := l.hub.Accept(w, r, opts)
	if err != nil {
		return // Accept wrote the answer
	}
	sub := realtime.Subscription{App: appName, Topics: []string{userTopic(c.UserID)}, Since: since}
	if c.RestaurantID != "" {
		restaurantID, userID := c.RestaurantID, c.UserID
		sub.Topics = []string{restaurantTopic(restaurantID)}
		// Removed staff stop receiving at once (Recheck on staff.removed).
		sub.Authorize = func(ctx context.Context) error {
			now, err := l.svc.loadCaller(ctx, l.svc.db, userID)
			if err != nil {
				return err
			}
			if !now.staffOf(restaurantID) {
				return fault.New(fault.Forbidden, "you no longer work at this restaurant")
			}
			return nil
		}
	}
	if err := conn.Subscribe(sub); err != nil {
		conn.Close(realtime.StatusInternalError, "subscribe failed")
	}
}

// watch re-checks the live board subscriptions of a restaurant whose staff
// changed, on every node.
func (l *live) watch(e events.Event) {
	if e.Type != EventStaffRemoved && e.Type != EventStaffAdded {
		return
	}
	var p struct {
		RestaurantID string `json:"restaurantId"`
	}
	if json.Unmarshal(e.Payload, &p) == nil && p.RestaurantID != "" {
		go l.hub.Recheck(appName, "", restaurantTopic(p.RestaurantID))
	}
}
