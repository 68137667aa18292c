// Admin: durable jobs (event handlers and schedules) by state; retry or
// cancel one.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { ConfirmButton, Failed, FilterForm, Loading, Pager, ProblemAlert, Status, Table, Time, useForm } from '../../core/ui.js';
import { AdminPage, useList } from './common.js';

const states = ['pending', 'running', 'failed', 'dead', 'completed', 'cancelled'];
const retryable = new Set(['failed', 'dead', 'completed', 'cancelled']);
const cancellable = new Set(['pending', 'running', 'failed']);

export function Jobs({ query }) {
  const list = useList('/admin/jobs', query, ['state']);
  const [changed, setChanged] = useState({}); // job id → the job as the last action answered
  const [note, setNote] = useState('');
  const { busy, problem, submit } = useForm();
  const act = (j, verb) => submit(async () => {
    const now = (await api('POST', `/admin/jobs/${j.id}/${verb}`)).data;
    setChanged((c) => ({ ...c, [j.id]: now }));
    setNote(`Job ${now.id} (${now.name}) is ${now.state}.`);
  });
  const columns = [
    { label: 'Id', cell: (j) => j.id },
    { label: 'Name', cell: (j) => html`${j.name}<br /><span class="muted">${j.kind}${j.event_type ? ` · ${j.event_type}` : ''}</span>` },
    { label: 'State', cell: (j) => html`<span class=${`state state-${j.state}`}>${j.state}</span>` },
    { label: 'Attempts', cell: (j) => `${j.attempt} of ${j.max_attempts}` },
    { label: 'Scheduled', cell: (j) => html`<${Time} value=${j.scheduled_at} />` },
    { label: 'Finished', cell: (j) => html`<${Time} value=${j.finalized_at} />` },
    { label: 'Last error', cell: (j) => (j.last_error ? html`<span class="clip" title=${j.last_error}>${j.last_error}</span>` : html`<span class="muted">—</span>`) },
    {
      label: 'Action',
      cell: (j) => html`<span class="row-actions">
        ${retryable.has(j.state) && html`<button type="button" class="secondary" disabled=${busy} onClick=${() => act(j, 'retry')}>Retry<span class="visually-hidden"> job ${j.id}</span></button>`}
        ${cancellable.has(j.state) && html`<${ConfirmButton} label="Cancel" busy=${busy} question=${`Cancel job ${j.id}?`} confirmLabel="Cancel the job" onConfirm=${() => act(j, 'cancel')} />`}
      </span>`,
    },
  ];
  const rows = (list.data?.items || []).map((j) => changed[j.id] || j);
  return html`<${AdminPage} title="Jobs" tab="jobs">
    <${FilterForm} path="/admin/jobs" query=${query} label="Filter jobs"
      fields=${[{ name: 'state', label: 'State', type: 'select', options: [{ value: '', label: 'Any' }, ...states.map((s) => ({ value: s, label: s }))] }]} />
    ${note && html`<${Status}>${note}<//>`}
    <${ProblemAlert} problem=${problem} />
    ${list.loading && !list.data && html`<${Loading} what="Loading jobs" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="Jobs" columns=${columns} rows=${rows} empty="No job in this state." />
      <${Pager} path="/admin/jobs" query=${query} next=${list.data.next_cursor} />`}
  <//>`;
}
