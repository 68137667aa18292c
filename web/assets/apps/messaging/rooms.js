// Messaging: the rooms the signed-in user belongs to or is invited to
// (GET /messaging/rooms), answering invitations, and creating a room.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { takeFlash } from '../../core/flash.js';
import { navigate } from '../../core/router.js';
import { Failed, Input, Loading, Page, ProblemAlert, Select, Status, Table, Time, useForm, useLoad } from '../../core/ui.js';

/** perms spells a rule's letters for people: "rwa" → "read, write, admin". */
export function perms(letters) {
  const names = { r: 'read', w: 'write', a: 'admin', b: 'banned' };
  return [...(letters || '')].map((l) => names[l] || l).join(', ') || 'none';
}

export function Rooms({ session }) {
  const rooms = useLoad(() => api('GET', '/messaging/rooms', { params: { limit: 100 } }).then((r) => r.data.items), []);
  const [note, setNote] = useState(takeFlash);
  const answer = useForm();
  const reply = (item, accepted) => answer.submit(async () => {
    const body = { accepted };
    if (item.rule.kind === 'entity') body.use_parent_entity = true;
    await api('PUT', `/messaging/rooms/${item.room.id}/invitation`, { body });
    setNote(accepted ? `You joined ${item.room.name}.` : `You declined ${item.room.name}.`);
    rooms.reload();
  });
  const columns = [
    { label: 'Room', cell: (i) => html`<a href=${`#/messaging/${i.room.id}`}>${i.room.name}</a>` },
    { label: 'Type', cell: (i) => (i.room.type === 'user2user' ? 'Two people' : 'Group') },
    { label: 'Your rights', cell: (i) => perms(i.rule.permissions) },
    {
      label: 'Membership',
      cell: (i) => (i.rule.accepted
        ? 'Member'
        : html`<span class="row-actions"><span>Invited</span>
            <button type="button" disabled=${answer.busy} onClick=${() => reply(i, true)} aria-label=${`Accept the invitation to ${i.room.name}`}>Accept</button>
            <button type="button" class="secondary" disabled=${answer.busy} onClick=${() => reply(i, false)} aria-label=${`Decline the invitation to ${i.room.name}`}>Decline</button>
          </span>`),
    },
    { label: 'Created', cell: (i) => html`<${Time} value=${i.room.created_at} />` },
  ];
  return html`<${Page} title="Rooms">
    <p class="muted">Your user id, for a room admin to add you: <code>${session.user.id}</code></p>
    ${note && html`<${Status}>${note}<//>`}
    <${ProblemAlert} problem=${answer.problem} />
    ${rooms.loading && !rooms.data && html`<${Loading} what="Loading rooms" />`}
    ${rooms.error && html`<${Failed} problem=${rooms.error} retry=${rooms.reload} />`}
    ${rooms.data && html`<${Table} caption="Rooms" columns=${columns} rows=${rooms.data} rowKey=${(i) => i.room.id}
      empty="No room yet: create one, or ask a room's admin to add you." />`}
    <${CreateRoom} />
  <//>`;
}

/** CreateRoom posts a room and opens it; the server's 422s show next to their fields. */
function CreateRoom() {
  const [name, setName] = useState('');
  const [type, setType] = useState('group');
  const [levelAdmin, setLevelAdmin] = useState('100');
  const { busy, problem, submit } = useForm();
  const errors = problem ? problem.fieldErrors('body.') : {};
  const create = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    submit(async () => {
      const n = Number(levelAdmin);
      const body = { name, type, level_admin: levelAdmin.trim() !== '' && Number.isFinite(n) ? n : levelAdmin };
      const room = (await api('POST', '/messaging/rooms', { body })).data;
      navigate(`/messaging/${room.id}`);
    }, form);
  };
  return html`<section aria-labelledby="new-room">
    <h2 id="new-room" class="section-head">New room</h2>
    <p class="muted">Creating a room needs level 100 or more in the organization chosen above (an owner or admin sets members' levels).</p>
    <form class="record-form" novalidate onSubmit=${create}>
      <${ProblemAlert} problem=${problem} shown=${['body.name', 'body.type', 'body.level_admin']} />
      <${Input} label="Name" required maxlength="30" value=${name} onValue=${setName} error=${errors.name} hint="1 to 30 characters." />
      <${Select} label="Type" value=${type} onValue=${setType} error=${errors.type}
        options=${[{ value: 'group', label: 'Group: your organization may join' }, { value: 'user2user', label: 'Two people' }]} />
      <${Input} label="Admin level" type="number" min="0" max="1000000" step="1" required value=${levelAdmin} onValue=${setLevelAdmin}
        error=${errors.level_admin} hint="Members of your organization at this level or above administer the room." />
      <button type="submit" disabled=${busy}>Create room</button>
    </form>
  </section>`;
}
