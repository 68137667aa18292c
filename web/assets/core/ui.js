// Shared pieces of every view: the page frame, labelled form fields with
// their errors, problem and status regions, tables, keyset pagers, filter
// forms, confirmations and data loading. Views compose these; none of them
// knows an app.
import { html, useEffect, useId, useState } from './html.js';
import { Problem } from './http.js';
import { href, navigate } from './router.js';

// ---- formatting

/** humanize turns a field name into a label: "signed_on" → "Signed on". */
export function humanize(name) {
  const s = String(name).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** fmtTime is an RFC 3339 time in the reader's locale and zone. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** fmtBytes is a size for people: 1536 → "1.5 KB". */
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

/** toLocalInput turns an RFC 3339 time into a datetime-local value (the reader's zone). */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const ms = d.getMilliseconds() ? `.${p(d.getMilliseconds(), 3)}` : '';
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${ms}`;
}

/** fromLocalInput turns a datetime-local value into RFC 3339 (UTC), or '' when empty or invalid. */
export function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** sentence starts a server's message with a capital ("invalid record" → "Invalid record"). */
const sentence = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

/** Time is a time element showing iso in the reader's locale. */
export function Time({ value }) {
  return value ? html`<time datetime=${value} title=${value}>${fmtTime(value)}</time>` : html`<span class="muted">—</span>`;
}

// ---- page frame

/** Page frames a view: its heading (focused by the shell when the route changes), title, breadcrumbs and actions. */
export function Page({ title, crumbs, actions, children }) {
  useEffect(() => {
    document.title = `${title} · Tessera`;
  }, [title]);
  return html`
    ${crumbs && html`<nav aria-label="Breadcrumb" class="crumbs"><ol>
      ${crumbs.map((c) => html`<li><a href=${c.href}>${c.label}</a></li>`)}
    </ol></nav>`}
    <div class="page-head">
      <h1 tabindex="-1">${title}</h1>
      ${actions && html`<div class="actions">${actions}</div>`}
    </div>
    ${children}`;
}

/** Redirect replaces the current route with to (no history entry). */
export function Redirect({ to }) {
  useEffect(() => navigate(to, undefined, { replace: true }), [to]);
  return null;
}

/** Notice is a short explanation in a box (placeholders, missing rights). */
export function Notice({ title, children }) {
  return html`<section class="notice" aria-label=${title}><h2>${title}</h2>${children}</section>`;
}

// ---- messages

/**
 * ProblemAlert shows a failed request: its detail and the field errors no
 * form field shows itself (names in shown). The region is always present,
 * so assistive technology announces what appears in it.
 */
export function ProblemAlert({ problem, shown = [] }) {
  const rest = problem ? problem.errors.filter((e) => !shown.includes(e.location)) : [];
  const marked = problem && rest.length < problem.errors.length;
  return html`<div role="alert" class=${problem ? 'problem' : 'problem empty'}>
    ${problem && html`<p><strong>${sentence(problem.detail || problem.title)}</strong>${marked ? ': see the fields marked below.' : ''}</p>
      ${rest.length > 0 && html`<ul>${rest.map((e) => html`<li>${e.location ? html`<code>${e.location}</code>: ` : ''}${e.message}</li>`)}</ul>`}`}
  </div>`;
}

/** Status is a polite live region for outcomes ("Saved."). */
export function Status({ children }) {
  return html`<p role="status" class="status">${children}</p>`;
}

/** Loading stands in for data on its way. */
export function Loading({ what = 'Loading' }) {
  return html`<p role="status" class="muted">${what}…</p>`;
}

/** Failed shows a load that failed, with a retry. */
export function Failed({ problem, retry }) {
  return html`<div role="alert" class="problem">
    <p><strong>${sentence(problem.detail || problem.message)}</strong></p>
    ${retry && html`<button type="button" class="secondary" onClick=${retry}>Try again</button>`}
  </div>`;
}

// ---- data

/**
 * useLoad runs load (a function returning a promise) when deps change and
 * returns {data, error, loading, reload}. A result arriving after the view
 * moved on is dropped.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

// ---- form fields

/**
 * Field is a labelled control with its hint and error: control(attrs)
 * renders the input with the id, aria-describedby and aria-invalid it needs.
 */
export function Field({ label, hint, error, required, inline, control }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-error` : undefined;
  const attrs = {
    id,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' ') || undefined,
    'aria-invalid': error ? 'true' : undefined,
    required,
  };
  const text = html`<span class="label-text">${label}</span>${required && html`<span class="req" aria-hidden="true"> *</span>`}`;
  return html`<div class=${`field${inline ? ' inline' : ''}${error ? ' invalid' : ''}`}>
    ${inline ? html`${control(attrs)}<label for=${id}>${text}</label>` : html`<label for=${id}>${text}</label>${control(attrs)}`}
    ${hint && html`<p class="hint" id=${hintId}>${hint}</p>`}
    ${error && html`<p class="error" id=${errId}>${error}</p>`}
  </div>`;
}

