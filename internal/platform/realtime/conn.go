package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// AcceptOptions configure one connection.
type AcceptOptions struct {
	// Value is the app's data about the connection (the principal, its org),
	// read back with Conn.Value, e.g. in CloseWhere predicates and OnMessage.
	Value any
	// Subprotocols the server may select (e.g. a "bearer.<token>" offer).
	Subprotocols []string
	// OnMessage handles each inbound JSON text message. It runs on the
	// connection's reader goroutine, one message at a time in arrival order,
	// so per-connection state kept in its closure (or in Value) needs no
	// lock among messages; it may start as soon as Accept returns, though,
	// concurrently with the rest of the handler. While it runs, the
	// connection reads nothing (pongs included): hand long work to a
	// goroutine bound to Conn.Context. msg is the app's to keep. A panic is
	// logged and closes the connection with 1011. Nil: inbound messages are
	// dropped (listen-only endpoints).
	OnMessage func(c *Conn, msg []byte)
	// OnMalformed answers an inbound frame that is not a JSON text message
	// (the connection stays open); it runs like OnMessage. Default: an error
	// frame with a 400 problem. Messaging answers with its own BADJSON
	// status frame.
	OnMalformed func(c *Conn, msg []byte)
	// OnClose, when set, is called once when the connection has ended: it
	// is out of the hub, its subscriptions are gone and Conn.Context is
	// cancelled. err is what ended the reading: for a close frame from the
	// peer, websocket.CloseStatus(err) gives its code. It runs on the
	// reader goroutine, after the last OnMessage.
	OnClose func(c *Conn, err error)
	// InboundRate and InboundBurst, when positive, replace the hub's
	// per-connection inbound frame limit (Options.InboundRate) for this
	// connection (a chat lets each member send more than a subscriber).
	InboundRate  rate.Limit
	InboundBurst int
	// Greeting, when set, is the first frame the client receives, queued
	// before any inbound message is read (the chat's START?).
	Greeting json.RawMessage
	// FloodFrame, when set, is the frame sent to a client over its inbound
	// rate before the connection closes with 1008. Default: an error frame
	// with a 429 problem.
	FloodFrame json.RawMessage
}

// ErrClosed is returned by Conn methods once the connection is closed.
var ErrClosed = errors.New("realtime: connection closed")

// Conn is one accepted websocket connection, owned by the hub from the
// handshake on: its reader goroutine hands inbound messages to
// AcceptOptions.OnMessage, and outbound frames go through a bounded queue
// drained by a writer goroutine that exists only while there is something
// to write. Its methods are safe for concurrent use.
type Conn struct {
	hub     *Hub
	ws      *websocket.Conn
	cork    corkWriter // batches the writer's frames into one syscall
	value   any
	limiter *rate.Limiter
	onMsg   func(*Conn, []byte)
	onBad   func(*Conn, []byte)
	onClose func(*Conn, error)
	flood   []byte

	ctx      context.Context // cancelled when the connection is torn down
	cancel   context.CancelFunc
	lastSeen atomic.Int64 // unix nanos of the last inbound frame or pong
	pinging  atomic.Bool

	mu         sync.Mutex
	room       *sync.Cond // on mu: the writer took a batch, or the connection closed
	queue      [][]byte
	writing    bool // a writer goroutine is draining the queue
	closed     bool // no more frames are accepted
	closeAfter *closeReq
	subs       map[string]*subscription

	closeOnce sync.Once
}

type closeReq struct {
	code   StatusCode
	reason string
}

