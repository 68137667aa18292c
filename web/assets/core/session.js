// The signed-in session: a user's tokens (from /auth/token) and chosen org,
// or an admin API key. It lives in sessionStorage (one tab's life, gone when
// the tab closes), and this module is its only writer. A user's access
// token is refreshed through /auth/token before it expires: by a timer,
// and before any request when the timer was late (a sleeping laptop).
import { request } from './http.js';
import { flash } from './flash.js';

const KEY = 'tessera.console.session';
/** How long before its expiry an access token is replaced. */
const EARLY_MS = 60_000;
/** Retry delay of a refresh that failed for want of a network. */
const RETRY_MS = 15_000;

let session = load();
const listeners = new Set();
let refreshing = null; // the refresh in flight, shared by every caller
let timer = 0;
schedule();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

function save(next) {
  session = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  schedule();
  for (const fn of listeners) fn(next);
}

function schedule(delay) {
  clearTimeout(timer);
  if (session?.kind !== 'user') return;
  const wait = delay ?? Math.max(0, session.expiresAt - EARLY_MS - Date.now());
  timer = setTimeout(() => refresh().catch(() => {}), wait);
}

/**
 * current returns the session: null when signed out;
 * {kind: 'user', user: {id, email, name}, access, refresh, expiresAt, orgs, orgId};
 * or {kind: 'admin', keyId, secret}.
 */
export const current = () => session;

/** subscribe calls fn with the session after every change; it returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** update merges fields into a user's session (the org list and choice). */
export function update(fields) {
  if (session) save({ ...session, ...fields });
}

function tokens(t) {
  return { access: t.access_token, refresh: t.refresh_token, expiresAt: Date.now() + t.expires_in * 1000 };
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });

/** signIn exchanges a user's email and password for tokens and loads their profile and orgs. */
export async function signIn(email, password) {
  const t = tokens((await request('POST', '/auth/token', { body: { grant_type: 'password', email, password } })).data);
  const me = (await request('GET', '/auth/me', { headers: bearer(t.access) })).data;
  const orgs = (await request('GET', '/orgs', { params: { limit: 500 }, headers: bearer(t.access) })).data.items;
  save({ kind: 'user', user: { id: me.id, email: me.email, name: me.name || '' }, ...t, orgs, orgId: orgs[0]?.id || '' });
}

/** basic is the Basic credential of an admin key (UTF-8, base64). */
export function basic(keyId, secret) {
  const bytes = new TextEncoder().encode(`${keyId}:${secret}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** signInWithKey checks an admin API key against /admin and keeps it. */
export async function signInWithKey(keyId, secret) {
  await request('GET', '/admin/users', { params: { limit: 1 }, headers: { Authorization: basic(keyId, secret) } });
  save({ kind: 'admin', keyId, secret });
}

/** signOut revokes a user's refresh token (best effort) and forgets the session. */
export async function signOut() {
  const s = session;
  save(null);
  if (s?.kind === 'user') {
    await request('POST', '/auth/logout', { body: { refresh_token: s.refresh } }).catch(() => {});
  }
}

/** expire forgets a session the server no longer accepts, telling the sign-in view why. */
export function expire(reason) {
  if (!session) return;
  flash(reason);
  save(null);
}

/**
 * refresh replaces the user's tokens with the refresh token (one request at a
 * time: a refresh token is single-use, and a reused one revokes the session).
 */
export function refresh() {
  if (session?.kind !== 'user') return Promise.resolve();
  refreshing ??= (async () => {
    const used = session.refresh;
    try {
      const t = (await request('POST', '/auth/token', { body: { grant_type: 'refresh_token', refresh_token: used } })).data;
      if (session?.refresh === used) save({ ...session, ...tokens(t) });
    } catch (err) {
      if (err.status === 0) schedule(RETRY_MS);
      else expire('Your session has ended. Sign in again.');
      throw err;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** fresh refreshes a user's access token first when it expires within a minute. */
export async function fresh() {
  if (session?.kind === 'user' && session.expiresAt - EARLY_MS <= Date.now()) await refresh();
}

// Timers sleep with the tab: catch up when it is shown again.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') fresh().catch(() => {});
});
