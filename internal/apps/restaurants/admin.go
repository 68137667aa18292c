package restaurants

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Admin-only event types.
const (
	EventRestaurantDeleted = "restaurants.restaurant.deleted"
	EventSeatingDeleted    = "restaurants.seating.deleted"
)

type adminRestaurantsInput struct {
	Region string `query:"region" maxLength:"32" doc:"Only this region."`
	Q      string `query:"q" maxLength:"200" doc:"Only restaurants whose name contains this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"100" doc:"The next_cursor of the previous page."`
}

type adminRestaurantPath struct {
	ID string `path:"id" format:"uuid" doc:"The restaurant's id."`
}

type adminUpdateInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	Body struct {
		Name        *string `json:"name,omitempty" minLength:"1" maxLength:"100" pattern:"\\S"`
		Description *string `json:"description,omitempty" maxLength:"2000"`
		Visibility  *string `json:"visibility,omitempty" enum:"PUBLIC,PRIVATE"`
	}
}

type adminSeatingsInput struct {
	RestaurantID string `query:"restaurant_id" maxLength:"36" doc:"Only this restaurant's seatings."`
	UserID       string `query:"user_id" maxLength:"36" doc:"Only this customer's seatings."`
	Status       string `query:"status" enum:"PENDING,ACCEPTED,DECLINED,CANCELLED,SEATED,CLOSED"`
	Limit        int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor       string `query:"cursor" maxLength:"100" doc:"The next_cursor of the previous page."`
}

type adminSeatingPath struct {
	ID string `path:"id" format:"uuid" doc:"The seating's id."`
}

type reportInput struct {
	Body struct {
		WeekStart string `json:"week_start" doc:"The Monday starting the week, YYYY-MM-DD, in the restaurants' time zone."`
	}
}

type reportOutput struct {
	Status int
	Body   struct {
		WeekStart string `json:"week_start"`
		EventID   string `json:"event_id" doc:"The restaurants.report.requested event whose handler mails the report."`
	}
}