// Accept upgrades the request to a websocket connection owned by the hub
// and returns at once: the hub reads the connection on its own goroutine
// (AcceptOptions.OnMessage), so the handler opens its subscriptions, sends
// what it has to send, and returns, which frees net/http's goroutine,
// request and buffers for the connection's lifetime. After Accept returns,
// neither r nor r.Context() may be used (the context is cancelled when the
// handler returns): work for the connection uses Conn.Context, and what it
// needs from the request (the principal, query parameters) is read before
// or copied into Value or OnMessage's closure.
//
// On failure Accept has already written the response (403 problem for a
// foreign origin, 503 during shutdown, the websocket library's answer for a
// bad handshake) and returns the error: the handler just returns.
func (h *Hub) Accept(w http.ResponseWriter, r *http.Request, opts AcceptOptions) (*Conn, error) {
	if !h.originAllowed(r) {
		err := fault.New(fault.Forbidden, "origin not allowed")
		httpapi.WriteProblem(w, r, err)
		return nil, err
	}
	h.mu.Lock()
	closing := h.closing || !h.started
	h.mu.Unlock()
	if closing {
		err := fault.New(fault.Unavailable, "realtime hub is not running")
		httpapi.WriteProblem(w, r, err)
		return nil, err
	}
	limit, burst := h.opts.InboundRate, h.opts.InboundBurst
	if opts.InboundRate > 0 && opts.InboundBurst > 0 {
		limit, burst = opts.InboundRate, opts.InboundBurst
	}
	flood := []byte(opts.FloodFrame)
	if flood == nil {
		flood = encodeError("", "", NewProblem(http.StatusTooManyRequests, "too many messages"))
	}
	c := &Conn{
		hub:     h,
		value:   opts.Value,
		limiter: rate.NewLimiter(limit, burst),
		onMsg:   opts.OnMessage,
		onBad:   opts.OnMalformed,
		onClose: opts.OnClose,
		flood:   flood,
	}
	c.room = sync.NewCond(&c.mu)
	ws, err := websocket.Accept(smallBuffers(w, &c.cork), r, &websocket.AcceptOptions{
		Subprotocols:       opts.Subprotocols,
		InsecureSkipVerify: true, // checked above, against our own list
		OnPongReceived:     func(context.Context, []byte) { c.touch() },
	})
	if err != nil {
		return nil, fmt.Errorf("realtime: accept: %w", err)
	}
	ws.SetReadLimit(h.opts.ReadLimit)
	c.ws = ws
	c.touch()
	// Not derived from the hub's context: cancelling it must never cut a
	// connection short of its close handshake (Shutdown closes with 1001).
	// Nor from the request's: it is cancelled when the handler returns, and
	// its values would keep net/http's connection state alive.
	c.ctx, c.cancel = context.WithCancel(context.Background())

	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		_ = ws.Close(StatusGoingAway, "server shutting down")
		c.cancel()
		return nil, ErrClosed
	}
	h.conns[c] = struct{}{}
	h.live.Add(1) // under h.mu with closing false: never after Shutdown's Wait
	h.mu.Unlock()
	h.metrics.connections.Inc()
	if opts.Greeting != nil {
		c.enqueue(opts.Greeting)
	}
	go c.read() //nolint:gosec // G118: the connection outlives the request by design (see above)
	return c, nil
}

// originAllowed lets in requests without Origin (non-browser clients), from
// the request's own host, or from an allowed origin.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.opts.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// Value returns AcceptOptions.Value.
func (c *Conn) Value() any { return c.value }

// Subprotocol returns the negotiated subprotocol.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Context returns a context cancelled when the connection is torn down, for
// work done on its behalf (in OnMessage or goroutines it starts). It carries
// no values of the upgrade request.
func (c *Conn) Context() context.Context { return c.ctx }

func (c *Conn) touch() { c.lastSeen.Store(time.Now().UnixNano()) }

