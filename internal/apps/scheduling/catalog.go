package scheduling

import (
	"context"
	"slices"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The org's catalog: projects, resources and layouts. Members read it;
// owners and admins change it. Every change is an event of kind project,
// resource or layout, pushed to the org's subscribers.

// Event types of the catalog.
const (
	EventProjectCreated  = "scheduling.project.created"
	EventProjectUpdated  = "scheduling.project.updated"
	EventProjectArchived = "scheduling.project.archived"
	EventResourceCreated = "scheduling.resource.created"
	EventResourceUpdated = "scheduling.resource.updated"
	// EventResourceArchived cancels the resource's future events and takes
	// it off the layouts (handlers).
	EventResourceArchived = "scheduling.resource.archived"
	EventLayoutCreated    = "scheduling.layout.created"
	EventLayoutUpdated    = "scheduling.layout.updated"
	EventLayoutDeleted    = "scheduling.layout.deleted"
)

// Kinds of the org subscription's items.
const (
	KindProject  = "project"
	KindResource = "resource"
	KindLayout   = "layout"
	KindUser     = "user"
)

// ---- projects ----

// ListProjects lists the org's projects by id.
func (s *Service) ListProjects(ctx context.Context, c Caller, pg Page) ([]Project, string, error) {
	return listInOrg(ctx, s.db, "scheduling_projects", projectCols, c.OrgID, pg, scanProject, func(p Project) string { return p.ID })
}

// GetProject returns a project of the caller's org (fault.NotFound).
func (s *Service) GetProject(ctx context.Context, c Caller, id string) (Project, error) {
	return getProject(ctx, s.db, c.OrgID, id)
}

// CreateProject creates a project (owners and admins).
func (s *Service) CreateProject(ctx context.Context, c Caller, in ProjectInput) (Project, error) {
	if err := c.mustManage("projects"); err != nil {
		return Project{}, err
	}
	if err := in.check(true); err != nil {
		return Project{}, err
	}
	now := s.now()
	p := Project{ID: newID(), OrgID: c.OrgID, Name: *in.Name, Version: 1, CreatedAt: now, UpdatedAt: now}
	p.Description, p.Color = deref(in.Description), deref(in.Color)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := insertProject(tx.Context(), tx, p); err != nil {
			return err
		}
		return s.emit(tx.Context(), tx, EventProjectCreated, p.OrgID, p.ID, change{Change: changeCreated, Kind: KindProject, Item: p, Actor: c.actor()})
	})
	return p, err
}

// UpdateProject changes a project read at version (stale: conflict with
// reason stale_version). Archiving goes through ArchiveProject.
func (s *Service) UpdateProject(ctx context.Context, c Caller, id string, version int64, in ProjectInput) (Project, error) {
	if err := c.mustManage("projects"); err != nil {
		return Project{}, err
	}
	if err := in.check(false); err != nil {
		return Project{}, err
	}
	return s.changeProject(ctx, c, id, version, EventProjectUpdated, func(p *Project) {
		setIf(&p.Name, in.Name)
		setIf(&p.Description, in.Description)
		setIf(&p.Color, in.Color)
	})
}

// ArchiveProject archives a project: it stays readable, events keep it.
func (s *Service) ArchiveProject(ctx context.Context, c Caller, id string, version int64) (Project, error) {
	if err := c.mustManage("projects"); err != nil {
		return Project{}, err
	}
	return s.changeProject(ctx, c, id, version, EventProjectArchived, func(p *Project) { p.Archived = true })
}

func (s *Service) changeProject(ctx context.Context, c Caller, id string, version int64, typ string, fn func(*Project)) (Project, error) {
	var out Project
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		p, err := getProject(ctx, tx, c.OrgID, id)
		if err != nil {
			return err
		}
		if p.Version != version {
			return staleError("the project", p.Version)
		}
		fn(&p)
		p.Version++
		p.UpdatedAt = s.now()
		if err := updateProject(ctx, tx, p); err != nil {
			return err
		}
		out = p
		return s.emit(ctx, tx, typ, p.OrgID, p.ID, change{Change: changeUpdated, Kind: KindProject, Item: p, Actor: c.actor()})
	})
	return out, err
}

