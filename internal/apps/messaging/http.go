package messaging

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// callerFrom returns the request's caller; 401 when anonymous.
func callerFrom(ctx context.Context) (Caller, error) {
	p, ok := authz.FromContext(ctx)
	if !ok {
		return Caller{}, fault.New(fault.Unauthorized, "a bearer token is required")
	}
	return callerOf(p), nil
}

type roomPath struct {
	ID int64 `path:"id" minimum:"1" doc:"The room's id."`
}

type roomBody struct {
	Name       string `json:"name" minLength:"1" maxLength:"30" pattern:"\\S" doc:"1 to 30 characters, not only spaces."`
	LevelAdmin Level  `json:"level_admin" doc:"The level inside the owner entity that makes an admin of the room."`
	Type       string `json:"type,omitempty" enum:"group,user2user" default:"group" doc:"group (default) or user2user (at most two users)."`
}

type createRoomInput struct {
	Body roomBody
}

type roomOutput struct {
	Location string `header:"Location"`
	Body     Room
}

type listRoomsInput struct {
	Accepted string `query:"accepted" enum:"true,false" doc:"Only rooms whose rule for you is (true) or is not yet (false) accepted."`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Offset   int    `query:"offset" minimum:"0" maximum:"1000000" default:"0" doc:"Rooms to skip."`
}

// RoomDetail is a room with its rules.
type RoomDetail struct {
	Room  Room   `json:"room"`
	Rules []Rule `json:"rules" nullable:"false"`
}

type roomDetailOutput struct {
	Body RoomDetail
}

type ruleBody struct {
	EntityUUID  string `json:"entity_UUID" format:"uuid" doc:"The user's or entity's UUID."`
	Permissions string `json:"permissions" pattern:"^[rwba]{1,4}$" doc:"Letters r read, w write, b banned, a admin, in any order, each at most once."`
	Level       Level  `json:"level" doc:"For an entity rule, the least level inside the entity it admits."`
	Kind        Kind   `json:"kind,omitempty" enum:"user,entity" default:"user" doc:"What entity_UUID names: a user (default) or an entity."`
}

func (b ruleBody) rule() Rule {
	k := b.Kind
	if k == "" {
		k = KindUser
	}
	return Rule{EntityUUID: b.EntityUUID, Kind: k, Level: int(b.Level), Permissions: b.Permissions}
}

type putRuleInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"The room's id."`
	Body ruleBody
}

type ruleOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     Rule
}

type ruleUUIDPath struct {
	ID         int64  `path:"id" minimum:"1" doc:"The room's id."`
	EntityUUID string `path:"entityUUID" format:"uuid" doc:"The rule's user or entity UUID."`
}

type invitationInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"The room's id."`
	Body struct {
		UseParentEntity bool `json:"use_parent_entity,omitempty" doc:"Answer for your entity's rule (your level must reach it) instead of your own."`
		Accepted        bool `json:"accepted" doc:"true accepts, false declines."`
	}
}

