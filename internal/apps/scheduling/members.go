package scheduling

import (
	"context"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
)

// The org and its users are the platform's (orgs, identity): these
// operations go through them with the caller's rights, and the app learns
// of every membership change from the orgs.member.* events (handlers.go),
// whichever door made it.

// GetOrg returns the caller's org.
func (s *Service) GetOrg(ctx context.Context, c Caller) (Org, error) {
	o, err := s.orgs.As(c.principal()).GetOrg(ctx, c.OrgID)
	return Org{ID: o.ID, Name: o.Name}, err
}

// UpdateOrg renames the caller's org (owners and admins).
func (s *Service) UpdateOrg(ctx context.Context, c Caller, name string) (Org, error) {
	o, err := s.orgs.As(c.principal()).UpdateOrg(ctx, c.OrgID, orgs.OrgUpdate{Name: &name})
	return Org{ID: o.ID, Name: o.Name}, err
}

// ListUsers lists the org's members with their names and addresses.
func (s *Service) ListUsers(ctx context.Context, c Caller, pg Page) ([]User, string, error) {
	ms, next, err := s.orgs.As(c.principal()).ListMembers(ctx, c.OrgID, pg.Limit, pg.Cursor)
	if err != nil {
		return nil, "", err
	}
	out := make([]User, 0, len(ms))
	for _, m := range ms {
		out = append(out, s.userOf(ctx, m))
	}
	return out, next, nil
}

// userOf completes a membership with the user pool's name and email (left
// empty for users of external issuers).
func (s *Service) userOf(ctx context.Context, m orgs.Member) User {
	u := User{UserID: m.UserID, Role: m.Role}
	if pu, err := s.users.GetUser(ctx, m.UserID); err == nil {
		u.Email, u.Name = pu.Email, pu.Name
	}
	return u
}

// InviteUser adds the user with that email to the org with role (owners and
// admins; only owners make owners). An address unknown to the user pool
// gets an account and an invitation mail to set its password.
func (s *Service) InviteUser(ctx context.Context, c Caller, email, role string) (User, error) {
	if err := c.mustManage("users"); err != nil {
		return User{}, err
	}
	if err := checkRole(role); err != nil {
		return User{}, err
	}
	u, _, err := s.users.Invite(ctx, email, "")
	if err != nil {
		return User{}, err
	}
	m, _, err := s.orgs.As(c.principal()).PutMember(ctx, c.OrgID, u.ID, role, 0)
	if err != nil {
		return User{}, err
	}
	return User{UserID: m.UserID, Email: u.Email, Name: u.Name, Role: m.Role}, nil
}

// UpdateUser changes a member's role.
func (s *Service) UpdateUser(ctx context.Context, c Caller, userID, role string) (User, error) {
	if err := checkRole(role); err != nil {
		return User{}, err
	}
	cur, ok, err := s.orgs.Member(ctx, c.OrgID, userID)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, fault.New(fault.NotFound, "member not found")
	}
	m, _, err := s.orgs.As(c.principal()).PutMember(ctx, c.OrgID, userID, role, cur.Level)
	if err != nil {
		return User{}, err
	}
	return s.userOf(ctx, m), nil
}

// RemoveUser removes a member from the org: their sockets close (4003) and
// they leave the attendees of future events (handlers).
func (s *Service) RemoveUser(ctx context.Context, c Caller, userID string) error {
	return s.orgs.As(c.principal()).RemoveMember(ctx, c.OrgID, userID)
}

func checkRole(role string) error {
	switch role {
	case orgs.RoleOwner, orgs.RoleAdmin, orgs.RoleMember:
		return nil
	}
	return fault.WithFields("validation failed", fault.FieldError{Location: "body.role", Message: "must be one of owner, admin, member", Value: role})
}