/** Input is a labelled input; onValue receives the new value as text. */
export function Input({ label, hint, error, required, value, onValue, ...rest }) {
  return html`<${Field} label=${label} hint=${hint} error=${error} required=${required}
    control=${(a) => html`<input ...${a} ...${rest} value=${value ?? ''} onInput=${(e) => onValue(e.currentTarget.value)} />`} />`;
}

/** TextArea is a labelled textarea. */
export function TextArea({ label, hint, error, required, value, onValue, ...rest }) {
  return html`<${Field} label=${label} hint=${hint} error=${error} required=${required}
    control=${(a) => html`<textarea ...${a} ...${rest} rows="4" value=${value ?? ''} onInput=${(e) => onValue(e.currentTarget.value)}></textarea>`} />`;
}

/** Select is a labelled select of options [{value, label}]. */
export function Select({ label, hint, error, required, value, onValue, options, ...rest }) {
  return html`<${Field} label=${label} hint=${hint} error=${error} required=${required}
    control=${(a) => html`<select ...${a} ...${rest} value=${value ?? ''} onChange=${(e) => onValue(e.currentTarget.value)}>
      ${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    </select>`} />`;
}

/** Checkbox is a labelled checkbox; onValue receives true or false. */
export function Checkbox({ label, hint, error, checked, onValue, ...rest }) {
  return html`<${Field} inline label=${label} hint=${hint} error=${error}
    control=${(a) => html`<input type="checkbox" ...${a} ...${rest} checked=${!!checked} onChange=${(e) => onValue(e.currentTarget.checked)} />`} />`;
}

/**
 * focusInvalid moves the focus to the first invalid control of form, unless
 * the person has moved on to a control elsewhere meanwhile: a slow answer
 * (a photo's processing) must not pull them away from what they type.
 */
function focusInvalid(form) {
  requestAnimationFrame(() => {
    const at = document.activeElement;
    if (at && at !== document.body && !form?.contains(at)) return;
    form?.querySelector('[aria-invalid="true"]')?.focus();
  });
}

/**
 * useForm holds a form's busy flag and last problem: submit(run) runs
 * run() once at a time and keeps its failure, always a Problem, for the
 * form to show.
 */
export function useForm() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const submit = async (run, form) => {
    if (busy) return;
    setBusy(true);
    setProblem(null);
    try {
      await run();
    } catch (err) {
      if (!(err instanceof Problem)) console.error(err); // a bug of the console, not an answer of the API
      setProblem(err instanceof Problem ? err : new Problem({ title: 'Error', detail: `The console failed: ${err.message}` }));
      focusInvalid(form);
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, setProblem, submit };
}

// ---- lists

/**
 * Table shows rows under columns [{label, cell(row)}] in a region that
 * scrolls sideways on narrow screens (and takes the focus for the keyboard).
 */
export function Table({ caption, columns, rows, empty = 'Nothing here yet.', rowKey = (r) => r.id }) {
  if (!rows.length) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap" role="region" aria-label=${caption} tabindex="0">
    <table>
      <caption class="visually-hidden">${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${rowKey(r)}>${columns.map((c) => html`<td>${c.cell(r)}</td>`)}</tr>`)}</tbody>
    </table>
  </div>`;
}

/** Pager links to the first page and, when the list goes on, the next (keyset pages: cursor in the route). */
export function Pager({ path, query, next }) {
  const at = new URLSearchParams(query);
  const first = new URLSearchParams(at);
  first.delete('cursor');
  const after = new URLSearchParams(at);
  if (next) after.set('cursor', next);
  if (!at.get('cursor') && !next) return null;
  return html`<nav class="pager" aria-label="Pages">
    ${at.get('cursor') && html`<a href=${href(path, first)}>First page</a>`}
    ${next && html`<a href=${href(path, after)} rel="next">Next page</a>`}
  </nav>`;
}

/**
 * FilterForm edits a list's query: fields [{name, label, hint, type ('text',
 * 'search', 'number', 'date', 'datetime' or 'select'), options}]. Applying
 * navigates to path with the new query (and the first page).
 */
export function FilterForm({ path, query, fields, label = 'Filters' }) {
  const read = () => Object.fromEntries(fields.map((f) => {
    const v = query.get(f.name) || '';
    return [f.name, f.type === 'datetime' ? toLocalInput(v) : v];
  }));
  const [values, setValues] = useState(read);
  useEffect(() => setValues(read()), [query.toString()]);
  const apply = (e) => {
    e.preventDefault();
    const next = new URLSearchParams(query);
    next.delete('cursor');
    for (const f of fields) {
      const v = f.type === 'datetime' ? fromLocalInput(values[f.name]) : values[f.name];
      if (v) next.set(f.name, v);
      else next.delete(f.name);
    }
    navigate(path, next);
  };
  const clear = () => {
    const next = new URLSearchParams(query);
    next.delete('cursor');
    for (const f of fields) next.delete(f.name);
    navigate(path, next);
  };
  const set = (name) => (v) => setValues({ ...values, [name]: v });
  return html`<form class="filters" role="search" aria-label=${label} onSubmit=${apply}>
    ${fields.map((f) => f.type === 'select'
      ? html`<${Select} label=${f.label} hint=${f.hint} value=${values[f.name]} onValue=${set(f.name)} options=${f.options} />`
      : html`<${Input} label=${f.label} hint=${f.hint} type=${f.type === 'datetime' ? 'datetime-local' : f.type || 'text'}
          step=${f.type === 'datetime' ? '1' : f.step} value=${values[f.name]} onValue=${set(f.name)} />`)}
    <div class="filter-buttons">
      <button type="submit">Apply</button>
      <button type="button" class="secondary" onClick=${clear}>Clear</button>
    </div>
  </form>`;
}

// ---- actions

/**
 * ConfirmButton asks before a destructive action: the first press shows
 * the question with Confirm and Cancel (Confirm takes the focus).
 */
export function ConfirmButton({ label, question, confirmLabel = label, onConfirm, busy, danger = true }) {
  const [asking, setAsking] = useState(false);
  const id = useId();
  useEffect(() => {
    if (asking) document.getElementById(id)?.focus();
  }, [asking]);
  if (!asking) {
    return html`<button type="button" class=${danger ? 'danger' : 'secondary'} disabled=${busy} onClick=${() => setAsking(true)}>${label}</button>`;
  }
  return html`<span class="confirm" role="group" aria-label=${question}>
    <span>${question}</span>
    <button type="button" id=${id} class=${danger ? 'danger' : ''} disabled=${busy}
      onClick=${async () => { await onConfirm(); setAsking(false); }}>${confirmLabel}</button>
    <button type="button" class="secondary" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}
