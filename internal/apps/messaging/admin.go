package messaging

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// platformCaller is an admin API key acting through /admin/messaging: an
// admin of every room.
func platformCaller(context.Context) (Caller, error) { return Caller{Platform: true}, nil }

type adminListInput struct {
	OrgID  string `query:"org_id" maxLength:"255" doc:"Only rooms owned by this entity (org)."`
	Q      string `query:"q" maxLength:"200" doc:"Only rooms whose name contains this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"20" pattern:"^[0-9]*$" doc:"The next_cursor of the previous page."`
}

type adminMessagesInput struct {
	RoomID int64  `query:"room_id" minimum:"0" doc:"Only this room's messages."`
	OrgID  string `query:"org_id" maxLength:"255" doc:"Only messages of rooms owned by this entity (org)."`
	Q      string `query:"q" maxLength:"200" doc:"Only messages containing this text (case-insensitive)."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"20" pattern:"^[0-9]*$" doc:"The next_cursor of the previous page."`
}

type updateRoomInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"The room's id."`
	Body struct {
		Name       *string `json:"name,omitempty" minLength:"1" maxLength:"30" pattern:"\\S"`
		LevelAdmin *Level  `json:"level_admin,omitempty"`
	}
}

type messagePath struct {
	ID int64 `path:"id" minimum:"1" doc:"The message's id."`
}

type messageOutput struct {
	Body Message
}

// pageOf makes a page of items read with limit+1 rows; the cursor is the
// last kept item's id.
func pageOf[T any](items []T, limit int, id func(T) int64) *httpapi.ListOutput[T] {
	return httpapi.Page(store.TrimPage(items, limit, func(it T) string { return strconv.FormatInt(id(it), 10) }))
}

// registerAdmin registers /admin/messaging/{rooms,messages}.
func (s *Service) registerAdmin(api huma.API) {
	tags := []string{"admin", "messaging"}
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-list-rooms", Method: http.MethodGet, Path: "/rooms",
		Summary: "List every room", Description: "By id.", Tags: tags,
	}, func(ctx context.Context, in *adminListInput) (*httpapi.ListOutput[Room], error) {
		after, _ := strconv.ParseInt(in.Cursor, 10, 64)
		query := "SELECT " + roomColumns + " FROM messaging_rooms WHERE id > ?"
		args := []any{after}
		if in.OrgID != "" {
			query += " AND entity_owner = ?"
			args = append(args, in.OrgID)
		}
		if q := strings.TrimSpace(in.Q); q != "" {
			cond, arg := store.ContainsFold("name", q)
			query += " AND " + cond
			args = append(args, arg)
		}
		query += " ORDER BY id LIMIT ?"
		args = append(args, in.Limit+1)
		rows, err := s.db.Query(ctx, query, args...)
		if err != nil {
			return nil, store.Normalize(err)
		}
		defer rows.Close()
		rooms := []Room{}
		for rows.Next() {
			r, err := scanRoom(rows)
			if err != nil {
				return nil, store.Normalize(err)
			}
			rooms = append(rooms, r)
		}
		if err := rows.Err(); err != nil {
			return nil, store.Normalize(err)
		}
		return pageOf(rooms, in.Limit, func(r Room) int64 { return r.ID }), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-get-room", Method: http.MethodGet, Path: "/rooms/{id}",
		Summary: "Get a room and its rules", Tags: tags,
	}, func(ctx context.Context, in *roomPath) (*roomDetailOutput, error) {
		r, rules, err := s.GetRoom(ctx, Caller{Platform: true}, in.ID)
		if err != nil {
			return nil, err
		}
		return &roomDetailOutput{Body: RoomDetail{Room: r, Rules: rules}}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-update-room", Method: http.MethodPatch, Path: "/rooms/{id}",
		Summary: "Rename a room or change its admin level", Description: "Emits messaging.room.updated.", Tags: tags,
	}, func(ctx context.Context, in *updateRoomInput) (*roomOutput, error) {
		u := RoomUpdate{Name: in.Body.Name}
		if in.Body.LevelAdmin != nil {
			l := int(*in.Body.LevelAdmin)
			u.LevelAdmin = &l
		}
		r, err := s.UpdateRoom(ctx, Caller{Platform: true}, in.ID, u)
		if err != nil {
			return nil, err
		}
		return &roomOutput{Location: "/admin/messaging/rooms/" + strconv.FormatInt(r.ID, 10), Body: r}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-delete-room", Method: http.MethodDelete, Path: "/rooms/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a room, its rules and its history", Tags: tags,
	}, func(ctx context.Context, in *roomPath) (*struct{}, error) {
		return nil, s.DeleteRoom(ctx, Caller{Platform: true}, in.ID)
	})
	s.registerRuleOps(api, "admin-messaging", "/admin/messaging", tags, platformCaller)
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-list-messages", Method: http.MethodGet, Path: "/messages",
		Summary: "List messages", Description: "Newest first.", Tags: tags,
	}, func(ctx context.Context, in *adminMessagesInput) (*httpapi.ListOutput[Message], error) {
		query := "SELECT m.id, m.room_id, m.emitter, m.content, m.created_at FROM messaging_messages m"
		var where []string
		var args []any
		if in.OrgID != "" {
			query += " JOIN messaging_rooms r ON r.id = m.room_id"
			where, args = append(where, "r.entity_owner = ?"), append(args, in.OrgID)
		}
		if in.Cursor != "" {
			before, _ := strconv.ParseInt(in.Cursor, 10, 64)
			where, args = append(where, "m.id < ?"), append(args, before)
		}
		if in.RoomID > 0 {
			where, args = append(where, "m.room_id = ?"), append(args, in.RoomID)
		}
		if q := strings.TrimSpace(in.Q); q != "" {
			cond, arg := store.ContainsFold("m.content", q)
			where, args = append(where, cond), append(args, arg)
		}
		if len(where) > 0 {
			query += " WHERE " + strings.Join(where, " AND ")
		}
		query += " ORDER BY m.id DESC LIMIT ?"
		args = append(args, in.Limit+1)
		msgs, err := queryMessages(ctx, s.db, query, args...)
		if err != nil {
			return nil, err
		}
		return pageOf(msgs, in.Limit, func(m Message) int64 { return m.ID }), nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-get-message", Method: http.MethodGet, Path: "/messages/{id}",
		Summary: "Get a message", Tags: tags,
	}, func(ctx context.Context, in *messagePath) (*messageOutput, error) {
		msgs, err := queryMessages(ctx, s.db, "SELECT id, room_id, emitter, content, created_at FROM messaging_messages WHERE id = ?", in.ID)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return nil, fault.New(fault.NotFound, "message not found")
		}
		return &messageOutput{Body: msgs[0]}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "admin-messaging-delete-message", Method: http.MethodDelete, Path: "/messages/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Delete a message", Tags: tags,
		Description: "Emits messaging.message.deleted; the room's open connections receive {\"type\":\"message_deleted\",\"data\":{\"id\"}}.",
	}, func(ctx context.Context, in *messagePath) (*struct{}, error) {
		return nil, s.DeleteMessage(ctx, in.ID)
	})
}