// ---- resources ----

// ListResources lists the org's resources by id.
func (s *Service) ListResources(ctx context.Context, c Caller, pg Page) ([]Resource, string, error) {
	rs, next, err := listInOrg(ctx, s.db, "scheduling_resources", resourceCols, c.OrgID, pg, scanResource, func(r Resource) string { return r.ID })
	for i := range rs {
		rs[i].CalendarURL = s.calendarURL(rs[i])
	}
	return rs, next, err
}

// GetResource returns a resource of the caller's org (fault.NotFound).
func (s *Service) GetResource(ctx context.Context, c Caller, id string) (Resource, error) {
	r, err := getResource(ctx, s.db, c.OrgID, id)
	if err != nil {
		return Resource{}, err
	}
	r.CalendarURL = s.calendarURL(r)
	return r, nil
}

// CreateResource creates a resource (owners and admins).
func (s *Service) CreateResource(ctx context.Context, c Caller, in ResourceInput) (Resource, error) {
	if err := c.mustManage("resources"); err != nil {
		return Resource{}, err
	}
	if err := in.check(true); err != nil {
		return Resource{}, err
	}
	now := s.now()
	r := Resource{ID: newID(), OrgID: c.OrgID, Name: *in.Name, Kind: deref(in.Kind), Attributes: in.Attributes,
		calendarToken: newToken(), Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Capacity != nil {
		r.Capacity = *in.Capacity
	}
	if in.AllowOverlap != nil {
		r.AllowOverlap = *in.AllowOverlap
	}
	if r.Attributes == nil {
		r.Attributes = map[string]string{}
	}
	r.CalendarURL = s.calendarURL(r)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := insertResource(tx.Context(), tx, r); err != nil {
			return err
		}
		return s.emit(tx.Context(), tx, EventResourceCreated, r.OrgID, r.ID, change{Change: changeCreated, Kind: KindResource, Item: r, Actor: c.actor()})
	})
	return r, err
}

// UpdateResource changes a resource read at version.
func (s *Service) UpdateResource(ctx context.Context, c Caller, id string, version int64, in ResourceInput) (Resource, error) {
	if err := c.mustManage("resources"); err != nil {
		return Resource{}, err
	}
	if err := in.check(false); err != nil {
		return Resource{}, err
	}
	return s.changeResource(ctx, c, id, version, EventResourceUpdated, func(r *Resource) error {
		if r.Archived {
			return fault.New(fault.Conflict, "the resource is archived")
		}
		setIf(&r.Name, in.Name)
		setIf(&r.Kind, in.Kind)
		setIf(&r.Capacity, in.Capacity)
		setIf(&r.AllowOverlap, in.AllowOverlap)
		if in.Attributes != nil {
			r.Attributes = in.Attributes
		}
		return nil
	})
}

// ArchiveResource archives a resource: no new event may book it, and the
// handlers cancel its future events and take it off the layouts.
func (s *Service) ArchiveResource(ctx context.Context, c Caller, id string, version int64) (Resource, error) {
	if err := c.mustManage("resources"); err != nil {
		return Resource{}, err
	}
	return s.changeResource(ctx, c, id, version, EventResourceArchived, func(r *Resource) error {
		if r.Archived {
			return fault.New(fault.Conflict, "the resource is already archived")
		}
		r.Archived = true
		return nil
	})
}

func (s *Service) changeResource(ctx context.Context, c Caller, id string, version int64, typ string, fn func(*Resource) error) (Resource, error) {
	var out Resource
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		locked, err := lockResources(ctx, tx, c.OrgID, []string{id})
		if err != nil {
			return err
		}
		r, ok := locked[id]
		if !ok {
			return fault.New(fault.NotFound, "resource not found")
		}
		if r.Version != version {
			return staleError("the resource", r.Version)
		}
		if err := fn(&r); err != nil {
			return err
		}
		r.Version++
		r.UpdatedAt = s.now()
		if err := updateResource(ctx, tx, r); err != nil {
			return err
		}
		r.CalendarURL = s.calendarURL(r)
		out = r
		return s.emit(ctx, tx, typ, r.OrgID, r.ID, change{Change: changeUpdated, Kind: KindResource, Item: r, Actor: c.actor()})
	})
	return out, err
}

