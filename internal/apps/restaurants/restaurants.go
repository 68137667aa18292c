package restaurants

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Event types of restaurants.
const (
	EventRestaurantCreated       = "restaurants.restaurant.created"
	EventRestaurantUpdated       = "restaurants.restaurant.updated"
	EventRestaurantPhotoUpdated  = "restaurants.restaurant.photo_updated"
	EventRestaurantPhotoRejected = "restaurants.restaurant.photo_rejected"
	EventStaffAdded              = "restaurants.staff.added"
	EventStaffRemoved            = "restaurants.staff.removed"
)

// photoURLTTL is how long the photo URLs of a response stay valid.
const photoURLTTL = 24 * time.Hour

const restaurantColumns = `id, name, description, region, visibility, photo_key, thumb_key, created_at, updated_at,
	photo_rejected_at, photo_rejected_reason`

func scanRestaurant(sc interface{ Scan(...any) error }) (Restaurant, error) {
	var (
		r                          Restaurant
		created, updated, rejected int64
		reason                     string
	)
	err := sc.Scan(&r.ID, &r.Name, &r.Description, &r.Region, &r.Visibility, &r.photoKey, &r.thumbKey, &created, &updated, &rejected, &reason)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	if rejected != 0 {
		r.PhotoRejection = &PhotoRejection{Reason: reason, At: fromMicros(rejected)}
	}
	return r, err
}

// forCaller is r as c sees it: a refused photo upload is its staff's
// business only.
func forCaller(c caller, r Restaurant) Restaurant {
	if !c.staffOf(r.ID) {
		r.PhotoRejection = nil
	}
	return r
}

// withURLs fills in the signed photo URLs.
func (s *Service) withURLs(r Restaurant) Restaurant {
	sign := func(key string) *string {
		if key == "" {
			return nil
		}
		u, err := s.blobs.SignedGetURL(key, photoURLTTL, "")
		if err != nil {
			return nil
		}
		return &u
	}
	r.ProfilePhotoURL, r.ThumbnailURL = sign(r.photoKey), sign(r.thumbKey)
	return r
}

func (s *Service) restaurant(ctx context.Context, q store.Querier, id string) (Restaurant, error) {
	r, err := scanRestaurant(q.QueryRow(ctx, `SELECT `+restaurantColumns+` FROM restaurants_restaurants WHERE id = ?`, id))
	return r, store.NotFound(err, "restaurant")
}

// visibleRestaurant returns restaurant id if c may see it: public ones to
// everyone, private ones to their staff; else fault.NotFound.
func (s *Service) visibleRestaurant(ctx context.Context, q store.Querier, c caller, id string) (Restaurant, error) {
	r, err := s.restaurant(ctx, q, id)
	if err != nil {
		return Restaurant{}, err
	}
	if r.Visibility != Public && !c.staffOf(id) {
		return Restaurant{}, fault.New(fault.NotFound, "restaurant not found")
	}
	return r, nil
}

// staffRestaurant returns restaurant id for an action of its staff (its
// manager when manager is set): 404 when c may not see the restaurant, 403
// when c may see it but holds no such role there ("only the restaurant's
// staff may <what>").
func (s *Service) staffRestaurant(ctx context.Context, q store.Querier, c caller, id string, manager bool, what string) (Restaurant, error) {
	r, err := s.visibleRestaurant(ctx, q, c, id)
	if err != nil {
		return Restaurant{}, err
	}
	switch {
	case manager && !c.managerOf(id):
		return Restaurant{}, fault.New(fault.Forbidden, "only the restaurant's manager may %s", what)
	case !c.staffOf(id):
		return Restaurant{}, fault.New(fault.Forbidden, "only the restaurant's staff may %s", what)
	}
	return r, nil
}

// setRole mirrors c's restaurant role in the user pool, in tx.
func (s *Service) setRole(ctx context.Context, tx *store.Tx, userID, restaurantID, role string) error {
	return identity.SetAttributes(ctx, tx, s.events, userID, map[string]string{attrRestaurantID: restaurantID, attrRole: role})
}

