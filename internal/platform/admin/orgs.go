package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/tessera-dev/tessera/internal/platform/httpapi"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/orgs"
)

// maxSearchCalls bounds the orgs.ListOrgs calls of one searched page: a
// search (?q) scans orgs in creation order and may answer fewer than limit
// items with a next_cursor to continue from.
const maxSearchCalls = 20

type listOrgsInput struct {
	Q      string `query:"q" maxLength:"200" doc:"Only orgs whose name or external id contains this text (case-insensitive), or whose id it is."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page."`
}

type orgPath struct {
	ID string `path:"id" maxLength:"255" doc:"The org's id."`
}

type orgOutput struct {
	Body orgs.Org
}

type updateOrgInput struct {
	ID   string `path:"id" maxLength:"255" doc:"The org's id."`
	Body struct {
		Name       *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
		ExternalID *string `json:"external_id,omitempty" maxLength:"255" doc:"An empty string clears it."`
	}
}

func (a *Admin) registerOrgs(api huma.API) {
	tags := []string{"admin"}
	huma.Register(api, huma.Operation{
		OperationID: "admin-list-orgs", Method: http.MethodGet, Path: "/orgs",
		Summary: "List every org", Description: "In creation order.", Tags: tags,
	}, func(ctx context.Context, in *listOrgsInput) (*httpapi.ListOutput[orgs.Org], error) {
		limit := in.Limit
		if limit <= 0 {
			limit = DefaultLimit
		}
		q := strings.ToLower(strings.TrimSpace(in.Q))
		if q == "" {
			items, next, err := a.orgs.ListOrgs(ctx, "", limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return httpapi.Page(items, next), nil
		}
		items, next, err := a.searchOrgs(ctx, q, limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return httpapi.Page(items, next), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-get-org", Method: http.MethodGet, Path: "/orgs/{id}",
		Summary: "Get an org", Tags: tags,
	}, func(ctx context.Context, in *orgPath) (*orgOutput, error) {
		o, err := a.orgs.GetOrg(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &orgOutput{Body: o}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-update-org", Method: http.MethodPatch, Path: "/orgs/{id}",
		Summary: "Update an org", Description: "Emits orgs.org.updated when something changed.", Tags: tags,
	}, func(ctx context.Context, in *updateOrgInput) (*orgOutput, error) {
		o, err := a.orgs.UpdateOrg(ctx, in.ID, orgs.OrgUpdate{Name: in.Body.Name, ExternalID: in.Body.ExternalID})
		if err != nil {
			return nil, err
		}
		return &orgOutput{Body: o}, nil
	})
}

// searchOrgs pages through every org from cursor, keeping those matching q,
// until it has limit of them. Each call asks ListOrgs for exactly as many
// orgs as are still wanted, so its next cursor is right after the last org
// looked at, wherever the page ends.
func (a *Admin) searchOrgs(ctx context.Context, q string, limit int, cursor string) ([]orgs.Org, string, error) {
	var out []orgs.Org
	for range maxSearchCalls {
		items, next, err := a.orgs.ListOrgs(ctx, "", limit-len(out), cursor)
		if err != nil {
			return nil, "", err
		}
		for _, o := range items {
			if o.ID == q || strings.Contains(strings.ToLower(o.Name), q) || strings.Contains(strings.ToLower(o.ExternalID), q) {
				out = append(out, o)
			}
		}
		cursor = next
		if next == "" || len(out) == limit {
			break
		}
	}
	return out, cursor, nil
}
