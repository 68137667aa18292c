// One organization's page (#/orgs/{id}): its members with their role and
// level, and its groups with their members. The org's owners and admins
// change them, and so does an admin key (the server treats it as an owner of
// every org); any other member sees the page read-only. The rules are the
// server's (only owners grant or revoke owner, the last owner stays, a
// level is 0 to 1000000): its problems show next to the field they name.
import { html, useEffect, useId, useRef, useState } from './html.js';
import { api } from './api.js';
import { current } from './session.js';
import { navigate } from './router.js';
import { ConfirmButton, Failed, Input, Loading, Page, ProblemAlert, Select, Status, Table, Time, useForm, useLoad } from './ui.js';

const sheet = document.createElement('link');
sheet.rel = 'stylesheet';
sheet.href = new URL('org.css', import.meta.url).href;
document.head.append(sheet);

const roles = ['owner', 'admin', 'member'].map((r) => ({ value: r, label: r }));
/** EMAILS is how many members an admin key's page looks up (GET /admin/users/{id}, one request each) to show their email. */
const EMAILS = 100;
/** The member fields a row shows next to its controls. */
const rowFields = ['body.role', 'body.level'];

/** call is api() without X-Org-ID: the org is in the path, and may not be the one chosen in the header. */
const call = (method, path, opts = {}) => api(method, path, { ...opts, org: false });

const enc = encodeURIComponent;

/** all reads every page of an org's list. */
async function all(path) {
  const items = [];
  let cursor = '';
  do {
    const page = (await call('GET', path, { params: { limit: 500, cursor } })).data;
    items.push(...page.items);
    cursor = page.next_cursor || '';
  } while (cursor);
  return items;
}

/** load reads the org, its members and groups, and (for an admin key) the members' emails. */
async function load(base, admin) {
  const [org, members, groups] = await Promise.all([call('GET', base).then((r) => r.data), all(`${base}/members`), all(`${base}/groups`)]);
  const emails = {};
  if (admin) {
    await Promise.all(members.slice(0, EMAILS).map((m) => api('GET', `/admin/users/${enc(m.user_id)}`)
      .then((r) => { emails[m.user_id] = r.data.email; }, () => {})));
  }
  return { org, members, groups, emails };
}