// read is the connection's reader goroutine, for its whole life. Each
// inbound JSON text message goes to OnMessage; frames that are not JSON
// text go to OnMalformed (or get a 400 error frame); a flood beyond the
// inbound rate gets a 429 error frame and closes the connection with 1008;
// a frame over the read limit closes it with 1009 (the library). Once the
// connection is closing, frames are read and dropped until the close
// handshake ends. Reading ends with the connection: then the connection is
// torn down (if nothing else did), OnClose runs, and the hub stops waiting
// for it.
func (c *Conn) read() {
	defer c.hub.live.Done()
	var err error
	for {
		var typ websocket.MessageType
		var msg []byte
		// A context without Done: the read ends when the socket is closed
		// (close handshake, CloseNow) and costs no timer.
		typ, msg, err = c.ws.Read(context.Background())
		if err != nil {
			err = fmt.Errorf("realtime: read: %w", err)
			break
		}
		c.touch()
		if c.isClosed() {
			continue
		}
		if !c.limiter.Allow() {
			c.hub.metrics.floodCloses.Inc()
			c.enqueue(c.flood)
			c.closeWith(StatusPolicyViolation, "too many messages", closeFlush)
			continue
		}
		switch {
		case typ != websocket.MessageText || !json.Valid(msg):
			if c.onBad != nil {
				c.call(c.onBad, msg)
			} else {
				c.enqueue(encodeError("", "", NewProblem(http.StatusBadRequest, "malformed JSON")))
			}
		case c.onMsg != nil:
			c.call(c.onMsg, msg)
		}
	}
	c.closeWith(StatusNormalClosure, "", closeAbort) // returns once torn down
	if c.onClose != nil {
		c.ended(err)
	}
}

// call runs an app callback for msg; a panic closes the connection with
// 1011 instead of crashing the node.
func (c *Conn) call(fn func(*Conn, []byte), msg []byte) {
	defer func() {
		if v := recover(); v != nil {
			c.logPanic("OnMessage", v)
			c.closeWith(StatusInternalError, "internal error", closeFlush)
		}
	}()
	fn(c, msg)
}

// ended runs OnClose; a panic is logged.
func (c *Conn) ended(err error) {
	defer func() {
		if v := recover(); v != nil {
			c.logPanic("OnClose", v)
		}
	}()
	c.onClose(c, err)
}

func (c *Conn) logPanic(callback string, v any) {
	c.hub.log.Error("realtime: panic in "+callback, "panic", v, "stack", string(debug.Stack()))
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Send marshals v and queues it. It never blocks: a full queue closes the
// connection with 1013 and returns ErrClosed.
func (c *Conn) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("realtime: encode frame: %w", err)
	}
	return c.SendRaw(b)
}

// SendRaw queues an already encoded JSON frame (see Send).
func (c *Conn) SendRaw(b []byte) error {
	if !c.enqueue(b) {
		return ErrClosed
	}
	return nil
}

// SendError queues an error frame `{"type":"error","request_id","data":{problem}}`
// for err (see ProblemOf).
func (c *Conn) SendError(requestID string, err error) error {
	return c.SendRaw(encodeError(requestID, "", ProblemOf(err)))
}

// SendProblem queues an error frame with the given problem.
func (c *Conn) SendProblem(requestID string, p Problem) error {
	return c.SendRaw(encodeError(requestID, "", p))
}

// Close sends what is queued, then closes the connection with code and
// reason. It does not wait.
func (c *Conn) Close(code StatusCode, reason string) {
	c.closeWith(code, reason, closeFlush)
}

// enqueue appends a frame; on overflow the connection is closed with 1013.
// It never blocks and is called under the hub's and a subscription's lock.
func (c *Conn) enqueue(b []byte) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.hub.opts.SendQueue {
		c.mu.Unlock()
		c.overflow()
		return false
	}
	c.queue = append(c.queue, b)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		// The writer lives only while there is something to write: an idle
		// connection costs no goroutine besides its reader.
		go c.write()
	}
	return true
}

// overflow closes a connection that cannot keep up with 1013: the client
// reconnects and resumes from its last cursor.
func (c *Conn) overflow() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.room.Broadcast()
	c.mu.Unlock()
	c.hub.metrics.slowCloses.Inc()
	go c.teardown(StatusTryAgainLater, "send queue overflow: reconnect and resume")
}

// waitRoom blocks until the queue is at most half full; false once the
// connection is closed. Replays use it so that resuming after a long gap is
// paced by the client instead of overflowing its queue. Never call it
// holding the hub's or a subscription's lock.
func (c *Conn) waitRoom() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed && len(c.queue) >= c.hub.opts.SendQueue/2 {
		c.room.Wait()
	}
	return !c.closed
}

