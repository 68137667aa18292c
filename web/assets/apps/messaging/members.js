// Messaging: a room's members and their rules (who reads, writes, is
// banned or administers), the rule editor (PUT members) and deleting the
// room. Only the room's admins may change them: the server says so (403).
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { navigate } from '../../core/router.js';
import { ConfirmButton, Failed, Input, Loading, Page, ProblemAlert, Select, Status, Table, useForm } from '../../core/ui.js';
import { flash } from '../../core/flash.js';
import { perms } from './rooms.js';
import { crumbs, useRoom } from './room.js';

export function Members({ params, session }) {
  const room = useRoom(params.id);
  const [note, setNote] = useState('');
  const [editing, setEditing] = useState(null); // the rule loaded into the editor
  const [saves, setSaves] = useState(0); // a new key after each save empties the editor
  const act = useForm();
  const base = `/messaging/rooms/${encodeURIComponent(params.id)}`;
  const remove = (rule) => act.submit(async () => {
    await api('DELETE', `${base}/members/${encodeURIComponent(rule.entity_UUID)}`);
    setNote(`${rule.entity_UUID} is removed.`);
    room.reload();
  });
  const destroy = () => act.submit(async () => {
    await api('DELETE', base);
    flash(`Room ${room.data.room.name} is deleted.`);
    navigate('/messaging');
  });
  const who = (r) => (r.entity_UUID === session.user.id ? html`<code>${r.entity_UUID}</code> (you)` : html`<code>${r.entity_UUID}</code>`);
  const columns = [
    { label: 'Member', cell: who },
    { label: 'Kind', cell: (r) => (r.kind === 'entity' ? 'Organization' : 'User') },
    { label: 'From level', cell: (r) => r.level },
    { label: 'Rights', cell: (r) => perms(r.permissions) },
    { label: 'Accepted', cell: (r) => (r.accepted ? 'Yes' : 'Not yet') },
    {
      label: 'Action',
      cell: (r) => html`<span class="row-actions">
        <button type="button" class="secondary" onClick=${() => setEditing({ ...r })} aria-label=${`Edit the rule of ${r.entity_UUID}`}>Edit</button>
        <${ConfirmButton} label="Remove" busy=${act.busy} question=${`Remove ${r.entity_UUID} from the room?`} onConfirm=${() => remove(r)} />
      </span>`,
    },
  ];
  const name = room.data?.room.name;
  return html`<${Page} title=${name ? `Members of ${name}` : 'Members'}
    crumbs=${[...crumbs, { label: name || 'Room', href: `#/messaging/${params.id}` }]}>
    ${note && html`<${Status}>${note}<//>`}
    <${ProblemAlert} problem=${act.problem} />
    ${room.loading && !room.data && html`<${Loading} what="Loading the members" />`}
    ${room.error && html`<${Failed} problem=${room.error} retry=${room.reload} />`}
    ${room.data && html`
      <p class="muted">Owned by organization <code>${room.data.room.entity_owner}</code>; its members at level
        ${' '}${room.data.room.level_admin} or above administer it.</p>
      <${Table} caption="Members" columns=${columns} rows=${room.data.rules} rowKey=${(r) => r.entity_UUID} empty="No rule." />
      <${RuleEditor} key=${editing ? `edit-${editing.entity_UUID}` : `new-${saves}`} base=${base} rule=${editing}
        onCancel=${() => setEditing(null)}
        onSaved=${(r, created) => { setNote(`${r.entity_UUID} is ${created ? 'added (invited)' : 'changed'}.`); setEditing(null); setSaves((x) => x + 1); room.reload(); }} />
      <h2 class="section-head">Delete the room</h2>
      <p><${ConfirmButton} label="Delete room" busy=${act.busy} question="Delete this room, its rules and its history?" onConfirm=${destroy} /></p>`}
  <//>`;
}

/** RuleEditor adds a member or changes a rule (PUT …/members); 422s show next to their fields. */
function RuleEditor({ base, rule, onSaved, onCancel }) {
  const [v, setV] = useState(() => ({
    entity_UUID: rule?.entity_UUID || '',
    kind: rule?.kind || 'user',
    level: String(rule?.level ?? 0),
    permissions: rule?.permissions ?? 'rw',
  }));
  const { busy, problem, submit } = useForm();
  const errors = problem ? problem.fieldErrors('body.') : {};
  const set = (k) => (x) => setV({ ...v, [k]: x });
  const save = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    submit(async () => {
      const n = Number(v.level);
      const body = { ...v, level: v.level.trim() !== '' && Number.isFinite(n) ? n : v.level };
      const res = await api('PUT', `${base}/members`, { body });
      onSaved(res.data, res.status === 201);
    }, form);
  };
  return html`<section aria-labelledby="rule-head">
    <h2 id="rule-head" class="section-head">${rule ? `Change the rule of ${rule.entity_UUID}` : 'Add a member'}</h2>
    <form class="record-form" novalidate onSubmit=${save}>
      <${ProblemAlert} problem=${problem} shown=${['body.entity_UUID', 'body.kind', 'body.level', 'body.permissions']} />
      <${Input} label="User or organization id" required value=${v.entity_UUID} onValue=${set('entity_UUID')} error=${errors.entity_UUID}
        readonly=${!!rule} hint="A user's id (shown on their Rooms page) or an organization's." />
      <${Select} label="Kind" value=${v.kind} onValue=${set('kind')} error=${errors.kind}
        options=${[{ value: 'user', label: 'A user' }, { value: 'entity', label: 'An organization (its members from a level)' }]} />
      <${Input} label="Level" type="number" min="0" max="1000000" step="1" value=${v.level} onValue=${set('level')} error=${errors.level}
        hint="For an organization: its members at this level or above." />
      <${Input} label="Permissions" required value=${v.permissions} onValue=${set('permissions')} error=${errors.permissions}
        hint="Letters: r read, w write, a admin, b banned (a ban overrides the rest)." />
      <div class="buttons">
        <button type="submit" disabled=${busy}>${rule ? 'Save rule' : 'Add member'}</button>
        ${rule && html`<button type="button" class="secondary" onClick=${onCancel}>Cancel</button>`}
      </div>
    </form>
  </section>`;
}
