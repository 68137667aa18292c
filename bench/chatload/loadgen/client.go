package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/bench/chatload/latency"
)

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// room is one chat room and its members.
type room struct {
	index   int
	id      int64
	name    string
	members []*member
}

// createRoom creates r on the server with its first member's token.
func createRoom(ctx context.Context, hc *http.Client, base string, r *room) error {
	body, err := json.Marshal(map[string]any{"name": r.name, "level_admin": 100, "type": "group"})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/messaging/rooms", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+r.members[0].token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /messaging/rooms: %s: %s", resp.Status, truncate(strings.TrimSpace(string(b)), 300))
	}
	var out struct {
		ID *int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("POST /messaging/rooms: decode %q: %w", truncate(string(b), 200), err)
	}
	if out.ID == nil {
		return fmt.Errorf("POST /messaging/rooms: no id in %q", truncate(string(b), 200))
	}
	r.id = *out.ID
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// frame is a server frame: {"type": "query"|"status"|"message"|"error", "data": …}.
type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// chatMessage is the data of a message frame.
type chatMessage struct {
	ID      int64  `json:"id"`
	RoomID  int64  `json:"room_id"`
	Emitter string `json:"emitter"`
	Content string `json:"content"`
}

// dataString is a frame's data as a short string, for status, query and
// error frames (a JSON string's value, or the raw JSON).
func (f frame) dataString() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return truncate(s, 80)
	}
	return truncate(string(f.Data), 80)
}

// member is one user with one websocket connection in one room.
type member struct {
	idx   int // global index: the sender field of its messages
	local int // index within its room
	room  *room
	user  string
	token string
	conn  *websocket.Conn
	seq   int64 // next sequence number; the sender goroutine's own

	dead    atomic.Bool // the connection ended
	closing atomic.Bool // we are closing it: its end is no error

	mu   sync.Mutex
	step int        // the step being recorded; receipts of earlier steps are late
	st   stepRecord // guarded by mu
	// lastSeq is the highest sequence received from each member of the
	// room (index: local), -1 before any; guarded by mu.
	lastSeq []int64
}

// stepRecord is what one connection saw during one step (and its drain).
type stepRecord struct {
	received    uint64
	lat         latency.Hist // receipt − intended send time
	latSent     latency.Hist // receipt − actual send time
	last        time.Time
	late        uint64 // a message of an earlier step
	outOfOrder  uint64 // a sequence at or below one already received from that sender
	errors      map[string]uint64
	errorsTotal uint64
}

func (r *stepRecord) addError(kind string) {
	if r.errors == nil {
		r.errors = map[string]uint64{}
	}
	r.errors[kind]++
	r.errorsTotal++
}

func (m *member) recordError(kind string) {
	m.mu.Lock()
	m.st.addError(kind)
	m.mu.Unlock()
}

// connect dials the chat, authenticates and selects the member's room.
func (m *member) connect(ctx context.Context, wsURL string) error {
	c, resp, err := websocket.Dial(ctx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("dial %s: %w", wsURL, err)
	}
	c.SetReadLimit(64 << 10)
	fail := func(err error) error {
		_ = c.CloseNow()
		return err
	}
	f, err := readControl(ctx, c)
	if err != nil {
		return fail(fmt.Errorf("greeting: %w", err))
	}
	if f.Type != "query" || f.dataString() != "START?" {
		return fail(fmt.Errorf("greeting: got %s %s, want query START?", f.Type, f.dataString()))
	}
	if err := writeJSON(ctx, c, map[string]any{"type": "token", "content": m.token}); err != nil {
		return fail(fmt.Errorf("send token: %w", err))
	}
	if f, err = readControl(ctx, c); err != nil {
		return fail(fmt.Errorf("token: %w", err))
	}
	if f.Type != "status" || f.dataString() != "READY" {
		return fail(fmt.Errorf("token: got %s %s, want status READY (is -secret the server's TESSERA_MESSAGING_JWT_SECRET?)", f.Type, f.dataString()))
	}
	if err := writeJSON(ctx, c, map[string]any{"type": "select_room", "room_id": m.room.id}); err != nil {
		return fail(fmt.Errorf("send select_room: %w", err))
	}
	if f, err = readControl(ctx, c); err != nil {
		return fail(fmt.Errorf("select_room %d: %w", m.room.id, err))
	}
	if f.Type != "status" || f.dataString() != "CONNECTED" {
		return fail(fmt.Errorf("select_room %d: got %s %s, want status CONNECTED (does the room's entity rule admit level-100 members?)", m.room.id, f.Type, f.dataString()))
	}
	m.conn = c
	return nil
}

// readControl reads the next non-message frame (message frames before it,
// possible if others already talk in the room, are skipped).
func readControl(ctx context.Context, c *websocket.Conn) (frame, error) {
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return frame{}, err
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			return frame{}, fmt.Errorf("bad frame %q: %w", truncate(string(b), 100), err)
		}
		if f.Type != "message" {
			return f, nil
		}
	}
}

func writeJSON(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

// read is the connection's reader goroutine: it records every frame until
// the connection ends.
func (m *member) read(ctx context.Context, clk clock) {
	var buf bytes.Buffer
	for {
		_, r, err := m.conn.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			m.dead.Store(true)
			if !m.closing.Load() && ctx.Err() == nil {
				m.recordError(closeKind(err))
			}
			return
		}
		now := time.Now()
		m.handle(buf.Bytes(), clk.ns(now), now)
	}
}

