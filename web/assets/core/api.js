// api: an authenticated request of the signed-in session. A user's request
// carries the access token (refreshed first when due) and the chosen org in
// X-Org-ID; an admin's carries the admin key. A 401 on a user's request is
// retried once after a refresh; a second 401 (or one on an admin key) ends
// the session.
import { request } from './http.js';
import { basic, current, expire, fresh, refresh } from './session.js';

function authorize(opts) {
  const s = current();
  const headers = { ...opts.headers };
  if (s?.kind === 'user') {
    headers.Authorization = `Bearer ${s.access}`;
    if (s.orgId && opts.org !== false) headers['X-Org-ID'] = s.orgId;
  } else if (s?.kind === 'admin') {
    headers.Authorization = basic(s.keyId, s.secret);
  }
  return { ...opts, headers };
}

/**
 * api is request (core/http.js) with the session's credentials. opts.org
 * false leaves X-Org-ID out (the org list itself).
 */
export async function api(method, path, opts = {}) {
  await fresh();
  try {
    return await request(method, path, authorize(opts));
  } catch (err) {
    if (err.status !== 401) throw err;
    if (current()?.kind !== 'user') {
      expire('The admin key was refused (revoked?). Sign in again.');
      throw err;
    }
  }
  await refresh();
  try {
    return await request(method, path, authorize(opts));
  } catch (err) {
    if (err.status === 401) expire('Your session has ended. Sign in again.');
    throw err;
  }
}
