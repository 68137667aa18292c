// Admin: the audit log (every event the platform and the apps recorded, as
// far back as events.retention), newest first unless asked otherwise,
// filtered by org, type, app, subject and time.
import { html } from '../../core/html.js';
import { href } from '../../core/router.js';
import { Failed, FilterForm, Loading, Pager, Table, Time } from '../../core/ui.js';
import { AdminPage, useList } from './common.js';

const filters = [
  { name: 'org_id', label: 'Org id' },
  { name: 'type', label: 'Type', hint: 'app.entity.verb' },
  { name: 'app', label: 'App' },
  { name: 'subject', label: 'Subject id' },
  { name: 'since', label: 'Since', type: 'datetime' },
  { name: 'until', label: 'Until', type: 'datetime' },
  { name: 'order', label: 'Order', type: 'select', options: [{ value: 'newest', label: 'Newest first' }, { value: 'oldest', label: 'Oldest first' }] },
];

/** withOrder is the route's query with the log's order: newest first unless it says. */
function withOrder(query) {
  const q = new URLSearchParams(query);
  if (!q.get('order')) q.set('order', 'newest');
  return q;
}

export function Events({ query }) {
  const list = useList('/admin/events', withOrder(query), filters.map((f) => f.name));
  const columns = [
    { label: 'Time', cell: (e) => html`<${Time} value=${e.time} />` },
    { label: 'Type', cell: (e) => html`<a href=${href('/admin/events', { type: e.type })}>${e.type}</a>` },
    { label: 'Org', cell: (e) => (e.org_id ? html`<a href=${href('/admin/events', { org_id: e.org_id })}><code>${e.org_id}</code></a>` : html`<span class="muted">—</span>`) },
    { label: 'Subject', cell: (e) => (e.subject ? html`<a href=${href('/admin/events', { subject: e.subject })}><code>${e.subject}</code></a>` : html`<span class="muted">—</span>`) },
    {
      label: 'Payload',
      cell: (e) => html`<details><summary>Show<span class="visually-hidden"> the payload of ${e.type}</span></summary>
        <pre>${JSON.stringify(e.payload, null, 2)}</pre></details>`,
    },
  ];
  return html`<${AdminPage} title="Events" tab="events">
    <p class="muted">The audit log, newest first; narrow it with the filters, or read it in log order with Oldest first.</p>
    <${FilterForm} path="/admin/events" query=${query} label="Filter events" fields=${filters} />
    ${list.loading && !list.data && html`<${Loading} what="Loading events" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="Events" columns=${columns} rows=${list.data.items} empty="No event matches." />
      <${Pager} path="/admin/events" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}
