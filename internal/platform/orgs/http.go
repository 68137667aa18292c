package orgs

import (
	"context"
	"net/http"
	"net/url"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// The HTTP API under /orgs (platform.md, Organizations): decode, call the
// service with the request's principal, encode. Register on the root API.

type orgPath struct {
	ID string `path:"id" maxLength:"255" doc:"The org's id."`
}

type createOrgInput struct {
	Body struct {
		Name       string `json:"name" minLength:"1" maxLength:"200" doc:"The org's name."`
		ExternalID string `json:"external_id,omitempty" maxLength:"255" doc:"An id the org has at an external issuer (the org claim of its tokens); unique."`
		OwnerID    string `json:"owner_id,omitempty" maxLength:"255" doc:"The first owner; defaults to the caller, and only a platform admin may name another user."`
	}
}

type orgOutput struct {
	Location string `header:"Location"`
	Body     Org
}

type listOrgsInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page."`
}

type orgsOutput struct {
	Body struct {
		Items      []Org  `json:"items" nullable:"false"`
		NextCursor string `json:"next_cursor,omitempty"`
	}
}

type updateOrgInput struct {
	ID   string `path:"id" maxLength:"255" doc:"The org's id."`
	Body struct {
		Name       *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
		ExternalID *string `json:"external_id,omitempty" maxLength:"255" doc:"An empty string clears it."`
	}
}

type memberPath struct {
	ID     string `path:"id" maxLength:"255" doc:"The org's id."`
	UserID string `path:"user_id" minLength:"1" maxLength:"255" doc:"The user's id."`
}

type putMemberInput struct {
	ID     string `path:"id" maxLength:"255" doc:"The org's id."`
	UserID string `path:"user_id" minLength:"1" maxLength:"255" doc:"The user's id."`
	Body   struct {
		Role  string `json:"role" enum:"owner,admin,member"`
		Level int    `json:"level,omitempty" minimum:"0" maximum:"1000000" doc:"The member's level (nano-messaging levelOnEntity); 0 when absent."`
	}
}

type memberOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     Member
}

type listMembersInput struct {
	ID     string `path:"id" maxLength:"255" doc:"The org's id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page."`
}

type membersOutput struct {
	Body struct {
		Items      []MemberWithGroups `json:"items" nullable:"false"`
		NextCursor string             `json:"next_cursor,omitempty"`
	}
}

type createGroupInput struct {
	ID   string `path:"id" maxLength:"255" doc:"The org's id."`
	Body struct {
		Name string `json:"name" minLength:"1" maxLength:"200"`
	}
}

type groupOutput struct {
	Location string `header:"Location"`
	Body     Group
}

type listGroupsInput struct {
	ID     string `path:"id" maxLength:"255" doc:"The org's id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page."`
}

type groupsOutput struct {
	Body struct {
		Items      []Group `json:"items" nullable:"false"`
		NextCursor string  `json:"next_cursor,omitempty"`
	}
}

type groupMemberPath struct {
	ID      string `path:"id" maxLength:"255" doc:"The org's id."`
	GroupID string `path:"group_id" maxLength:"255" doc:"The group's id."`
	UserID  string `path:"user_id" minLength:"1" maxLength:"255" doc:"The user's id."`
}

type groupMemberOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     struct {
		OrgID   string `json:"org_id"`
		GroupID string `json:"group_id"`
		UserID  string `json:"user_id"`
	}
}

// principal returns the request's caller, or 401.
func principal(ctx context.Context) (authz.Principal, error) {
	p, ok := authz.FromContext(ctx)
	if !ok {
		return authz.Principal{}, fault.New(fault.Unauthorized, "authentication required")
	}
	return p, nil
}

func orgLocation(id string) string { return "/orgs/" + url.PathEscape(id) }

