// The chat connection of one room over GET /messaging/chat (docs/messaging.md,
// "The chat"): it authenticates in band with the session's platform access
// token (the `token` command) and the session's org chosen at connect (the
// org_id query parameter: the org whose members the rules' entity means),
// selects the room, loads the history, and after a dropped connection
// reconnects and selects the room again with `since` = the last message id
// it holds, so the messages sent meanwhile arrive once, in order, with no
// gap. Messages are kept by id: an id already held is never shown twice.
import { useEffect, useRef, useState } from '../../core/html.js';
import { current, fresh } from '../../core/session.js';

/** How many messages the history loads when the room opens. */
const HISTORY = 100;
/** Reconnect delays: the first, and the most a failing server waits between tries. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/**
 * Chat is one room's connection. Ownership: every field is written by the
 * page's event loop only (socket events, timers, the view's calls); onChange
 * receives a fresh snapshot {state, messages, problem} after each change.
 *
 * state: 'connecting' | 'live' | 'reconnecting' | 'offline' | 'denied' | 'badauth' | 'closed'.
 */
export class Chat {
  constructor(roomId, me, onChange) {
    this.roomId = Number(roomId);
    this.me = me; // the signed-in user's id: the emitter of our own messages
    this.onChange = onChange;
    this.byId = new Map(); // message id → message
    this.lastId = 0; // the highest message id held: the `since` of a resume
    this.state = 'connecting';
    this.problem = null; // the last error frame's problem (a refused message)
    this.pending = 0; // messages sent and not yet answered (their echo, an error or NOTAUTHORIZED)
    this.ws = null;
    this.retry = FIRST_RETRY_MS;
    this.timer = 0;
    this.stopped = false;
    this.onOnline = () => this.connect();
  }

  snapshot() {
    const messages = [...this.byId.values()].sort((a, b) => a.id - b.id);
    return { state: this.state, messages, problem: this.problem };
  }

  set(fields) {
    Object.assign(this, fields);
    this.onChange(this.snapshot());
  }

  /** connect opens a socket (the first time, or to resume after a drop). */
  async connect() {
    if (this.stopped) return;
    removeEventListener('online', this.onOnline);
    try {
      await fresh(); // a resumed chat presents a current token
    } catch {
      // The session module reports a refused refresh; the socket will say TOKEN?.
    }
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const org = current()?.orgId;
    const query = org ? `?org_id=${encodeURIComponent(org)}` : '';
    const ws = new WebSocket(`${scheme}//${location.host}/messaging/chat${query}`);
    this.ws = ws;
    ws.onmessage = (e) => this.receive(ws, e.data);
    ws.onclose = () => {
      if (this.ws === ws) this.dropped();
    };
  }

  send(ws, frame) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  receive(ws, raw) {
    let f;
    try {
      f = JSON.parse(raw);
    } catch {
      return;
    }
    if (f.type === 'query' && f.data === 'START?') {
      this.send(ws, { type: 'token', content: current()?.access || '' });
    } else if (f.type === 'query' && f.data === 'TOKEN?') {
      this.stop('badauth', ws); // the session's token was refused: no point retrying it
    } else if (f.type === 'status' && f.data === 'READY') {
      const select = { type: 'select_room', room_id: this.roomId };
      if (this.lastId) select.since = this.lastId;
      this.send(ws, select);
    } else if (f.type === 'status' && f.data === 'CONNECTED') {
      const first = !this.lastId;
      this.set({ state: 'live', retry: FIRST_RETRY_MS });
      if (first) this.send(ws, { type: 'get_past_messages', limit: HISTORY });
    } else if (f.type === 'status' && f.data === 'NOTAUTHORIZED') {
      // The answer to our message (no `w`), or the room's rules changed
      // and we may no longer read it (no more messages come).
      if (this.pending > 0) this.set({ pending: this.pending - 1, problem: { detail: 'You may not write in this room.' } });
      else this.stop('denied', ws);
    } else if (f.type === 'status' && (f.data === 'BADAUTH' || f.data === 'RATELIMITED')) {
      this.set({ problem: { detail: `The chat closed the connection (${f.data}).` } });
    } else if (f.type === 'message' && f.data && typeof f.data.id === 'number') {
      if (f.data.emitter === this.me && this.pending > 0) this.pending--;
      this.add(f.data);
    } else if (f.type === 'message_deleted' && f.data) {
      this.byId.delete(f.data.id);
      this.set({});
    } else if (f.type === 'error' && f.data) {
      if (f.data.type === 'resync-required') {
        // The resume point is older than the server keeps: start over.
        this.byId.clear();
        this.lastId = 0;
        this.send(ws, { type: 'select_room', room_id: this.roomId });
      } else {
        this.set({ pending: Math.max(0, this.pending - 1), problem: f.data });
      }
    }
  }

  add(m) {
    if (this.byId.has(m.id)) return;
    this.byId.set(m.id, m);
    this.set({ lastId: Math.max(this.lastId, m.id) });
  }

  /** dropped schedules a resume: at once when the network is back, else with a growing delay. */
  dropped() {
    this.ws = null;
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.set({ state: 'offline' });
      addEventListener('online', this.onOnline);
      return;
    }
    this.set({ state: 'reconnecting' });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, MAX_RETRY_MS);
  }

  /** post sends a message; it shows when the server echoes it (stored by then). */
  post(content) {
    if (!this.ws || this.state !== 'live') return false;
    this.set({ problem: null, pending: this.pending + 1 });
    this.send(this.ws, { type: 'message', content });
    return true;
  }

  stop(state, ws = this.ws) {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener('online', this.onOnline);
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      this.send(ws, { type: 'quit' });
      ws.close();
    }
    this.set({ state });
  }
}

/** useChat connects to a room while the view is shown; it returns the snapshot and post(). */
export function useChat(roomId, me) {
  const [snap, setSnap] = useState({ state: 'connecting', messages: [], problem: null });
  const chat = useRef(null);
  useEffect(() => {
    const c = new Chat(roomId, me, setSnap);
    chat.current = c;
    c.connect();
    return () => c.stop('closed');
  }, [roomId, me]);
  return { ...snap, post: (content) => chat.current?.post(content) };
}
