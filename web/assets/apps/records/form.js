// The create and edit forms, generated from the type's fields. Create
// POSTs the filled fields (and the parent); edit PATCHes the changed ones
// (null clears one) with If-Match: the version read, so a change made
// meanwhile by someone else is a 412, not a silent overwrite.
import { html, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { flash } from '../../core/flash.js';
import { navigate } from '../../core/router.js';
import { Failed, Loading, Page, ProblemAlert, useForm, useLoad } from '../../core/ui.js';
import { FieldControl, RefInput, initialValue, toApi } from './fields.js';
import { fieldsOf, loadTypes, pluralTitle, recordLabel, typeOf } from './types.js';

/** suggestions loads, per ref field (and the parent picker), the latest records of its target type. */
async function suggestions(types, t, needParent) {
  const wanted = (t.parameters || []).filter((p) => p.type === 'ref').map((p) => [p.name, p.target]);
  if (needParent) wanted.push(['parent_id', t.parent]);
  const out = {};
  await Promise.all(wanted.map(async ([name, target]) => {
    const tt = types.byName[target];
    if (!tt) return;
    const items = (await api('GET', `/records/${tt.plural}`, { params: { limit: 50 } })).data.items;
    out[name] = items.map((r) => ({ value: r.id, label: recordLabel(tt, r) }));
  }));
  return out;
}

/** same compares two API values. */
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * RecordForm creates a record of type t (under parent when given, else with
 * a parent picker when t has a parent), or edits record.
 */
function RecordForm({ types, t, record, parent, refs }) {
  const params = fieldsOf(t);
  const [values, setValues] = useState(() => Object.fromEntries(params.map((p) => [p.name, initialValue(p, record ? record.fields[p.name] : p.default)])));
  const [parentId, setParentId] = useState(parent?.id || '');
  const { busy, problem, submit } = useForm();
  const form = useRef();
  const errors = problem?.fieldErrors('body.fields.') || {};
  const parentError = problem?.fieldErrors('body.').parent_id;
  const set = (name) => (v) => setValues((vs) => ({ ...vs, [name]: v }));
  const save = (e) => {
    e.preventDefault();
    submit(async () => {
      let saved;
      if (record) {
        const fields = {};
        for (const p of params) {
          const v = toApi(p, values[p.name]);
          if (!same(v, record.fields[p.name])) fields[p.name] = v ?? null;
        }
        saved = (await api('PATCH', `/records/${t.plural}/${record.id}`, { body: { fields }, headers: { 'If-Match': `"${record.version}"` } })).data;
        flash(`Saved: version ${saved.version}.`);
      } else {
        const fields = {};
        for (const p of params) {
          const v = toApi(p, values[p.name]);
          if (v !== undefined) fields[p.name] = v;
        }
        const body = { fields, ...(t.parent && { parent_id: parentId.trim() }) };
        saved = (await api('POST', `/records/${t.plural}`, { body })).data;
        flash(`${t.display_name} created.`);
      }
      navigate(`/records/${t.plural}/${saved.id}`);
    }, form.current);
  };
  const shown = [...params.map((p) => `body.fields.${p.name}`), 'body.parent_id'];
  return html`<form ref=${form} class="card record-form" onSubmit=${save} novalidate aria-label=${record ? `Edit ${t.display_name}` : `New ${t.display_name}`}>
    <${ProblemAlert} problem=${problem} shown=${shown} />
    ${problem?.status === 412 && html`<p><a href=${`#/records/${t.plural}/${record.id}`}>Open the current version</a> (your changes here are not saved).</p>`}
    ${t.parent && !record && !parent && html`<${RefInput} common=${{ label: `Parent ${types.byName[t.parent]?.display_name.toLowerCase() || t.parent}`, name: 'parent_id', required: true, error: parentError }}
      hint=${`The id of the ${t.parent} this ${t.name} belongs to.`} value=${parentId} onValue=${setParentId} options=${refs.parent_id} />`}
    ${params.map((p) => html`<${FieldControl} key=${p.name} p=${p} value=${values[p.name]} onValue=${set(p.name)} error=${errors[p.name]} refs=${refs} />`)}
    <div class="buttons">
      <button type="submit" disabled=${busy}>${record ? 'Save' : `Create ${t.display_name.toLowerCase()}`}</button>
      <a class="button secondary" href=${record ? `#/records/${t.plural}/${record.id}` : parent ? `#/records/${types.byName[t.parent].plural}/${parent.id}` : `#/records/${t.plural}`}>Cancel</a>
    </div>
  </form>`;
}

/** Create is the form of a new record: #/records/P/new, ?parent=ID for a child. */
export function Create({ params, query, session }) {
  const parentId = query.get('parent') || '';
  const state = useLoad(async () => {
    const types = await loadTypes(session.orgId);
    const t = typeOf(types, params.plural);
    const pt = t.parent ? types.byName[t.parent] : null;
    const parent = pt && parentId ? (await api('GET', `/records/${pt.plural}/${encodeURIComponent(parentId)}`)).data : null;
    return { types, t, pt, parent, refs: await suggestions(types, t, pt && !parent) };
  }, [params.plural, parentId]);
  const d = state.data;
  const crumbs = [{ label: 'Records', href: '#/records' }];
  if (d) crumbs.push({ label: pluralTitle(d.t), href: `#/records/${d.t.plural}` });
  if (d?.parent) crumbs.push({ label: recordLabel(d.pt, d.parent), href: `#/records/${d.pt.plural}/${d.parent.id}` });
  return html`<${Page} title=${d ? `New ${d.t.display_name.toLowerCase()}${d.parent ? ` in ${recordLabel(d.pt, d.parent)}` : ''}` : 'New record'} crumbs=${crumbs}>
    ${state.loading && html`<${Loading} what="Loading the form" />`}
    ${state.error && html`<${Failed} problem=${state.error} retry=${state.reload} />`}
    ${d && html`<${RecordForm} types=${d.types} t=${d.t} parent=${d.parent} refs=${d.refs} />`}
  <//>`;
}

/** Edit is the form of an existing record: #/records/P/ID/edit. */
export function Edit({ params, session }) {
  const state = useLoad(async () => {
    const types = await loadTypes(session.orgId);
    const t = typeOf(types, params.plural);
    const record = (await api('GET', `/records/${t.plural}/${encodeURIComponent(params.id)}`)).data;
    return { types, t, record, refs: await suggestions(types, t, false) };
  }, [params.plural, params.id]);
  const d = state.data;
  const crumbs = [{ label: 'Records', href: '#/records' }];
  if (d) crumbs.push({ label: pluralTitle(d.t), href: `#/records/${d.t.plural}` }, { label: recordLabel(d.t, d.record), href: `#/records/${d.t.plural}/${d.record.id}` });
  return html`<${Page} title=${d ? `Edit ${recordLabel(d.t, d.record)}` : 'Edit record'} crumbs=${crumbs}>
    ${state.loading && html`<${Loading} what="Loading the record" />`}
    ${state.error && html`<${Failed} problem=${state.error} retry=${state.reload} />`}
    ${d && html`<p class="muted">Version ${d.record.version}. Saving checks that nobody changed it since.</p>
      <${RecordForm} types=${d.types} t=${d.t} record=${d.record} refs=${d.refs} />`}
  <//>`;
}
