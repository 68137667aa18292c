package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// MaxContent is the longest message, in characters.
const MaxContent = 4000

// maxBatch bounds the messages of one group commit.
const maxBatch = 256

// commitTimeout bounds one group commit.
const commitTimeout = 15 * time.Second

// Message is one chat message.
type Message struct {
	ID        int64     `json:"id"`
	RoomID    int64     `json:"room_id"`
	Emitter   string    `json:"emitter"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"created_at"`
}

// errNotAuthorized is a post refused for lack of w (or a room gone).
var errNotAuthorized = fault.New(fault.Forbidden, "not allowed to write in this room")

// post is one message waiting for its group commit.
type post struct {
	caller  Caller
	roomID  int64
	content string
	done    chan postResult // buffered: the committer never blocks on it
}

type postResult struct {
	msg Message
	err error
}

// poster gathers concurrent posts into group commits: one transaction
// stores every message queued while the previous commit ran, so that
// durability costs one fsync per batch instead of one per message. Its
// committer goroutine exists only while posts are queued. mu guards queue
// and running.
type poster struct {
	mu      sync.Mutex
	queue   []*post
	running bool
}

// Post stores a message from c in room id, with the permission check (w)
// in the storing transaction, and returns it once committed. The message's
// event (messaging.message.created) then reaches every connection in the
// room. errNotAuthorized without w or when the room is gone.
func (s *Service) Post(ctx context.Context, c Caller, id int64, content string) (Message, error) {
	p := &post{caller: c, roomID: id, content: content, done: make(chan postResult, 1)}
	s.posts.mu.Lock()
	s.posts.queue = append(s.posts.queue, p)
	start := !s.posts.running
	s.posts.running = true
	s.posts.mu.Unlock()
	if start {
		// Not bound to ctx: the batch carries other callers' posts.
		go s.commitPosts() //nolint:gosec // G118: the committer serves every queued post, not this request
	}
	select {
	case r := <-p.done:
		return r.msg, r.err
	case <-ctx.Done():
		return Message{}, fmt.Errorf("messaging: post: %w", ctx.Err())
	}
}

// commitPosts commits the queued posts, batch after batch, and exits when
// none is left.
func (s *Service) commitPosts() {
	for {
		s.posts.mu.Lock()
		batch := s.posts.queue
		if len(batch) > maxBatch {
			batch = batch[:maxBatch:maxBatch]
		}
		s.posts.queue = s.posts.queue[len(batch):]
		if len(batch) == 0 {
			s.posts.queue = nil
			s.posts.running = false
			s.posts.mu.Unlock()
			return
		}
		s.posts.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		res := s.commit(ctx, batch)
		cancel()
		for i, p := range batch {
			p.done <- res[i]
		}
	}
}

// commit stores a batch of posts in one transaction; a refused post does
// not fail the others.
func (s *Service) commit(ctx context.Context, batch []*post) []postResult {
	res := make([]postResult, len(batch))
	type roomState struct {
		room   Room
		access Access
		err    error
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		clear(res) // InTx may run this more than once
		rooms := map[int64]*roomState{}
		for i, p := range batch {
			rs := rooms[p.roomID]
			if rs == nil {
				r, a, err := load(ctx, tx, p.roomID)
				switch {
				case fault.Is(err, fault.NotFound):
					rs = &roomState{err: errNotAuthorized}
				case err != nil:
					return err
				default:
					rs = &roomState{room: r, access: a}
				}
				rooms[p.roomID] = rs
			}
			switch {
			case rs.err != nil:
				res[i].err = rs.err
			case !rs.access.For(p.caller).Has(Write):
				res[i].err = errNotAuthorized
			default:
				m, err := s.insertMessage(ctx, tx, rs.room, p.caller.User, p.content)
				if err != nil {
					return err
				}
				res[i].msg = m
			}
		}
		return nil
	})
	if err != nil {
		for i := range res {
			res[i] = postResult{err: err}
		}
	}
	return res
}

