// The live board's socket: GET /restaurants/ws with the access token in the
// bearer.<token> subprotocol (a browser cannot set headers on an upgrade).
// After a drop it reconnects with ?since=<the last cursor>, so the server
// replays what was missed, in order, before going on live. Each open socket
// is in the module's set `open` (its only owner), which drop() closes.
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { current, fresh } from '../../core/session.js';

/** Reconnection delays: from 500 ms, doubling, up to 10 s. */
const FIRST_MS = 500;
const MAX_MS = 10_000;

const open = new Set();

/**
 * drop closes every live socket as a network failure would (the console
 * then reconnects and resumes); the browser tests use it to prove resume.
 */
export function drop() {
  for (const ws of open) ws.close(4000, 'dropped');
}

/**
 * useLive keeps the live board's socket open while the view is mounted and
 * calls onEvent(data) for each seating event, in order, without gaps. It
 * returns {state ('connecting', 'live' or 'reconnecting'),
 * connections (how many sockets were opened)}. onResync is called when
 * events may have been missed (a resync-required error, or a reconnect
 * before any event gave a cursor): the view reloads its lists.
 */
export function useLive(onEvent, onResync) {
  const [status, setStatus] = useState({ state: 'connecting', connections: 0 });
  const handlers = useRef();
  handlers.current = { onEvent, onResync }; // the latest render's, for the socket's callbacks
  useEffect(() => {
    let stopped = false;
    let cursor = '';
    let delay = FIRST_MS;
    let timer = 0;
    let ws = null;
    let connections = 0;
    const connect = async () => {
      try {
        await fresh();
      } catch {
        // a refused refresh ends the session (checked below); a network
        // failure just makes this attempt fail and retry
      }
      if (stopped || current()?.kind !== 'user') return;
      const url = new URL('/restaurants/ws', location.href);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      if (cursor) url.searchParams.set('since', cursor);
      ws = new WebSocket(url, [`bearer.${current().access}`]);
      open.add(ws);
      connections += 1;
      const resumed = cursor !== '';
      ws.onopen = () => {
        delay = FIRST_MS;
        // A reconnect with no event received yet has no cursor to resume
        // from: what changed in the gap comes from reloading the lists.
        if (connections > 1 && !resumed) handlers.current.onResync();
        setStatus({ state: 'live', connections });
      };
      ws.onmessage = (m) => {
        let f;
        try {
          f = JSON.parse(m.data);
        } catch {
          return;
        }
        if (f.type === 'event') {
          if (f.cursor) cursor = f.cursor;
          handlers.current.onEvent(f.data);
        } else if (f.type === 'error' && f.data?.type === 'resync-required') {
          cursor = '';
          handlers.current.onResync();
        }
      };
      ws.onclose = () => {
        open.delete(ws);
        if (stopped) return;
        setStatus({ state: 'reconnecting', connections });
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, MAX_MS);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (ws) {
        open.delete(ws);
        ws.close(1000, 'left the view');
      }
    };
  }, []);
  return status;
}

const TEXT = {
  connecting: 'Connecting to the live updates…',
  live: 'Live: changes appear as they happen.',
  reconnecting: 'Connection lost: reconnecting…',
};

/** LiveStatus shows the socket's state politely; data-connections counts the sockets opened. */
export function LiveStatus({ status }) {
  return html`<p role="status" class="muted" id="live-status" data-state=${status.state}
    data-connections=${status.connections}>${TEXT[status.state]}</p>`;
}
