// What the admin views share: their tab bar, and a list read from an admin
// route with the route's query (filters and cursor) as its parameters.
import { html } from '../../core/html.js';
import { api } from '../../core/api.js';
import { Page, useLoad } from '../../core/ui.js';

const tabs = [
  ['users', 'Users'],
  ['orgs', 'Organizations'],
  ['events', 'Events'],
  ['jobs', 'Jobs'],
  ['mails', 'Mails'],
  ['keys', 'API keys'],
];

/** PAGE is the page size of admin lists. */
export const PAGE = 50;

/** AdminPage frames an admin view under the admin tabs; tab is the current one. */
export function AdminPage({ title, tab, crumbs, children }) {
  return html`<${Page} title=${title} crumbs=${crumbs}>
    <nav class="tabs" aria-label="Admin views"><ul>
      ${tabs.map(([id, label]) => html`<li><a href=${`#/admin/${id}`} aria-current=${id === tab ? 'page' : undefined}>${label}</a></li>`)}
    </ul></nav>
    ${children}
  <//>`;
}

/** useList reads one page of source with the query's values of names (and its cursor). */
export function useList(source, query, names) {
  const params = { limit: PAGE };
  for (const n of [...names, 'cursor']) {
    const v = query.getAll(n);
    if (v.length) params[n] = v.length === 1 ? v[0] : v;
  }
  return useLoad(() => api('GET', source, { params }).then((r) => r.data), [source, query.toString()]);
}
