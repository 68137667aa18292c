// HTTP to the node's public API, same origin only. Every failure becomes a
// Problem: the RFC 9457 body the edge answers (status, title, detail,
// per-field errors and an app's machine-readable reason, such as a
// scheduling conflict's), or one made up for a network failure.

/** A failed request: the server's problem document, or a network failure (status 0). */
export class Problem extends Error {
  constructor({ status = 0, title = '', detail = '', errors = [], reason = '' } = {}) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.reason = typeof reason === 'string' ? reason : '';
    this.errors = Array.isArray(errors) ? errors : [];
  }

  /**
   * fieldErrors returns {name: message} for the errors whose location is
   * prefix + name ("body.fields." + "title"); the first message of a field wins.
   */
  fieldErrors(prefix) {
    const out = {};
    for (const e of this.errors) {
      if (typeof e.location === 'string' && e.location.startsWith(prefix)) {
        const name = e.location.slice(prefix.length);
        if (!(name in out)) out[name] = e.message;
      }
    }
    return out;
  }
}

/** query turns {name: value} into a query string; empty values are left out, arrays repeat. */
function query(params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one !== undefined && one !== null && one !== '') qs.append(k, String(one));
    }
  }
  return qs.toString();
}

/**
 * request sends one API request and resolves to {status, headers, data}
 * (data: the parsed JSON body, or null). A non-2xx answer rejects with a
 * Problem. body: a plain value (sent as JSON), or a Blob or FormData (as is).
 */
export async function request(method, path, { params, body, headers = {} } = {}) {
  const qs = query(params);
  const init = {
    method,
    headers: { Accept: 'application/json, application/problem+json', ...headers },
    // No cookies, and no browser login prompt on a 401 Basic challenge:
    // credentials travel only in the Authorization header set here.
    credentials: 'omit',
    cache: 'no-store',
  };
  if (body instanceof Blob || body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(qs ? `${path}?${qs}` : path, init);
  } catch {
    throw new Problem({ title: 'Network error', detail: 'The server could not be reached. Check the connection and try again.' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const p = data && typeof data === 'object' ? data : {};
    throw new Problem({
      status: res.status,
      title: p.title || res.statusText,
      detail: p.detail || `The server answered ${res.status} ${res.statusText}.`,
      errors: p.errors,
      reason: p.reason,
    });
  }
  return { status: res.status, headers: res.headers, data };
}
