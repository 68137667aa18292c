package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
)

// The chat's per-connection inbound limit: frames per second and burst. A
// member over it gets RATELIMITED and the connection closes with 1008.
const (
	chatRate  = 100
	chatBurst = 200
)

// maxTokenFailures is how many bad tokens a connection may send; the last
// one gets BADAUTH and the connection closes (1008).
const maxTokenFailures = 3

// tokenTimeout bounds a token's verification.
const tokenTimeout = 10 * time.Second

// The server's fixed frames, as in the seed.
var (
	frameStart         = frame("query", "START?")
	frameToken         = frame("query", "TOKEN?")
	frameSelectRoom    = frame("query", "SELECTROOM?")
	frameCommand       = frame("query", "COMMAND?")
	frameReady         = frame("status", "READY")
	frameBadAuth       = frame("status", "BADAUTH")
	frameConnected     = frame("status", "CONNECTED")
	frameNotAuthorized = frame("status", "NOTAUTHORIZED")
	frameBadJSON       = frame("status", "BADJSON")
	frameRateLimited   = frame("status", "RATELIMITED")
)

func frame(typ, data string) json.RawMessage {
	return json.RawMessage(`{"type":"` + typ + `","data":"` + data + `"}`)
}

// command is a client frame. Fields are kept raw so that a field of the
// wrong type is reported by name instead of failing the whole frame.
type command struct {
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
	RoomID  json.RawMessage `json:"room_id"`
	Since   json.RawMessage `json:"since"`
	Limit   json.RawMessage `json:"limit"`
	Before  json.RawMessage `json:"before"`
}

// chat serves GET /messaging/chat.
type chat struct {
	svc  *Service
	hub  *realtime.Hub
	auth *authz.Authorizer
	log  *slog.Logger
}

func (h *chat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := &session{chat: h, orgChoice: authz.UpgradeOrgChoice(r)}
	_, _ = h.hub.Accept(w, r, realtime.AcceptOptions{
		Greeting:     frameStart,
		OnMessage:    s.onMessage,
		OnMalformed:  func(c *realtime.Conn, _ []byte) { _ = c.SendRaw(frameBadJSON) },
		InboundRate:  chatRate,
		InboundBurst: chatBurst,
		FloodFrame:   frameRateLimited,
	})
	// On failure Accept has answered; on success the hub owns the connection.
}

// session is one chat connection's state. OnMessage runs on the
// connection's reader goroutine, one frame at a time: the fields are owned
// by it and need no lock.
type session struct {
	chat *chat
	// orgChoice is the org the client chose at connect (org_id or
	// X-Org-ID): a platform token's entity, as on every other route.
	orgChoice string
	caller    Caller
	authed    bool
	failures  int
	roomID    int64 // the selected room; 0 when none
	watch     *roomWatch
}

func (s *session) onMessage(c *realtime.Conn, msg []byte) {
	var cmd command
	if err := json.Unmarshal(msg, &cmd); err != nil {
		_ = c.SendRaw(frameCommand) // JSON, but not a command object
		return
	}
	if !s.authed && cmd.Type != "token" {
		_ = c.SendRaw(frameToken)
		return
	}
	switch cmd.Type {
	case "token":
		onFreshStack(func() { s.token(c, cmd) })
	case "select_room":
		onFreshStack(func() { s.selectRoom(c, cmd) })
	case "message":
		s.message(c, cmd)
	case "get_past_messages":
		onFreshStack(func() { s.pastMessages(c, cmd) })
	case "quit":
		c.Close(realtime.StatusNormalClosure, "bye")
	default:
		_ = c.SendRaw(frameCommand)
	}
}

// onFreshStack runs f on a short-lived goroutine and waits for it. Token
// checks and database reads grow a goroutine's stack (SQLite's engine runs
// deep), and the reader goroutine would keep that stack for the connection's
// whole life: an idle member costs less when they run elsewhere. A panic in
// f is raised again here, where the hub's recovery handles it.
func onFreshStack(f func()) {
	var panicked any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		f()
	}()
	<-done
	if panicked != nil {
		panic(panicked)
	}
}

