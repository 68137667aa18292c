// One record: its fields, edit and delete, its export action with the
// job's status and download link, and its children by type.
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { flash, takeFlash } from '../../core/flash.js';
import { navigate } from '../../core/router.js';
import { ConfirmButton, Failed, Loading, Page, ProblemAlert, Select, Status, Table, Time, fmtBytes, useForm, useLoad } from '../../core/ui.js';
import { show } from './fields.js';
import { fieldsOf, listColumns, loadTypes, paramLabel, pluralTitle, recordLabel, typeOf } from './types.js';

/** CHILDREN is how many children of each type the record's page shows. */
const CHILDREN = 10;

/** Detail is a record's page: #/records/P/ID. */
export function Detail({ params, session }) {
  const [note] = useState(takeFlash);
  const state = useLoad(async () => {
    const types = await loadTypes(session.orgId);
    const t = typeOf(types, params.plural);
    const rec = (await api('GET', `/records/${t.plural}/${encodeURIComponent(params.id)}`)).data;
    const pt = t.parent && rec.parent_id ? types.byName[t.parent] : null;
    const parent = pt ? await api('GET', `/records/${pt.plural}/${rec.parent_id}`).then((r) => r.data, () => null) : null;
    return { types, t, rec, pt, parent };
  }, [params.plural, params.id]);
  const d = state.data;
  if (!d) {
    return html`<${Page} title="Record" crumbs=${[{ label: 'Records', href: '#/records' }]}>
      ${state.loading ? html`<${Loading} what="Loading the record" />` : html`<${Failed} problem=${state.error} retry=${state.reload} />`}
    <//>`;
  }
  const { types, t, rec, pt, parent } = d;
  const crumbs = [{ label: 'Records', href: '#/records' }, { label: pluralTitle(t), href: `#/records/${t.plural}` }];
  if (parent) crumbs.push({ label: recordLabel(pt, parent), href: `#/records/${pt.plural}/${parent.id}` });
  return html`<${Page} title=${`${t.display_name}: ${recordLabel(t, rec)}`} crumbs=${crumbs}
      actions=${html`<a class="button" href=${`#/records/${t.plural}/${rec.id}/edit`}>Edit</a>
        <${Delete} t=${t} rec=${rec} back=${parent ? `/records/${pt.plural}/${parent.id}` : `/records/${t.plural}`} />`}>
    ${note && html`<${Status}>${note}<//>`}
    <dl class="props">
      ${fieldsOf(t).map((p) => html`<dt>${paramLabel(p)}</dt><dd>${show(p, rec.fields[p.name], types)}</dd>`)}
      ${parent && html`<dt>Parent ${pt.display_name.toLowerCase()}</dt><dd><a href=${`#/records/${pt.plural}/${parent.id}`}>${recordLabel(pt, parent)}</a></dd>`}
    </dl>
    <details class="meta">
      <summary>Id, version and times</summary>
      <dl class="props">
        <dt>Id</dt><dd><code>${rec.id}</code></dd>
        <dt>Version</dt><dd>${rec.version}</dd>
        <dt>Created</dt><dd><${Time} value=${rec.created_at} /></dd>
        <dt>Updated</dt><dd><${Time} value=${rec.updated_at} /></dd>
      </dl>
    </details>
    ${(t.actions || []).includes('export') && html`<${Export} t=${t} rec=${rec} />`}
    ${(t.children || []).map((name) => types.byName[name]).filter(Boolean).map((ct) => html`<${Children} key=${ct.name} types=${types} t=${t} rec=${rec} ct=${ct} />`)}
  <//>`;
}

/** Delete deletes the record and its descendants, after a confirmation. */
function Delete({ t, rec, back }) {
  const { busy, problem, submit } = useForm();
  const run = () => submit(async () => {
    await api('DELETE', `/records/${t.plural}/${rec.id}`, { headers: { 'If-Match': `"${rec.version}"` } });
    flash(`${t.display_name} deleted.`);
    navigate(back);
  });
  return html`<${ConfirmButton} label="Delete" busy=${busy} question=${`Delete this ${t.display_name.toLowerCase()} and everything under it?`} onConfirm=${run} />
    ${problem && html`<div class="actions-problem"><${ProblemAlert} problem=${problem} /></div>`}`;
}

/** Export runs the export action and follows its job until the file is ready. */
function Export({ t, rec }) {
  const [format, setFormat] = useState('json');
  const [job, setJob] = useState(null);
  const polls = useRef(0);
  const { busy, problem, setProblem, submit } = useForm();
  useEffect(() => {
    if (!job || job.status === 'succeeded' || job.status === 'failed') return undefined;
    const wait = Math.min(2000, 300 * 1.5 ** polls.current++);
    const id = setTimeout(() => {
      api('GET', `/records/jobs/${job.id}`).then((r) => setJob(r.data), setProblem);
    }, wait);
    return () => clearTimeout(id);
  }, [job]);
  const start = (e) => {
    e.preventDefault();
    submit(async () => {
      polls.current = 0;
      setJob((await api('POST', `/records/${t.plural}/${rec.id}/actions/export`, { body: { format } })).data);
    });
  };
  const r = job?.result;
  return html`<section class="card" aria-labelledby="export-h">
    <h2 id="export-h">Export</h2>
    <p>A file of this ${t.display_name.toLowerCase()} and everything under it, made in the background.</p>
    <form class="inline-form" onSubmit=${start} aria-label="Export">
      <${Select} label="Format" value=${format} onValue=${setFormat} options=${[{ value: 'json', label: 'JSON' }, { value: 'csv', label: 'CSV' }]} />
      <button type="submit" disabled=${busy || (job && job.status !== 'succeeded' && job.status !== 'failed')}>Export</button>
    </form>
    <${ProblemAlert} problem=${problem} />
    <div role="status" class="job">
      ${job && html`<p>Export job <code>${job.id.slice(0, 8)}…</code>: <strong class=${`state state-${job.status}`}>${job.status}</strong></p>`}
      ${job?.status === 'failed' && html`<p>${job.error}</p>`}
      ${r && html`<p><a class="button" href=${r.download_url} download>Download the ${r.format.toUpperCase()} file</a>
        <span class="muted"> ${r.records} record${r.records === 1 ? '' : 's'}, ${fmtBytes(r.bytes)}; the link works until <${Time} value=${r.expires_at} />.</span></p>`}
    </div>
  </section>`;
}

/** Children lists the record's first children of type ct, with links to all of them and to a new one. */
function Children({ types, t, rec, ct }) {
  const base = `/records/${t.plural}/${rec.id}/${ct.plural}`;
  const list = useLoad(() => api('GET', base, { params: { limit: CHILDREN } }).then((r) => r.data), [base]);
  const id = `children-${ct.name}`;
  const columns = [
    { label: ct.display_name, cell: (c) => html`<a href=${`#/records/${ct.plural}/${c.id}`}>${recordLabel(ct, c)}</a>` },
    ...listColumns(ct).map((p) => ({ label: paramLabel(p), cell: (c) => show(p, c.fields[p.name], types) })),
  ];
  return html`<section class="children" aria-labelledby=${id}>
    <div class="section-head">
      <h2 id=${id}>${pluralTitle(ct)}</h2>
      <a class="button secondary" href=${`#/records/${ct.plural}/new?parent=${rec.id}`}>New ${ct.display_name.toLowerCase()}</a>
      <a href=${`#/records/${t.plural}/${rec.id}/children/${ct.plural}`}>All ${pluralTitle(ct).toLowerCase()}, with filters</a>
    </div>
    ${list.loading && !list.data && html`<${Loading} />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption=${`${pluralTitle(ct)} of ${recordLabel(t, rec)}`} columns=${columns} rows=${list.data.items}
      empty=${`No ${ct.display_name.toLowerCase()} yet.`} />
      ${list.data.next_cursor && html`<p class="muted">The first ${CHILDREN}; see all for more.</p>`}`}
  </section>`;
}
