// Admin: the admin API keys (oldest first, revoked ones included); create
// one (its secret is shown this once) or revoke one. Revoking the key this
// console is signed in with signs it out.
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { expire } from '../../core/session.js';
import { ConfirmButton, Failed, Input, Loading, Pager, ProblemAlert, Status, Table, Time, useForm } from '../../core/ui.js';
import { AdminPage, useList } from './common.js';

/** keyName is how the page names a key (its name may be empty). */
const keyName = (k) => k.name || `unnamed key ${k.key_id.slice(0, 8)}…`;

export function Keys({ query, session }) {
  const list = useList('/admin/keys', query, []);
  const [changed, setChanged] = useState({}); // key id → the key as the last revoke answered
  const [created, setCreated] = useState(null); // the key just created, with its secret
  const [note, setNote] = useState('');
  const { busy, problem, submit } = useForm();
  const revoke = (k) => submit(async () => {
    const now = (await api('POST', `/admin/keys/${encodeURIComponent(k.key_id)}/revoke`)).data;
    if (now.key_id === session.keyId) {
      expire(`You revoked the key this console was signed in with (${keyName(now)}). Sign in with another key.`);
      return;
    }
    setChanged((c) => ({ ...c, [now.key_id]: now }));
    if (created?.key_id === now.key_id) setCreated(null);
    setNote(`Key ${keyName(now)} (${now.key_id}) is revoked: it no longer signs in.`);
  });
  const mine = (k) => k.key_id === session.keyId;
  const columns = [
    { label: 'Name', cell: (k) => html`${k.name || html`<span class="muted">—</span>`}${mine(k) && html`<br /><span class="muted">this console's key</span>`}` },
    { label: 'Id', cell: (k) => html`<code>${k.key_id}</code>` },
    { label: 'Created', cell: (k) => html`<${Time} value=${k.created_at} />` },
    {
      label: 'State',
      cell: (k) => (k.revoked_at
        ? html`<span class="state state-disabled">Revoked</span><br /><${Time} value=${k.revoked_at} />`
        : html`<span class="state state-active">Live</span>`),
    },
    {
      label: 'Action',
      cell: (k) => !k.revoked_at && html`<${ConfirmButton} label=${html`Revoke<span class="visually-hidden"> ${keyName(k)}</span>`} busy=${busy}
        confirmLabel="Revoke the key" onConfirm=${() => revoke(k)}
        question=${mine(k)
          ? `Revoke ${keyName(k)}, the key this console is signed in with? It signs you out at once.`
          : `Revoke ${keyName(k)}? Whoever uses it is refused from now on.`} />`,
    },
  ];
  const rows = (list.data?.items || []).map((k) => changed[k.key_id] || k);
  return html`<${AdminPage} title="API keys" tab="keys">
    <p class="muted">Admin API keys sign in here and call <code>/admin</code> with HTTP Basic (<code>key_id:secret</code>). Oldest first.</p>
    ${note && html`<${Status}>${note}<//>`}
    <${ProblemAlert} problem=${problem} />
    ${list.loading && !list.data && html`<${Loading} what="Loading keys" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="API keys" columns=${columns} rows=${rows} rowKey=${(k) => k.key_id} empty="No admin key yet." />
      <${Pager} path="/admin/keys" query=${query} next=${list.data.next_cursor} />`}
    ${created
      ? html`<${NewSecret} k=${created} onDone=${() => setCreated(null)} />`
      : html`<${CreateKey} onCreated=${(k) => { setNote(''); setCreated(k); list.reload(); }} />`}
  <//>`;
}

/** CreateKey names and creates a key. */
function CreateKey({ onCreated }) {
  const [name, setName] = useState('');
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const create = (e) => {
    e.preventDefault();
    submit(async () => onCreated((await api('POST', '/admin/keys', { body: { name: name.trim() } })).data), form.current);
  };
  return html`<h2>Create a key</h2>
    <form ref=${form} class="card narrow" onSubmit=${create} novalidate aria-label="Create an admin API key">
      <${ProblemAlert} problem=${problem} shown=${['body.name']} />
      <${Input} label="Name" name="name" value=${name} onValue=${setName} error=${problem?.fieldErrors('body.').name}
        hint="Who or what uses it (ops, a backup job), shown in the list and the audit log. Optional, but a nameless key is hard to tell apart." />
      <button type="submit" disabled=${busy}>Create key</button>
    </form>`;
}

/** NewSecret shows a created key's secret, this once, with copy buttons. */
function NewSecret({ k, onDone }) {
  const head = useRef();
  useEffect(() => head.current?.focus(), []);
  return html`<section aria-labelledby="new-key-head">
    <h2 id="new-key-head" ref=${head} tabindex="-1">Key ${keyName(k)} is created: copy its secret now</h2>
    <div class="card">
      <p><strong>The secret is shown this once.</strong> The server keeps only its hash: when this box closes it cannot be shown
        again. Lost, revoke the key and create another.</p>
      <${Secret} label="Key id" value=${k.key_id} />
      <${Secret} label="Secret" value=${k.secret} />
      <${Secret} label="Basic credential (key_id:secret)" value=${`${k.key_id}:${k.secret}`}
        hint=${html`For <code>curl -u</code>, or base64 it after <code>Authorization: Basic</code>.`} />
      <button type="button" class="secondary" onClick=${onDone}>I have copied it: hide the secret</button>
    </div>
  </section>`;
}

/** Secret is a read-only value with a copy button (the text is selected when the clipboard refuses). */
function Secret({ label, value, hint }) {
  const [copied, setCopied] = useState('');
  const box = useRef();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied.');
    } catch {
      box.current?.querySelector('input')?.select();
      setCopied('The browser refused the clipboard: the text is selected, copy it with the keyboard.');
    }
  };
  return html`<div ref=${box}>
    <${Input} label=${label} value=${value} onValue=${() => {}} readonly spellcheck="false" autocomplete="off" hint=${hint} />
    <p class="buttons">
      <button type="button" class="secondary" onClick=${copy}>Copy<span class="visually-hidden"> ${label}</span></button>
      ${copied && html`<span role="status" class="hint">${copied}</span>`}
    </p>
  </div>`;
}
