// Admin: the mail outbox, and one mail as it was sent: its HTML rendered in
// a sandboxed frame (no script, an opaque origin, and the console's
// Content-Security-Policy inherited: no image or font from another host),
// or its text.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { Failed, FilterForm, Loading, Pager, Table, Time, useLoad } from '../../core/ui.js';
import { AdminPage, useList } from './common.js';

const filters = [
  { name: 'status', label: 'Status', type: 'select', options: [{ value: '', label: 'Any' }, ...['pending', 'sent', 'failed'].map((s) => ({ value: s, label: s }))] },
  { name: 'app', label: 'App' },
  { name: 'to', label: 'To', type: 'search' },
];

export function Mails({ query }) {
  const list = useList('/admin/mails', query, filters.map((f) => f.name));
  const columns = [
    { label: 'Created', cell: (m) => html`<${Time} value=${m.created_at} />` },
    { label: 'To', cell: (m) => m.to },
    { label: 'Subject', cell: (m) => html`<a href=${`#/admin/mails/${m.id}`}>${m.subject}</a>` },
    { label: 'App', cell: (m) => html`${m.app}<br /><span class="muted">${m.template}</span>` },
    { label: 'Status', cell: (m) => html`<span class=${`state state-${m.status}`}>${m.status}</span>` },
    { label: 'Attempts', cell: (m) => m.attempts },
  ];
  return html`<${AdminPage} title="Mails" tab="mails">
    <${FilterForm} path="/admin/mails" query=${query} label="Filter mails" fields=${filters} />
    ${list.loading && !list.data && html`<${Loading} what="Loading mails" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="Mails" columns=${columns} rows=${list.data.items} empty="No mail matches." />
      <${Pager} path="/admin/mails" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}

export function Mail({ params }) {
  const mail = useLoad(() => api('GET', `/admin/mails/${encodeURIComponent(params.id)}`).then((r) => r.data), [params.id]);
  const [as, setAs] = useState('html');
  const m = mail.data;
  const view = m && !m.html ? 'text' : as;
  return html`<${AdminPage} title=${m ? m.subject : 'Mail'} tab="mails" crumbs=${[{ label: 'Mails', href: '#/admin/mails' }]}>
    ${mail.loading && html`<${Loading} what="Loading the mail" />`}
    ${mail.error && html`<${Failed} problem=${mail.error} retry=${mail.reload} />`}
    ${m && html`
      <dl class="props">
        <dt>To</dt><dd>${m.to}</dd>
        <dt>Status</dt><dd><span class=${`state state-${m.status}`}>${m.status}</span>${m.last_error && ` (${m.last_error})`}</dd>
        <dt>Sent</dt><dd><${Time} value=${m.sent_at} /></dd>
        <dt>App and template</dt><dd>${m.app} · ${m.template}</dd>
        <dt>Message id</dt><dd><code class="wrap">${m.message_id || '—'}</code></dd>
      </dl>
      ${m.html && html`<div class="switch" role="group" aria-label="Show the mail as">
        <button type="button" class="secondary" aria-pressed=${view === 'html' ? 'true' : 'false'} onClick=${() => setAs('html')}>HTML</button>
        <button type="button" class="secondary" aria-pressed=${view === 'text' ? 'true' : 'false'} onClick=${() => setAs('text')}>Text</button>
      </div>`}
      ${view === 'html'
        ? html`<iframe class="mail" sandbox="" referrerpolicy="no-referrer" title=${`The mail “${m.subject}” as HTML`} srcdoc=${m.html}></iframe>`
        : html`<pre class="mail-text">${m.text}</pre>`}`}
  <//>`;
}
