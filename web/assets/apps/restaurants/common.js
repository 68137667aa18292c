// What the restaurants views share: the caller's profile, seating lists kept
// current by the live board's events, and how a seating is shown.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';

/** STATUSES are a seating's states, in the order of its life. */
export const STATUSES = ['PENDING', 'ACCEPTED', 'SEATED', 'CLOSED', 'DECLINED', 'CANCELLED'];

/** STATUS_TEXT names each state for people. */
export const STATUS_TEXT = {
  PENDING: 'Pending', ACCEPTED: 'Accepted', SEATED: 'Seated', CLOSED: 'Closed', DECLINED: 'Declined', CANCELLED: 'Cancelled',
};

/** loadMe reads the caller's role and restaurant (GET /restaurants/me). */
export const loadMe = () => api('GET', '/restaurants/me').then((r) => r.data);

/** isStaff tells whether a profile works at a restaurant. */
export const isStaff = (me) => me.role === 'STAFF' || me.role === 'MANAGER';

/** errorAt is the message of problem's error at location ("body.numSeats"), if any. */
export const errorAt = (problem, location) => problem?.errors.find((e) => e.location === location)?.message;

/** StatusBadge shows a seating's state. */
export function StatusBadge({ status }) {
  return html`<span class="badge">${STATUS_TEXT[status] || status}</span>`;
}

/**
 * useSeatings holds a list of seatings by id: reset(list) merges a loaded list,
 * apply(event) folds in a live event (a deletion removes the seating, any
 * other event carries its new state), replace(seating) stores an answer.
 * The list is ordered by seatingTime, then id, as the API orders it.
 */
export function useSeatings() {
  const [byId, setById] = useState(null);
  const put = (s) => setById((m) => ({ ...m, [s.id]: s }));
  const apply = (data) => {
    if (!data?.seating) return;
    if (data.event === 'restaurants.seating.deleted') {
      setById((m) => {
        const next = { ...m };
        delete next[data.seating.id];
        return next;
      });
    } else {
      put(data.seating);
    }
  };
  // A live event may arrive while the list loads: the newer state wins.
  const reset = (list) => setById((m) => {
    const next = { ...m };
    for (const s of list) if (!next[s.id] || Date.parse(next[s.id].updatedAt) < Date.parse(s.updatedAt)) next[s.id] = s;
    return next;
  });
  const list = byId && Object.values(byId).sort((a, b) => a.seatingTime.localeCompare(b.seatingTime) || a.id.localeCompare(b.id));
  return { list, reset, apply, replace: put };
}

/** loadAll reads every page of a seating list. */
export async function loadAll(path, params = {}) {
  const out = [];
  let cursor = '';
  do {
    const page = (await api('GET', path, { params: { ...params, limit: 500, cursor } })).data;
    out.push(...page.items);
    cursor = page.next_cursor || '';
  } while (cursor);
  return out;
}