type historyInput struct {
	ID       int64     `path:"id" minimum:"1" doc:"The room's id."`
	DateFrom time.Time `query:"dateFrom" doc:"Only messages created at or after this time (RFC 3339)."`
	DateTo   time.Time `query:"dateTo" doc:"Only messages created at or before this time (RFC 3339); default now."`
	Before   int64     `query:"before" minimum:"1" doc:"Only messages with an id below this one (paging backwards)."`
	Limit    int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"The most recent messages of the selection to return."`
}

// registerREST registers the seed's REST API under /messaging.
func (s *Service) registerREST(api huma.API) {
	tags := []string{"messaging"}
	huma.Register(api, huma.Operation{
		OperationID: "messaging-create-room", Method: http.MethodPost, Path: "/rooms", DefaultStatus: http.StatusCreated,
		Summary: "Create a room", Tags: tags,
		Description: "Needs levelOnEntity ≥ messaging.create_level (100). The creator gets the rule (userUUID, level, rwa, accepted); " +
			"in a group room its entity gets (entityUUID, level 100, rw, accepted).",
	}, func(ctx context.Context, in *createRoomInput) (*roomOutput, error) {
		c, err := callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		typ := in.Body.Type
		if typ == "" {
			typ = TypeGroup
		}
		r, err := s.CreateRoom(ctx, c, NewRoom{Name: in.Body.Name, Type: typ, LevelAdmin: int(in.Body.LevelAdmin)})
		if err != nil {
			return nil, err
		}
		return &roomOutput{Location: "/messaging/rooms/" + strconv.FormatInt(r.ID, 10), Body: r}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "messaging-list-rooms", Method: http.MethodGet, Path: "/rooms",
		Summary: "List your rooms", Tags: tags,
		Description: "The rooms where you, or your entity at your level, have a rule, by room id, each with that rule.",
	}, func(ctx context.Context, in *listRoomsInput) (*httpapi.ListOutput[RoomRule], error) {
		c, err := callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		var accepted *bool
		if in.Accepted != "" {
			v := in.Accepted == "true"
			accepted = &v
		}
		items, err := s.ListRooms(ctx, c, accepted, in.Limit, in.Offset)
		if err != nil {
			return nil, err
		}
		return httpapi.Page(items, ""), nil // paged by offset, as the seed
	})
	huma.Register(api, huma.Operation{
		OperationID: "messaging-get-room", Method: http.MethodGet, Path: "/rooms/{id}",
		Summary: "Get a room and its rules", Description: "Needs r.", Tags: tags,
	}, func(ctx context.Context, in *roomPath) (*roomDetailOutput, error) {
		c, err := callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		r, rules, err := s.GetRoom(ctx, c, in.ID)
		if err != nil {
			return nil, err
		}
		return &roomDetailOutput{Body: RoomDetail{Room: r, Rules: rules}}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "messaging-delete-room", Method: http.MethodDelete, Path: "/rooms/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a room, its rules and its history", Description: "Needs admin.", Tags: tags,
	}, func(ctx context.Context, in *roomPath) (*struct{}, error) {
		c, err := callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		return nil, s.DeleteRoom(ctx, c, in.ID)
	})
	s.registerRuleOps(api, "messaging", "/messaging", tags, callerFrom)
	huma.Register(api, huma.Operation{
		OperationID: "messaging-answer-invitation", Method: http.MethodPut, Path: "/rooms/{id}/invitation",
		Summary: "Accept or decline an invitation", Tags: tags,
		Description: "Answers your rule in the room, or with use_parent_entity your entity's (your level must reach it). A ban cannot be answered.",
	}, func(ctx context.Context, in *invitationInput) (*ruleOutput, error) {
		c, err := callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		rule, err := s.AnswerInvitation(ctx, c, in.ID, in.Body.UseParentEntity, in.Body.Accepted)
		if err != nil {
			return nil, err
		}
		return &ruleOutput{Status: http.StatusOK, Body: rule}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "messaging-history", Method: http.MethodGet, Path: "/rooms/{id}/messages",
		Summary: "A room's history", Tags: tags,
		Description: "Needs r. The last `limit` messages of the selection, oldest first.",
	}, func(ctx context.Context, in *historyInput) (*httpapi.ListOutput[Message], error) {
		c, err := callerFrom(ctx)
		if err != nil {
			return nil, err
		}
		if !in.DateFrom.IsZero() && !in.DateTo.IsZero() && in.DateFrom.After(in.DateTo) {
			return nil, fault.WithFields("invalid range", fault.FieldError{Location: "query.dateFrom",
				Message: "must not be after dateTo", Value: in.DateFrom.Format(time.RFC3339Nano)})
		}
		msgs, err := s.History(ctx, c, in.ID, HistoryQuery{From: in.DateFrom, To: in.DateTo, Before: in.Before, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		return httpapi.Page(msgs, ""), nil // paged with before, as the chat's get_past_messages
	})
}

// registerRuleOps registers PUT and DELETE of a room's rules on api, for
// the caller callerOf gives (the REST API's and the admin API's); base is
// api's mount point, for the Location of a new rule.
func (s *Service) registerRuleOps(api huma.API, idPrefix, base string, tags []string, callerOf func(context.Context) (Caller, error)) {
	huma.Register(api, huma.Operation{
		OperationID: idPrefix + "-put-rule", Method: http.MethodPut, Path: "/rooms/{id}/members",
		Summary: "Add or change a rule", Tags: tags,
		Description: "Needs admin of the room. 201 (with a Location) when added, 200 when changed. A room holds at most messaging.max_rules (10) rules: " +
			"one more is 403 with reason TOO_MANY_RULES; a user2user room holds two user rules and no entity rule: 403 with reason ROOM_FULL. " +
			"A new rule for someone else is an invitation (accepted false); a ban applies at once.",
	}, func(ctx context.Context, in *putRuleInput) (*ruleOutput, error) {
		c, err := callerOf(ctx)
		if err != nil {
			return nil, err
		}
		rule, created, err := s.PutRule(ctx, c, in.ID, in.Body.rule())
		if err != nil {
			return nil, err
		}
		out := &ruleOutput{Status: http.StatusOK, Body: rule}
		if created {
			out.Status = http.StatusCreated
			out.Location = base + "/rooms/" + strconv.FormatInt(in.ID, 10) + "/members/" + url.PathEscape(rule.EntityUUID)
		}
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: idPrefix + "-delete-rule", Method: http.MethodDelete, Path: "/rooms/{id}/members/{entityUUID}", DefaultStatus: http.StatusNoContent,
		Summary: "Remove a rule", Description: "Needs admin of the room; 404 when there is no such rule.", Tags: tags,
	}, func(ctx context.Context, in *ruleUUIDPath) (*struct{}, error) {
		c, err := callerOf(ctx)
		if err != nil {
			return nil, err
		}
		return nil, s.DeleteRule(ctx, c, in.ID, in.EntityUUID)
	})
}
