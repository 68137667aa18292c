// The restaurants app's console views: customers find restaurants by
// region, book, and follow (cancel, hail) their seatings; staff run the
// live seating board and see the weekly numbers; a manager creates the
// restaurant and changes its settings, photo and staff.
import { html } from '../../core/html.js';
import { Failed, Loading, Page, Redirect, useLoad } from '../../core/ui.js';
import { isStaff, loadMe } from './common.js';
import { Book, Find, Mine } from './customer.js';
import { Board } from './board.js';
import { Create, Settings } from './settings.js';
import { Week } from './week.js';

/** Home sends staff to their board and customers to the search (with the way to create a restaurant, for staff accounts). */
function Home(props) {
  const me = useLoad(loadMe, []);
  if (me.loading) return html`<${Page} title="Restaurants"><${Loading} /><//>`;
  if (me.error) return html`<${Page} title="Restaurants"><${Failed} problem=${me.error} retry=${me.reload} /><//>`;
  if (isStaff(me.data)) return html`<${Redirect} to="/restaurants/board" />`;
  return html`<${Find} ...${props} me=${me.data} />`;
}

export default {
  id: 'restaurants',
  title: 'Restaurants',
  description: 'Find and book restaurants; the staff\u2019s live seating board and weekly numbers; create and run your restaurant.',
  audience: 'user',
  needsOrg: false,
  routes: [
    { path: '/restaurants', view: Home },
    { path: '/restaurants/seatings', view: Mine },
    { path: '/restaurants/board', view: Board },
    { path: '/restaurants/week', view: Week },
    { path: '/restaurants/new', view: Create },
    { path: '/restaurants/settings', view: Settings },
    { path: '/restaurants/:id/book', view: Book },
  ],
};
