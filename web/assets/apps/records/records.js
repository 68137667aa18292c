// The records app's console views: types, lists, forms, a record with its
// children and export. Everything follows the config in force (GET
// /records/types), so a new type needs no console change.
import { Types, List } from './list.js';
import { Create, Edit } from './form.js';
import { Detail } from './detail.js';

export default {
  id: 'records',
  title: 'Records',
  description: 'Records of the types your config declares: lists with filters, generated forms, children, exports.',
  audience: 'user',
  needsOrg: true,
  routes: [
    { path: '/records', view: Types },
    { path: '/records/:plural', view: List },
    { path: '/records/:plural/new', view: Create },
    { path: '/records/:plural/:id', view: Detail },
    { path: '/records/:plural/:id/edit', view: Edit },
    { path: '/records/:plural/:id/children/:child', view: List },
  ],
};