// ---- layouts ----

// ListLayouts lists the org's layouts by id.
func (s *Service) ListLayouts(ctx context.Context, c Caller, pg Page) ([]Layout, string, error) {
	return listInOrg(ctx, s.db, "scheduling_layouts", layoutCols, c.OrgID, pg, scanLayout, func(l Layout) string { return l.ID })
}

// GetLayout returns a layout of the caller's org (fault.NotFound).
func (s *Service) GetLayout(ctx context.Context, c Caller, id string) (Layout, error) {
	return getLayout(ctx, s.db, c.OrgID, id)
}

// CreateLayout creates a layout whose items place resources of the org.
func (s *Service) CreateLayout(ctx context.Context, c Caller, in LayoutInput) (Layout, error) {
	if err := c.mustManage("layouts"); err != nil {
		return Layout{}, err
	}
	if err := in.check(true); err != nil {
		return Layout{}, err
	}
	now := s.now()
	l := Layout{ID: newID(), OrgID: c.OrgID, Name: *in.Name, Items: *in.Items, Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		if err := checkLayoutResources(ctx, tx, c.OrgID, l.Items); err != nil {
			return err
		}
		if err := insertLayout(ctx, tx, l); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventLayoutCreated, l.OrgID, l.ID, change{Change: changeCreated, Kind: KindLayout, Item: l, Actor: c.actor()})
	})
	return l, err
}

// UpdateLayout changes a layout read at version.
func (s *Service) UpdateLayout(ctx context.Context, c Caller, id string, version int64, in LayoutInput) (Layout, error) {
	if err := c.mustManage("layouts"); err != nil {
		return Layout{}, err
	}
	if err := in.check(false); err != nil {
		return Layout{}, err
	}
	var out Layout
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		l, err := getLayout(ctx, tx, c.OrgID, id)
		if err != nil {
			return err
		}
		if l.Version != version {
			return staleError("the layout", l.Version)
		}
		setIf(&l.Name, in.Name)
		if in.Items != nil {
			if err := checkLayoutResources(ctx, tx, c.OrgID, *in.Items); err != nil {
				return err
			}
			l.Items = *in.Items
		}
		out, err = s.saveLayout(ctx, tx, l, c.actor())
		return err
	})
	return out, err
}

// saveLayout writes l as its next version and emits the update.
func (s *Service) saveLayout(ctx context.Context, tx *store.Tx, l Layout, actor string) (Layout, error) {
	l.Version++
	l.UpdatedAt = s.now()
	if err := updateLayout(ctx, tx, l); err != nil {
		return l, err
	}
	return l, s.emit(ctx, tx, EventLayoutUpdated, l.OrgID, l.ID, change{Change: changeUpdated, Kind: KindLayout, Item: l, Actor: actor})
}

// DeleteLayout deletes a layout read at version.
func (s *Service) DeleteLayout(ctx context.Context, c Caller, id string, version int64) error {
	if err := c.mustManage("layouts"); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ctx := tx.Context()
		l, err := getLayout(ctx, tx, c.OrgID, id)
		if err != nil {
			return err
		}
		if l.Version != version {
			return staleError("the layout", l.Version)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scheduling_layouts WHERE org_id = ? AND id = ?`, c.OrgID, id); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventLayoutDeleted, l.OrgID, l.ID, change{Change: changeDeleted, Kind: KindLayout, Item: l, Actor: c.actor()})
	})
}

// checkLayoutResources refuses items whose resource is not one of the
// org's live resources (422 naming the items).
func checkLayoutResources(ctx context.Context, tx *store.Tx, orgID string, items []LayoutItem) error {
	var ids []string
	for _, it := range items {
		if !slices.Contains(ids, it.ResourceID) {
			ids = append(ids, it.ResourceID)
		}
	}
	found, err := lockResources(ctx, tx, orgID, ids)
	if err != nil {
		return err
	}
	var c checker
	for i, it := range items {
		if r, ok := found[it.ResourceID]; !ok || r.Archived {
			c.add("items["+itoa(int64(i))+"].resource_id", "no such resource in this organization", it.ResourceID)
		}
	}
	return c.err()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func setIf[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}