// registerAdmin registers /admin/restaurants/{restaurants,seatings,reports}.
func (s *Service) registerAdmin(api huma.API) {
	tags := []string{"admin", "restaurants"}
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{OperationID: "admin-restaurants-" + id, Method: method, Path: path, Summary: summary, Tags: tags}
	}
	huma.Register(api, op("list", http.MethodGet, "/restaurants", "List every restaurant (by id)"),
		func(ctx context.Context, in *adminRestaurantsInput) (*httpapi.ListOutput[Restaurant], error) {
			q := `SELECT ` + restaurantColumns + ` FROM restaurants_restaurants WHERE id > ?`
			args := []any{in.Cursor}
			if in.Region != "" {
				q, args = q+` AND region = ?`, append(args, strings.ToUpper(in.Region))
			}
			if t := strings.TrimSpace(in.Q); t != "" {
				cond, arg := store.ContainsFold("name", t)
				q, args = q+` AND `+cond, append(args, arg)
			}
			rows, err := s.db.Query(ctx, q+` ORDER BY id LIMIT ?`, append(args, in.Limit+1)...)
			if err != nil {
				return nil, store.Normalize(err)
			}
			defer rows.Close()
			out := []Restaurant{}
			for rows.Next() {
				r, err := scanRestaurant(rows)
				if err != nil {
					return nil, store.Normalize(err)
				}
				out = append(out, s.withURLs(r))
			}
			if err := rows.Err(); err != nil {
				return nil, store.Normalize(err)
			}
			return httpapi.Page(store.TrimPage(out, in.Limit, func(r Restaurant) string { return r.ID })), nil
		})
	huma.Register(api, op("get", http.MethodGet, "/restaurants/{id}", "Get any restaurant"),
		func(ctx context.Context, in *adminRestaurantPath) (*restaurantOutput, error) {
			r, err := s.restaurant(ctx, s.db, in.ID)
			if err != nil {
				return nil, err
			}
			return &restaurantOutput{Location: "/admin/restaurants/restaurants/" + r.ID, Body: s.withURLs(r)}, nil
		})
	huma.Register(api, op("update", http.MethodPatch, "/restaurants/{id}", "Change any restaurant (emits restaurants.restaurant.updated)"),
		func(ctx context.Context, in *adminUpdateInput) (*restaurantOutput, error) {
			r, err := s.UpdateRestaurant(ctx, caller{}, true, in.ID, RestaurantUpdate{Name: in.Body.Name, Description: in.Body.Description, Visibility: in.Body.Visibility})
			if err != nil {
				return nil, err
			}
			return &restaurantOutput{Location: "/admin/restaurants/restaurants/" + r.ID, Body: r}, nil
		})
	del := op("delete", http.MethodDelete, "/restaurants/{id}", "Delete a restaurant, its staff positions and seatings (emits restaurants.restaurant.deleted)")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, func(ctx context.Context, in *adminRestaurantPath) (*struct{}, error) {
		return nil, s.DeleteRestaurant(ctx, in.ID)
	})
	huma.Register(api, op("seatings", http.MethodGet, "/seatings", "List every seating (by id)"),
		func(ctx context.Context, in *adminSeatingsInput) (*httpapi.ListOutput[Seating], error) {
			q := `SELECT ` + seatingColumns + ` FROM restaurants_seatings WHERE id > ?`
			args := []any{in.Cursor}
			for col, v := range map[string]string{"restaurant_id": in.RestaurantID, "user_id": in.UserID, "status": in.Status} {
				if v != "" {
					q, args = q+` AND `+col+` = ?`, append(args, v)
				}
			}
			rows, err := s.db.Query(ctx, q+` ORDER BY id LIMIT ?`, append(args, in.Limit+1)...)
			if err != nil {
				return nil, store.Normalize(err)
			}
			defer rows.Close()
			out := []Seating{}
			for rows.Next() {
				st, err := scanSeating(rows)
				if err != nil {
					return nil, store.Normalize(err)
				}
				out = append(out, st)
			}
			if err := rows.Err(); err != nil {
				return nil, store.Normalize(err)
			}
			return httpapi.Page(store.TrimPage(out, in.Limit, func(st Seating) string { return st.ID })), nil
		})
	huma.Register(api, op("seating-get", http.MethodGet, "/seatings/{id}", "Get any seating"),
		func(ctx context.Context, in *adminSeatingPath) (*seatingOutput, error) {
			st, err := scanSeating(s.db.QueryRow(ctx, `SELECT `+seatingColumns+` FROM restaurants_seatings WHERE id = ?`, in.ID))
			if err := store.NotFound(err, "seating"); err != nil {
				return nil, err
			}
			return &seatingOutput{Location: "/admin/restaurants/seatings/" + st.ID, Body: st}, nil
		})
	sdel := op("seating-delete", http.MethodDelete, "/seatings/{id}", "Delete a seating (emits restaurants.seating.deleted)")
	sdel.DefaultStatus = http.StatusNoContent
	huma.Register(api, sdel, func(ctx context.Context, in *adminSeatingPath) (*struct{}, error) {
		return nil, s.DeleteSeating(ctx, in.ID)
	})
	rep := op("report", http.MethodPost, "/reports/weekly", "Run the weekly report for a week")
	rep.Description = "Mails the report of the week starting on week_start (a Monday) to each restaurant's managers and to restaurants.report_to, " +
		"from a durable handler: 202 once the request is recorded. Each request mails each recipient once."
	rep.DefaultStatus = http.StatusAccepted
	huma.Register(api, rep, func(ctx context.Context, in *reportInput) (*reportOutput, error) {
		monday, err := s.ParseWeekStart(in.Body.WeekStart)
		if err != nil {
			return nil, err
		}
		id, err := s.RequestReport(ctx, monday)
		if err != nil {
			return nil, err
		}
		out := &reportOutput{Status: http.StatusAccepted}
		out.Body.WeekStart, out.Body.EventID = in.Body.WeekStart, id
		return out, nil
	})
}

// DeleteRestaurant deletes restaurant id with its staff positions (their
// users become customers) and seatings.
func (s *Service) DeleteRestaurant(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		r, err := s.restaurant(ctx, tx, id)
		if err != nil {
			return err
		}
		staff, err := s.staff(ctx, tx, id, "")
		if err != nil {
			return err
		}
		for _, m := range staff {
			if err := s.setRole(ctx, tx, m.UserID, "", RoleCustomer); err != nil && fault.CodeOf(err) != fault.NotFound {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM restaurants_seatings WHERE restaurant_id = ?`, `DELETE FROM restaurants_staff WHERE restaurant_id = ?`,
			`DELETE FROM restaurants_photo_uploads WHERE restaurant_id = ?`, `DELETE FROM restaurants_restaurants WHERE id = ?`} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		for _, k := range []string{r.photoKey, r.thumbKey} {
			if k != "" {
				tx.AfterCommit(func() { _ = s.blobs.Delete(context.WithoutCancel(ctx), k) })
			}
		}
		return s.emit(ctx, tx, EventRestaurantDeleted, id, map[string]any{"restaurantId": id, "name": r.Name})
	})
}

// DeleteSeating deletes seating id (admin).
func (s *Service) DeleteSeating(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		st, err := scanSeating(tx.QueryRow(ctx, `SELECT `+seatingColumns+` FROM restaurants_seatings WHERE id = ?`, id))
		if err := store.NotFound(err, "seating"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM restaurants_seatings WHERE id = ?`, id); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventSeatingDeleted, id, seatingPayload{Seating: st})
	})
}
