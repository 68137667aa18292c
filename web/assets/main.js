// The console's entry point: the shell over the list of apps.
import { html, render } from './core/html.js';
import { Console } from './core/shell.js';
import apps from './apps/index.js';

render(html`<${Console} apps=${apps} />`, document.getElementById('root'));
