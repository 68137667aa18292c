// Admin: users, searched by email, disabled or enabled.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { ConfirmButton, Failed, FilterForm, Loading, Pager, ProblemAlert, Status, Table, Time, useForm } from '../../core/ui.js';
import { AdminPage, useList } from './common.js';

export function Users({ query }) {
  const list = useList('/admin/users', query, ['q']);
  const [changed, setChanged] = useState({}); // user id → the user as the last PATCH answered
  const [note, setNote] = useState('');
  const { busy, problem, submit } = useForm();
  const setDisabled = (u, disabled) => submit(async () => {
    const now = (await api('PATCH', `/admin/users/${u.id}`, { body: { disabled } })).data;
    setChanged((c) => ({ ...c, [u.id]: now }));
    setNote(`${now.email} is ${now.disabled ? 'disabled and signed out everywhere' : 'enabled'}.`);
  });
  const columns = [
    { label: 'Email', cell: (u) => u.email },
    { label: 'Name', cell: (u) => u.name || html`<span class="muted">—</span>` },
    { label: 'Confirmed', cell: (u) => (u.confirmed ? 'Yes' : 'No') },
    { label: 'State', cell: (u) => html`<span class=${`state state-${u.disabled ? 'disabled' : 'active'}`}>${u.disabled ? 'Disabled' : 'Active'}</span>` },
    { label: 'Created', cell: (u) => html`<${Time} value=${u.created_at} />` },
    { label: 'Id', cell: (u) => html`<code>${u.id}</code>` },
    {
      label: 'Action',
      cell: (u) => (u.disabled
        ? html`<button type="button" class="secondary" disabled=${busy} onClick=${() => setDisabled(u, false)}>Enable</button>`
        : html`<${ConfirmButton} label="Disable" busy=${busy} question=${`Disable ${u.email}? They are signed out everywhere.`} onConfirm=${() => setDisabled(u, true)} />`),
    },
  ];
  const rows = (list.data?.items || []).map((u) => changed[u.id] || u);
  return html`<${AdminPage} title="Users" tab="users">
    <${FilterForm} path="/admin/users" query=${query} label="Search users" fields=${[{ name: 'q', label: 'Email contains', type: 'search' }]} />
    ${note && html`<${Status}>${note}<//>`}
    <${ProblemAlert} problem=${problem} />
    ${list.loading && !list.data && html`<${Loading} what="Loading users" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="Users" columns=${columns} rows=${rows} empty="No user matches." />
      <${Pager} path="/admin/users" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}
