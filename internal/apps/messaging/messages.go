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
// not fail the others. The batch's rooms and rules are read with two
// queries, and its message ids allocated with one, so that each message
// costs two statements: its event (whose payload carries the id), then its
// row (which carries the event's cursor).
func (s *Service) commit(ctx context.Context, batch []*post) []postResult {
	res := make([]postResult, len(batch))
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		clear(res) // InTx may run this more than once
		ids := make([]int64, 0, len(batch))
		for _, p := range batch {
			ids = append(ids, p.roomID)
		}
		rooms, err := loadRooms(ctx, tx, ids)
		if err != nil {
			return err
		}
		ok := make([]int, 0, len(batch)) // indices of the posts to store
		for i, p := range batch {
			rs, found := rooms[p.roomID]
			switch {
			case !found, !rs.access.For(p.caller).Has(Write):
				res[i].err = errNotAuthorized
			default:
				ok = append(ok, i)
			}
		}
		msgIDs, err := allocMessageIDs(ctx, tx, len(ok))
		if err != nil {
			return err
		}
		msgs := make([]Message, len(ok))
		for k, i := range ok {
			p := batch[i]
			msgs[k] = Message{ID: msgIDs[k], RoomID: p.roomID, Emitter: p.caller.User, Content: p.content, CreatedAt: s.now()}
		}
		if err := s.insertMessages(ctx, tx, rooms, msgs); err != nil {
			return err
		}
		for k, i := range ok {
			res[i].msg = msgs[k]
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

// batchRoom is a room of a group commit and its access.
type batchRoom struct {
	room   Room
	access Access
}

// loadRooms reads rooms ids (not empty) and their access with two queries,
// as load does for one room; a room that does not exist is absent from the
// map.
func loadRooms(ctx context.Context, q store.Querier, ids []int64) (map[int64]*batchRoom, error) {
	list, args := store.In(ids)
	rows, err := q.Query(ctx, "SELECT "+roomColumns+" FROM messaging_rooms WHERE id IN ("+list+")", args...)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	rooms := make(map[int64]*batchRoom, len(args))
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, store.Normalize(err)
		}
		rooms[r.ID] = &batchRoom{room: r,
			access: Access{EntityOwner: r.EntityOwner, LevelAdmin: r.LevelAdmin, Rules: []Rule{}}}
	}
	if err := rows.Err(); err != nil {
		return nil, store.Normalize(err)
	}
	rows.Close()
	if len(rooms) == 0 {
		return rooms, nil
	}
	rows, err = q.Query(ctx, `SELECT room_id, entity_uuid, kind, level, permissions, accepted FROM messaging_rules
		WHERE room_id IN (`+list+`) ORDER BY room_id, created_at, entity_uuid`, args...)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	for rows.Next() {
		var roomID int64
		var r Rule
		if err := rows.Scan(&roomID, &r.EntityUUID, &r.Kind, &r.Level, &r.Permissions, &r.Accepted); err != nil {
			return nil, store.Normalize(err)
		}
		if br := rooms[roomID]; br != nil {
			br.access.Rules = append(br.access.Rules, r)
		}
	}
	return rooms, store.Normalize(rows.Err())
}

// allocMessageIDs reserves n message ids, ascending, in tx. On Postgres they
// come from the id column's sequence (a rolled-back transaction leaves a
// gap, as an INSERT would). On SQLite the transaction holds the write lock,
// so the ids after the table's AUTOINCREMENT high-water mark are free: the
// explicit ids then raise sqlite_sequence, so no id is ever reused, even
// after deletes.
func allocMessageIDs(ctx context.Context, tx *store.Tx, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, n)
	if tx.Engine() == store.EnginePostgres {
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('messaging_messages', 'id'))
			FROM generate_series(1, ?::integer)`, n)
		if err != nil {
			return nil, store.Normalize(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, store.Normalize(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return nil, store.Normalize(err)
		}
		if len(ids) != n {
			return nil, fmt.Errorf("messaging: allocated %d message ids, want %d", len(ids), n)
		}
		slices.Sort(ids)
		return ids, nil
	}
	var last int64
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messaging_messages'), 0)`).Scan(&last)
	if err != nil {
		return nil, store.Normalize(err)
	}
	for i := range int64(n) {
		ids = append(ids, last+1+i)
	}
	return ids, nil
}

// maxInsertRows bounds the rows of one multi-row INSERT of messages.
const maxInsertRows = 64

// insertMessages stores msgs (ids allocated) and their events, each row
// keeping its event's cursor (resume by message id): one statement per up to
// 64 events, then per up to 64 rows.
func (s *Service) insertMessages(ctx context.Context, tx *store.Tx, rooms map[int64]*batchRoom, msgs []Message) error {
	evs := make([]events.Event, len(msgs))
	for i, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("messaging: encode message: %w", err)
		}
		evs[i] = events.Event{Type: evMessageCreated, OrgID: rooms[m.RoomID].room.EntityOwner,
			Subject: strconv.FormatInt(m.RoomID, 10), Payload: b}
	}
	evs, err := s.events.RecordAll(ctx, tx, evs)
	if err != nil {
		return err
	}
	first := 0 // msgs[first] is part[0]; its event is evs[first]
	for _, part := range store.Split(msgs, maxInsertRows) {
		args := make([]any, 0, 6*len(part))
		for i, m := range part {
			args = append(args, m.ID, m.RoomID, m.Emitter, m.Content, m.CreatedAt.UnixMicro(), string(evs[first+i].Cursor))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO messaging_messages (id, room_id, emitter, content, created_at, event_cursor)
			VALUES `+store.Values(len(part), 6), args...); err != nil {
			return store.Normalize(err)
		}
		first += len(part)
	}
	return nil
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
