// The record types, and a type's records (all of the org's, or one
// record's children): equality filters on indexed fields, a sort, keyset
// pages. The query lives in the route, so a list can be linked and the
// back button walks its pages.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { takeFlash } from '../../core/flash.js';
import { Failed, FilterForm, Loading, Page, Pager, ProblemAlert, Status, Table, Time, useLoad } from '../../core/ui.js';
import { show } from './fields.js';
import { fieldsOf, labelParam, listColumns, loadTypes, paramLabel, pluralTitle, recordLabel, typeOf } from './types.js';

/** PAGE is the page size of record lists. */
const PAGE = 25;

/** Types lists the record types of the config in force. */
export function Types({ session }) {
  const types = useLoad(() => loadTypes(session.orgId), [session.orgId]);
  const columns = [
    { label: 'Type', cell: (t) => html`<a href=${`#/records/${t.plural}`}>${pluralTitle(t)}</a>` },
    { label: 'Description', cell: (t) => t.description || html`<span class="muted">—</span>` },
    { label: 'Parent', cell: (t) => (t.parent ? types.data.byName[t.parent]?.display_name || t.parent : html`<span class="muted">—</span>`) },
    { label: 'Children', cell: (t) => (t.children || []).map((c) => types.data.byName[c]?.display_name || c).join(', ') || html`<span class="muted">—</span>` },
    { label: 'Fields', cell: (t) => (t.parameters || []).length },
  ];
  return html`<${Page} title="Records">
    <p>The record types of this node's config. Choose one to list, filter, create and export its records.</p>
    ${types.loading && html`<${Loading} what="Loading the record types" />`}
    ${types.error && html`<${Failed} problem=${types.error} retry=${types.reload} />`}
    ${types.data && html`<${Table} caption="Record types" columns=${columns} rows=${types.data.list} rowKey=${(t) => t.name} empty="The config declares no record type." />`}
  <//>`;
}

/** filterFields are the list filters of type t: one per indexed field, and the sort. */
function filterFields(t) {
  const indexed = fieldsOf(t).filter((p) => p.indexed);
  const fields = indexed.map((p) => {
    const f = { name: `filter[${p.name}]`, label: paramLabel(p) };
    switch (p.type) {
      case 'enum': return { ...f, type: 'select', options: [{ value: '', label: 'Any' }, ...(p.values || []).map((v) => ({ value: v, label: v }))] };
      case 'boolean': return { ...f, type: 'select', options: [{ value: '', label: 'Any' }, { value: 'true', label: 'Yes' }, { value: 'false', label: 'No' }] };
      case 'number':
      case 'integer': return { ...f, type: 'number', step: 'any' };
      case 'date': return { ...f, type: 'date' };
      case 'datetime': return { ...f, type: 'datetime' };
      default: return { ...f, type: 'text' };
    }
  });
  const sorts = [
    { value: '', label: 'Newest first' },
    { value: 'created_at', label: 'Oldest first' },
    { value: '-updated_at', label: 'Recently updated' },
    ...indexed.flatMap((p) => [
      { value: p.name, label: `${paramLabel(p)}, ascending` },
      { value: `-${p.name}`, label: `${paramLabel(p)}, descending` },
    ]),
  ];
  return [...fields, { name: 'sort', label: 'Sort', type: 'select', options: sorts }];
}

/** listParams are the API query of a route query: its filters, sort and cursor. */
function listParams(query) {
  const out = { limit: PAGE };
  for (const [k, v] of query.entries()) if (k === 'sort' || k === 'cursor' || k.startsWith('filter[')) out[k] = v;
  return out;
}

/**
 * List shows a type's records: params.plural (the org's), or
 * params.plural/params.id/children/params.child (one record's children).
 */
export function List({ params, query, session }) {
  const scoped = params.child !== undefined;
  const route = scoped ? `/records/${params.plural}/${params.id}/children/${params.child}` : `/records/${params.plural}`;
  const source = scoped ? `/records/${params.plural}/${encodeURIComponent(params.id)}/${params.child}` : `/records/${params.plural}`;
  const [note] = useState(takeFlash);
  const meta = useLoad(async () => {
    const types = await loadTypes(session.orgId);
    const t = typeOf(types, scoped ? params.child : params.plural);
    if (!scoped) return { types, t };
    const pt = typeOf(types, params.plural);
    const parent = (await api('GET', `/records/${pt.plural}/${encodeURIComponent(params.id)}`)).data;
    return { types, t, pt, parent };
  }, [route]);
  const page = useLoad(() => api('GET', source, { params: listParams(query) }).then((r) => r.data), [source, query.toString()]);

  const m = meta.data;
  if (!m) {
    return html`<${Page} title="Records" crumbs=${[{ label: 'Records', href: '#/records' }]}>
      ${meta.loading ? html`<${Loading} what="Loading the record type" />` : html`<${Failed} problem=${meta.error} retry=${meta.reload} />`}
    <//>`;
  }
  const { types, t, pt, parent } = m;
  const title = scoped ? `${pluralTitle(t)} of ${recordLabel(pt, parent)}` : pluralTitle(t);
  const crumbs = [{ label: 'Records', href: '#/records' }, { label: pluralTitle(scoped ? pt : t), href: `#/records/${scoped ? pt.plural : t.plural}` }];
  if (scoped) crumbs.push({ label: recordLabel(pt, parent), href: `#/records/${pt.plural}/${parent.id}` });
  const create = scoped ? `#/records/${t.plural}/new?parent=${parent.id}` : `#/records/${t.plural}/new`;
  const label = labelParam(t);
  const columns = [
    { label: label ? paramLabel(label) : 'Record', cell: (r) => html`<a href=${`#/records/${t.plural}/${r.id}`}>${recordLabel(t, r)}</a>` },
    ...listColumns(t).map((p) => ({ label: paramLabel(p), cell: (r) => show(p, r.fields[p.name], types) })),
    { label: 'Updated', cell: (r) => html`<${Time} value=${r.updated_at} />` },
  ];
  return html`<${Page} title=${title} crumbs=${crumbs} actions=${html`<a class="button" href=${create}>New ${t.display_name.toLowerCase()}</a>`}>
    ${note && html`<${Status}>${note}<//>`}
    ${t.description && html`<p>${t.description}</p>`}
    <${FilterForm} path=${route} query=${query} fields=${filterFields(t)} label=${`Filter ${pluralTitle(t).toLowerCase()}`} />
    ${page.error && html`<${ProblemAlert} problem=${page.error} />`}
    ${page.loading && !page.data && html`<${Loading} what=${`Loading ${pluralTitle(t).toLowerCase()}`} />`}
    ${page.data && !page.error && html`
      <${Table} caption=${title} columns=${columns} rows=${page.data.items}
        empty=${query.toString() ? 'No record matches these filters.' : `No ${t.display_name.toLowerCase()} yet.`} />
      <${Pager} path=${route} query=${query} next=${page.data.next_cursor} />`}
  <//>`;
}