// CreateRestaurant creates a private restaurant with c as its manager, in
// one transaction with the manager's user attributes.
func (s *Service) CreateRestaurant(ctx context.Context, c caller, name, description, region string) (Restaurant, error) {
	region, err := s.checkRegion("body.region", region)
	if err != nil {
		return Restaurant{}, err
	}
	if c.ClientID != ClientStaff {
		return Restaurant{}, fault.New(fault.Forbidden, "only users who signed up with the restaurants-staff client create restaurants")
	}
	now := s.now()
	r := Restaurant{ID: newID(), Name: name, Description: description, Region: region, Visibility: Private, CreatedAt: now, UpdatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		var current string
		err := tx.QueryRow(ctx, `SELECT restaurant_id FROM restaurants_staff WHERE user_id = ?`, c.UserID).Scan(&current)
		if err == nil {
			return fault.New(fault.Conflict, "you already work at restaurant %s", current)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO restaurants_restaurants (id, name, description, region, visibility, created_at, updated_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Name, r.Description, r.Region, r.Visibility, micros(now), micros(now), c.UserID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO restaurants_staff (user_id, restaurant_id, role, created_at) VALUES (?, ?, ?, ?)`,
			c.UserID, r.ID, RoleManager, micros(now)); err != nil {
			return err
		}
		if err := s.setRole(ctx, tx, c.UserID, r.ID, RoleManager); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventRestaurantCreated, r.ID, restaurantPayload{Restaurant: r})
	})
	return s.withURLs(r), err
}

// ListRestaurants lists the public restaurants of region (and c's own
// restaurant there, public or not), by id, after cursor.
func (s *Service) ListRestaurants(ctx context.Context, c caller, region, cursor string, limit int) ([]Restaurant, string, error) {
	region, err := s.checkRegion("region", region)
	if err != nil {
		return nil, "", err
	}
	limit = pageLimit(limit)
	rows, err := s.db.Query(ctx, `SELECT `+restaurantColumns+` FROM restaurants_restaurants
		WHERE region = ? AND (visibility = 'PUBLIC' OR id = ?) AND id > ? ORDER BY id LIMIT ?`,
		region, c.RestaurantID, cursor, limit+1)
	if err != nil {
		return nil, "", store.Normalize(err)
	}
	defer rows.Close()
	out := []Restaurant{}
	for rows.Next() {
		r, err := scanRestaurant(rows)
		if err != nil {
			return nil, "", store.Normalize(err)
		}
		out = append(out, forCaller(c, s.withURLs(r)))
	}
	if err := rows.Err(); err != nil {
		return nil, "", store.Normalize(err)
	}
	out, next := store.TrimPage(out, limit, func(r Restaurant) string { return r.ID })
	return out, next, nil
}

// GetRestaurant returns restaurant id as c may see it.
func (s *Service) GetRestaurant(ctx context.Context, c caller, id string) (Restaurant, error) {
	r, err := s.visibleRestaurant(ctx, s.db, c, id)
	return forCaller(c, s.withURLs(r)), err
}

// RestaurantUpdate is a change to a restaurant; nil fields are kept.
type RestaurantUpdate struct {
	Name        *string
	Description *string
	Visibility  *string
}

// UpdateRestaurant applies u to restaurant id; only its manager may (admin
// callers pass admin true).
func (s *Service) UpdateRestaurant(ctx context.Context, c caller, admin bool, id string, u RestaurantUpdate) (Restaurant, error) {
	var r Restaurant
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		var err error
		if admin {
			r, err = s.restaurant(ctx, tx, id)
		} else {
			r, err = s.staffRestaurant(ctx, tx, c, id, true, "change it")
		}
		if err != nil {
			return err
		}
		if u.Name != nil {
			r.Name = *u.Name
		}
		if u.Description != nil {
			r.Description = *u.Description
		}
		if u.Visibility != nil {
			r.Visibility = *u.Visibility
		}
		r.UpdatedAt = s.now()
		if _, err := tx.Exec(ctx, `UPDATE restaurants_restaurants SET name = ?, description = ?, visibility = ?, updated_at = ? WHERE id = ?`,
			r.Name, r.Description, r.Visibility, micros(r.UpdatedAt), id); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventRestaurantUpdated, id, restaurantPayload{Restaurant: r})
	})
	return s.withURLs(r), err
}

// staff lists a restaurant's staff, of one role when role is set.
func (s *Service) staff(ctx context.Context, q store.Querier, restaurantID, role string) ([]Staff, error) {
	rows, err := q.Query(ctx, `SELECT s.user_id, u.email, u.name, s.role, s.created_at FROM restaurants_staff s
		JOIN restaurants_users u ON u.user_id = s.user_id
		WHERE s.restaurant_id = ? AND (? = '' OR s.role = ?) ORDER BY s.created_at, s.user_id`, restaurantID, role, role)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	out := []Staff{}
	for rows.Next() {
		var (
			st    Staff
			since int64
		)
		if err := rows.Scan(&st.UserID, &st.Email, &st.Name, &st.Role, &since); err != nil {
			return nil, store.Normalize(err)
		}
		st.Since = fromMicros(since)
		out = append(out, st)
	}
	return out, store.Normalize(rows.Err())
}

// ListStaff returns the staff of c's restaurant, managers included, in the
// order they joined (its staff only).
func (s *Service) ListStaff(ctx context.Context, c caller) ([]Staff, error) {
	if c.RestaurantID == "" || !c.staffOf(c.RestaurantID) {
		return nil, fault.New(fault.Forbidden, "only a restaurant's staff list its staff")
	}
	return s.staff(ctx, s.db, c.RestaurantID, "")
}

// PutStaff makes user userID staff of restaurant id with role (its manager
// only). The user must have signed up with the staff client and not work at
// another restaurant. Demoting the last manager is refused.
func (s *Service) PutStaff(ctx context.Context, c caller, id, userID, role string) (Staff, error) {
	if _, err := s.ensureUser(ctx, userID); err != nil {
		if fault.CodeOf(err) == fault.Unauthorized {
			return Staff{}, fault.New(fault.NotFound, "user not found")
		}
		return Staff{}, err
	}
	var st Staff
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if _, err := s.staffRestaurant(ctx, tx, c, id, true, "manage its staff"); err != nil {
			return err
		}
		target, err := s.loadCaller(ctx, tx, userID)
		if err != nil {
			return err
		}
		switch {
		case target.ClientID != ClientStaff:
			return fault.New(fault.Conflict, "the user did not sign up with the restaurants-staff client")
		case target.RestaurantID != "" && target.RestaurantID != id:
			return fault.New(fault.Conflict, "the user works at another restaurant")
		}
		if target.Role == RoleManager && role != RoleManager {
			if err := s.keepOneManager(ctx, tx, id, userID); err != nil {
				return err
			}
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO restaurants_staff (user_id, restaurant_id, role, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET role = excluded.role`, userID, id, role, micros(now)); err != nil {
			return err
		}
		if err := s.setRole(ctx, tx, userID, id, role); err != nil {
			return err
		}
		st = Staff{UserID: userID, Email: target.Email, Name: target.Name, Role: role, Since: now}
		return s.emit(ctx, tx, EventStaffAdded, userID, map[string]any{"restaurantId": id, "userId": userID, "role": role})
	})
	return st, err
}