// closeMode says how closeWith ends a connection.
type closeMode int

const (
	closeNow   closeMode = iota // drop what is queued, close handshake
	closeFlush                  // write what is queued first, then close handshake
	closeAbort                  // the peer is gone (read or write failed, idle): no handshake
)

// closeWith stops accepting frames and closes the connection. It never
// blocks on the network: the handshake runs in a goroutine.
func (c *Conn) closeWith(code StatusCode, reason string, mode closeMode) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if mode == closeAbort {
			c.abort()
		}
		return
	}
	c.closed = true
	c.room.Broadcast()
	if mode == closeFlush && len(c.queue) > 0 {
		c.closeAfter = &closeReq{code, reason} // the running writer closes
		c.mu.Unlock()
		return
	}
	c.queue = nil
	c.mu.Unlock()
	if mode == closeAbort {
		c.abort()
		return
	}
	go c.teardown(code, reason)
}

// abort tears the connection down without a close handshake.
func (c *Conn) abort() {
	c.closeOnce.Do(func() {
		c.detach()
		_ = c.ws.CloseNow()
		c.cancel()
	})
}

// teardown removes the connection from the hub and closes the websocket with
// a close handshake (bounded by the library's 5 s timeouts).
func (c *Conn) teardown(code StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.detach()
		_ = c.ws.Close(code, reason)
		c.cancel()
	})
}

// detach removes the connection and its subscriptions from the hub.
func (c *Conn) detach() {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	h := c.hub
	h.mu.Lock()
	_, was := h.conns[c]
	delete(h.conns, c)
	for _, s := range subs {
		h.unindex(s)
	}
	h.mu.Unlock()
	if was {
		h.metrics.connections.Dec()
	}
	h.metrics.subscriptions.Sub(float64(len(subs)))
}

// keepalive checks every connection each PingInterval: it drops a peer
// silent for IdleTimeout and pings the others. One goroutine per hub, so an
// idle connection costs no timer, and a writer blocked on a dead peer is
// still dropped.
func (h *Hub) keepalive() {
	h.mu.Lock()
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		if time.Since(time.Unix(0, c.lastSeen.Load())) > h.opts.IdleTimeout {
			h.metrics.idleCloses.Inc()
			c.closeWith(StatusGoingAway, "idle", closeAbort)
			continue
		}
		c.ping()
	}
}

// write drains the queue, then exits; a close requested with closeFlush
// happens once the queue is empty.
func (c *Conn) write() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.room.Broadcast()
		if len(batch) == 0 {
			c.writing = false
			after := c.closeAfter
			c.mu.Unlock()
			if after != nil {
				c.teardown(after.code, after.reason)
			}
			return
		}
		c.mu.Unlock()
		if !c.writeBatch(batch) {
			c.closeWith(StatusNormalClosure, "", closeAbort)
			return
		}
	}
}

// writeBatch writes frames, several in one syscall (corked); false when
// the socket failed.
func (c *Conn) writeBatch(batch [][]byte) bool {
	corked := len(batch) > 1 && c.cork.conn != nil
	if corked {
		c.cork.cork()
	}
	ok := true
	for _, b := range batch {
		// No write timeout: a peer that stops reading fills the queue
		// (1013) or goes silent (idle drop), and both close the socket,
		// which ends this write. A cancelled context would close the
		// socket without a close frame.
		if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
			ok = false
			break
		}
		c.hub.metrics.framesSent.Inc()
	}
	if corked && c.cork.uncork() != nil {
		ok = false
	}
	return ok
}

// ping sends a ping without blocking the writer; the pong refreshes lastSeen.
func (c *Conn) ping() {
	if !c.pinging.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer c.pinging.Store(false)
		ctx, cancel := context.WithTimeout(c.ctx, c.hub.opts.PingInterval)
		defer cancel()
		if c.ws.Ping(ctx) == nil {
			c.touch()
		}
	}()
}
