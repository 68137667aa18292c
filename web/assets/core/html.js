// The view layer: Preact components written with htm's tagged templates
// (html`<p>${text}</p>`), so no build step turns JSX into JavaScript. Every
// module imports Preact from here, never from vendor/ directly.
import { h, render } from '../vendor/preact.mjs';
import { useEffect, useId, useRef, useState } from '../vendor/hooks.mjs';
import htm from '../vendor/htm.mjs';

export const html = htm.bind(h);
// More of Preact's API (Fragment, createContext, useMemo…) is exported here when a view needs it.
export { render, useEffect, useId, useRef, useState };