// Register adds the /orgs operations to api (the root API: paths are
// absolute). The authorizer must run before them: a request without a
// principal gets 401.
func (s *Service) Register(api huma.API) {
	tags := []string{"orgs"}
	huma.Register(api, huma.Operation{
		OperationID: "orgs-create", Method: http.MethodPost, Path: "/orgs", DefaultStatus: http.StatusCreated,
		Summary: "Create an org", Description: "The caller becomes its owner.", Tags: tags,
	}, func(ctx context.Context, in *createOrgInput) (*orgOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		o, err := s.createOrg(ctx, p, in.Body.Name, in.Body.ExternalID, in.Body.OwnerID)
		if err != nil {
			return nil, err
		}
		return &orgOutput{Location: orgLocation(o.ID), Body: o}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-list", Method: http.MethodGet, Path: "/orgs",
		Summary: "List the caller's orgs", Tags: tags,
	}, func(ctx context.Context, in *listOrgsInput) (*orgsOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		items, next, err := s.listOrgs(ctx, p, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		out := &orgsOutput{}
		out.Body.Items, out.Body.NextCursor = items, next
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-get", Method: http.MethodGet, Path: "/orgs/{id}",
		Summary: "Get an org", Description: "Members only: anyone else gets 404.", Tags: tags,
	}, func(ctx context.Context, in *orgPath) (*orgOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		o, err := s.getOrg(ctx, p, in.ID)
		if err != nil {
			return nil, err
		}
		return &orgOutput{Body: o}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-update", Method: http.MethodPatch, Path: "/orgs/{id}",
		Summary: "Update an org", Description: "Owners and admins.", Tags: tags,
	}, func(ctx context.Context, in *updateOrgInput) (*orgOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		o, err := s.updateOrg(ctx, p, in.ID, OrgUpdate{Name: in.Body.Name, ExternalID: in.Body.ExternalID})
		if err != nil {
			return nil, err
		}
		return &orgOutput{Body: o}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-list-members", Method: http.MethodGet, Path: "/orgs/{id}/members",
		Summary: "List an org's members", Description: "In user id order, each with the ids of its groups in the org.", Tags: tags,
	}, func(ctx context.Context, in *listMembersInput) (*membersOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		items, next, err := s.listMembersWithGroups(ctx, p, in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		out := &membersOutput{}
		out.Body.Items, out.Body.NextCursor = items, next
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-put-member", Method: http.MethodPut, Path: "/orgs/{id}/members/{user_id}",
		Summary:     "Add a member or change its role and level",
		Description: "Owners and admins; only owners grant or revoke owner; the last owner stays (409). 201 when the user was added.",
		Tags:        tags,
	}, func(ctx context.Context, in *putMemberInput) (*memberOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		m, created, err := s.putMember(ctx, p, in.ID, in.UserID, in.Body.Role, in.Body.Level)
		if err != nil {
			return nil, err
		}
		out := &memberOutput{Status: http.StatusOK, Body: m}
		if created {
			out.Status, out.Location = http.StatusCreated, orgLocation(in.ID)+"/members/"+url.PathEscape(in.UserID)
		}
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-delete-member", Method: http.MethodDelete, Path: "/orgs/{id}/members/{user_id}", DefaultStatus: http.StatusNoContent,
		Summary:     "Remove a member",
		Description: "Owners and admins, or the member itself (leaving); only owners remove owners; the last owner stays (409).",
		Tags:        tags,
	}, func(ctx context.Context, in *memberPath) (*struct{}, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		return nil, s.removeMember(ctx, p, in.ID, in.UserID)
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-create-group", Method: http.MethodPost, Path: "/orgs/{id}/groups", DefaultStatus: http.StatusCreated,
		Summary: "Create a group (a space)", Description: "Owners and admins; names are unique in the org.", Tags: tags,
	}, func(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		g, err := s.createGroup(ctx, p, in.ID, in.Body.Name)
		if err != nil {
			return nil, err
		}
		return &groupOutput{Location: orgLocation(in.ID) + "/groups/" + url.PathEscape(g.ID), Body: g}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-list-groups", Method: http.MethodGet, Path: "/orgs/{id}/groups",
		Summary: "List an org's groups", Tags: tags,
	}, func(ctx context.Context, in *listGroupsInput) (*groupsOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		items, next, err := s.listGroups(ctx, p, in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		out := &groupsOutput{}
		out.Body.Items, out.Body.NextCursor = items, next
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-put-group-member", Method: http.MethodPut, Path: "/orgs/{id}/groups/{group_id}/members/{user_id}",
		Summary:     "Add a member of the org to a group",
		Description: "Owners and admins; the user must be a member of the org (422). 201 when added, 200 when it was in the group.",
		Tags:        tags,
	}, func(ctx context.Context, in *groupMemberPath) (*groupMemberOutput, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		added, err := s.putGroupMember(ctx, p, in.ID, in.GroupID, in.UserID)
		if err != nil {
			return nil, err
		}
		out := &groupMemberOutput{Status: http.StatusOK}
		out.Body.OrgID, out.Body.GroupID, out.Body.UserID = in.ID, in.GroupID, in.UserID
		if added {
			out.Status = http.StatusCreated
			out.Location = orgLocation(in.ID) + "/groups/" + url.PathEscape(in.GroupID) + "/members/" + url.PathEscape(in.UserID)
		}
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "orgs-delete-group-member", Method: http.MethodDelete, Path: "/orgs/{id}/groups/{group_id}/members/{user_id}",
		DefaultStatus: http.StatusNoContent, Summary: "Remove a member from a group", Tags: tags,
	}, func(ctx context.Context, in *groupMemberPath) (*struct{}, error) {
		p, err := principal(ctx)
		if err != nil {
			return nil, err
		}
		return nil, s.removeGroupMember(ctx, p, in.ID, in.GroupID, in.UserID)
	})
}
