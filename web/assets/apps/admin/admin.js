// The admin views (an admin API key's session): users, organizations, the
// audit log, jobs, mails and the admin API keys, over /admin. An
// organization's members and groups are core/org.js's page (#/orgs/{id}),
// shared with users.
import { Users } from './users.js';
import { Orgs } from './orgs.js';
import { Events } from './events.js';
import { Jobs } from './jobs.js';
import { Mail, Mails } from './mails.js';
import { Keys } from './keys.js';
import { html } from '../../core/html.js';
import { Redirect } from '../../core/ui.js';

const Start = () => html`<${Redirect} to="/admin/users" />`;

export default {
  id: 'admin',
  title: 'Admin',
  description: 'Users, organizations, the audit log, jobs, mails and API keys (with an admin API key).',
  audience: 'admin',
  routes: [
    { path: '/admin', view: Start },
    { path: '/admin/users', view: Users },
    { path: '/admin/orgs', view: Orgs },
    { path: '/admin/events', view: Events },
    { path: '/admin/jobs', view: Jobs },
    { path: '/admin/mails', view: Mails },
    { path: '/admin/mails/:id', view: Mail },
    { path: '/admin/keys', view: Keys },
  ],
};
