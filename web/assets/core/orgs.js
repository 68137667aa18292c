// A user's organizations: the switcher in the header (its choice goes out
// as X-Org-ID on every request) and the page listing and creating them;
// each links to its page of members and groups (org.js).
import { html, useEffect, useRef, useState } from './html.js';
import { api } from './api.js';
import { current, update } from './session.js';
import { Input, Page, ProblemAlert, Status, Table, Time, useForm } from './ui.js';

// Counts reloadOrgs calls (this module's, on the one UI thread): only the
// latest call's answer is applied, so a slow older read cannot undo a newer one.
let reloads = 0;

/** reloadOrgs reads the user's orgs again, keeping the choice (or choosing choose) when it is one of them. */
async function reloadOrgs(choose) {
  const mine = ++reloads;
  const orgs = (await api('GET', '/orgs', { params: { limit: 500 }, org: false })).data.items;
  if (mine !== reloads) return;
  const want = choose || current()?.orgId;
  update({ orgs, orgId: orgs.some((o) => o.id === want) ? want : orgs[0]?.id || '' });
}

/** OrgSwitcher chooses the org the apps act in, and links to its members and groups (core/org.js). */
export function OrgSwitcher({ session }) {
  if (!session.orgs.length) return html`<a href="#/orgs">Create an organization</a>`;
  return html`<div class="org-switch">
    <label for="org-switch">Organization</label>
    <select id="org-switch" value=${session.orgId} onChange=${(e) => update({ orgId: e.currentTarget.value })}>
      ${session.orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
    </select>
    <a href=${`#/orgs/${encodeURIComponent(session.orgId)}`}>Members</a>
  </div>`;
}

/** Orgs lists the user's orgs (read again on opening: one may have been joined since) and creates one (the creator becomes its owner). */
export function Orgs({ session }) {
  useEffect(() => {
    reloadOrgs().catch(() => {});
  }, []);
  const [name, setName] = useState('');
  const [done, setDone] = useState('');
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const create = (e) => {
    e.preventDefault();
    submit(async () => {
      const org = (await api('POST', '/orgs', { body: { name: name.trim() }, org: false })).data;
      await reloadOrgs(org.id);
      setName('');
      setDone(`${org.name} is created and chosen.`);
    }, form.current);
  };
  const columns = [
    { label: 'Name', cell: (o) => html`<a href=${`#/orgs/${encodeURIComponent(o.id)}`}>${o.name}</a>` },
    { label: 'Id', cell: (o) => html`<code>${o.id}</code>` },
    { label: 'Created', cell: (o) => html`<${Time} value=${o.created_at} />` },
    { label: 'In use', cell: (o) => (o.id === session.orgId ? 'Yes' : html`<button type="button" class="secondary" onClick=${() => update({ orgId: o.id })}>Use ${o.name}</button>`) },
  ];
  return html`<${Page} title="Organizations">
    <p>The apps act in the organization chosen in the header: records, files and the rest belong to it.</p>
    <${Table} caption="Your organizations" columns=${columns} rows=${session.orgs} empty="You are in no organization yet: create one below." />
    <h2>Create an organization</h2>
    ${done && html`<${Status}>${done}<//>`}
    <form ref=${form} class="card narrow" onSubmit=${create} novalidate aria-label="Create an organization">
      <${ProblemAlert} problem=${problem} shown=${['body.name']} />
      <${Input} label="Name" name="name" required value=${name} onValue=${setName} error=${problem?.fieldErrors('body.').name} />
      <button type="submit" disabled=${busy}>Create</button>
    </form>
  <//>`;
}
