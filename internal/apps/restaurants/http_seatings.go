package restaurants

import (
	"context"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// checkItems checks every order item (1–200 characters, not only spaces)
// and lists every bad one.
func checkItems(items []string) error {
	var bad []fault.FieldError
	for i, it := range items {
		if n := utf8.RuneCountInString(it); n < 1 || n > 200 || !utf8.ValidString(it) {
			bad = append(bad, fault.FieldError{Location: "body.items[" + strconv.Itoa(i) + "]", Value: it, Message: "must be 1 to 200 characters"})
		}
	}
	if len(bad) > 0 {
		return fault.WithFields("bad order items", bad...)
	}
	return nil
}

func (s *Service) registerSeatings(api huma.API, op func(id, method, path, summary, desc string) huma.Operation) {
	create := op("seating-create", http.MethodPost, "/{id}/seatings", "Reserve a seating",
		"For customers, at a public restaurant; seatingTime in the future, numSeats 1–50, notes at most 500 characters. Starts PENDING; "+
			"the customer gets an acknowledgement mail and every staff member a notification.")
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, withCaller(s, func(ctx context.Context, c caller, in *createSeatingInput) (*seatingOutput, error) {
		return seatingOut(s.CreateSeating(ctx, c, in.ID, NewSeating{SeatingTime: in.Body.SeatingTime, NumSeats: in.Body.NumSeats, Notes: in.Body.Notes}))
	}))
	huma.Register(api, op("seating-list", http.MethodGet, "/{id}/{collection}", "List a restaurant's seatings",
		"GET /restaurants/{id}/seatings, for its staff: current and upcoming seatings ordered by seatingTime, from the start of today unless from is given."),
		withCaller(s, func(ctx context.Context, c caller, in *listSeatingsInput) (*httpapi.ListOutput[Seating], error) {
			items, next, err := s.ListSeatings(ctx, c, in.ID, SeatingFilter{From: in.From, To: in.To, Status: in.Status, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, err
			}
			return httpapi.Page(items, next), nil
		}))
	huma.Register(api, op("my-seatings", http.MethodGet, "/me/seatings", "List your seatings", "Ordered by seatingTime."),
		withCaller(s, func(ctx context.Context, c caller, in *mySeatingsInput) (*httpapi.ListOutput[Seating], error) {
			items, next, err := s.ListMySeatings(ctx, c, SeatingFilter{From: in.From, To: in.To, Status: in.Status, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, err
			}
			return httpapi.Page(items, next), nil
		}))
	huma.Register(api, op("seating-get", http.MethodGet, "/{id}/seatings/{sid}", "Get a seating", "Its restaurant's staff or its customer."),
		withCaller(s, func(ctx context.Context, c caller, in *seatingPath) (*seatingOutput, error) {
			return seatingOut(s.GetSeating(ctx, c, in.ID, in.SID))
		}))
	transition := func(action string) func(context.Context, *seatingPath) (*seatingOutput, error) {
		return withCaller(s, func(ctx context.Context, c caller, in *seatingPath) (*seatingOutput, error) {
			return seatingOut(s.Transition(ctx, c, in.ID, in.SID, action, 0))
		})
	}
	const machine = " Any other transition is 409 naming the current status."
	huma.Register(api, op("seating-accept", http.MethodPatch, "/{id}/seatings/{sid}/accept", "Accept a seating", "Its staff; PENDING → ACCEPTED; mails the customer."+machine), transition("accept"))
	huma.Register(api, op("seating-decline", http.MethodPatch, "/{id}/seatings/{sid}/decline", "Decline a seating", "Its staff; PENDING → DECLINED; mails the customer."+machine), transition("decline"))
	huma.Register(api, op("seating-cancel", http.MethodDelete, "/{id}/seatings/{sid}/cancel", "Cancel a seating", "The customer who made it; PENDING or ACCEPTED → CANCELLED; mails the customer and the staff."+machine), transition("cancel"))
	huma.Register(api, op("seating-cancel-patch", http.MethodPatch, "/{id}/seatings/{sid}/cancel", "Cancel a seating", "The same as DELETE …/cancel."), transition("cancel"))
	huma.Register(api, op("seating-close", http.MethodPatch, "/{id}/seatings/{sid}/close", "Close a seating", "Its staff; SEATED → CLOSED."+machine), transition("close"))
	huma.Register(api, op("seating-seat", http.MethodPatch, "/{id}/seatings/{sid}/seat", "Seat the customers at a table", "Its staff; ACCEPTED → SEATED with tableNumber 1–9999."+machine),
		withCaller(s, func(ctx context.Context, c caller, in *seatInput) (*seatingOutput, error) {
			return seatingOut(s.Transition(ctx, c, in.ID, in.SID, "seat", in.Body.TableNumber))
		}))
	huma.Register(api, op("seating-hail", http.MethodPost, "/{id}/seatings/{sid}/hail", "Hail a server", "The seating's customer, only while SEATED (409 otherwise); the staff are mailed and the live board pushes it."),
		withCaller(s, func(ctx context.Context, c caller, in *hailInput) (*seatingOutput, error) {
			reason := ""
			if in.Body != nil {
				reason = in.Body.Reason
			}
			return seatingOut(s.Hail(ctx, c, in.ID, in.SID, reason))
		}))
	huma.Register(api, op("seating-hail-ack", http.MethodDelete, "/{id}/seatings/{sid}/hail", "Acknowledge a hail", "Its staff; hailing becomes false."),
		withCaller(s, func(ctx context.Context, c caller, in *seatingPath) (*seatingOutput, error) {
			return seatingOut(s.AcknowledgeHail(ctx, c, in.ID, in.SID))
		}))
	huma.Register(api, op("seating-order", http.MethodPut, "/{id}/seatings/{sid}/order-items", "Replace a table's order", "Its staff, while SEATED; at most 100 items of 1–200 characters."),
		func(ctx context.Context, in *orderItemsInput) (*seatingOutput, error) {
			if err := checkItems(in.Body.Items); err != nil {
				return nil, err
			}
			c, err := s.callerFrom(ctx)
			if err != nil {
				return nil, err
			}
			return seatingOut(s.SetOrderItems(ctx, c, in.ID, in.SID, in.Body.Items))
		})
	huma.Register(api, op("customer-visits", http.MethodGet, "/{id}/customers/{user_id}/visits", "A customer's visits",
		"Its staff: SEATED or CLOSED seatings of the customer at this restaurant in the last six months, and the latest."),
		withCaller(s, func(ctx context.Context, c caller, in *visitsInput) (*visitsOutput, error) {
			v, err := s.CustomerVisits(ctx, c, in.ID, in.UserID)
			if err != nil {
				return nil, err
			}
			return &visitsOutput{Body: v}, nil
		}))
}
