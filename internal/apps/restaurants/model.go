package restaurants

import "time"

// Roles a user holds in the app (the seed's restaurantRole attribute).
const (
	RoleCustomer = "CUSTOMER"
	RoleStaff    = "STAFF"
	RoleManager  = "MANAGER"
)

// Attribute names mirrored in the user pool (custom:<name> in tokens).
const (
	attrRestaurantID = "restaurantId"
	attrRole         = "restaurantRole"
)

// App clients of the user pool.
const (
	ClientCustomer = "restaurants-customer"
	ClientStaff    = "restaurants-staff"
)

// Visibility of a restaurant.
const (
	Public  = "PUBLIC"
	Private = "PRIVATE"
)

// Seating statuses.
const (
	StatusPending   = "PENDING"
	StatusAccepted  = "ACCEPTED"
	StatusDeclined  = "DECLINED"
	StatusCancelled = "CANCELLED"
	StatusSeated    = "SEATED"
	StatusClosed    = "CLOSED"
)

// Me is the caller's profile (GET /restaurants/me).
type Me struct {
	UserID       string  `json:"userId"`
	Email        string  `json:"email"`
	Name         string  `json:"name"`
	ClientID     string  `json:"clientId" doc:"The app client the user signed up with."`
	Role         string  `json:"role" enum:"CUSTOMER,STAFF,MANAGER"`
	RestaurantID *string `json:"restaurantId" doc:"The restaurant the user works at; null for customers."`
}

// Restaurant is a restaurant as the API shows it.
type Restaurant struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	Region          string    `json:"region"`
	Visibility      string    `json:"visibility" enum:"PUBLIC,PRIVATE"`
	ProfilePhotoURL *string   `json:"profilePhotoUrl" doc:"A signed URL of the 1024 px photo (valid 24 h from this response); null before the first photo."`
	ThumbnailURL    *string   `json:"thumbnailUrl" doc:"A signed URL of the 256 px thumbnail; null before the first photo."`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	// PhotoRejection is the last photo upload the pipeline refused, until a
	// later one is taken; shown to the restaurant's staff only.
	PhotoRejection *PhotoRejection `json:"photoRejection,omitempty"`

	photoKey, thumbKey string
}

// PhotoRejection tells why a photo upload was refused (the old photo stays).
type PhotoRejection struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Seating is a reservation and, once seated, the table's visit.
type Seating struct {
	ID           string    `json:"id"`
	RestaurantID string    `json:"restaurantId"`
	UserID       string    `json:"userId"`
	Status       string    `json:"status" enum:"PENDING,ACCEPTED,DECLINED,CANCELLED,SEATED,CLOSED"`
	SeatingTime  time.Time `json:"seatingTime"`
	NumSeats     int       `json:"numSeats"`
	Notes        string    `json:"notes"`
	TableNumber  *int      `json:"tableNumber"`
	OrderItems   []string  `json:"orderItems" nullable:"false"`
	Hailing      bool      `json:"hailing"`
	HailReason   string    `json:"hailReason,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Staff is a member of a restaurant's staff.
type Staff struct {
	UserID string    `json:"userId"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
	Role   string    `json:"role" enum:"STAFF,MANAGER"`
	Since  time.Time `json:"since"`
}

// Visits summarizes a customer's visits to a restaurant.
type Visits struct {
	VisitsLast6Months int        `json:"visitsLast6Months"`
	LastVisitAt       *time.Time `json:"lastVisitAt"`
}

// seatingPayload is the payload of every seating event (and the data of the
// live board's push frames).
type seatingPayload struct {
	Seating Seating `json:"seating"`
}

// restaurantPayload is the payload of restaurant events.
type restaurantPayload struct {
	Restaurant Restaurant `json:"restaurant"`
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