// token authenticates the connection: READY, TOKEN? for a bad token, and
// BADAUTH then 1008 at the third bad one. A new valid token replaces the
// session's identity and leaves the selected room.
func (s *session) token(c *realtime.Conn, cmd command) {
	var tok string
	if json.Unmarshal(cmd.Content, &tok) != nil || strings.TrimSpace(tok) == "" {
		s.badToken(c)
		return
	}
	ctx, cancel := context.WithTimeout(c.Context(), tokenTimeout)
	defer cancel()
	p, err := s.chat.auth.VerifyToken(ctx, strings.TrimSpace(tok), appName, s.orgChoice)
	if err != nil {
		if fault.Is(err, fault.Unavailable) {
			_ = c.SendError("", err) // our failure, not the client's: not counted
			return
		}
		s.badToken(c)
		return
	}
	s.leave(c)
	s.caller, s.authed = callerOf(p), true
	_ = c.SendRaw(frameReady)
}

func (s *session) badToken(c *realtime.Conn) {
	s.failures++
	if s.failures >= maxTokenFailures {
		_ = c.SendRaw(frameBadAuth)
		c.Close(realtime.StatusPolicyViolation, "too many bad tokens")
		return
	}
	_ = c.SendRaw(frameToken)
}

// selectRoom leaves the current room and, if the caller may read the new
// one, subscribes to it: CONNECTED, then (with since) every later message,
// then live ones; NOTAUTHORIZED otherwise (also for a room that does not
// exist: existence is not revealed).
func (s *session) selectRoom(c *realtime.Conn, cmd command) {
	id, ok := intField(cmd.RoomID)
	if !ok || id <= 0 {
		s.invalid(c, "room_id", "required: a positive integer room id", cmd.RoomID)
		return
	}
	var since int64 = -1
	if cmd.Since != nil {
		if since, ok = intField(cmd.Since); !ok || since < 0 {
			s.invalid(c, "since", "a message id (an integer ≥ 0)", cmd.Since)
			return
		}
	}
	ctx := c.Context()
	s.leave(c)
	room, access, err := load(ctx, s.chat.svc.db, id)
	if err != nil && !fault.Is(err, fault.NotFound) {
		_ = c.SendError("", err)
		return
	}
	if err != nil || !access.For(s.caller).Has(Read) {
		_ = c.SendRaw(frameNotAuthorized)
		return
	}
	var from events.Cursor
	if since >= 0 {
		if from, err = s.chat.svc.roomCursor(ctx, id, since); err != nil {
			_ = c.SendError("", err)
			return
		}
	}
	w := &roomWatch{caller: s.caller, known: room.accessCursor}
	w.readable.Store(true)
	err = c.Subscribe(realtime.Subscription{
		App: appName, OrgID: room.EntityOwner, Topics: []string{roomTopic(id)},
		Since: from, Match: w.match, Encode: w.encode, Ack: frameConnected,
	})
	if err != nil {
		return // the connection is closing
	}
	s.roomID, s.watch = id, w
	// A permission change committed between the read above and the
	// subscription is not in its stream: read once more now that it is.
	if _, access, err := load(ctx, s.chat.svc.db, id); err != nil || !access.For(s.caller).Has(Read) {
		if w.readable.Swap(false) {
			_ = c.SendRaw(frameNotAuthorized)
		}
	}
}

// leave drops the selected room's subscription.
func (s *session) leave(c *realtime.Conn) {
	if s.roomID != 0 {
		c.Unsubscribe("")
		s.roomID, s.watch = 0, nil
	}
}

// message stores a message in the selected room; its echo reaches every
// connection in the room through the event log, the sender's included.
func (s *session) message(c *realtime.Conn, cmd command) {
	var content string
	if json.Unmarshal(cmd.Content, &content) != nil {
		s.invalid(c, "content", "required: a string", cmd.Content)
		return
	}
	if n := utf8.RuneCountInString(content); n < 1 || n > MaxContent {
		s.invalid(c, "content", "must be 1 to 4000 characters", n)
		return
	}
	if s.roomID == 0 {
		_ = c.SendRaw(frameSelectRoom)
		return
	}
	if _, err := s.chat.svc.Post(c.Context(), s.caller, s.roomID, content); err != nil {
		s.refused(c, err)
	}
}

