package messaging

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Room types.
const (
	TypeGroup     = "group"
	TypeUser2User = "user2user"
)

// Problem reasons of the seed's protocol, in the problem's "reason" member.
const (
	ReasonTooManyRules = "TOO_MANY_RULES"
	ReasonRoomFull     = "ROOM_FULL"
)

// entityRuleLevel is the level of the rule a room's creator's entity gets.
const entityRuleLevel = 100

// Event types; every messaging event's subject is the room id.
const (
	evRoomCreated        = "messaging.room.created"
	evRoomUpdated        = "messaging.room.updated"
	evRoomDeleted        = "messaging.room.deleted"
	evMemberAdded        = "messaging.member.added"
	evMemberUpdated      = "messaging.member.updated"
	evMemberRemoved      = "messaging.member.removed"
	evInvitationAnswered = "messaging.invitation.answered"
	evMessageCreated     = "messaging.message.created"
	evMessageDeleted     = "messaging.message.deleted"
)

// Room is a chat room.
type Room struct {
	ID          int64     `json:"id"`
	UUID        string    `json:"uuid"`
	Name        string    `json:"name"`
	Type        string    `json:"type" enum:"group,user2user"`
	LevelAdmin  int       `json:"level_admin"`
	EntityOwner string    `json:"entity_owner"`
	CreatedAt   time.Time `json:"created_at"`

	// accessCursor is the cursor of the room's last access event (its
	// creation, a rule or admin-level change): an open connection that read
	// the room's access skips the access events up to it (see roomWatch).
	accessCursor events.Cursor
}

// Service holds the rooms, rules and messages of one store. It is safe for
// concurrent use.
type Service struct {
	db          *store.DB
	events      *events.Log
	maxRules    int
	createLevel int
	now         func() time.Time
	posts       poster
}

// Options tune a Service.
type Options struct {
	MaxRules    int // rules per room (messaging.max_rules)
	CreateLevel int // levelOnEntity needed to create a room (messaging.create_level)
}

// NewService returns the service over db.
func NewService(db *store.DB, log *events.Log, opts Options) *Service {
	return &Service{db: db, events: log, maxRules: opts.MaxRules, createLevel: opts.CreateLevel,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// roomEvent is the payload of room and rule events: the room and, but for a
// deleted room, its access after the change (open chat connections recompute
// their member's permissions from it, in log order).
type roomEvent struct {
	Room   Room    `json:"room"`
	Access *Access `json:"access,omitempty"`
	Rule   *Rule   `json:"rule,omitempty"`
}

// emitRoom records a room or rule event in tx.
// Every event but a deletion moves the room's access cursor; the creation
// also sets the room's event cursor (resume before its first message).
func (s *Service) emitRoom(ctx context.Context, tx *store.Tx, typ string, p roomEvent) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("messaging: encode event: %w", err)
	}
	ev, err := s.events.Record(ctx, tx, events.Event{Type: typ, OrgID: p.Room.EntityOwner,
		Subject: strconv.FormatInt(p.Room.ID, 10), Payload: b})
	switch {
	case err != nil:
		return err
	case typ == evRoomDeleted:
		return nil
	case typ == evRoomCreated:
		_, err = tx.Exec(ctx, "UPDATE messaging_rooms SET access_cursor = ?, event_cursor = ? WHERE id = ?",
			string(ev.Cursor), string(ev.Cursor), p.Room.ID)
	default:
		_, err = tx.Exec(ctx, "UPDATE messaging_rooms SET access_cursor = ? WHERE id = ?", string(ev.Cursor), p.Room.ID)
	}
	return store.Normalize(err)
}

const roomColumns = "id, uuid, name, type, level_admin, entity_owner, created_at, access_cursor"

