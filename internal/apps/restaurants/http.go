package restaurants

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

type meOutput struct{ Body Me }

type restaurantOutput struct {
	Location string `header:"Location"`
	Body     Restaurant
}

type createRestaurantInput struct {
	Body struct {
		Name        string `json:"name" minLength:"1" maxLength:"100" pattern:"\\S" doc:"1 to 100 characters."`
		Description string `json:"description,omitempty" maxLength:"2000"`
		Region      string `json:"region" minLength:"1" maxLength:"32" doc:"One of the configured regions (restaurants.regions; default NORTH, SOUTH, EAST, WEST)."`
	}
}

type listRestaurantsInput struct {
	Region string `query:"region" required:"true" minLength:"1" maxLength:"32" doc:"The region."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"100" doc:"The next_cursor of the previous page."`
}

type regionPath struct {
	Region string `path:"region" minLength:"1" maxLength:"32" doc:"The region."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"100" doc:"The next_cursor of the previous page."`
}

type idPath struct {
	ID string `path:"id" format:"uuid" doc:"The restaurant's id."`
}

type updateRestaurantInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	Body struct {
		Name        *string `json:"name,omitempty" minLength:"1" maxLength:"100" pattern:"\\S"`
		Description *string `json:"description,omitempty" maxLength:"2000"`
	}
}

type visibilityInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	Body struct {
		Visibility string `json:"visibility" enum:"PUBLIC,PRIVATE"`
	}
}

type staffPath struct {
	ID     string `path:"id" format:"uuid" doc:"The restaurant's id."`
	UserID string `path:"user_id" format:"uuid" doc:"The user's id."`
}

type putStaffInput struct {
	ID     string `path:"id" format:"uuid" doc:"The restaurant's id."`
	UserID string `path:"user_id" format:"uuid" doc:"The user's id."`
	Body   struct {
		Role string `json:"role" enum:"STAFF,MANAGER"`
	}
}

type staffOutput struct{ Body Staff }

type photoOutput struct{ Body PhotoUpload }

type createSeatingInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	Body struct {
		SeatingTime time.Time `json:"seatingTime" doc:"When (RFC 3339); must be in the future."`
		NumSeats    int       `json:"numSeats" minimum:"1" maximum:"50"`
		Notes       string    `json:"notes,omitempty" maxLength:"500"`
	}
}

type seatingOutput struct {
	Location string `header:"Location"`
	Body     Seating
}

type listSeatingsInput struct {
	ID string `path:"id" format:"uuid" doc:"The restaurant's id."`
	// Collection is the literal "seatings": written as a parameter so that
	// this path and /restaurants/region/{region} coexist on Go's ServeMux.
	Collection string    `path:"collection" enum:"seatings" doc:"Always seatings."`
	From       time.Time `query:"from" doc:"Seatings at or after this time (RFC 3339); default the start of today in the restaurants' time zone."`
	To         time.Time `query:"to" doc:"Seatings before this time (RFC 3339)."`
	Status     string    `query:"status" enum:"PENDING,ACCEPTED,DECLINED,CANCELLED,SEATED,CLOSED" doc:"Only seatings with this status."`
	Limit      int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor     string    `query:"cursor" maxLength:"100" doc:"The next_cursor of the previous page."`
}

type mySeatingsInput struct {
	From   time.Time `query:"from" doc:"Seatings at or after this time (RFC 3339)."`
	To     time.Time `query:"to" doc:"Seatings before this time (RFC 3339)."`
	Status string    `query:"status" enum:"PENDING,ACCEPTED,DECLINED,CANCELLED,SEATED,CLOSED" doc:"Only seatings with this status."`
	Limit  int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string    `query:"cursor" maxLength:"100" doc:"The next_cursor of the previous page."`
}

type seatingPath struct {
	ID  string `path:"id" format:"uuid" doc:"The restaurant's id."`
	SID string `path:"sid" format:"uuid" doc:"The seating's id."`
}

type seatInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	SID  string `path:"sid" format:"uuid" doc:"The seating's id."`
	Body struct {
		TableNumber int `json:"tableNumber" minimum:"1" maximum:"9999"`
	}
}

type hailInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	SID  string `path:"sid" format:"uuid" doc:"The seating's id."`
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"200"`
	}
}

type orderItemsInput struct {
	ID   string `path:"id" format:"uuid" doc:"The restaurant's id."`
	SID  string `path:"sid" format:"uuid" doc:"The seating's id."`
	Body struct {
		Items []string `json:"items" maxItems:"100" nullable:"false" doc:"The whole order, replacing the previous one; each item 1–200 characters."`
	}
}

type visitsInput struct {
	ID     string `path:"id" format:"uuid" doc:"The restaurant's id."`
	UserID string `path:"user_id" format:"uuid" doc:"The customer's id."`
}

type visitsOutput struct{ Body Visits }

func restaurantPath(id string) string { return "/restaurants/" + id }

func seatingLocation(st Seating) string {
	return restaurantPath(st.RestaurantID) + "/seatings/" + st.ID
}

// restaurantOut and seatingOut answer with the result of a service call.
func restaurantOut(r Restaurant, err error) (*restaurantOutput, error) {
	if err != nil {
		return nil, err
	}
	return &restaurantOutput{Location: restaurantPath(r.ID), Body: r}, nil
}

func seatingOut(st Seating, err error) (*seatingOutput, error) {
	if err != nil {
		return nil, err
	}
	return &seatingOutput{Location: seatingLocation(st), Body: st}, nil
}

// registerREST registers the API under /restaurants.
func (s *Service) registerREST(api huma.API) {
	tags := []string{"restaurants"}
	op := func(id, method, path, summary, desc string) huma.Operation {
		return huma.Operation{OperationID: "restaurants-" + id, Method: method, Path: path, Summary: summary, Description: desc, Tags: tags}
	}
	huma.Register(api, op("me", http.MethodGet, "/me", "Your profile", "Role (CUSTOMER, STAFF, MANAGER) and restaurant, as the database has them now."),
		withCaller(s, func(ctx context.Context, c caller, _ *struct{}) (*meOutput, error) {
			return &meOutput{Body: c.me()}, nil
		}))
	create := op("create", http.MethodPost, "", "Create a restaurant",
		"For a user of the restaurants-staff client who works nowhere yet: the restaurant starts PRIVATE and the caller becomes its MANAGER (attributes restaurantId and restaurantRole), in one transaction.")
	create.DefaultStatus = http.StatusCreated
	huma.Register(api, create, withCaller(s, func(ctx context.Context, c caller, in *createRestaurantInput) (*restaurantOutput, error) {
		return restaurantOut(s.CreateRestaurant(ctx, c, in.Body.Name, in.Body.Description, in.Body.Region))
	}))
	list := func(ctx context.Context, region, cursor string, limit int) (*httpapi.ListOutput[Restaurant], error) {
		c, err := s.callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		items, next, err := s.ListRestaurants(ctx, c, region, cursor, limit)
		if err != nil {
			return nil, err
		}
		return httpapi.Page(items, next), nil
	}
	huma.Register(api, op("list", http.MethodGet, "", "List the restaurants of a region", "Public ones, and your own restaurant whatever its visibility; by id."),
		func(ctx context.Context, in *listRestaurantsInput) (*httpapi.ListOutput[Restaurant], error) {
			return list(ctx, in.Region, in.Cursor, in.Limit)
		})
	huma.Register(api, op("list-region", http.MethodGet, "/region/{region}", "List the restaurants of a region", "The same as GET /restaurants?region=."),
		func(ctx context.Context, in *regionPath) (*httpapi.ListOutput[Restaurant], error) {
			return list(ctx, in.Region, in.Cursor, in.Limit)
		})
	huma.Register(api, op("get", http.MethodGet, "/{id}", "Get a restaurant", "A private restaurant is visible to its staff only (404 for others)."),
		withCaller(s, func(ctx context.Context, c caller, in *idPath) (*restaurantOutput, error) {
			return restaurantOut(s.GetRestaurant(ctx, c, in.ID))
		}))
	huma.Register(api, op("update", http.MethodPatch, "/{id}", "Change a restaurant's name or description", "Its manager only."),
		withCaller(s, func(ctx context.Context, c caller, in *updateRestaurantInput) (*restaurantOutput, error) {
			return restaurantOut(s.UpdateRestaurant(ctx, c, false, in.ID, RestaurantUpdate{Name: in.Body.Name, Description: in.Body.Description}))
		}))
	huma.Register(api, op("visibility", http.MethodPatch, "/{id}/visibility", "Make a restaurant public or private", "Its manager only."),
		withCaller(s, func(ctx context.Context, c caller, in *visibilityInput) (*restaurantOutput, error) {
			return restaurantOut(s.UpdateRestaurant(ctx, c, false, in.ID, RestaurantUpdate{Visibility: &in.Body.Visibility}))
		}))
	huma.Register(api, op("photo", http.MethodPost, "/{id}/photo", "Start a profile photo upload",
		"Its manager only. PUT the image bytes (PNG, JPEG or WebP, at most 10 MiB) to upload_url before expires_at; the upload is then checked and re-encoded "+
			"(1024 px photo, 256 px thumbnail, metadata stripped) and restaurants.restaurant.photo_updated is emitted, or photo_rejected with the reason (the old photo stays)."),
		withCaller(s, func(ctx context.Context, c caller, in *idPath) (*photoOutput, error) {
			up, err := s.StartPhotoUpload(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return &photoOutput{Body: up}, nil
		}))
	s.registerStaff(api, op)
	s.registerSeatings(api, op)
}

func (s *Service) registerStaff(api huma.API, op func(id, method, path, summary, desc string) huma.Operation) {
	// /me/staff, not /{id}/staff: that would clash with /region/{region}
	// on Go's ServeMux, and a caller works at one restaurant.
	huma.Register(api, op("staff-list", http.MethodGet, "/me/staff", "List your restaurant's staff",
		"Its staff only: every staff member and manager of the caller's restaurant, in the order they joined (one page)."),
		withCaller(s, func(ctx context.Context, c caller, _ *struct{}) (*httpapi.ListOutput[Staff], error) {
			items, err := s.ListStaff(ctx, c)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(items, ""), nil
		}))
	huma.Register(api, op("staff-put", http.MethodPut, "/{id}/staff/{user_id}", "Add a staff member or change their role",
		"Its manager only. The user must have signed up with the restaurants-staff client and work nowhere else. A restaurant always keeps a manager (409)."),
		withCaller(s, func(ctx context.Context, c caller, in *putStaffInput) (*staffOutput, error) {
			st, err := s.PutStaff(ctx, c, in.ID, in.UserID, in.Body.Role)
			if err != nil {
				return nil, err
			}
			return &staffOutput{Body: st}, nil
		}))
	del := op("staff-delete", http.MethodDelete, "/{id}/staff/{user_id}", "Remove a staff member",
		"Its manager only; never the last manager (409). The user becomes a customer; their live board closes.")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(api, del, func(ctx context.Context, in *staffPath) (*struct{}, error) {
		c, err := s.callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		return nil, s.RemoveStaff(ctx, c, in.ID, in.UserID)
	})
}

// withCaller adapts an operation made as the request's caller: it resolves
// the caller (401 anonymous, 403 admin keys) before fn runs.
func withCaller[I, O any](s *Service, fn func(ctx context.Context, c caller, in *I) (O, error)) func(context.Context, *I) (O, error) {
	return func(ctx context.Context, in *I) (O, error) {
		c, err := s.callerFrom(ctx)
		if err != nil {
			var zero O
			return zero, err
		}
		return fn(ctx, c, in)
	}
}