// pastMessages sends the selected room's history as message frames, oldest
// first: the last limit (default 50, at most 500) messages, or those before
// the message id before.
func (s *session) pastMessages(c *realtime.Conn, cmd command) {
	limit := int64(50)
	if cmd.Limit != nil {
		var ok bool
		if limit, ok = intField(cmd.Limit); !ok || limit < 1 || limit > 500 {
			s.invalid(c, "limit", "an integer from 1 to 500", cmd.Limit)
			return
		}
	}
	var before int64
	if cmd.Before != nil {
		var ok bool
		if before, ok = intField(cmd.Before); !ok || before < 1 {
			s.invalid(c, "before", "a message id (a positive integer)", cmd.Before)
			return
		}
	}
	if s.roomID == 0 {
		_ = c.SendRaw(frameSelectRoom)
		return
	}
	msgs, err := s.chat.svc.History(c.Context(), s.caller, s.roomID, HistoryQuery{Before: before, Limit: int(limit)})
	if err != nil {
		s.refused(c, err)
		return
	}
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			continue
		}
		if c.SendRaw(messageFrame(b)) != nil {
			return
		}
	}
}

// refused answers a failed command: NOTAUTHORIZED for a permission refusal,
// an error frame with the problem otherwise.
func (s *session) refused(c *realtime.Conn, err error) {
	if fault.Is(err, fault.Forbidden) || fault.Is(err, fault.NotFound) {
		_ = c.SendRaw(frameNotAuthorized)
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the connection is gone
	}
	s.chat.log.Warn("messaging: chat command failed", "error", err)
	_ = c.SendError("", err)
}

// invalid answers a command with a bad or missing field: an error frame
// whose problem names the field (422); the connection stays open.
func (s *session) invalid(c *realtime.Conn, field, msg string, value any) {
	if raw, ok := value.(json.RawMessage); ok {
		value = string(raw)
		if raw == nil {
			value = nil
		}
	}
	_ = c.SendError("", fault.WithFields("invalid "+field, fault.FieldError{Location: field, Message: msg, Value: value}))
}

// intField reads an integer given as a JSON number or a numeric string.
func intField(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

func roomTopic(id int64) string { return "room:" + strconv.FormatInt(id, 10) }

// route maps every messaging event to its room's topic (the subject).
func route(ev events.Event) realtime.Route {
	return realtime.Route{Topics: []string{"room:" + ev.Subject}}
}

func messageFrame(payload []byte) []byte {
	b := make([]byte, 0, len(payload)+30)
	b = append(b, `{"type":"message","data":`...)
	b = append(b, payload...)
	return append(b, '}')
}

// roomWatch is a selected room's view of its event stream. The hub runs
// match and encode for one subscription at a time, in log order, so the
// member's permission follows every rule change exactly where it happened
// in the room's stream: no message committed after a ban reaches the banned
// member, on any node. Access events up to known (the room's access cursor
// when its access was read at select time) are already reflected and are
// skipped: the hub may still dispatch them to a new subscription when its
// tailer is behind the database (Postgres shows an event to readers only
// once every older transaction has ended). readable is atomic because
// selectRoom's re-check writes it from the reader goroutine.
type roomWatch struct {
	caller   Caller
	known    events.Cursor
	readable atomic.Bool
}

func (w *roomWatch) match(ev events.Event, _ any) bool {
	switch ev.Type {
	case evMessageCreated, evMessageDeleted:
		return w.readable.Load()
	case evRoomDeleted:
		return w.readable.Swap(false)
	}
	if w.known != "" && events.CompareCursor(ev.Cursor, w.known) <= 0 {
		return false
	}
	var p roomEvent
	if json.Unmarshal(ev.Payload, &p) != nil || p.Access == nil {
		return false
	}
	now := p.Access.For(w.caller).Has(Read)
	was := w.readable.Swap(now)
	return was && !now // tell the member once that it lost the room
}

func (w *roomWatch) encode(ev events.Event) ([]byte, error) {
	switch ev.Type {
	case evMessageCreated:
		return messageFrame(ev.Payload), nil
	case evMessageDeleted:
		var d deletedMessage
		if err := json.Unmarshal(ev.Payload, &d); err != nil {
			return nil, err
		}
		return []byte(`{"type":"message_deleted","data":{"id":` + strconv.FormatInt(d.ID, 10) + `}}`), nil
	}
	return frameNotAuthorized, nil
}
