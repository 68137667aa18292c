// The manager's views: creating one's restaurant (a user of the
// restaurants-staff client who works nowhere yet), and its settings: name
// and description, visibility, the profile photo and the staff.
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { flash, takeFlash } from '../../core/flash.js';
import { Problem, request } from '../../core/http.js';
import { navigate } from '../../core/router.js';
import { refresh } from '../../core/session.js';
import { ConfirmButton, Failed, Field, Input, Loading, Notice, Page, ProblemAlert, Select, Status, Table, TextArea, useForm, useLoad } from '../../core/ui.js';
import { errorAt, isStaff, loadMe } from './common.js';

const home = { href: '#/restaurants', label: 'Restaurants' };

/** STAFF_CLIENT is the app client a restaurant's staff sign up with. */
const STAFF_CLIENT = 'restaurants-staff';

/** How long the photo's processing is awaited, and how often the restaurant is read meanwhile. */
const PROCESS_MS = 60_000;
const POLL_MS = 500;

const ROLES = [{ value: 'STAFF', label: 'Staff' }, { value: 'MANAGER', label: 'Manager' }];

/** YourId shows the caller's user id: what a manager adds to the staff. */
function YourId({ me }) {
  return html`<p>Your user id, for a manager to add you to their staff: <code class="wrap">${me.userId}</code></p>`;
}

/** StaffSetup tells a staff-client user who works nowhere yet what to do; null for anyone else. */
export function StaffSetup({ me }) {
  if (me.clientId !== STAFF_CLIENT || isStaff(me)) return null;
  return html`<${Notice} title="Run a restaurant">
    <p>You signed up as restaurant staff and work at no restaurant yet: <a href="#/restaurants/new">create your restaurant</a>, or ask a restaurant's manager to add you.</p>
    <${YourId} me=${me} />
  <//>`;
}

/** Create creates the caller's restaurant; they become its manager. */
export function Create() {
  const me = useLoad(loadMe, []);
  const title = 'Create your restaurant';
  if (me.loading) return html`<${Page} title=${title} crumbs=${[home]}><${Loading} /><//>`;
  if (me.error) return html`<${Page} title=${title} crumbs=${[home]}><${Failed} problem=${me.error} retry=${me.reload} /><//>`;
  if (isStaff(me.data)) {
    return html`<${Page} title=${title} crumbs=${[home]}><${Notice} title="You work at a restaurant">
      <p>A user works at one restaurant at most. <a href="#/restaurants/board">Open its board</a>.</p>
    <//><//>`;
  }
  if (me.data.clientId !== STAFF_CLIENT) {
    return html`<${Page} title=${title} crumbs=${[home]}><${Notice} title="A staff account is needed">
      <p>Restaurants are created by accounts signed up for the <code>${STAFF_CLIENT}</code> app client; yours books tables.
        <a href=${`#/signup?client=${STAFF_CLIENT}`}>Create a staff account</a> (another email address).</p>
    <//><//>`;
  }
  return html`<${CreateForm} title=${title} />`;
}

function CreateForm({ title }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [region, setRegion] = useState('');
  const form = useForm();
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    form.submit(async () => {
      const r = (await api('POST', '/restaurants', { body: { name, description, region } })).data;
      // The token's custom:restaurantId and custom:restaurantRole mirror
      // the new role once refreshed; the views read it from /restaurants/me.
      // The restaurant exists either way: a failed refresh is retried by
      // the session's timer, or ends the session, and is not this form's.
      await refresh().catch(() => {});
      flash(`${r.name} is created, and you are its manager. It stays private until you make it public.`);
      navigate('/restaurants/settings');
    }, el);
  };
  const p = form.problem;
  return html`<${Page} title=${title} crumbs=${[home]}>
    <form class="card narrow" onSubmit=${send} novalidate aria-label=${title}>
      <${ProblemAlert} problem=${p} shown=${['body.name', 'body.description', 'body.region']} />
      <${Input} label="Name" required value=${name} onValue=${setName} error=${errorAt(p, 'body.name')} />
      <${TextArea} label="Description" hint="At most 2000 characters." value=${description} onValue=${setDescription} error=${errorAt(p, 'body.description')} />
      <${Input} label="Region" required hint="NORTH, SOUTH, EAST or WEST unless the node is configured otherwise." value=${region} onValue=${setRegion}
        error=${errorAt(p, 'body.region')} />
      <button type="submit" disabled=${form.busy}>Create the restaurant</button>
    </form>
  <//>`;
}