// insertMessage stores a message and its event, and keeps the event's
// cursor on the row (resume by message id).
func (s *Service) insertMessage(ctx context.Context, tx *store.Tx, r Room, emitter, content string) (Message, error) {
	m := Message{RoomID: r.ID, Emitter: emitter, Content: content, CreatedAt: s.now()}
	err := tx.QueryRow(ctx, `INSERT INTO messaging_messages (room_id, emitter, content, created_at, event_cursor)
		VALUES (?, ?, ?, ?, '') RETURNING id`, m.RoomID, m.Emitter, m.Content, m.CreatedAt.UnixMicro()).Scan(&m.ID)
	if err != nil {
		return Message{}, store.Normalize(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Message{}, fmt.Errorf("messaging: encode message: %w", err)
	}
	ev, err := s.events.Record(ctx, tx, events.Event{Type: evMessageCreated, OrgID: r.EntityOwner,
		Subject: strconv.FormatInt(r.ID, 10), Payload: b})
	if err != nil {
		return Message{}, err
	}
	if _, err := tx.Exec(ctx, "UPDATE messaging_messages SET event_cursor = ? WHERE id = ?", string(ev.Cursor), m.ID); err != nil {
		return Message{}, store.Normalize(err)
	}
	return m, nil
}

// HistoryQuery selects a page of a room's history: messages created in
// [From, To] (To defaults to now), with an id below Before when it is not
// 0, the Limit most recent of them, returned oldest first.
type HistoryQuery struct {
	From, To time.Time
	Before   int64
	Limit    int
}

// History returns a page of room id's messages; c needs r.
func (s *Service) History(ctx context.Context, c Caller, id int64, q HistoryQuery) ([]Message, error) {
	if _, _, err := authorize(ctx, s.db, c, id, Read); err != nil {
		return nil, err
	}
	to := q.To
	if to.IsZero() {
		to = s.now()
	}
	query := `SELECT id, room_id, emitter, content, created_at FROM messaging_messages
		WHERE room_id = ? AND created_at >= ? AND created_at <= ?`
	args := []any{id, q.From.UnixMicro(), to.UnixMicro()}
	if q.From.IsZero() {
		args[1] = int64(0)
	}
	if q.Before > 0 {
		query += " AND id < ?"
		args = append(args, q.Before)
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, q.Limit)
	msgs, err := queryMessages(ctx, s.db, query, args...)
	slices.Reverse(msgs)
	return msgs, err
}

func queryMessages(ctx context.Context, q store.Querier, query string, args ...any) ([]Message, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	msgs := []Message{}
	for rows.Next() {
		var m Message
		var created int64
		if err := rows.Scan(&m.ID, &m.RoomID, &m.Emitter, &m.Content, &created); err != nil {
			return nil, store.Normalize(err)
		}
		m.CreatedAt = time.UnixMicro(created).UTC()
		msgs = append(msgs, m)
	}
	return msgs, store.Normalize(rows.Err())
}

// deletedMessage is the payload of messaging.message.deleted.
type deletedMessage struct {
	ID     int64 `json:"id"`
	RoomID int64 `json:"room_id"`
}

// DeleteMessage deletes a message (moderation, admin only) and emits
// messaging.message.deleted, which the room's connections receive as
// {"type":"message_deleted","data":{"id"}}.
func (s *Service) DeleteMessage(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var d deletedMessage
		var owner string
		err := tx.QueryRow(ctx, `SELECT m.id, m.room_id, r.entity_owner FROM messaging_messages m
			JOIN messaging_rooms r ON r.id = m.room_id WHERE m.id = ?`, id).Scan(&d.ID, &d.RoomID, &owner)
		if err != nil {
			return store.NotFound(err, "message")
		}
		if _, err := tx.Exec(ctx, "DELETE FROM messaging_messages WHERE id = ?", id); err != nil {
			return store.Normalize(err)
		}
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("messaging: encode event: %w", err)
		}
		return s.events.Emit(ctx, tx, events.Event{Type: evMessageDeleted, OrgID: owner,
			Subject: strconv.FormatInt(d.RoomID, 10), Payload: b})
	})
}