// keepOneManager fails when userID is restaurant id's only manager.
func (s *Service) keepOneManager(ctx context.Context, tx *store.Tx, id, userID string) error {
	var others int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM restaurants_staff WHERE restaurant_id = ? AND role = 'MANAGER' AND user_id <> ?`, id, userID).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return fault.New(fault.Conflict, "a restaurant keeps at least one manager: make someone else manager first")
	}
	return nil
}

// RemoveStaff removes userID from restaurant id's staff (its manager only;
// never its last manager). The user becomes a customer again.
func (s *Service) RemoveStaff(ctx context.Context, c caller, id, userID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if _, err := s.staffRestaurant(ctx, tx, c, id, true, "manage its staff"); err != nil {
			return err
		}
		var role string
		err := tx.QueryRow(ctx, `SELECT role FROM restaurants_staff WHERE user_id = ? AND restaurant_id = ?`, userID, id).Scan(&role)
		if err := store.NotFound(err, "staff member"); err != nil {
			return err
		}
		if role == RoleManager {
			if err := s.keepOneManager(ctx, tx, id, userID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM restaurants_staff WHERE user_id = ?`, userID); err != nil {
			return err
		}
		if err := s.setRole(ctx, tx, userID, "", RoleCustomer); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventStaffRemoved, userID, map[string]any{"restaurantId": id, "userId": userID})
	})
}

// pageLimit is limit, or the default page size when unset.
func pageLimit(limit int) int {
	if limit < 1 {
		return 50
	}
	return limit
}
