// The record types in force (GET /records/types), per org, and how a type
// and its records read to people: titles, labels, list columns.
import { api } from '../../core/api.js';
import { Problem } from '../../core/http.js';
import { humanize } from '../../core/ui.js';

/** How long a types answer is reused (a SIGHUP can change the config). */
const TTL_MS = 60_000;
// org id → {at, promise}; this module's own, read and written on the one UI thread.
const cache = new Map();

/** loadTypes resolves to {list, byName, byPlural} of the config in force for orgId. */
export function loadTypes(orgId) {
  const hit = cache.get(orgId);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.promise;
  const promise = api('GET', '/records/types').then(({ data }) => {
    const list = data.types || [];
    return {
      list,
      byName: Object.fromEntries(list.map((t) => [t.name, t])),
      byPlural: Object.fromEntries(list.map((t) => [t.plural, t])),
    };
  });
  promise.catch(() => cache.delete(orgId));
  cache.set(orgId, { at: Date.now(), promise });
  return promise;
}

/** typeOf returns the type of plural, or throws a 404 Problem naming it. */
export function typeOf(types, plural) {
  const t = types.byPlural[plural];
  if (!t) throw new Problem({ status: 404, title: 'Not Found', detail: `There is no record type "${plural}" in the config in force.` });
  return t;
}

/** pluralTitle is the title of a type's list: "contracts" → "Contracts". */
export const pluralTitle = (t) => humanize(t.plural);

/** paramLabel is a field's label: its display name, or its name made readable. */
export const paramLabel = (p) => (p.display_name && p.display_name !== p.name ? p.display_name : humanize(p.name));

/** fieldsOf are a type's fields for forms and filters: the label field, then the required ones, then the rest (each in the API's order). */
export function fieldsOf(t) {
  const ps = t.parameters || [];
  const label = labelParam(t);
  return [...(label ? [label] : []), ...ps.filter((p) => p !== label && p.required), ...ps.filter((p) => p !== label && !p.required)];
}

const textual = (p) => p.type === 'string' || p.type === 'email' || p.type === 'enum';

/** labelParam is the field that names a record: the first required text field, else the first text field. */
export function labelParam(t) {
  const ps = t.parameters || [];
  return ps.find((p) => p.required && p.type === 'string') || ps.find((p) => p.type === 'string') || ps.find(textual) || null;
}

/** recordLabel names a record for people (its label field, else its id's start). */
export function recordLabel(t, rec) {
  const p = labelParam(t);
  const v = p && rec.fields[p.name];
  return v ? String(v) : `${t.display_name} ${rec.id.slice(0, 8)}…`;
}

/** listColumns are the fields a list shows after the label: up to three, in fieldsOf order, no long text. */
export function listColumns(t) {
  const label = labelParam(t);
  return fieldsOf(t).filter((p) => p !== label && p.type !== 'text').slice(0, 3);
}
