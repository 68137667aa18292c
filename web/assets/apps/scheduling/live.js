// live: the scheduling websocket (/scheduling/ws, docs/scheduling.md) for a
// calendar: one subscribe.events of a window and resources, resumed with
// `since` (the cursor of the last push applied) after any drop, so a
// reconnect loses and repeats nothing.
import { current, fresh, refresh } from '../../core/session.js';

/** Reconnect delays: doubled after each failed try, reset once subscribed. */
const FIRST_RETRY_MS = 300;
const MAX_RETRY_MS = 10_000;

/**
 * liveEvents subscribes to the events of resourceIds in [from, to) of org:
 * onPush(data) gets each push's data ({change, item}), onState(state,
 * problem) 'live', 'reconnecting', 'resync' (the cursor is too old: reload
 * the window) or 'closed' (removed from the org). It returns the function
 * that closes the subscription for good.
 */
export function liveEvents({ orgId, from, to, resourceIds, onPush, onState }) {
  let ws = null; // the open socket; only this closure writes it
  let cursor = '';
  let closed = false;
  let retry = FIRST_RETRY_MS;
  let timer = 0;
  let seq = 0;

  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(connect, retry);
    retry = Math.min(retry * 2, MAX_RETRY_MS);
  };

  async function connect() {
    if (closed) return;
    try {
      await fresh();
    } catch {
      // a failed refresh ends the session (core/session.js); try later
    }
    const s = current();
    if (closed || s?.kind !== 'user') return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const sock = new WebSocket(`${proto}//${location.host}/scheduling/ws?org_id=${encodeURIComponent(orgId)}`, [`bearer.${s.access}`]);
    ws = sock;
    sock.onopen = () => {
      const data = { from, to, resource_ids: resourceIds };
      if (cursor) data.since = cursor;
      sock.send(JSON.stringify({ action: 'subscribe.events', request_id: `sub${++seq}`, data }));
    };
    sock.onmessage = (m) => {
      const f = JSON.parse(m.data);
      if (f.type === 'result') {
        retry = FIRST_RETRY_MS;
        onState('live');
      } else if (f.type === 'event') {
        cursor = f.cursor;
        onPush(f.data);
      } else if (f.type === 'error' && f.data?.status === 410) {
        cursor = '';
        onState('resync');
        sock.close();
      } else if (f.type === 'error') {
        onState('failed', f.data);
      }
    };
    sock.onclose = (e) => {
      if (ws === sock) ws = null;
      if (closed) return;
      if (e.code === 4003) {
        onState('closed');
        return;
      }
      onState('reconnecting');
      if (e.code === 4001) refresh().then(connect, again);
      else again();
    };
  }

  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    ws?.close();
  };
}
