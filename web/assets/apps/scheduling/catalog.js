// The org's catalog: resources and projects, listed and created through
// the REST mirror (docs/scheduling.md). Creating needs the owner or admin
// role; the server says so (403) when the reader is a member.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { Checkbox, Failed, Input, Loading, Page, ProblemAlert, Status, Table, useForm, useLoad } from '../../core/ui.js';

/** listAll reads every page of a scheduling list (at most 500 per page). */
export async function listAll(path, params = {}) {
  const items = [];
  let cursor = '';
  do {
    const page = (await api('GET', path, { params: { ...params, limit: 500, cursor } })).data;
    items.push(...page.items);
    cursor = page.next_cursor || '';
  } while (cursor);
  return items;
}

/** Tabs are the app's sections. */
export function Tabs({ here }) {
  const tabs = [['/scheduling', 'Calendar'], ['/scheduling/resources', 'Resources'], ['/scheduling/projects', 'Projects'], ['/scheduling/layouts', 'Layouts']];
  return html`<nav class="tabs" aria-label="Scheduling"><ul>
    ${tabs.map(([path, label]) => html`<li><a href=${`#${path}`} aria-current=${path === here ? 'page' : undefined}>${label}</a></li>`)}
  </ul></nav>`;
}

const dash = html`<span class="muted">—</span>`;

/**
 * useCreate is a create form's state: its values (from blank), set(name),
 * its field errors, and create(event), which POSTs toBody(values) to path,
 * then clears the form, says so and reloads list.
 */
function useCreate(path, blank, toBody, list) {
  const [v, setV] = useState(blank);
  const [done, setDone] = useState('');
  const form = useForm();
  const errs = form.problem?.fieldErrors('body.') || {};
  const set = (k) => (x) => setV({ ...v, [k]: x });
  const create = (e) => {
    e.preventDefault();
    setDone('');
    form.submit(async () => {
      const made = (await api('POST', path, { body: toBody(v) })).data;
      setV(blank);
      setDone(`${made.name} is created.`);
      list.reload();
    }, e.currentTarget);
  };
  return { v, set, errs, form, done, create };
}

/**
 * Catalog is a catalog page: its list as a table, and the create form
 * (children: the fields) titled "New <what>".
 */
function Catalog({ title, what, list, columns, c, shown, children }) {
  const id = `new-${what}`;
  return html`<${Page} title=${title}>
    <${Tabs} here=${`/scheduling/${what}s`} />
    ${list.loading && html`<${Loading} what=${`Loading the ${what}s`} />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption=${title} columns=${columns} rows=${list.data} empty=${`No ${what} yet: create one below.`} />`}
    <form class="card narrow" novalidate aria-labelledby=${id} onSubmit=${c.create}>
      <h2 id=${id}>New ${what}</h2>
      <${ProblemAlert} problem=${c.form.problem} shown=${shown} />
      ${children}
      <button type="submit" disabled=${c.form.busy}>Create ${what}</button>
      ${c.done && html`<${Status}>${c.done}<//>`}
    </form>
  <//>`;
}

/** Resources lists the org's resources and creates one. */
export function Resources({ session }) {
  const list = useLoad(() => listAll('/scheduling/resources'), [session.orgId]);
  const c = useCreate('/scheduling/resources', { name: '', kind: '', capacity: '', allow_overlap: false }, (v) => {
    const body = { name: v.name, allow_overlap: v.allow_overlap };
    if (v.kind) body.kind = v.kind;
    if (v.capacity !== '') body.capacity = Number.isNaN(Number(v.capacity)) ? v.capacity : Number(v.capacity);
    return body;
  }, list);
  const { v, set, errs } = c;
  const columns = [
    { label: 'Name', cell: (r) => r.name },
    { label: 'Kind', cell: (r) => r.kind || dash },
    { label: 'Capacity', cell: (r) => r.capacity || dash },
    { label: 'Overlap', cell: (r) => (r.allow_overlap ? 'allowed' : 'refused') },
    { label: 'State', cell: (r) => (r.archived ? 'archived' : 'live') },
    { label: 'Calendar', cell: (r) => (r.calendar_url ? html`<a href=${r.calendar_url}>ICS feed</a>` : dash) },
  ];
  return html`<${Catalog} title="Resources" what="resource" list=${list} columns=${columns} c=${c} shown=${['body.name', 'body.kind', 'body.capacity']}>
    <${Input} label="Name" required value=${v.name} onValue=${set('name')} error=${errs.name} />
    <${Input} label="Kind" hint="room, machine, person…" value=${v.kind} onValue=${set('kind')} error=${errs.kind} />
    <${Input} label="Capacity" type="number" min="0" step="1" value=${v.capacity} onValue=${set('capacity')} error=${errs.capacity} />
    <${Checkbox} label="Allow overlapping events" checked=${v.allow_overlap} onValue=${set('allow_overlap')} />
  <//>`;
}

/** Projects lists the org's projects and creates one. */
export function Projects({ session }) {
  const list = useLoad(() => listAll('/scheduling/projects'), [session.orgId]);
  const c = useCreate('/scheduling/projects', { name: '', description: '', color: '#3558b8' }, (v) => {
    const body = { name: v.name, color: v.color };
    if (v.description) body.description = v.description;
    return body;
  }, list);
  const { v, set, errs } = c;
  const columns = [
    { label: 'Name', cell: (p) => p.name },
    { label: 'Description', cell: (p) => p.description || dash },
    { label: 'Colour', cell: (p) => html`<code>${p.color}</code>` },
    { label: 'State', cell: (p) => (p.archived ? 'archived' : 'live') },
  ];
  return html`<${Catalog} title="Projects" what="project" list=${list} columns=${columns} c=${c} shown=${['body.name', 'body.description', 'body.color']}>
    <${Input} label="Name" required value=${v.name} onValue=${set('name')} error=${errs.name} />
    <${Input} label="Description" value=${v.description} onValue=${set('description')} error=${errs.description} />
    <${Input} label="Colour" type="color" value=${v.color} onValue=${set('color')} error=${errs.color} />
  <//>`;
}
