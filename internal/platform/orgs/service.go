// Package orgs holds organizations (tenants), their members with a role and a
// level, and groups inside them (the file-sharing seed's spaces). The
// authorizer reads memberships from it at request time (Membership) and
// resolves the org claim of external tokens (ResolveOrg), so a membership
// change takes effect on the next request, never through a stale token.
//
// The service is transport-free: http.go maps the operations of platform.md
// onto it. Every change is one transaction that also emits its event
// (orgs.org.created, orgs.member.added, …).
package orgs

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Schema is the store schema of the package's tables (orgs_orgs, …).
const Schema = "orgs"

// App is the app name of the routes Register adds (/orgs…), as
// authz.AppOf names it.
const App = "orgs"

// The roles of a member.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Limits of the inputs.
const (
	MaxLevel        = 1_000_000
	MaxNameLen      = 200 // org and group names, in characters
	MaxIDLen        = 255 // user ids and external ids, in bytes
	DefaultPageSize = 50
	MaxPageSize     = 500
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the migration set of the orgs schema. Pass it to
// store.Migrate after the platform's set (events.Migrations).
func Migrations() store.MigrationSet {
	return store.Embedded(Schema, migrationFiles, "migrations")
}

// Org is an organization.
type Org struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	ExternalID string    `json:"external_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Member is a user's membership of an org.
type Member struct {
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Role      string    `json:"role"`
	Level     int       `json:"level"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MemberWithGroups is an item of GET /orgs/{id}/members: a membership and
// the ids of the member's groups in the org, sorted (never nil).
type MemberWithGroups struct {
	Member
	Groups []string `json:"groups" nullable:"false" doc:"The ids of the member's groups in the org, sorted."`
}

// Group is a named set of an org's members (a space).
type Group struct {
	OrgID     string    `json:"org_id"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Membership is what the authorizer needs of a member: its role, level and
// the ids of its groups (never nil for a member). It is the authorizer's own
// type, so that *Service is an authz.Directory as it stands.
type Membership = authz.Membership

var _ authz.Directory = (*Service)(nil)

// Options tune a Service. The zero value works.
type Options struct {
	// UserExists, when set, is asked before a user is added to an org (it
	// answers false for an unknown user: 422). Nil accepts any user id, as
	// external issuers' users are not in the platform's user pool.
	UserExists func(ctx context.Context, userID string) (bool, error)
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Service manages organizations. It is safe for concurrent use.
type Service struct {
	db     *store.DB
	events *events.Log
	opts   Options
}

// New returns the service on st's orgs schema, emitting into log. Migrations
// (and the platform's) must have been applied.
func New(st *store.Store, log *events.Log, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: st.App(Schema), events: log, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// ---- For the authorizer and the CLI: trusted, no caller checks ----

// Membership returns userID's role, level and groups in orgID, read now, and
// false when userID is not a member (or the org does not exist).
func (s *Service) Membership(ctx context.Context, orgID, userID string) (Membership, bool, error) {
	return membership(ctx, s.db, orgID, userID)
}

// Member returns userID's membership row of orgID, and false when userID is
// not a member (or the org does not exist). Unlike Membership it has no
// groups but the row's timestamps.
func (s *Service) Member(ctx context.Context, orgID, userID string) (Member, bool, error) {
	return getMember(ctx, s.db, orgID, userID)
}

// Members returns those of userIDs that are members of orgID, by user id,
// in one query (no caller check).
func (s *Service) Members(ctx context.Context, orgID string, userIDs []string) (map[string]Member, error) {
	return membersIn(ctx, s.db, orgID, userIDs)
}

// ResolveOrg returns the id of the org whose id, or else whose external_id,
// is idOrExternalID, and false when there is none.
func (s *Service) ResolveOrg(ctx context.Context, idOrExternalID string) (string, bool, error) {
	if idOrExternalID == "" || len(idOrExternalID) > MaxIDLen {
		return "", false, nil
	}
	return resolveOrg(ctx, s.db, idOrExternalID)
}

// CreateOrg creates an org with ownerUserID as its owner (tessera org
// create). externalID may be empty.
func (s *Service) CreateOrg(ctx context.Context, name, externalID, ownerUserID string) (Org, error) {
	return s.createOrg(ctx, authz.Principal{IsAdmin: true}, name, externalID, ownerUserID)
}

// GetOrg returns the org (fault.NotFound when it does not exist).
func (s *Service) GetOrg(ctx context.Context, id string) (Org, error) {
	return getOrg(ctx, s.db, id)
}

// ListOrgs returns a page of userID's orgs, or of every org when userID is
// empty (tessera org list), in creation order, and the cursor of the next
// page ("" on the last). limit 0 means DefaultPageSize; it is capped at
// MaxPageSize.
func (s *Service) ListOrgs(ctx context.Context, userID string, limit int, cursor string) ([]Org, string, error) {
	after, limit, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	items, err := listOrgs(ctx, s.db, userID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	items, next := store.TrimPage(items, limit, func(o Org) string { return encodeCursor(o.ID) })
	return items, next, nil
}

// ---- Caller-checked operations (the HTTP API) ----

// Acting is the caller-checked operations of the /orgs API performed as one
// principal, for apps that offer them through another door (a websocket):
// the same rights checks, errors and events as the HTTP routes. A
// non-member gets fault.NotFound as for an org that does not exist; a member
// without the rights gets fault.Forbidden; a platform admin acts as an
// owner of every org.
type Acting struct {
	s *Service
	p authz.Principal
}

// As returns the operations of the /orgs API performed as p, with the same rights checks.
func (s *Service) As(p authz.Principal) Acting { return Acting{s: s, p: p} }

// GetOrg is GET /orgs/{id}: members (and platform admins) only.
func (a Acting) GetOrg(ctx context.Context, id string) (Org, error) {
	return a.s.getOrg(ctx, a.p, id)
}

// UpdateOrg is PATCH /orgs/{id}: owners and admins only (fault.Forbidden
// otherwise); fault.Invalid for a bad name or external id, fault.Conflict
// for an external id another org has.
func (a Acting) UpdateOrg(ctx context.Context, id string, in OrgUpdate) (Org, error) {
	return a.s.updateOrg(ctx, a.p, id, in)
}

// PutMember is PUT /orgs/{id}/members/{user_id}: it adds userID with role
// and level, or changes them; created reports an addition. Owners and admins
// manage members, only owners grant or revoke the owner role (fault.Forbidden),
// the last owner is never demoted (fault.Conflict); fault.Invalid for a bad
// user id, role or level.
func (a Acting) PutMember(ctx context.Context, orgID, userID, role string, level int) (Member, bool, error) {
	return a.s.putMember(ctx, a.p, orgID, userID, role, level)
}

// RemoveMember is DELETE /orgs/{id}/members/{user_id}: owners and admins
// remove members, only owners remove owners, anyone may leave, the last owner
// never goes (fault.Conflict); fault.NotFound when userID is no member.
func (a Acting) RemoveMember(ctx context.Context, orgID, userID string) error {
	return a.s.removeMember(ctx, a.p, orgID, userID)
}

// ListMembers is GET /orgs/{id}/members: a page of the org's members in
// user id order for any member, and the cursor of the next page ("" on the
// last). limit 0 means DefaultPageSize; it is capped at MaxPageSize.
func (a Acting) ListMembers(ctx context.Context, orgID string, limit int, cursor string) ([]Member, string, error) {
	return a.s.listMembers(ctx, a.p, orgID, limit, cursor)
}

// caller is the principal's standing in an org.
type caller struct {
	p    authz.Principal
	role string // the caller's role; RoleOwner for platform admins
}

func (c caller) manages() bool { return c.role == RoleOwner || c.role == RoleAdmin }

// actor names the principal in event payloads.
func actor(p authz.Principal) string {
	if p.IsAdmin && p.UserID == "" {
		return "admin"
	}
	return p.UserID
}

// access returns the caller's standing in orgID: a platform admin acts as an
// owner of every org; anyone else must be a member, and a non-member gets
// the same 404 as for an org that does not exist.
func access(ctx context.Context, q store.Querier, p authz.Principal, orgID string) (caller, error) {
	if p.IsAdmin {
		if _, err := getOrg(ctx, q, orgID); err != nil {
			return caller{}, err
		}
		return caller{p: p, role: RoleOwner}, nil
	}
	if p.UserID != "" {
		m, ok, err := getMember(ctx, q, orgID, p.UserID)
		if err != nil {
			return caller{}, err
		}
		if ok {
			return caller{p: p, role: m.Role}, nil
		}
	}
	return caller{}, fault.New(fault.NotFound, "org not found")
}

func (s *Service) createOrg(ctx context.Context, p authz.Principal, name, externalID, ownerID string) (Org, error) {
	name = strings.TrimSpace(name)
	var bad []fault.FieldError
	if msg := checkName(name); msg != "" {
		bad = append(bad, fault.FieldError{Location: "body.name", Message: msg, Value: name})
	}
	if externalID != "" {
		if msg := checkID(externalID); msg != "" {
			bad = append(bad, fault.FieldError{Location: "body.external_id", Message: msg, Value: externalID})
		}
	}
	if ownerID == "" {
		ownerID = p.UserID
	}
	switch {
	case ownerID == "":
		bad = append(bad, fault.FieldError{Location: "body.owner_id", Message: "required when the caller is not a user"})
	case checkID(ownerID) != "":
		bad = append(bad, fault.FieldError{Location: "body.owner_id", Message: checkID(ownerID), Value: ownerID})
	case !p.IsAdmin && ownerID != p.UserID:
		return Org{}, fault.New(fault.Forbidden, "only a platform admin may create an org owned by someone else")
	}
	if len(bad) > 0 {
		return Org{}, fault.WithFields("validation failed", bad...)
	}
	if err := s.userExists(ctx, ownerID, "body.owner_id"); err != nil {
		return Org{}, err
	}
	now := s.now()
	o := Org{ID: newID(), Name: name, ExternalID: externalID, CreatedAt: now, UpdatedAt: now}
	m := Member{OrgID: o.ID, UserID: ownerID, Role: RoleOwner, Level: 0, CreatedAt: now, UpdatedAt: now}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if err := s.checkExternalID(ctx, tx, externalID, o.ID); err != nil {
			return err
		}
		if err := insertOrg(ctx, tx, o); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, m); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, "orgs.org.created", o.ID, o.ID, map[string]any{
			"name": o.Name, "external_id": o.ExternalID, "owner_id": ownerID, "actor": actor(p)}); err != nil {
			return err
		}
		return s.emit(ctx, tx, "orgs.member.added", o.ID, ownerID, map[string]any{
			"user_id": ownerID, "role": m.Role, "level": m.Level, "actor": actor(p)})
	})
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

func (s *Service) checkExternalID(ctx context.Context, q store.Querier, externalID, orgID string) error {
	if externalID == "" {
		return nil
	}
	taken, err := externalIDTaken(ctx, q, externalID, orgID)
	if err != nil {
		return err
	}
	if taken {
		return fault.New(fault.Conflict, "external_id is already used by another org")
	}
	return nil
}

func (s *Service) getOrg(ctx context.Context, p authz.Principal, id string) (Org, error) {
	if _, err := access(ctx, s.db, p, id); err != nil {
		return Org{}, err
	}
	return getOrg(ctx, s.db, id)
}

// listOrgs lists the caller's orgs; a platform admin without a user sees
// every org.
func (s *Service) listOrgs(ctx context.Context, p authz.Principal, limit int, cursor string) ([]Org, string, error) {
	if p.UserID == "" && !p.IsAdmin {
		return []Org{}, "", nil
	}
	return s.ListOrgs(ctx, p.UserID, limit, cursor)
}

// OrgUpdate is a partial update: nil fields are left as they are; an empty
// ExternalID clears it.
type OrgUpdate struct {
	Name       *string
	ExternalID *string
}

// UpdateOrg changes an org's name or external id without a caller check (the
// admin API, the CLI). Errors as for PATCH /orgs/{id}: fault.NotFound,
// fault.Invalid, fault.Conflict for a taken external id.
func (s *Service) UpdateOrg(ctx context.Context, id string, in OrgUpdate) (Org, error) {
	return s.updateOrg(ctx, authz.Principal{IsAdmin: true, Via: authz.ViaAdminKey}, id, in)
}

func (s *Service) updateOrg(ctx context.Context, p authz.Principal, id string, in OrgUpdate) (Org, error) {
	var bad []fault.FieldError
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		in.Name = &n
		if msg := checkName(n); msg != "" {
			bad = append(bad, fault.FieldError{Location: "body.name", Message: msg, Value: n})
		}
	}
	if in.ExternalID != nil && *in.ExternalID != "" {
		if msg := checkID(*in.ExternalID); msg != "" {
			bad = append(bad, fault.FieldError{Location: "body.external_id", Message: msg, Value: *in.ExternalID})
		}
	}
	if len(bad) > 0 {
		return Org{}, fault.WithFields("validation failed", bad...)
	}
	var out Org
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		c, err := access(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !c.manages() {
			return fault.New(fault.Forbidden, "only owners and admins may update the org")
		}
		o, err := getOrg(ctx, tx, id)
		if err != nil {
			return err
		}
		changes := map[string]any{}
		if in.Name != nil && *in.Name != o.Name {
			o.Name, changes["name"] = *in.Name, *in.Name
		}
		if in.ExternalID != nil && *in.ExternalID != o.ExternalID {
			if err := s.checkExternalID(ctx, tx, *in.ExternalID, id); err != nil {
				return err
			}
			o.ExternalID, changes["external_id"] = *in.ExternalID, *in.ExternalID
		}
		out = o
		if len(changes) == 0 {
			return nil
		}
		o.UpdatedAt = s.now()
		out = o
		if err := updateOrg(ctx, tx, o); err != nil {
			return err
		}
		return s.emit(ctx, tx, "orgs.org.updated", id, id, map[string]any{"changes": changes, "actor": actor(p)})
	})
	return out, err
}

// putMember adds userID to the org or changes its role and level; created
// reports an addition. Owners and admins manage members; only owners grant
// or revoke the owner role; the last owner is never demoted (409).
func (s *Service) putMember(ctx context.Context, p authz.Principal, orgID, userID, role string, level int) (Member, bool, error) {
	var bad []fault.FieldError
	if msg := checkID(userID); msg != "" {
		bad = append(bad, fault.FieldError{Location: "path.user_id", Message: msg, Value: userID})
	}
	if role != RoleOwner && role != RoleAdmin && role != RoleMember {
		bad = append(bad, fault.FieldError{Location: "body.role", Message: "must be one of owner, admin, member", Value: role})
	}
	if level < 0 || level > MaxLevel {
		bad = append(bad, fault.FieldError{Location: "body.level", Message: "must be between 0 and 1000000", Value: level})
	}
	if len(bad) > 0 {
		return Member{}, false, fault.WithFields("validation failed", bad...)
	}
	var (
		out     Member
		created bool
	)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		c, err := access(ctx, tx, p, orgID)
		if err != nil {
			return err
		}
		if !c.manages() {
			return fault.New(fault.Forbidden, "only owners and admins manage members")
		}
		cur, exists, err := getMember(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if (role == RoleOwner || cur.Role == RoleOwner) && c.role != RoleOwner {
			return fault.New(fault.Forbidden, "only owners grant or revoke the owner role")
		}
		now := s.now()
		if !exists {
			if err := s.userExists(ctx, userID, "path.user_id"); err != nil {
				return err
			}
			out, created = Member{OrgID: orgID, UserID: userID, Role: role, Level: level, CreatedAt: now, UpdatedAt: now}, true
			if err := insertMember(ctx, tx, out); err != nil {
				return err
			}
			return s.emit(ctx, tx, "orgs.member.added", orgID, userID, map[string]any{
				"user_id": userID, "role": role, "level": level, "actor": actor(p)})
		}
		out, created = cur, false
		if cur.Role == role && cur.Level == level {
			return nil
		}
		if cur.Role == RoleOwner && role != RoleOwner {
			if err := lastOwner(ctx, tx, orgID); err != nil {
				return err
			}
		}
		out.Role, out.Level, out.UpdatedAt = role, level, now
		if err := updateMember(ctx, tx, out); err != nil {
			return err
		}
		return s.emit(ctx, tx, "orgs.member.updated", orgID, userID, map[string]any{
			"user_id": userID, "role": role, "level": level,
			"previous_role": cur.Role, "previous_level": cur.Level, "actor": actor(p)})
	})
	if err != nil {
		return Member{}, false, err
	}
	return out, created, nil
}

// lastOwner fails with a conflict when the org has one owner left.
func lastOwner(ctx context.Context, q store.Querier, orgID string) error {
	n, err := countOwners(ctx, q, orgID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return fault.New(fault.Conflict, "an org must keep at least one owner")
	}
	return nil
}

// removeMember removes userID from the org and its groups. Owners and admins
// remove members, only owners remove owners, anyone may leave, and the last
// owner never goes (409).
func (s *Service) removeMember(ctx context.Context, p authz.Principal, orgID, userID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		c, err := access(ctx, tx, p, orgID)
		if err != nil {
			return err
		}
		self := !p.IsAdmin && userID == p.UserID
		if !c.manages() && !self {
			return fault.New(fault.Forbidden, "only owners and admins manage members")
		}
		cur, exists, err := getMember(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if !exists {
			return fault.New(fault.NotFound, "member not found")
		}
		if cur.Role == RoleOwner {
			if c.role != RoleOwner {
				return fault.New(fault.Forbidden, "only owners grant or revoke the owner role")
			}
			if err := lastOwner(ctx, tx, orgID); err != nil {
				return err
			}
		}
		groups, err := deleteMember(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, "orgs.member.removed", orgID, userID, map[string]any{
			"user_id": userID, "role": cur.Role, "groups": groups, "actor": actor(p)})
	})
}

func (s *Service) listMembers(ctx context.Context, p authz.Principal, orgID string, limit int, cursor string) ([]Member, string, error) {
	return listInOrg(ctx, s, p, orgID, limit, cursor, listMembers, func(m Member) string { return m.UserID })
}

// listMembersWithGroups is listMembers with each member's groups, read for
// the whole page in one more query.
func (s *Service) listMembersWithGroups(ctx context.Context, p authz.Principal, orgID string, limit int, cursor string) ([]MemberWithGroups, string, error) {
	members, next, err := s.listMembers(ctx, p, orgID, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	groups, err := groupsOf(ctx, s.db, orgID, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]MemberWithGroups, len(members))
	for i, m := range members {
		out[i] = MemberWithGroups{Member: m, Groups: groups[m.UserID]}
		if out[i].Groups == nil {
			out[i].Groups = []string{}
		}
	}
	return out, next, nil
}

// listInOrg is one page of an org's list for a caller with access to the
// org: list reads up to n items after the cursor's key.
func listInOrg[T any](ctx context.Context, s *Service, p authz.Principal, orgID string, limit int, cursor string,
	list func(context.Context, store.Querier, string, string, int) ([]T, error), key func(T) string) ([]T, string, error) {
	after, limit, err := page(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if _, err := access(ctx, s.db, p, orgID); err != nil {
		return nil, "", err
	}
	items, err := list(ctx, s.db, orgID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	items, next := store.TrimPage(items, limit, func(m T) string { return encodeCursor(key(m)) })
	return items, next, nil
}

// createGroup creates a group; owners and admins only, names unique in the org.
func (s *Service) createGroup(ctx context.Context, p authz.Principal, orgID, name string) (Group, error) {
	name = strings.TrimSpace(name)
	if msg := checkName(name); msg != "" {
		return Group{}, fault.WithFields("validation failed", fault.FieldError{Location: "body.name", Message: msg, Value: name})
	}
	g := Group{OrgID: orgID, ID: newID(), Name: name, CreatedAt: s.now()}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		c, err := access(ctx, tx, p, orgID)
		if err != nil {
			return err
		}
		if !c.manages() {
			return fault.New(fault.Forbidden, "only owners and admins manage groups")
		}
		taken, err := groupNameTaken(ctx, tx, orgID, name)
		if err != nil {
			return err
		}
		if taken {
			return fault.New(fault.Conflict, "the org already has a group with this name")
		}
		if err := insertGroup(ctx, tx, g); err != nil {
			return err
		}
		return s.emit(ctx, tx, "orgs.group.created", orgID, g.ID, map[string]any{"name": name, "actor": actor(p)})
	})
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

func (s *Service) listGroups(ctx context.Context, p authz.Principal, orgID string, limit int, cursor string) ([]Group, string, error) {
	return listInOrg(ctx, s, p, orgID, limit, cursor, listGroups, func(g Group) string { return g.ID })
}

// putGroupMember adds a member of the org to one of its groups; added is
// false when it was in it already.
func (s *Service) putGroupMember(ctx context.Context, p authz.Principal, orgID, groupID, userID string) (bool, error) {
	var added bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if err := s.groupAccess(ctx, tx, p, orgID, groupID); err != nil {
			return err
		}
		if _, ok, err := getMember(ctx, tx, orgID, userID); err != nil {
			return err
		} else if !ok {
			return fault.WithFields("validation failed", fault.FieldError{
				Location: "path.user_id", Message: "is not a member of the org", Value: userID})
		}
		var err error
		if added, err = insertGroupMember(ctx, tx, orgID, groupID, userID, s.now()); err != nil || !added {
			return err
		}
		return s.emit(ctx, tx, "orgs.group_member.added", orgID, groupID, map[string]any{
			"group_id": groupID, "user_id": userID, "actor": actor(p)})
	})
	return added, err
}

// removeGroupMember removes userID from the group (404 when not in it).
func (s *Service) removeGroupMember(ctx context.Context, p authz.Principal, orgID, groupID, userID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if err := s.groupAccess(ctx, tx, p, orgID, groupID); err != nil {
			return err
		}
		removed, err := deleteGroupMember(ctx, tx, orgID, groupID, userID)
		if err != nil {
			return err
		}
		if !removed {
			return fault.New(fault.NotFound, "group member not found")
		}
		return s.emit(ctx, tx, "orgs.group_member.removed", orgID, groupID, map[string]any{
			"group_id": groupID, "user_id": userID, "actor": actor(p)})
	})
}

// groupAccess checks that the caller manages the org and the group is in it.
func (s *Service) groupAccess(ctx context.Context, q store.Querier, p authz.Principal, orgID, groupID string) error {
	c, err := access(ctx, q, p, orgID)
	if err != nil {
		return err
	}
	if !c.manages() {
		return fault.New(fault.Forbidden, "only owners and admins manage groups")
	}
	_, err = getGroup(ctx, q, orgID, groupID)
	return err
}

// ---- helpers ----

func (s *Service) emit(ctx context.Context, tx *store.Tx, typ, orgID, subject string, payload map[string]any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return s.events.Emit(ctx, tx, events.Event{Type: typ, OrgID: orgID, Subject: subject, Payload: b})
}

func (s *Service) userExists(ctx context.Context, userID, location string) error {
	if s.opts.UserExists == nil {
		return nil
	}
	ok, err := s.opts.UserExists(ctx, userID)
	if err != nil {
		return err
	}
	if !ok {
		return fault.WithFields("validation failed", fault.FieldError{Location: location, Message: "no such user", Value: userID})
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// checkName returns what is wrong with an org or group name, or "".
func checkName(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(s) > MaxNameLen:
		return "must be at most 200 characters"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// checkID returns what is wrong with a user id or an external id, or "".
func checkID(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxIDLen:
		return "must be at most 255 bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return "must not contain spaces or control characters"
	}
	return ""
}

// page decodes a list cursor (the last key of the previous page, base64url)
// and bounds the limit.
func page(limit int, cursor string) (string, int, error) {
	switch {
	case limit <= 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	if cursor == "" {
		return "", limit, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || len(b) > MaxIDLen || !utf8.Valid(b) {
		return "", 0, fault.WithFields("validation failed", fault.FieldError{Location: "query.cursor", Message: "is not a cursor this list issued", Value: cursor})
	}
	return string(b), limit, nil
}

// encodeCursor makes a list cursor of a row's key (opaque to clients).
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// Table is how an orgs table ("orgs_members", "orgs_groups",
// "orgs_group_members") is named in SQL run in an app's transaction: on
// Postgres the app's role has search_path "<app>, platform", so the name is
// schema-qualified (migration 0002 grants the apps group role the columns
// org_id, user_id, role, id, name and group_id, read only); SQLite has one
// namespace.
func Table(e store.Engine, name string) string {
	if e == store.EnginePostgres {
		return Schema + "." + name
	}
	return name
}