/** Settings is the manager's page of their restaurant. */
export function Settings() {
  const me = useLoad(loadMe, []);
  const title = 'Restaurant settings';
  if (me.loading) return html`<${Page} title=${title} crumbs=${[home]}><${Loading} /><//>`;
  if (me.error) return html`<${Page} title=${title} crumbs=${[home]}><${Failed} problem=${me.error} retry=${me.reload} /><//>`;
  if (me.data.role !== 'MANAGER') {
    return html`<${Page} title=${title} crumbs=${[home]}>
      <${Notice} title="For a restaurant's manager">
        <p>${isStaff(me.data) ? 'You are on the staff: the manager changes the restaurant and its staff.' : 'You manage no restaurant.'}</p>
      <//>
      <${StaffSetup} me=${me.data} />
    <//>`;
  }
  return html`<${ManagerSettings} me=${me.data} />`;
}

function ManagerSettings({ me }) {
  const [message] = useState(takeFlash);
  const loaded = useLoad(() => api('GET', `/restaurants/${me.restaurantId}`).then((r) => r.data), [me.restaurantId]);
  const [saved, setSaved] = useState(null); // the latest answer of a change, newer than the load
  const r = saved || loaded.data;
  const title = r ? `Restaurant settings: ${r.name}` : 'Restaurant settings';
  return html`<${Page} title=${title} crumbs=${[home, { href: '#/restaurants/board', label: 'Seating board' }]}>
    ${message && html`<${Status}>${message}<//>`}
    ${loaded.loading && !r && html`<${Loading} />`}
    ${loaded.error && html`<${Failed} problem=${loaded.error} retry=${loaded.reload} />`}
    ${r && html`
      <${Details} restaurant=${r} onSaved=${setSaved} />
      <${Visibility} restaurant=${r} onSaved=${setSaved} />
      <${Photo} restaurant=${r} onSaved=${setSaved} />
      <${StaffList} me=${me} restaurantId=${r.id} />`}
  <//>`;
}

/** Details edits the name and the description. */
function Details({ restaurant, onSaved }) {
  const [name, setName] = useState(restaurant.name);
  const [description, setDescription] = useState(restaurant.description);
  const [done, setDone] = useState('');
  const form = useForm();
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    setDone('');
    form.submit(async () => {
      onSaved((await api('PATCH', `/restaurants/${restaurant.id}`, { body: { name, description } })).data);
      setDone('Saved.');
    }, el);
  };
  const p = form.problem;
  return html`<section class="card" aria-labelledby="details-h">
    <h2 id="details-h">Name and description</h2>
    <form onSubmit=${send} novalidate>
      <${ProblemAlert} problem=${p} shown=${['body.name', 'body.description']} />
      <${Input} label="Name" required value=${name} onValue=${setName} error=${errorAt(p, 'body.name')} />
      <${TextArea} label="Description" hint="At most 2000 characters." value=${description} onValue=${setDescription} error=${errorAt(p, 'body.description')} />
      <p class="muted">Region: ${restaurant.region} (a restaurant keeps its region).</p>
      <div class="buttons"><button type="submit" disabled=${form.busy}>Save</button></div>
    </form>
    ${done && html`<${Status}>${done}<//>`}
  </section>`;
}

/** Visibility switches the restaurant between private (its staff only) and public. */
function Visibility({ restaurant, onSaved }) {
  const form = useForm();
  const open = restaurant.visibility === 'PUBLIC';
  const toggle = () => form.submit(async () => {
    onSaved((await api('PATCH', `/restaurants/${restaurant.id}/visibility`, { body: { visibility: open ? 'PRIVATE' : 'PUBLIC' } })).data);
  });
  return html`<section class="card" aria-labelledby="visibility-h">
    <h2 id="visibility-h">Visibility</h2>
    <${ProblemAlert} problem=${form.problem} />
    <p><strong>${open ? 'Public' : 'Private'}</strong>: ${open
      ? `customers find it in ${restaurant.region} and book tables.`
      : 'only its staff see it, and it takes no seatings.'}</p>
    <button type="button" class="secondary" disabled=${form.busy} onClick=${toggle}>${open ? 'Make it private' : 'Make it public'}</button>
  </section>`;
}

/** pathOf is a URL's path: signed URLs of one object differ only in their query. */
const pathOf = (url) => (url ? new URL(url, location.href).pathname : '');

/** sleep resolves after ms. */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const refused = (detail) => new Problem({ title: 'Photo refused', detail, errors: [{ location: 'file', message: detail }] });

/**
 * putTo PUTs file to the signed upload URL up. The URL may be the blob
 * store's (S3), on another origin: the page's policy allows it, but the
 * bucket must also allow the browser's PUT (CORS), which a network error
 * there most likely means it does not.
 */
async function putTo(up, file) {
  try {
    await request(up.method, up.upload_url, { body: file, headers: up.headers });
  } catch (p) {
    const origin = new URL(up.upload_url, location.href).origin;
    if (p.status !== 0 || origin === location.origin) throw p;
    throw new Problem({
      title: 'The blob store refused the upload',
      detail: `Photos go straight to the blob store at ${origin}, which did not take this page's upload: its bucket must allow PUT from ${location.origin} (CORS, docs/operations.md).`,
    });
  }
}

