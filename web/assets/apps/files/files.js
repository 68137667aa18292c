// Files: the org's files folder by folder, uploads with a progress bar,
// downloads, versions, the sharing dialog, the files shared with the user
// and the trash. #/files/{id} is also the page a sharing mail links to
// (<public_url>/#/files/{id}).
import { Browser, Shared, Trash } from './browser.js';
import { FileView } from './file.js';

export default {
  id: 'files',
  title: 'Files',
  description: 'Folders, uploads, versions, sharing and the trash.',
  audience: 'user',
  needsOrg: true,
  routes: [
    { path: '/files', view: Browser },
    { path: '/files/shared', view: Shared },
    { path: '/files/trash', view: Trash },
    { path: '/files/:id', view: FileView },
  ],
};