// closeKind names how a connection ended, for the error counts.
func closeKind(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return fmt.Sprintf("close:%d", int(code))
	}
	return "read:" + truncate(err.Error(), 60)
}

// handle records one frame received at nowNS (Unix ns from the run's clock).
func (m *member) handle(b []byte, nowNS int64, now time.Time) {
	msg, ok := scanMessage(b)
	if !ok {
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			m.recordError("bad-frame")
			return
		}
		if f.Type != "message" {
			m.recordError(f.Type + ":" + f.dataString())
			return
		}
		if err := json.Unmarshal(f.Data, &msg); err != nil {
			m.recordError("bad-message")
			return
		}
	}
	id, ok := parseContent(msg.Content)
	local := 0
	if ok {
		local = id.sender - m.room.members[0].idx
	}
	if !ok || msg.RoomID != m.room.id || local < 0 || local >= len(m.room.members) {
		m.recordError("foreign-message")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id.seq <= m.lastSeq[local] {
		m.st.outOfOrder++
	} else {
		m.lastSeq[local] = id.seq
	}
	if id.step != m.step {
		m.st.late++
		return
	}
	m.st.received++
	m.st.lat.Record(time.Duration(nowNS - id.intended))
	m.st.latSent.Record(time.Duration(nowNS - id.sentUnix))
	m.st.last = now
}

// scanMessage is the fast path of handle (encoding/json was half of the
// generator's CPU at 50,000 receipts/s): the room_id and content of a
// message frame laid out as the server writes it, {"type":"message",
// "data":{…"room_id":N,…"content":"…",…}}, with a content free of escapes
// (ours are digits, ':' and 'x'). Anything else (another frame type, an
// escape, an unexpected layout) is left to encoding/json: ok is false.
func scanMessage(b []byte) (chatMessage, bool) {
	const prefix = `{"type":"message","data":{`
	if !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte("}}")) {
		return chatMessage{}, false
	}
	data := b[len(prefix):]
	var msg chatMessage
	_, rest, ok := bytes.Cut(data, []byte(`"room_id":`))
	if !ok {
		return msg, false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 18 || n == len(rest) || (rest[n] != ',' && rest[n] != '}') {
		return msg, false
	}
	for _, c := range rest[:n] {
		msg.RoomID = msg.RoomID*10 + int64(c-'0')
	}
	_, rest, ok = bytes.Cut(data, []byte(`"content":"`))
	if !ok {
		return msg, false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return msg, false
	}
	msg.Content = string(rest[:end])
	return msg, true
}

// collect returns what the member saw in the step that ends and starts
// recording the next.
func (m *member) collect(next int) stepRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.st
	m.st = stepRecord{}
	m.step = next
	return r
}

// sendResult is a member's publishing in one step.
type sendResult struct {
	sent     uint64 // written successfully
	failed   uint64 // write errors, and messages not sent on a dead connection
	lastSend time.Time
	maxLag   time.Duration // the latest a message went out after its intended time
	errKind  string
}

// send publishes the member's share of a step. Message i is intended at
// start + p.offset + i·p.interval; a sender that falls behind sends at
// once (no message is skipped), and latency is measured from the intended
// time, so the generator's own delays count against the server rather than
// being hidden (no coordinated omission).
func (m *member) send(ctx context.Context, clk clock, step int, start time.Time, p pace, pad int, writeTimeout time.Duration) sendResult {
	var res sendResult
	buf := make([]byte, 0, 96+pad)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range p.count {
		intended := start.Add(p.offset + time.Duration(i)*p.interval)
		if d := time.Until(intended); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return res
			case <-timer.C:
			}
		}
		if m.dead.Load() {
			if left := p.count - i; left > 0 {
				res.failed += uint64(left)
			}
			if res.errKind == "" {
				res.errKind = "send:connection closed"
			}
			return res
		}
		sent := time.Now()
		buf = append(buf[:0], `{"type":"message","content":"`...)
		buf = appendContent(buf, msgID{step: step, sender: m.idx, seq: m.seq, intended: clk.ns(intended), sentUnix: clk.ns(sent)}, pad)
		buf = append(buf, `"}`...)
		m.seq++
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := m.conn.Write(wctx, websocket.MessageText, buf)
		cancel()
		if err != nil {
			res.failed++
			if res.errKind == "" {
				if errors.Is(err, context.DeadlineExceeded) {
					res.errKind = "send:timeout"
				} else {
					res.errKind = "send:" + truncate(err.Error(), 60)
				}
			}
			continue
		}
		res.sent++
		res.lastSend = time.Now()
		res.maxLag = max(res.maxLag, sent.Sub(intended))
	}
	return res
}

// quit says goodbye and closes the connection.
func (m *member) quit(ctx context.Context) {
	if m.conn == nil {
		return
	}
	m.closing.Store(true)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if !m.dead.Load() {
		_ = writeJSON(ctx, m.conn, map[string]string{"type": "quit"})
	}
	_ = m.conn.Close(websocket.StatusNormalClosure, "bench done")
}
