// One form control, one parse and one display per field kind of the
// records config (string, text, number, integer, boolean, date, datetime,
// enum, email, url, ref). A control's state is always text; toApi turns it
// into the JSON value the API takes, leaving checks to the server so its
// 422 lands next to the field.
import { html } from '../../core/html.js';
import { Checkbox, Input, Select, TextArea, Time, fromLocalInput, toLocalInput } from '../../core/ui.js';
import { paramLabel } from './types.js';

/** Whether a boolean field is a checkbox (it always has a value) or a yes / no / unset choice. */
const twoState = (p) => p.required || p.default !== undefined;

/** initialValue is the control state of an API value (undefined when absent). */
export function initialValue(p, v) {
  if (v === undefined || v === null) return p.type === 'boolean' && twoState(p) ? 'false' : '';
  switch (p.type) {
    case 'boolean': return v ? 'true' : 'false';
    case 'datetime': return toLocalInput(v);
    default: return String(v);
  }
}

/**
 * toApi is the API value of a control state: undefined when empty; a value
 * the browser cannot parse goes as typed, for the server to name.
 */
export function toApi(p, s) {
  if (s === '' || s === undefined) return undefined;
  switch (p.type) {
    case 'number':
    case 'integer': {
      const n = Number(s);
      return s.trim() !== '' && Number.isFinite(n) ? n : s;
    }
    case 'boolean': return s === 'true';
    case 'datetime': return fromLocalInput(s) || s;
    default: return s;
  }
}

/** FieldControl is the labelled control of field p; refs: {name: [{value, label}]} suggestions for ref fields. */
export function FieldControl({ p, value, onValue, error, refs }) {
  const common = { label: paramLabel(p), hint: p.description, error, required: p.required, name: p.name };
  switch (p.type) {
    case 'text':
      return html`<${TextArea} ...${common} value=${value} onValue=${onValue} maxlength=${p.max_length} />`;
    case 'number':
    case 'integer':
      return html`<${Input} ...${common} type="number" step=${p.type === 'integer' ? '1' : 'any'} min=${p.minimum} max=${p.maximum}
        inputmode=${p.type === 'integer' ? 'numeric' : 'decimal'} value=${value} onValue=${onValue} />`;
    case 'boolean':
      return twoState(p)
        ? html`<${Checkbox} label=${common.label} hint=${common.hint} error=${error} name=${p.name} checked=${value === 'true'} onValue=${(c) => onValue(c ? 'true' : 'false')} />`
        : html`<${Select} ...${common} value=${value} onValue=${onValue}
            options=${[{ value: '', label: 'Not set' }, { value: 'true', label: 'Yes' }, { value: 'false', label: 'No' }]} />`;
    case 'date':
      return html`<${Input} ...${common} type="date" value=${value} onValue=${onValue} />`;
    case 'datetime':
      return html`<${Input} ...${common} type="datetime-local" step="1" value=${value} onValue=${onValue}
        hint=${[p.description, 'In your time zone.'].filter(Boolean).join(' ')} />`;
    case 'enum':
      return html`<${Select} ...${common} value=${value} onValue=${onValue}
        options=${[...(p.required ? [] : [{ value: '', label: 'Not set' }]), ...(p.required && !value ? [{ value: '', label: 'Choose…' }] : []),
          ...(p.values || []).map((v) => ({ value: v, label: v }))]} />`;
    case 'email':
      return html`<${Input} ...${common} type="email" autocomplete="off" value=${value} onValue=${onValue} />`;
    case 'url':
      return html`<${Input} ...${common} type="url" value=${value} onValue=${onValue} />`;
    case 'ref':
      return html`<${RefInput} common=${common} value=${value} onValue=${onValue} options=${refs?.[p.name]}
        hint=${[p.description, `The id of a ${p.target}.`].filter(Boolean).join(' ')} />`;
    default:
      return html`<${Input} ...${common} maxlength=${p.max_length} value=${value} onValue=${onValue} />`;
  }
}

/** RefInput is a record id input with the latest records of the target type as suggestions. */
export function RefInput({ common, hint, value, onValue, options = [] }) {
  const list = `refs-${common.name}`;
  return html`<${Input} ...${common} hint=${hint} list=${list} spellcheck="false" autocomplete="off" value=${value} onValue=${onValue} />
    <datalist id=${list}>${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}</datalist>`;
}

/** show displays a stored value of field p; types resolves a ref's target for its link. */
export function show(p, v, types) {
  if (v === undefined || v === null || v === '') return html`<span class="muted">—</span>`;
  switch (p.type) {
    case 'boolean': return v ? 'Yes' : 'No';
    case 'datetime': return html`<${Time} value=${v} />`;
    case 'text': return html`<span class="pre">${v}</span>`;
    case 'email': return html`<a href=${`mailto:${v}`}>${v}</a>`;
    case 'url': return html`<a href=${v} rel="noopener noreferrer" target="_blank">${v}</a>`;
    case 'ref': {
      const target = types?.byName[p.target];
      return target ? html`<a href=${`#/records/${target.plural}/${v}`}><code>${v}</code></a>` : html`<code>${v}</code>`;
    }
    default: return String(v);
  }
}
