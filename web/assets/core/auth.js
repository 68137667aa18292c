// The signed-out views: sign in (a user, or an admin API key), sign up, and
// confirm an address with the mailed code. Errors come from the /auth
// problem documents, shown next to the field they name.
import { html, useRef, useState } from './html.js';
import { request } from './http.js';
import { flash, takeFlash } from './flash.js';
import { navigate } from './router.js';
import { signIn, signInWithKey } from './session.js';
import { Input, Page, ProblemAlert, Status, useForm } from './ui.js';

/** fieldError is the message of a body field (body.email) in a problem, if any. */
const fieldError = (problem, name) => problem?.fieldErrors('body.')[name];

/** SignIn signs a user or an admin key in; here is the route it stands in for. */
export function SignIn({ query, here }) {
  const [mode, setMode] = useState(query.get('as') === 'admin' ? 'admin' : 'user');
  const [note] = useState(takeFlash);
  return html`<${Page} title="Sign in">
    ${note && html`<${Status}>${note}<//>`}
    <fieldset class="mode">
      <legend>Sign in with</legend>
      <label><input type="radio" name="mode" value="user" checked=${mode === 'user'} onChange=${() => setMode('user')} /> Email and password</label>
      <label><input type="radio" name="mode" value="admin" checked=${mode === 'admin'} onChange=${() => setMode('admin')} /> An admin API key</label>
    </fieldset>
    ${mode === 'user' ? html`<${UserSignIn} email=${query.get('email') || ''} here=${here} />` : html`<${KeySignIn} here=${here} />`}
  <//>`;
}

function after(here, home) {
  if (here === '/signin' || here === '/signup' || here === '/confirm') navigate(home);
}

function UserSignIn({ email: initial, here }) {
  const [email, setEmail] = useState(initial);
  const [password, setPassword] = useState('');
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const go = (e) => {
    e.preventDefault();
    submit(async () => {
      await signIn(email.trim(), password);
      after(here, '/');
    }, form.current);
  };
  return html`<form ref=${form} class="card narrow" onSubmit=${go} novalidate aria-label="Sign in with email and password">
    <${ProblemAlert} problem=${problem} shown=${['body.email', 'body.password']} />
    <${Input} label="Email" type="email" name="email" autocomplete="username" required value=${email} onValue=${setEmail} error=${fieldError(problem, 'email')} />
    <${Input} label="Password" type="password" name="password" autocomplete="current-password" required value=${password} onValue=${setPassword} error=${fieldError(problem, 'password')} />
    <button type="submit" disabled=${busy}>Sign in</button>
    <p class="links"><a href="#/signup">Create an account</a> · <a href=${`#/confirm?email=${encodeURIComponent(email)}`}>Confirm your address with a code</a></p>
  </form>`;
}

function KeySignIn({ here }) {
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const go = (e) => {
    e.preventDefault();
    submit(async () => {
      await signInWithKey(keyId.trim(), secret.trim());
      after(here, '/admin/users');
    }, form.current);
  };
  return html`<form ref=${form} class="card narrow" onSubmit=${go} novalidate aria-label="Sign in with an admin API key">
    <${ProblemAlert} problem=${problem} />
    <${Input} label="Key id" name="key_id" autocomplete="off" spellcheck="false" required value=${keyId} onValue=${setKeyId}
      hint="From tessera admin-key create: the key_id." />
    <${Input} label="Secret" type="password" name="secret" autocomplete="off" required value=${secret} onValue=${setSecret}
      hint="Kept in this tab only, until you sign out or close it." />
    <button type="submit" disabled=${busy}>Sign in</button>
  </form>`;
}

/**
 * SignUp creates an account; the code to confirm it is mailed. The app
 * client (client_id: what some apps' roles depend on) comes from ?client=
 * or is typed.
 */
export function SignUp({ query }) {
  const [name, setName] = useState('');
  const [client, setClient] = useState(query.get('client') || '');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const go = (e) => {
    e.preventDefault();
    submit(async () => {
      const addr = email.trim();
      await request('POST', '/auth/signup', {
        body: { email: addr, password, ...(name.trim() && { name: name.trim() }), ...(client.trim() && { client_id: client.trim() }) },
      });
      flash(`We mailed a 6-digit code to ${addr}. Enter it below; it expires in 24 hours.`);
      navigate('/confirm', { email: addr });
    }, form.current);
  };
  return html`<${Page} title="Create an account">
    <form ref=${form} class="card narrow" onSubmit=${go} novalidate aria-label="Create an account">
      <${ProblemAlert} problem=${problem} shown=${['body.email', 'body.password', 'body.name', 'body.client_id']} />
      <${Input} label="Name" name="name" autocomplete="name" value=${name} onValue=${setName} error=${fieldError(problem, 'name')} />
      <${Input} label="Email" type="email" name="email" autocomplete="email" required value=${email} onValue=${setEmail} error=${fieldError(problem, 'email')} />
      <${Input} label="Password" type="password" name="password" autocomplete="new-password" required value=${password} onValue=${setPassword}
        hint="At least 12 characters, and not a common password." error=${fieldError(problem, 'password')} />
      <${Input} label="App client" name="client_id" autocomplete="off" spellcheck="false" value=${client} onValue=${setClient}
        hint="Empty unless an app asks for one: restaurants-staff to run a restaurant, restaurants-customer to book tables." error=${fieldError(problem, 'client_id')} />
      <button type="submit" disabled=${busy}>Sign up</button>
      <p class="links"><a href="#/signin">I have an account</a></p>
    </form>
  <//>`;
}

/** Confirm confirms an address with the mailed code, or mails a new one. */
export function Confirm({ query }) {
  const [email, setEmail] = useState(query.get('email') || '');
  const [code, setCode] = useState('');
  const [note, setNote] = useState(takeFlash);
  const form = useRef();
  const { busy, problem, submit } = useForm();
  const go = (e) => {
    e.preventDefault();
    submit(async () => {
      await request('POST', '/auth/confirm', { body: { email: email.trim(), code: code.trim() } });
      flash('Your address is confirmed. Sign in.');
      navigate('/signin', { email: email.trim() });
    }, form.current);
  };
  const resend = () => submit(async () => {
    await request('POST', '/auth/confirm/resend', { body: { email: email.trim() } });
    setNote(`A new code is on its way to ${email.trim()}.`);
  }, form.current);
  return html`<${Page} title="Confirm your address">
    ${note && html`<${Status}>${note}<//>`}
    <form ref=${form} class="card narrow" onSubmit=${go} novalidate aria-label="Confirm your address">
      <${ProblemAlert} problem=${problem} shown=${['body.email', 'body.code']} />
      <${Input} label="Email" type="email" name="email" autocomplete="email" required value=${email} onValue=${setEmail} error=${fieldError(problem, 'email')} />
      <${Input} label="Code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required value=${code} onValue=${setCode}
        hint="The 6 digits from the mail." error=${fieldError(problem, 'code')} />
      <div class="buttons">
        <button type="submit" disabled=${busy}>Confirm</button>
        <button type="button" class="secondary" disabled=${busy} onClick=${resend}>Send a new code</button>
      </div>
    </form>
  <//>`;
}
