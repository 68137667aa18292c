// The sharing dialog of a file (manage access): its grants to users, the
// org and spaces (add, change the level, revoke) and its public links
// (create, shown once; delete). Users are chosen by id among the org's
// members (the members API has no names); spaces by name.
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { ConfirmButton, Failed, Input, Loading, ProblemAlert, Select, Status, Table, Time, fromLocalInput, useForm, useLoad } from '../../core/ui.js';

const accessOptions = [
  { value: 'read', label: 'Read: see and download' },
  { value: 'write', label: 'Write: also new versions, rename, move' },
  { value: 'manage', label: 'Manage: also sharing and the trash' },
];
const base = (file) => `/files/${encodeURIComponent(file.id)}`;

/** directory is the org's members and spaces, for the principal pickers (empty when not readable). */
function useDirectory(orgId) {
  return useLoad(async () => {
    const get = (what) => api('GET', `/orgs/${encodeURIComponent(orgId)}/${what}`, { params: { limit: 500 } })
      .then((r) => r.data.items, () => []);
    const [members, groups] = await Promise.all([get('members'), get('groups')]);
    return { members, groups };
  }, [orgId]);
}

/** Grants lists the file's grants and adds one. */
function Grants({ file }) {
  const dir = useDirectory(file.org_id);
  const grants = useLoad(() => api('GET', `${base(file)}/grants`).then((r) => r.data.items), [file.id]);
  const [type, setType] = useState('user');
  const [principal, setPrincipal] = useState('');
  const [access, setAccess] = useState('read');
  const [done, setDone] = useState('');
  const { busy, problem, submit } = useForm();
  const groups = dir.data?.groups ?? [];
  const who = (g) => {
    if (g.principal_type === 'org') return 'Everyone in the organization';
    if (g.principal_type === 'space') return `Space ${groups.find((s) => s.id === g.principal_id)?.name ?? g.principal_id}`;
    return `User ${g.principal_id}`;
  };
  const share = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    submit(async () => {
      setDone('');
      const id = type === 'org' ? file.org_id : principal.trim();
      const g = (await api('PUT', `${base(file)}/grants`, { body: { principal_type: type, principal_id: id, access } })).data;
      setDone(`Shared with ${who(g).toLowerCase()} (${g.access}).`);
      setPrincipal('');
      grants.reload();
    }, form);
  };
  const revoke = (g) => submit(async () => {
    setDone('');
    await api('DELETE', `${base(file)}/grants/${g.principal_type}/${encodeURIComponent(g.principal_id)}`);
    setDone(`No longer shared with ${who(g).toLowerCase()}.`);
    grants.reload();
  });
  const errs = problem ? problem.fieldErrors('body.') : {};
  return html`<section aria-labelledby="grants-h">
    <h3 id="grants-h">People, the organization and spaces</h3>
    ${grants.loading && !grants.data && html`<${Loading} what="Loading the grants" />`}
    ${grants.error && html`<${Failed} problem=${grants.error} retry=${grants.reload} />`}
    ${grants.data && html`<${Table} caption="Shared with" rows=${grants.data} empty="Not shared yet: only you see it."
      rowKey=${(g) => `${g.principal_type}/${g.principal_id}`}
      columns=${[
        { label: 'With', cell: (g) => html`<code class="wrap">${who(g)}</code>` },
        { label: 'Access', cell: (g) => g.access },
        { label: 'Since', cell: (g) => html`<${Time} value=${g.created_at} />` },
        { label: 'Revoke', cell: (g) => html`<${ConfirmButton} label="Revoke" question=${`Stop sharing with ${who(g).toLowerCase()}?`}
          busy=${busy} onConfirm=${() => revoke(g)} />` },
      ]} />`}
    <form onSubmit=${share} novalidate aria-label="Share the file">
      <${ProblemAlert} problem=${problem} shown=${['body.principal_id', 'body.access', 'body.principal_type']} />
      <div class="inline-form">
        <${Select} label="Share with" value=${type} onValue=${(v) => { setType(v); setPrincipal(''); }} error=${errs.principal_type}
          options=${[{ value: 'user', label: 'A user' }, { value: 'org', label: 'The whole organization' }, { value: 'space', label: 'A space' }]} />
        ${type === 'user' && html`<${Input} label="User id" required value=${principal} onValue=${setPrincipal} spellcheck="false"
          list="files-members" autocomplete="off" error=${errs.principal_id} />
          <datalist id="files-members">${(dir.data?.members ?? []).map((m) => html`<option value=${m.user_id}>${m.role}</option>`)}</datalist>`}
        ${type === 'space' && html`<${Select} label="Space" required value=${principal} onValue=${setPrincipal} error=${errs.principal_id}
          options=${[{ value: '', label: groups.length ? 'Choose a space' : 'No space in this organization' },
            ...groups.map((g) => ({ value: g.id, label: g.name }))]} />`}
        <${Select} label="Access" value=${access} onValue=${setAccess} options=${accessOptions} error=${errs.access} />
        <button type="submit" disabled=${busy}>Share</button>
      </div>
      ${done && html`<${Status}>${done}<//>`}
    </form>
  </section>`;
}

/** Links lists the file's public links and makes one (its URL shown once). */
function Links({ file }) {
  const links = useLoad(() => api('GET', `${base(file)}/links`).then((r) => r.data.items), [file.id]);
  const [expires, setExpires] = useState('');
  const [password, setPassword] = useState('');
  const [made, setMade] = useState(null);
  const [done, setDone] = useState('');
  const { busy, problem, submit } = useForm();
  const create = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    submit(async () => {
      setDone('');
      setMade(null);
      const body = {};
      if (expires) body.expires_at = fromLocalInput(expires) || expires;
      if (password) body.password = password;
      setMade((await api('POST', `${base(file)}/links`, { body })).data);
      setPassword('');
      links.reload();
    }, form);
  };
  const remove = (l) => submit(async () => {
    setMade(null);
    await api('DELETE', `${base(file)}/links/${encodeURIComponent(l.id)}`);
    setDone('The link is deleted: it no longer opens the file.');
    links.reload();
  });
  const errs = problem ? problem.fieldErrors('body.') : {};
  return html`<section aria-labelledby="links-h">
    <h3 id="links-h">Public links</h3>
    <p class="muted">Anyone with a link downloads the current version, without an account.</p>
    ${links.loading && !links.data && html`<${Loading} what="Loading the links" />`}
    ${links.error && html`<${Failed} problem=${links.error} retry=${links.reload} />`}
    ${links.data && html`<${Table} caption="Public links" rows=${links.data} empty="No public link."
      columns=${[
        { label: 'Made', cell: (l) => html`<${Time} value=${l.created_at} />` },
        { label: 'Expires', cell: (l) => (l.expires_at ? html`<${Time} value=${l.expires_at} />` : 'never') },
        { label: 'Password', cell: (l) => (l.password ? 'yes' : 'no') },
        { label: 'Delete', cell: (l) => html`<${ConfirmButton} label="Delete link" question="Delete this link?" busy=${busy}
          onConfirm=${() => remove(l)} />` },
      ]} />`}
    <form onSubmit=${create} novalidate aria-label="Create a public link">
      <${ProblemAlert} problem=${problem} shown=${['body.expires_at', 'body.password']} />
      <div class="inline-form">
        <${Input} label="Expires at" type="datetime-local" step="1" value=${expires} onValue=${setExpires} error=${errs.expires_at}
          hint="Empty: never." />
        <${Input} label="Link password" type="password" autocomplete="new-password" value=${password} onValue=${setPassword}
          error=${errs.password} hint="Optional." />
        <button type="submit" disabled=${busy}>Create link</button>
      </div>
    </form>
    ${made && html`<div role="status" class="status">
      <p>The link (shown this once: copy it now):</p>
      <p><code class="wrap" id="files-new-link">${made.url}</code></p>
    </div>`}
    ${done && html`<${Status}>${done}<//>`}
  </section>`;
}

/** ShareDialog is a button opening the sharing dialog (a modal dialog element). */
export function ShareDialog({ file }) {
  const dialog = useRef(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (open && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [open]);
  return html`<button type="button" onClick=${() => setOpen(true)}>Share…</button>
    ${open && html`<dialog ref=${dialog} class="share" aria-labelledby="share-h" onClose=${() => setOpen(false)}>
      <div class="section-head">
        <h2 id="share-h">Share ${file.name}</h2>
        <button type="button" class="secondary" onClick=${() => dialog.current?.close()}>Close</button>
      </div>
      <${Grants} file=${file} />
      <${Links} file=${file} />
    </dialog>`}`;
}
