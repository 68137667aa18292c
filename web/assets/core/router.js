// The hash router: the page is always the console's index, and the route
// lives after the '#' ("#/records/contracts?sort=-value"), so links survive
// a reload and the server needs no route per view. Apps declare their
// routes as patterns ('/records/:plural/:id'); the first pattern that matches
// wins.
import { useEffect, useState } from './html.js';

/** parse splits a hash into {path, query}; query is a URLSearchParams. */
function parse(hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  const path = i < 0 ? raw : raw.slice(0, i);
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

/** href builds a link to path with query ({name: value}, empty values left out, or URLSearchParams). */
export function href(path, query) {
  const qs = new URLSearchParams();
  const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query || {});
  for (const [k, v] of entries) if (v !== undefined && v !== null && v !== '') qs.append(k, v);
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** navigate goes to path; replace keeps the current history entry. */
export function navigate(path, query, { replace = false } = {}) {
  const target = href(path, query);
  if (replace) location.replace(target);
  else location.hash = target;
}

/** match returns the params of path under pattern ({plural, id}), or null. */
export function match(pattern, path) {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (!got[i]) return null;
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (want[i] !== got[i]) {
      return null;
    }
  }
  return params;
}

/** useRoute is the current route, re-rendering on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = () => setRoute(parse(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