/** toLevel is a level typed as text: a number when it reads as one, else the text (for the server to name). */
function toLevel(text) {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/** OrgPage is the page of the org id, for a user's session or an admin key's. */
export function OrgPage({ id, session }) {
  const admin = session.kind === 'admin';
  const base = `/orgs/${enc(id)}`;
  const loaded = useLoad(() => load(base, admin), [base]);
  // The lists as loaded, then as this page changed them (null until loaded).
  const [members, setMembers] = useState(null);
  const [groups, setGroups] = useState(null);
  useEffect(() => {
    if (loaded.data) {
      setMembers(loaded.data.members);
      setGroups(loaded.data.groups);
    }
  }, [loaded.data]);
  const [note, setNote] = useState('');
  const org = members && groups && loaded.data?.org;
  const emails = loaded.data?.emails || {};
  const me = admin ? null : members?.find((m) => m.user_id === session.user.id);
  const role = admin ? 'owner' : me?.role;
  const manages = role === 'owner' || role === 'admin';
  const name = (m) => emails[m.user_id] || m.user_id;
  const ctx = { base, session, manages, owner: role === 'owner', name, members, setMembers, groups, setGroups, setNote };
  const back = { label: 'Organizations', href: admin ? '#/admin/orgs' : '#/orgs' };
  return html`<${Page} title=${org ? org.name : 'Organization'} crumbs=${[back]}>
    ${loaded.loading && !org && html`<${Loading} what="Loading the organization" />`}
    ${loaded.error && html`<${Failed} problem=${loaded.error} retry=${loaded.reload} />`}
    ${org && html`
      <dl class="props">
        <dt>Id</dt><dd><code>${org.id}</code></dd>
        ${org.external_id && html`<dt>External id</dt><dd><code>${org.external_id}</code></dd>`}
        <dt>Created</dt><dd><${Time} value=${org.created_at} /></dd>
        <dt>You</dt><dd>${admin ? 'An admin key: an owner of every organization' : me ? `${me.role}, level ${me.level}` : '—'}</dd>
      </dl>
      ${!manages && html`<p class="muted">Only the organization's owners and admins change its members and groups: this page is read-only for you.</p>`}
      ${note && html`<${Status}>${note}<//>`}
      <${Members} ...${ctx} />
      <${Groups} ...${ctx} />
      ${manages && html`<${AddMember} ...${ctx} />
        <${CreateGroup} base=${base} onCreated=${(g) => { setGroups((gs) => [...gs, g]); setNote(`Group ${g.name} is created.`); }} />`}`}
  <//>`;
}

/** Members lists the members; a manager edits a row's role and level, or removes the member. */
function Members({ base, session, manages, owner, name, members, setMembers, setNote }) {
  const [edits, setEdits] = useState({}); // user id → {role, level} as typed, until saved
  const [row, setRow] = useState(''); // the user id the last problem is about
  const box = useRef();
  const { busy, problem, submit } = useForm();
  const errors = problem ? problem.fieldErrors('body.') : {};
  // Only owners change an owner, or make one.
  const editable = (m) => manages && (owner || m.role !== 'owner');
  const value = (m) => ({ role: m.role, level: String(m.level), ...edits[m.user_id] });
  const edit = (m, field) => (v) => setEdits((e) => ({ ...e, [m.user_id]: { ...value(m), [field]: v } }));
  const mine = (m) => session.kind === 'user' && m.user_id === session.user.id;
  const act = (m, run) => {
    setRow(m.user_id);
    submit(run, box.current);
  };
  const save = (m) => act(m, async () => {
    const v = value(m);
    const now = (await call('PUT', `${base}/members/${enc(m.user_id)}`, { body: { role: v.role, level: toLevel(v.level) } })).data;
    setMembers((ms) => ms.map((x) => (x.user_id === m.user_id ? { ...x, role: now.role, level: now.level, updated_at: now.updated_at } : x)));
    setEdits(({ [m.user_id]: _, ...rest }) => rest);
    setNote(`${name(m)} is ${now.role} at level ${now.level}.`);
  });
  const remove = (m) => act(m, async () => {
    await call('DELETE', `${base}/members/${enc(m.user_id)}`);
    if (mine(m)) {
      navigate('/orgs'); // the org is no longer yours: back to the list, read again there
      return;
    }
    setMembers((ms) => ms.filter((x) => x.user_id !== m.user_id));
    setNote(`${name(m)} is removed from the organization and its groups.`);
  });
  const who = (m) => html`${name(m)}${mine(m) && ' (you)'}${name(m) !== m.user_id && html`<br /><code class="muted">${m.user_id}</code>`}`;
  const columns = [
    { label: 'Member', cell: who },
    {
      label: 'Role',
      cell: (m) => (editable(m)
        ? html`<${CellField} label=${`Role of ${name(m)}`} error=${row === m.user_id && errors.role}
            control=${(a) => html`<select ...${a} value=${value(m).role} onChange=${(e) => edit(m, 'role')(e.currentTarget.value)}>
              ${roles.filter((r) => owner || r.value !== 'owner').map((r) => html`<option value=${r.value}>${r.label}</option>`)}
            </select>`} />`
        : m.role),
    },
    {
      label: 'Level',
      cell: (m) => (editable(m)
        ? html`<${CellField} label=${`Level of ${name(m)}`} error=${row === m.user_id && errors.level}
            control=${(a) => html`<input ...${a} type="number" min="0" max="1000000" step="1" inputmode="numeric" value=${value(m).level}
              onInput=${(e) => edit(m, 'level')(e.currentTarget.value)} onKeyDown=${(e) => e.key === 'Enter' && save(m)} />`} />`
        : m.level),
    },
    { label: 'Since', cell: (m) => html`<${Time} value=${m.created_at} />` },
    {
      label: 'Action',
      cell: (m) => (editable(m) ? html`<span class="row-actions">
        <button type="button" disabled=${busy} onClick=${() => save(m)}>Save<span class="visually-hidden"> ${name(m)}</span></button>
        <${ConfirmButton} label=${html`Remove<span class="visually-hidden"> ${name(m)}</span>`} busy=${busy} confirmLabel="Remove"
          question=${mine(m) ? 'Leave this organization? You lose access to its data.' : `Remove ${name(m)} from the organization and its groups?`}
          onConfirm=${() => remove(m)} />
      </span>` : html`<span class="muted">—</span>`),
    },
  ];
  return html`<section ref=${box} class="org-members" aria-labelledby="members-head">
    <h2 id="members-head">Members</h2>
    <p class="muted">A member's level gates what they may do in the apps (creating a chat room needs level 100, for instance).</p>
    <${ProblemAlert} problem=${problem} shown=${rowFields} />
    <${Table} caption="Members" columns=${columns} rows=${members} rowKey=${(m) => m.user_id} empty="No member." />
  </section>`;
}

/** CellField is a control in a table cell: its label for assistive technology only (the column heading shows it), its error under it. */
function CellField({ label, error, control }) {
  const id = useId();
  const errId = error ? `${id}-error` : undefined;
  return html`<div class=${error ? 'invalid' : undefined}>
    <label class="visually-hidden" for=${id}>${label}</label>
    ${control({ id, 'aria-describedby': errId, 'aria-invalid': error ? 'true' : undefined })}
    ${error && html`<p class="error" id=${errId}>${error}</p>`}
  </div>`;
}

/** AddMember adds a user (by id) with a role and level; a member already in gets the new role and level. */
function AddMember({ base, owner, setMembers, setNote }) {
  const [v, setV] = useState({ user: '', role: 'member', level: '0' });
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const errors = problem ? problem.fieldErrors('') : {};
  const set = (k) => (x) => setV({ ...v, [k]: x });
  const add = (e) => {
    e.preventDefault();
    submit(async () => {
      const user = v.user.trim();
      const res = await call('PUT', `${base}/members/${enc(user)}`, { body: { role: v.role, level: toLevel(v.level) } });
      const m = res.data;
      setMembers((ms) => (res.status === 201 ? [...ms, { ...m, groups: [] }] : ms.map((x) => (x.user_id === m.user_id ? { ...x, ...m, groups: x.groups } : x))));
      setNote(`${user} is ${res.status === 201 ? 'added' : 'already a member: changed'} (${m.role}, level ${m.level}).`);
      setV({ user: '', role: 'member', level: '0' });
    }, form.current);
  };
  return html`<h2>Add a member</h2>
    <form ref=${form} class="card record-form" onSubmit=${add} novalidate aria-label="Add a member">
      <${ProblemAlert} problem=${problem} shown=${['path.user_id', 'body.role', 'body.level']} />
      <${Input} label="User id" required value=${v.user} onValue=${set('user')} error=${errors['path.user_id']} spellcheck="false" autocomplete="off"
        hint="The user's id (a user finds theirs on the Messaging page)." />
      <${Select} label="Role" value=${v.role} onValue=${set('role')} error=${errors['body.role']}
        options=${roles.filter((r) => owner || r.value !== 'owner')} />
      <${Input} label="Level" type="number" min="0" max="1000000" step="1" inputmode="numeric" value=${v.level} onValue=${set('level')} error=${errors['body.level']} />
      <button type="submit" disabled=${busy}>Add member</button>
    </form>`;
}

/** Groups shows who is in which group (the members' groups field); a manager ticks a box to add or remove. */
function Groups({ base, manages, name, members, setMembers, groups, setNote }) {
  const { busy, problem, submit } = useForm();
  const toggle = (m, g, on) => submit(async () => {
    await call(on ? 'PUT' : 'DELETE', `${base}/groups/${enc(g.id)}/members/${enc(m.user_id)}`);
    setMembers((ms) => ms.map((x) => (x.user_id !== m.user_id ? x
      : { ...x, groups: on ? [...(x.groups || []), g.id] : (x.groups || []).filter((id) => id !== g.id) })));
    setNote(`${name(m)} is ${on ? 'added to' : 'taken out of'} ${g.name}.`);
  });
  const columns = [
    { label: 'Member', cell: (m) => name(m) },
    ...groups.map((g) => ({
      label: g.name,
      cell: (m) => {
        const on = (m.groups || []).includes(g.id);
        return html`<label><input type="checkbox" checked=${on} disabled=${!manages || busy}
          onChange=${(e) => toggle(m, g, e.currentTarget.checked)} /><span class="visually-hidden">${name(m)} in ${g.name}</span></label>`;
      },
    })),
  ];
  return html`<section aria-labelledby="groups-head">
    <h2 id="groups-head">Groups</h2>
    <p class="muted">Groups (the files app's spaces) gather some of the org's members; a file can be shared with one.</p>
    <${ProblemAlert} problem=${problem} />
    ${groups.length
      ? html`<${Table} caption="Group membership" columns=${columns} rows=${members} rowKey=${(m) => m.user_id} empty="No member." />`
      : html`<p class="empty">No group yet.</p>`}
  </section>`;
}

/** CreateGroup names and creates a group (names are unique in the org: a second one is a 409). */
function CreateGroup({ base, onCreated }) {
  const [name, setName] = useState('');
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const create = (e) => {
    e.preventDefault();
    submit(async () => {
      onCreated((await call('POST', `${base}/groups`, { body: { name: name.trim() } })).data);
      setName('');
    }, form.current);
  };
  return html`<h2>Create a group</h2>
    <form ref=${form} class="card narrow" onSubmit=${create} novalidate aria-label="Create a group">
      <${ProblemAlert} problem=${problem} shown=${['body.name']} />
      <${Input} label="Group name" required value=${name} onValue=${setName} error=${problem?.fieldErrors('body.').name} />
      <button type="submit" disabled=${busy}>Create group</button>
    </form>`;
}
