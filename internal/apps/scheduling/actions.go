package scheduling

import (
	"context"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// The authenticated socket's actions (scheduling.md), every one listed
// here. Each decodes its data strictly and calls the service as the
// connection's user.

type pageData struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

type idData struct {
	ID string `json:"id"`
}

type versionData struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// listResult is a list action's result.
type listResult[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func listOf[T any](items []T, next string, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []T{}
	}
	return listResult[T]{Items: items, NextCursor: next}, nil
}

// pageList adapts a paged list of the service to an action.
func pageList[T any](fn func(context.Context, Caller, Page) ([]T, string, error)) func(context.Context, Caller, realtime.Request) (any, error) {
	return action(func(ctx context.Context, c Caller, in pageData) (any, error) {
		pg, err := page(in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return listOf(fn(ctx, c, pg))
	})
}

func (s *Service) actions() map[string]func(context.Context, Caller, realtime.Request) (any, error) {
	type updateProject struct {
		versionData
		ProjectInput
	}
	type updateResource struct {
		versionData
		ResourceInput
	}
	type updateLayout struct {
		versionData
		LayoutInput
	}
	type updateEvent struct {
		versionData
		EventInput
	}
	type listEvents struct {
		From        time.Time `json:"from"`
		To          time.Time `json:"to"`
		ResourceIDs []string  `json:"resource_ids,omitempty"`
		ProjectID   string    `json:"project_id,omitempty"`
		pageData
	}
	type availability struct {
		From            time.Time `json:"from"`
		To              time.Time `json:"to"`
		ResourceIDs     []string  `json:"resource_ids"`
		DurationMinutes int       `json:"duration_minutes"`
	}
	type invite struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	type userRole struct {
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	}
	type userID struct {
		UserID string `json:"user_id"`
	}
	type orgName struct {
		Name string `json:"name"`
	}
	ok := struct{}{}
	return map[string]func(context.Context, Caller, realtime.Request) (any, error){
		"org.get": action(func(ctx context.Context, c Caller, _ struct{}) (any, error) { return s.GetOrg(ctx, c) }),
		"org.update": action(func(ctx context.Context, c Caller, in orgName) (any, error) {
			return s.UpdateOrg(ctx, c, in.Name)
		}),
		"users.list": pageList(s.ListUsers),
		"users.invite": action(func(ctx context.Context, c Caller, in invite) (any, error) {
			return s.InviteUser(ctx, c, in.Email, in.Role)
		}),
		"users.update": action(func(ctx context.Context, c Caller, in userRole) (any, error) {
			return s.UpdateUser(ctx, c, in.UserID, in.Role)
		}),
		"users.remove": action(func(ctx context.Context, c Caller, in userID) (any, error) {
			return ok, s.RemoveUser(ctx, c, in.UserID)
		}),

		"projects.list": pageList(s.ListProjects),
		"projects.create": action(func(ctx context.Context, c Caller, in ProjectInput) (any, error) {
			return s.CreateProject(ctx, c, in)
		}),
		"projects.update": action(func(ctx context.Context, c Caller, in updateProject) (any, error) {
			return s.UpdateProject(ctx, c, in.ID, in.Version, in.ProjectInput)
		}),
		"projects.archive": action(func(ctx context.Context, c Caller, in versionData) (any, error) {
			return s.ArchiveProject(ctx, c, in.ID, in.Version)
		}),

		"resources.list": pageList(s.ListResources),
		"resources.create": action(func(ctx context.Context, c Caller, in ResourceInput) (any, error) {
			return s.CreateResource(ctx, c, in)
		}),
		"resources.update": action(func(ctx context.Context, c Caller, in updateResource) (any, error) {
			return s.UpdateResource(ctx, c, in.ID, in.Version, in.ResourceInput)
		}),
		"resources.archive": action(func(ctx context.Context, c Caller, in versionData) (any, error) {
			return s.ArchiveResource(ctx, c, in.ID, in.Version)
		}),

		"layouts.list": pageList(s.ListLayouts),
		"layouts.get": action(func(ctx context.Context, c Caller, in idData) (any, error) {
			return s.GetLayout(ctx, c, in.ID)
		}),
		"layouts.create": action(func(ctx context.Context, c Caller, in LayoutInput) (any, error) {
			return s.CreateLayout(ctx, c, in)
		}),
		"layouts.update": action(func(ctx context.Context, c Caller, in updateLayout) (any, error) {
			return s.UpdateLayout(ctx, c, in.ID, in.Version, in.LayoutInput)
		}),
		"layouts.delete": action(func(ctx context.Context, c Caller, in versionData) (any, error) {
			return ok, s.DeleteLayout(ctx, c, in.ID, in.Version)
		}),

		"events.list": action(func(ctx context.Context, c Caller, in listEvents) (any, error) {
			pg, err := page(in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return listOf(s.ListEvents(ctx, c, EventFilter{From: in.From, To: in.To, ResourceIDs: in.ResourceIDs, ProjectID: in.ProjectID, Page: pg}))
		}),
		"events.get": action(func(ctx context.Context, c Caller, in idData) (any, error) {
			return s.GetEvent(ctx, c, in.ID)
		}),
		"events.create": action(func(ctx context.Context, c Caller, in EventInput) (any, error) {
			return s.CreateEvent(ctx, c, in)
		}),
		"events.update": action(func(ctx context.Context, c Caller, in updateEvent) (any, error) {
			return s.UpdateEvent(ctx, c, in.ID, in.Version, in.EventInput)
		}),
		"events.cancel": action(func(ctx context.Context, c Caller, in versionData) (any, error) {
			return s.CancelEvent(ctx, c, in.ID, in.Version)
		}),
		"events.delete": action(func(ctx context.Context, c Caller, in versionData) (any, error) {
			return ok, s.DeleteEvent(ctx, c, in.ID, in.Version)
		}),
		"availability": action(func(ctx context.Context, c Caller, in availability) (any, error) {
			slots, err := s.Availability(ctx, c, in.From, in.To, in.ResourceIDs, time.Duration(in.DurationMinutes)*time.Minute)
			if err != nil {
				return nil, err
			}
			return map[string][]Slot{"slots": slots}, nil
		}),

		"subscribe.events": s.subscribeEvents,
		"subscribe.org":    s.subscribeOrg,
		"unsubscribe": func(_ context.Context, _ Caller, req realtime.Request) (any, error) {
			return unsubscribe(req)
		},
	}
}