func scanRoom(row interface{ Scan(...any) error }) (Room, error) {
	var r Room
	var created int64
	var access string
	if err := row.Scan(&r.ID, &r.UUID, &r.Name, &r.Type, &r.LevelAdmin, &r.EntityOwner, &created, &access); err != nil {
		return Room{}, err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.accessCursor = events.Cursor(access)
	return r, nil
}

// load reads a room and its access; fault.NotFound when there is none.
func load(ctx context.Context, q store.Querier, id int64) (Room, Access, error) {
	rooms, err := loadRooms(ctx, q, []int64{id})
	if err != nil {
		return Room{}, Access{}, err
	}
	br := rooms[id]
	if br == nil {
		return Room{}, Access{}, fault.New(fault.NotFound, "room not found")
	}
	return br.room, br.access, nil
}

// authorize loads the room and checks that c holds want there: 404 when the
// room does not exist, 403 when c lacks a letter.
func authorize(ctx context.Context, q store.Querier, c Caller, id int64, want Perms) (Room, Access, error) {
	r, a, err := load(ctx, q, id)
	if err != nil {
		return Room{}, Access{}, err
	}
	if !a.For(c).Has(want) {
		return Room{}, Access{}, fault.New(fault.Forbidden, "not allowed in this room (needs %q)", want.String())
	}
	return r, a, nil
}

// NewRoom is what a room is created with.
type NewRoom struct {
	Name       string
	Type       string
	LevelAdmin int
}

// CreateRoom creates a room owned by c's entity. The creator gets the rule
// (user, level L, "rwa", accepted); in a group room its entity gets (entity,
// level 100, "rw", accepted).
func (s *Service) CreateRoom(ctx context.Context, c Caller, in NewRoom) (Room, error) {
	switch {
	case c.User == "":
		return Room{}, fault.New(fault.Forbidden, "rooms are created by users (a token with a userUUID)")
	case c.Level < s.createLevel:
		return Room{}, fault.New(fault.Forbidden, "creating a room needs levelOnEntity ≥ %d", s.createLevel)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Room{}, fmt.Errorf("messaging: room uuid: %w", err)
	}
	r := Room{UUID: id.String(), Name: in.Name, Type: in.Type, LevelAdmin: in.LevelAdmin, EntityOwner: c.Entity, CreatedAt: s.now()}
	rules := []Rule{{EntityUUID: c.User, Kind: KindUser, Level: c.Level, Permissions: "rwa", Accepted: true}}
	if r.Type == TypeGroup && c.Entity != "" {
		rules = append(rules, Rule{EntityUUID: c.Entity, Kind: KindEntity, Level: entityRuleLevel, Permissions: "rw", Accepted: true})
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO messaging_rooms (uuid, name, type, level_admin, entity_owner, created_at, event_cursor, access_cursor)
			VALUES (?, ?, ?, ?, ?, ?, '', '') RETURNING id`,
			r.UUID, r.Name, r.Type, r.LevelAdmin, r.EntityOwner, r.CreatedAt.UnixMicro()).Scan(&r.ID)
		if err != nil {
			return store.Normalize(err)
		}
		for _, rule := range rules {
			if err := insertRule(ctx, tx, r.ID, rule, r.CreatedAt); err != nil {
				return err
			}
		}
		return s.emitRoom(ctx, tx, evRoomCreated, roomEvent{Room: r,
			Access: &Access{EntityOwner: r.EntityOwner, LevelAdmin: r.LevelAdmin, Rules: rules}})
	})
	return r, err
}

func insertRule(ctx context.Context, tx *store.Tx, roomID int64, r Rule, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO messaging_rules (room_id, entity_uuid, kind, level, permissions, accepted, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, roomID, r.EntityUUID, string(r.Kind), r.Level, r.Permissions, r.Accepted, at.UnixMicro())
	return store.Normalize(err)
}

// RoomRule is a room as listed for a caller, with the rule that admits it.
type RoomRule struct {
	Room Room `json:"room"`
	Rule Rule `json:"rule"`
}

// ListRooms lists the rooms where c's user has a rule, or its entity has one
// that c's level reaches (the user's own rule first when both exist), by
// room id; accepted, when not nil, keeps the rules in that state (so a room
// that c reads through its entity's accepted rule is listed as accepted
// even while c's own invitation there is pending).
func (s *Service) ListRooms(ctx context.Context, c Caller, accepted *bool, limit, offset int) ([]RoomRule, error) {
	var args []any
	// arg adds v to args and returns its placeholder; inState the condition
	// that keeps the rules of alias in the wanted state.
	arg := func(v any) string { args = append(args, v); return "?" }
	inState := func(alias string) string {
		if accepted == nil {
			return ""
		}
		return " AND " + alias + ".accepted = " + arg(*accepted)
	}
	query := `SELECT r.id, r.uuid, r.name, r.type, r.level_admin, r.entity_owner, r.created_at,
			ru.entity_uuid, ru.kind, ru.level, ru.permissions, ru.accepted
		FROM messaging_rules ru JOIN messaging_rooms r ON r.id = ru.room_id
		WHERE ((ru.entity_uuid = ` + arg(c.User) + ` AND ru.kind = 'user'` + inState("ru") + `)
			OR (ru.entity_uuid = ` + arg(c.Entity) + ` AND ru.kind = 'entity' AND ru.level <= ` + arg(c.Level) + inState("ru") + ` AND NOT EXISTS (
				SELECT 1 FROM messaging_rules u WHERE u.room_id = ru.room_id AND u.entity_uuid = ` + arg(c.User) + ` AND u.kind = 'user'` +
		inState("u") + `)))
		ORDER BY r.id LIMIT ` + arg(limit) + ` OFFSET ` + arg(offset)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	items := []RoomRule{}
	for rows.Next() {
		var it RoomRule
		var created int64
		if err := rows.Scan(&it.Room.ID, &it.Room.UUID, &it.Room.Name, &it.Room.Type, &it.Room.LevelAdmin, &it.Room.EntityOwner, &created,
			&it.Rule.EntityUUID, &it.Rule.Kind, &it.Rule.Level, &it.Rule.Permissions, &it.Rule.Accepted); err != nil {
			return nil, store.Normalize(err)
		}
		it.Room.CreatedAt = time.UnixMicro(created).UTC()
		items = append(items, it)
	}
	return items, store.Normalize(rows.Err())
}

// GetRoom returns a room and its rules; c needs r.
func (s *Service) GetRoom(ctx context.Context, c Caller, id int64) (Room, []Rule, error) {
	r, a, err := authorize(ctx, s.db, c, id, Read)
	return r, a.Rules, err
}

// DeleteRoom deletes a room, its rules and its history; c must be an admin
// of the room.
func (s *Service) DeleteRoom(ctx context.Context, c Caller, id int64) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		r, _, err := authorize(ctx, tx, c, id, Admin)
		if err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM messaging_messages WHERE room_id = ?", "DELETE FROM messaging_rules WHERE room_id = ?",
			"DELETE FROM messaging_rooms WHERE id = ?"} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return store.Normalize(err)
			}
		}
		err = s.emitRoom(ctx, tx, evRoomDeleted, roomEvent{Room: r})
		return err
	})
}

// RoomUpdate changes a room's name or admin level (nil: unchanged).
type RoomUpdate struct {
	Name       *string
	LevelAdmin *int
}

// UpdateRoom changes a room; c must be an admin of the room.
func (s *Service) UpdateRoom(ctx context.Context, c Caller, id int64, u RoomUpdate) (Room, error) {
	var out Room
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		r, a, err := authorize(ctx, tx, c, id, Admin)
		if err != nil {
			return err
		}
		if u.Name != nil {
			r.Name = *u.Name
		}
		if u.LevelAdmin != nil {
			r.LevelAdmin = *u.LevelAdmin
			a.LevelAdmin = r.LevelAdmin
		}
		if _, err := tx.Exec(ctx, "UPDATE messaging_rooms SET name = ?, level_admin = ? WHERE id = ?", r.Name, r.LevelAdmin, id); err != nil {
			return store.Normalize(err)
		}
		out = r
		err = s.emitRoom(ctx, tx, evRoomUpdated, roomEvent{Room: r, Access: &a})
		return err
	})
	return out, err
}

// PutRule adds or changes the rule of rule.EntityUUID (a UUID is kept in its
// canonical form) in room id; c must be an admin of the room. created is true when the rule is new. A new rule for
// anyone but c starts as an invitation (accepted false); a changed rule keeps
// its state; a ban needs no acceptance. Limits: s.maxRules rules per room
// (TOO_MANY_RULES), two user rules and no entity rule in a user2user room
// (ROOM_FULL).
func (s *Service) PutRule(ctx context.Context, c Caller, id int64, rule Rule) (out Rule, created bool, err error) {
	perms, ok := ParsePerms(rule.Permissions)
	if !ok {
		return Rule{}, false, fault.WithFields("invalid rule", fault.FieldError{Location: "body.permissions",
			Message: "letters r, w, b, a in any order, each at most once", Value: rule.Permissions})
	}
	rule.Permissions = perms.String()
	rule.EntityUUID = canonicalID(rule.EntityUUID)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		r, a, err := authorize(ctx, tx, c, id, Admin)
		if err != nil {
			return err
		}
		var prev *Rule
		users := 0
		for i, x := range a.Rules {
			if x.EntityUUID == rule.EntityUUID {
				prev = &a.Rules[i]
			} else if x.Kind == KindUser {
				users++
			}
		}
		switch {
		case prev == nil && len(a.Rules) >= s.maxRules:
			e := fault.New(fault.Forbidden, "a room holds at most %d rules", s.maxRules)
			e.Reason = ReasonTooManyRules
			return e
		case r.Type == TypeUser2User && rule.Kind == KindEntity:
			e := fault.New(fault.Forbidden, "a user2user room admits two users and no entity")
			e.Reason = ReasonRoomFull
			return e
		case r.Type == TypeUser2User && users >= 2:
			e := fault.New(fault.Forbidden, "a user2user room holds at most two users")
			e.Reason = ReasonRoomFull
			return e
		case prev != nil && prev.Kind != rule.Kind:
			return fault.WithFields("invalid rule", fault.FieldError{Location: "body.kind",
				Message: fmt.Sprintf("%s already has a rule of kind %s in this room", rule.EntityUUID, prev.Kind), Value: string(rule.Kind)})
		}
		switch {
		case perms.Has(Banned):
			rule.Accepted = true
		case prev != nil:
			rule.Accepted = prev.Accepted
		default:
			rule.Accepted = rule.Kind == KindUser && rule.EntityUUID == c.User
		}
		typ := evMemberUpdated
		if prev == nil {
			created, typ = true, evMemberAdded
			if err := insertRule(ctx, tx, id, rule, s.now()); err != nil {
				return err
			}
			a.Rules = append(a.Rules, rule)
		} else {
			if _, err := tx.Exec(ctx, `UPDATE messaging_rules SET level = ?, permissions = ?, accepted = ? WHERE room_id = ? AND entity_uuid = ?`,
				rule.Level, rule.Permissions, rule.Accepted, id, rule.EntityUUID); err != nil {
				return store.Normalize(err)
			}
			*prev = rule
		}
		out = rule
		err = s.emitRoom(ctx, tx, typ, roomEvent{Room: r, Access: &a, Rule: &rule})
		return err
	})
	return out, created, err
}

// DeleteRule removes the rule of entityUUID from room id; c must be an admin
// of the room. fault.NotFound when there is no such rule.
func (s *Service) DeleteRule(ctx context.Context, c Caller, id int64, entityUUID string) error {
	entityUUID = canonicalID(entityUUID)
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		r, a, err := authorize(ctx, tx, c, id, Admin)
		if err != nil {
			return err
		}
		kept := a.Rules[:0:0]
		var gone *Rule
		for _, x := range a.Rules {
			if x.EntityUUID == entityUUID {
				gone = &x
				continue
			}
			kept = append(kept, x)
		}
		if gone == nil {
			return fault.New(fault.NotFound, "no rule for %s in this room", entityUUID)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM messaging_rules WHERE room_id = ? AND entity_uuid = ?", id, entityUUID); err != nil {
			return store.Normalize(err)
		}
		a.Rules = kept
		err = s.emitRoom(ctx, tx, evMemberRemoved, roomEvent{Room: r, Access: &a, Rule: gone})
		return err
	})
}

// AnswerInvitation accepts or declines c's rule in room id (or, viaEntity,
// its entity's rule, which c's level must reach). A ban cannot be answered.
// fault.NotFound when the room does not exist; fault.Forbidden when c has
// no such rule there (only an invitee may answer).
func (s *Service) AnswerInvitation(ctx context.Context, c Caller, id int64, viaEntity, accepted bool) (Rule, error) {
	var out Rule
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		r, a, err := load(ctx, tx, id)
		if err != nil {
			return err
		}
		i := a.find(c, viaEntity)
		switch {
		case i < 0:
			return fault.New(fault.Forbidden, "no invitation for you in this room")
		case viaEntity && c.Level < a.Rules[i].Level:
			return fault.New(fault.Forbidden, "your level is below the entity rule's level %d", a.Rules[i].Level)
		case a.Rules[i].perms().Has(Banned):
			return fault.New(fault.Forbidden, "a ban cannot be answered")
		}
		a.Rules[i].Accepted = accepted
		if _, err := tx.Exec(ctx, "UPDATE messaging_rules SET accepted = ? WHERE room_id = ? AND entity_uuid = ?",
			accepted, id, a.Rules[i].EntityUUID); err != nil {
			return store.Normalize(err)
		}
		out = a.Rules[i]
		err = s.emitRoom(ctx, tx, evInvitationAnswered, roomEvent{Room: r, Access: &a, Rule: &out})
		return err
	})
	return out, err
}

// find returns the index of c's user rule, or with viaEntity of its
// entity's rule; -1 when there is none.
func (a Access) find(c Caller, viaEntity bool) int {
	kind, who := KindUser, c.User
	if viaEntity {
		kind, who = KindEntity, c.Entity
	}
	for i, r := range a.Rules {
		if who != "" && r.Kind == kind && r.EntityUUID == who {
			return i
		}
	}
	return -1
}

// roomCursor returns where a resume with since=<message id> starts in room
// id: the cursor of the room's last message with an id ≤ since, or, when
// there is none, the room's creation.
func (s *Service) roomCursor(ctx context.Context, id, since int64) (events.Cursor, error) {
	var cur string
	err := s.db.QueryRow(ctx, `SELECT event_cursor FROM messaging_messages WHERE room_id = ? AND id <= ?
		ORDER BY id DESC LIMIT 1`, id, since).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.QueryRow(ctx, "SELECT event_cursor FROM messaging_rooms WHERE id = ?", id).Scan(&cur)
	}
	if err != nil {
		return "", store.NotFound(err, "room")
	}
	return events.Cursor(strings.TrimSpace(cur)), nil
}
