// Scheduling (docs/scheduling.md): the live week calendar, resources,
// projects and layouts (floor plans) of the chosen org. The app's styles
// are its own sheet, loaded once with the module.
import { Calendar } from './calendar.js';
import { Projects, Resources } from './catalog.js';
import { LayoutEditor, Layouts } from './layouts.js';

const sheet = document.createElement('link');
sheet.rel = 'stylesheet';
sheet.href = new URL('scheduling.css', import.meta.url).href;
document.head.append(sheet);

export default {
  id: 'scheduling',
  title: 'Scheduling',
  description: 'Resources, projects and a live week calendar; floor plans from layouts.',
  audience: 'user',
  needsOrg: true,
  routes: [
    { path: '/scheduling', view: Calendar },
    { path: '/scheduling/resources', view: Resources },
    { path: '/scheduling/projects', view: Projects },
    { path: '/scheduling/layouts', view: Layouts },
    { path: '/scheduling/layouts/:id', view: LayoutEditor },
  ],
};