/**
 * Photo uploads a new profile photo: a signed upload URL (POST …/photo),
 * the bytes PUT to it, then the restaurant read until its photo is the
 * processed upload. The server takes PNG, JPEG and WebP images it can
 * decode; one it refuses leaves the photo as it was, and the restaurant's
 * photoRejection says why.
 */
function Photo({ restaurant, onSaved }) {
  const [file, setFile] = useState(null);
  const [state, setState] = useState('');
  const form = useForm();
  const input = useRef(null);
  const mounted = useRef(true);
  useEffect(() => () => {
    mounted.current = false;
  }, []);
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    setState('');
    form.submit(async () => {
      if (!file) throw refused('Choose a photo first.');
      const up = (await api('POST', `/restaurants/${restaurant.id}/photo`)).data;
      if (file.size > up.max_bytes) throw refused(`${file.name} is larger than the ${Math.floor(up.max_bytes / 1048576)} MiB a photo may be.`);
      // The outcome is the first change after the upload: a new photo, or a
      // new refusal (photoRejection, which its staff see).
      const now = (await api('GET', `/restaurants/${restaurant.id}`)).data;
      const before = { photo: pathOf(now.profilePhotoUrl), refusal: now.photoRejection?.at || '' };
      setState(`Uploading ${file.name}…`);
      await putTo(up, file);
      setState('Uploaded: the server checks and scales the photo…');
      for (const end = Date.now() + PROCESS_MS; Date.now() < end && mounted.current;) {
        await sleep(POLL_MS);
        const r = (await api('GET', `/restaurants/${restaurant.id}`)).data;
        if (pathOf(r.profilePhotoUrl) !== before.photo) {
          onSaved(r);
          setState('The new photo is in place.');
          setFile(null);
          if (input.current) input.current.value = '';
          return;
        }
        if (r.photoRejection && r.photoRejection.at !== before.refusal) {
          setState('');
          throw refused(`The server refused ${file.name}: ${r.photoRejection.reason}. The previous photo stays.`);
        }
      }
      if (!mounted.current) return;
      setState(`The server is still processing ${file.name}: reload the page later to see the photo.`);
    }, el);
  };
  return html`<section class="card" aria-labelledby="photo-h">
    <h2 id="photo-h">Photo</h2>
    ${restaurant.thumbnailUrl
      ? html`<figure>
          <img src=${restaurant.thumbnailUrl} alt=${`Photo of ${restaurant.name}`} id="restaurant-thumbnail" />
          <figcaption><a href=${restaurant.profilePhotoUrl}>The photo in full (1024 pixels)</a></figcaption>
        </figure>`
      : html`<p class="muted">No photo yet.</p>`}
    <form onSubmit=${send} novalidate aria-label="Upload a photo">
      <${ProblemAlert} problem=${form.problem} shown=${['file']} />
      <div class="inline-form">
        <${Field} label="Photo" required hint="PNG, JPEG or WebP, at most 10 MiB; it is scaled to 1024 pixels and its metadata dropped."
          error=${form.problem?.fieldErrors('')['file']}
          control=${(a) => html`<input type="file" accept="image/png,image/jpeg,image/webp" ...${a} ref=${input}
            onChange=${(e) => setFile(e.currentTarget.files[0] || null)} />`} />
        <button type="submit" disabled=${form.busy}>Upload photo</button>
      </div>
    </form>
    ${state && html`<${Status}>${state}<//>`}
  </section>`;
}

/**
 * StaffList lists the restaurant's staff (GET /restaurants/me/staff), adds
 * staff members, changes their role and removes them; the list is read
 * again after each change.
 */
function StaffList({ me, restaurantId }) {
  const staff = useLoad(async () => (await api('GET', '/restaurants/me/staff')).data.items, []);
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState('STAFF');
  const [done, setDone] = useState('');
  const form = useForm();
  const who = (s) => s.name || s.email || s.userId;
  const path = (id) => `/restaurants/${restaurantId}/staff/${encodeURIComponent(id)}`;
  // Changing one's own place leaves the manager's page: the restaurants home shows what is theirs now.
  const after = (id) => {
    if (id === me.userId) navigate('/restaurants');
    else staff.reload();
  };
  const put = (id, r) => form.submit(async () => {
    setDone('');
    const s = (await api('PUT', path(id), { body: { role: r } })).data;
    setDone(`${who(s)} is on the staff as ${r === 'MANAGER' ? 'a manager' : 'staff'}.`);
    if (id === userId.trim()) setUserId(''); // added through the form
    after(id);
  });
  const remove = (s) => form.submit(async () => {
    setDone('');
    await api('DELETE', path(s.userId));
    setDone(`${who(s)} is removed from the staff.`);
    after(s.userId);
  });
  const add = (e) => {
    e.preventDefault();
    const id = userId.trim();
    if (id) put(id, role);
    else form.setProblem(new Problem({ title: 'No user id', detail: 'Give the user id of the person to add.', errors: [{ location: 'path.user_id', message: 'Give their user id.' }] }));
  };
  const columns = [
    { label: 'Name', cell: (s) => html`${who(s)}${s.userId === me.userId ? ' (you)' : ''}` },
    { label: 'User id', cell: (s) => html`<code>${s.userId}</code>` },
    { label: 'Role', cell: (s) => (s.role === 'MANAGER' ? 'Manager' : 'Staff') },
    {
      label: 'Actions',
      cell: (s) => html`<span class="row-actions">
        <button type="button" class="secondary" disabled=${form.busy} onClick=${() => put(s.userId, s.role === 'MANAGER' ? 'STAFF' : 'MANAGER')}>
          ${s.role === 'MANAGER' ? `Make ${who(s)} staff` : `Make ${who(s)} a manager`}</button>
        <${ConfirmButton} label=${`Remove ${who(s)}`} question=${`Remove ${who(s)} from the staff?`} confirmLabel="Yes, remove"
          busy=${form.busy} onConfirm=${() => remove(s)} />
      </span>`,
    },
  ];
  return html`<section class="card" aria-labelledby="staff-h">
    <h2 id="staff-h">Staff</h2>
    <p class="muted">Everyone working here, in the order they joined. A restaurant always keeps a manager.</p>
    <${ProblemAlert} problem=${form.problem} shown=${['path.user_id', 'body.role']} />
    ${done && html`<${Status}>${done}<//>`}
    ${staff.error && html`<${Failed} problem=${staff.error} retry=${staff.reload} />`}
    ${staff.data ? html`<${Table} caption="Staff" columns=${columns} rows=${staff.data} rowKey=${(s) => s.userId} />` : staff.loading && html`<${Loading} what="Reading the staff" />`}
    <form class="inline-form" onSubmit=${add} novalidate aria-label="Add a staff member">
      <${Input} label="User id" required spellcheck="false" hint="They sign up with the restaurants-staff client and find their id on the Restaurants page."
        value=${userId} onValue=${setUserId} error=${errorAt(form.problem, 'path.user_id')} />
      <${Select} label="Role" value=${role} onValue=${setRole} options=${ROLES} error=${errorAt(form.problem, 'body.role')} />
      <button type="submit" disabled=${form.busy}>Add to the staff</button>
    </form>
  </section>`;
}
