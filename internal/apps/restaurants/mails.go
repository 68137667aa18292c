package restaurants

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

//go:embed mails/*.tmpl
var mailFS embed.FS

// parseMails parses the app's mail templates.
func parseMails() (*mail.Templates, error) {
	return mail.ParseTemplates(mailFS, "mails")
}

// appTitle names the app in mails.
const appTitle = "ROSS, the restaurant reservations of Tessera"

// seatingMail says who gets which mail for a seating event.
type seatingMail struct {
	verb     string
	customer string // template for the seating's customer; "" none
	staff    string // template for each staff member; "" none
}

var seatingMails = []seatingMail{
	{verb: VerbCreated, customer: "seating_received", staff: "seating_new"},
	{verb: VerbAccepted, customer: "seating_accepted"},
	{verb: VerbDeclined, customer: "seating_declined"},
	{verb: VerbCancelled, customer: "seating_cancelled", staff: "seating_cancelled_staff"},
	{verb: VerbHailed, staff: "hailed"},
}

// enqueue renders template tmpl with data and queues it for to in tx, once
// per (event, template, user).
func (s *Service) enqueue(ctx context.Context, tx *store.Tx, key, tmpl, to string, data any) error {
	content, err := s.mails.Render(tmpl, data)
	if err != nil {
		return err
	}
	_, _, err = s.outbox.Enqueue(ctx, tx, mail.Message{DedupeKey: key, App: appName, Template: tmpl, To: to, Content: content})
	return err
}

// seats says "1 person" or "n people".
func seats(n int) string {
	if n == 1 {
		return "1 person"
	}
	return strconv.Itoa(n) + " people"
}

// mailSeating sends the mails of one seating event.
func (s *Service) mailSeating(ctx context.Context, e events.Event, m seatingMail) error {
	var p seatingPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("restaurants: payload of %s: %w", e.ID, err)
	}
	st := p.Seating
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		r, err := s.restaurant(ctx, tx, st.RestaurantID)
		if fault.CodeOf(err) == fault.NotFound {
			return nil // deleted by an admin meanwhile: nobody to tell
		}
		if err != nil {
			return err
		}
		var customer, name string
		if err := tx.QueryRow(ctx, `SELECT email, name FROM restaurants_users WHERE user_id = ?`, st.UserID).Scan(&customer, &name); err != nil {
			return store.Normalize(err)
		}
		table := ""
		if st.TableNumber != nil {
			table = strconv.Itoa(*st.TableNumber)
		}
		data := map[string]any{
			"Name": name, "Restaurant": r.Name, "Seats": seats(st.NumSeats), "Notes": st.Notes, "Customer": customer,
			"When": st.SeatingTime.In(s.opts.Location).Format("Mon 2 Jan 2006 15:04 MST"), "SeatingID": st.ID,
			"Table": table, "Reason": st.HailReason,
		}
		if m.customer != "" {
			if err := s.enqueue(ctx, tx, e.ID+":"+m.customer+":"+st.UserID, m.customer, customer, data); err != nil {
				return err
			}
		}
		if m.staff == "" {
			return nil
		}
		staff, err := s.staff(ctx, tx, st.RestaurantID, "")
		if err != nil {
			return err
		}
		for _, member := range staff {
			if err := s.enqueue(ctx, tx, e.ID+":"+m.staff+":"+member.UserID, m.staff, member.Email, data); err != nil {
				return err
			}
		}
		return nil
	})
}

// welcome creates the profile of a user confirmed through one of the app's
// clients, mirrors the CUSTOMER role in their attributes, and mails a
// welcome, once per user.
func (s *Service) welcome(ctx context.Context, e events.Event) error {
	if _, err := s.ensureUser(ctx, e.Subject); err != nil {
		if fault.CodeOf(err) == fault.Unauthorized {
			return nil // the user is gone
		}
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		c, err := s.loadCaller(ctx, tx, e.Subject)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(c.ClientID, appName+"-") {
			return nil // a user of another app
		}
		if c.Role == RoleCustomer {
			if err := s.setRole(ctx, tx, c.UserID, "", RoleCustomer); err != nil {
				return err
			}
		}
		data := map[string]any{"Name": c.Name, "App": appTitle, "Staff": c.ClientID == ClientStaff}
		return s.enqueue(ctx, tx, "welcome:"+c.UserID, "welcome", c.Email, data)
	})
}
