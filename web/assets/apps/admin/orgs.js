// Admin: every organization, searched by name, external id or id; each
// links to its members and groups (#/orgs/{id}, where an admin key acts as
// an owner) and to its events.
import { html } from '../../core/html.js';
import { href } from '../../core/router.js';
import { Failed, FilterForm, Loading, Pager, Table, Time } from '../../core/ui.js';
import { AdminPage, useList } from './common.js';

export function Orgs({ query }) {
  const list = useList('/admin/orgs', query, ['q']);
  const columns = [
    { label: 'Name', cell: (o) => o.name },
    { label: 'External id', cell: (o) => o.external_id || html`<span class="muted">—</span>` },
    { label: 'Id', cell: (o) => html`<code>${o.id}</code>` },
    { label: 'Created', cell: (o) => html`<${Time} value=${o.created_at} />` },
    { label: 'Members', cell: (o) => html`<a href=${`#/orgs/${encodeURIComponent(o.id)}`}>Members of ${o.name}</a>` },
    { label: 'Audit log', cell: (o) => html`<a href=${href('/admin/events', { org_id: o.id })}>Events of ${o.name}</a>` },
  ];
  return html`<${AdminPage} title="Organizations" tab="orgs">
    <${FilterForm} path="/admin/orgs" query=${query} label="Search organizations" fields=${[{ name: 'q', label: 'Name, external id or id', type: 'search' }]} />
    ${list.loading && !list.data && html`<${Loading} what="Loading organizations" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="Organizations" columns=${columns} rows=${list.data.items} empty="No organization matches." />
      <${Pager} path="/admin/orgs" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}
