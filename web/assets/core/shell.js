// The console's frame: the header (apps, org switcher, account), the main
// landmark, and the choice of what it shows: a signed-out view, or the
// first route of an app matching the hash, behind the app's guard (user or
// admin key, an org). Apps come in as a list of descriptors (apps/index.js);
// nothing here names one.
import { html, useEffect, useRef, useState } from './html.js';
import { match, navigate, useRoute } from './router.js';
import { current, signOut, subscribe } from './session.js';
import { Confirm, SignIn, SignUp } from './auth.js';
import { OrgSwitcher, Orgs } from './orgs.js';
import { OrgPage } from './org.js';
import { Notice, Page, Redirect } from './ui.js';

const signedOut = { '/signin': SignIn, '/signup': SignUp, '/confirm': Confirm };

function useSession() {
  const [s, setS] = useState(current);
  useEffect(() => subscribe(setS), []);
  return s;
}

/**
 * Console renders the whole page for apps: descriptors {id, title,
 * description, audience ('user' or 'admin'), needsOrg, routes: [{path, view}]}.
 */
export function Console({ apps }) {
  const session = useSession();
  const route = useRoute();
  const landed = useRef(false);
  // A new page moves the focus to its heading, as a page load would.
  useEffect(() => {
    if (landed.current) document.querySelector('main h1')?.focus();
    landed.current = true;
  }, [route.path, session?.kind]);
  const focusMain = () => document.getElementById('main')?.focus();
  return html`
    <button type="button" class="skip" onClick=${focusMain}>Skip to content</button>
    <${Header} apps=${apps} session=${session} path=${route.path} />
    <main id="main" tabindex="-1">${resolve(apps, session, route)}</main>`;
}

function resolve(apps, session, route) {
  const open = signedOut[route.path];
  if (open) return html`<${open} key=${route.path} query=${route.query} here=${route.path} />`;
  if (!session) return html`<${SignIn} key="signin" query=${route.query} here=${route.path} />`;
  if (route.path === '/') {
    return session.kind === 'admin' ? html`<${Redirect} to="/admin" />` : html`<${Home} apps=${apps} session=${session} />`;
  }
  if (route.path === '/orgs' && session.kind === 'user') return html`<${Orgs} session=${session} />`;
  const org = match('/orgs/:id', route.path); // a user's org, or any org for an admin key
  if (org) return html`<${OrgPage} key=${route.path} id=${org.id} session=${session} />`;
  for (const app of apps) {
    for (const r of app.routes) {
      const params = match(r.path, route.path);
      if (params) {
        // The key remounts a view when the page or the org changes: no state leaks between them.
        const key = `${session.orgId || ''}${route.path}`;
        return guard(app, session, html`<${r.view} key=${key} params=${params} query=${route.query} session=${session} />`);
      }
    }
  }
  return html`<${Page} title="Not found"><p>No page here. <a href="#/">Go to the start page</a>.</p><//>`;
}

function guard(app, session, view) {
  if (app.audience === 'admin' && session.kind !== 'admin') {
    return html`<${Page} title=${app.title}><${Notice} title="An admin key is needed">
      <p>The admin views answer to an admin API key (<code>tessera admin-key create</code>), not to a user: <a
        href="#/signin?as=admin" onClick=${() => signOut()}>sign out and sign in with a key</a>.</p>
    <//><//>`;
  }
  if (app.audience === 'user' && session.kind !== 'user') {
    return html`<${Page} title=${app.title}><${Notice} title="A user sign-in is needed">
      <p>${app.title} acts as a user in an organization; an admin key reaches only the admin views.</p>
    <//><//>`;
  }
  if (app.needsOrg && !session.orgId) {
    return html`<${Page} title=${app.title}><${Notice} title="Choose an organization">
      <p>${app.title} keeps its data in an organization, and you are in none yet. <a href="#/orgs">Create one</a>.</p>
    <//><//>`;
  }
  return view;
}

function Header({ apps, session, path }) {
  const active = path.split('/')[1];
  const shown = session?.kind === 'admin' ? apps.filter((a) => a.audience === 'admin') : apps;
  const out = async () => {
    navigate('/signin');
    await signOut();
  };
  return html`<header class="top">
    <a class="brand" href="#/">Tessera</a>
    ${session && html`<nav class="apps" aria-label="Apps"><ul>
      ${shown.map((a) => html`<li><a href=${`#/${a.id}`} aria-current=${active === a.id ? 'page' : undefined}>${a.title}</a></li>`)}
    </ul></nav>`}
    <div class="account">
      ${session?.kind === 'user' && html`<${OrgSwitcher} session=${session} /><span class="who" title=${session.user.email}>${session.user.email}</span>`}
      ${session?.kind === 'admin' && html`<span class="who" title=${session.keyId}>Admin key ${session.keyId.slice(0, 8)}…</span>`}
      ${session && html`<button type="button" class="secondary" onClick=${out}>Sign out</button>`}
    </div>
  </header>`;
}

function Home({ apps, session }) {
  const org = session.orgs.find((o) => o.id === session.orgId);
  return html`<${Page} title=${`Welcome${session.user.name ? `, ${session.user.name}` : ''}`}>
    <p>Signed in as <strong>${session.user.email}</strong>. ${org ? html`The apps act in <strong>${org.name}</strong>. ` : 'You are in no organization yet: '}<a
      href="#/orgs">${org ? 'Your organizations' : 'create one'}</a>.</p>
    <ul class="app-cards">
      ${apps.map((a) => html`<li class="app-card">
        <h2><a href=${`#/${a.id}`}>${a.title}</a></h2>
        <p>${a.description}</p>
      </li>`)}
    </ul>
  <//>`;
}
