// Layouts: the org's floor plans, each drawn from its items (a resource
// placed at x, y with a size and a rotation, in the plan's own units). The
// editor moves an item by dragging it, with the arrow keys, or through its
// number fields; Save sends the items with the version read (If-Match), so
// a plan changed by someone else meanwhile is refused (412) and shown.
import { html, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { navigate } from '../../core/router.js';
import { Failed, Input, Loading, Page, ProblemAlert, Select, Status, Table, Time, useForm, useLoad } from '../../core/ui.js';
import { listAll, Tabs } from './catalog.js';

/** The size of a new item, the arrow keys' step and the least plan drawn. */
const NEW_SIZE = 80;
const KEY_STEP = 10;
const MIN_W = 800;
const MIN_H = 480;
const round = (v) => Math.round(v);

/** Layouts lists the org's layouts and creates one (then opens it). */
export function Layouts({ session }) {
  const list = useLoad(() => listAll('/scheduling/layouts'), [session.orgId]);
  const [name, setName] = useState('');
  const form = useForm();
  const create = (e) => {
    e.preventDefault();
    form.submit(async () => {
      const l = (await api('POST', '/scheduling/layouts', { body: { name, items: [] } })).data;
      navigate(`/scheduling/layouts/${l.id}`);
    }, e.currentTarget);
  };
  const columns = [
    { label: 'Name', cell: (l) => html`<a href=${`#/scheduling/layouts/${l.id}`}>${l.name}</a>` },
    { label: 'Resources placed', cell: (l) => l.items.length },
    { label: 'Updated', cell: (l) => html`<${Time} value=${l.updated_at} />` },
  ];
  return html`<${Page} title="Layouts">
    <${Tabs} here="/scheduling/layouts" />
    ${list.loading && html`<${Loading} what="Loading the layouts" />`}
    ${list.error && html`<${Failed} problem=${list.error} retry=${list.reload} />`}
    ${list.data && html`<${Table} caption="Layouts" columns=${columns} rows=${list.data} empty="No layout yet: create one below." />`}
    <form class="card narrow" novalidate aria-labelledby="new-layout" onSubmit=${create}>
      <h2 id="new-layout">New layout</h2>
      <${ProblemAlert} problem=${form.problem} shown=${['body.name']} />
      <${Input} label="Name" required value=${name} onValue=${setName} error=${form.problem?.fieldErrors('body.').name} />
      <button type="submit" disabled=${form.busy}>Create layout</button>
    </form>
  <//>`;
}

/** LayoutEditor is #/scheduling/layouts/{id}: the plan drawn and edited. */
export function LayoutEditor({ params, session }) {
  const data = useLoad(async () => {
    const [layout, resources] = await Promise.all([
      api('GET', `/scheduling/layouts/${params.id}`).then((r) => r.data),
      listAll('/scheduling/resources'),
    ]);
    return { layout, resources };
  }, [params.id, session.orgId]);
  // One Page in every state: its heading stays the element the shell focused.
  return html`<${Page} title=${data.data?.layout.name || 'Layout'} crumbs=${[{ href: '#/scheduling/layouts', label: 'Layouts' }]}>
    <${Tabs} here="/scheduling/layouts" />
    ${data.loading && !data.data && html`<${Loading} what="Loading the layout" />`}
    ${data.error && html`<${Failed} problem=${data.error} retry=${data.reload} />`}
    ${data.data && html`<${Editor} key=${data.data.layout.version} layout=${data.data.layout} resources=${data.data.resources} reload=${data.reload} />`}
  <//>`;
}

/** Editor is the plan of one version of a layout and its form. */
function Editor({ layout, resources, reload }) {
  const [items, setItems] = useState(layout.items);
  const [version, setVersion] = useState(layout.version); // the version the next save replaces
  const [chosen, setChosen] = useState(layout.items.length ? 0 : -1);
  const [adding, setAdding] = useState('');
  const [done, setDone] = useState('');
  const form = useForm();
  const svg = useRef(null);
  const drag = useRef(null); // {index, dx, dy}: the pointer's offset from the item's corner
  const names = Object.fromEntries(resources.map((r) => [r.id, r.name]));
  const free = resources.filter((r) => !r.archived && !items.some((it) => it.resource_id === r.id));
  const pick = free.some((r) => r.id === adding) ? adding : free[0]?.id || ''; // the choice, or the first still free

  const change = (i, fields) => setItems(items.map((it, j) => (j === i ? { ...it, ...fields } : it)));
  const add = () => {
    if (!pick) return;
    const right = items.reduce((m, it) => Math.max(m, it.x + it.w), 0);
    setItems([...items, { resource_id: pick, x: items.length ? right + 20 : 20, y: 20, w: NEW_SIZE, h: NEW_SIZE, rotation: 0 }]);
    setChosen(items.length);
    setDone('');
  };
  const remove = (i) => {
    setItems(items.filter((_, j) => j !== i));
    setChosen(-1);
  };
  const save = (e) => {
    e.preventDefault();
    setDone('');
    form.submit(async () => {
      const saved = (await api('PATCH', `/scheduling/layouts/${layout.id}`, { body: { items }, headers: { 'If-Match': `"${version}"` } })).data;
      setVersion(saved.version);
      setItems(saved.items);
      setDone(`The layout is saved (version ${saved.version}).`);
    }, e.currentTarget);
  };

  // ---- pointer and keyboard moves on the plan

  const at = (e) => {
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.current.getScreenCTM().inverse());
    return { x: p.x, y: p.y };
  };
  const down = (e, i) => {
    if (e.button !== 0) return;
    e.preventDefault();
    svg.current.setPointerCapture(e.pointerId);
    const p = at(e);
    drag.current = { index: i, dx: p.x - items[i].x, dy: p.y - items[i].y };
    setChosen(i);
  };
  const move = (e) => {
    const d = drag.current;
    if (!d) return;
    const p = at(e);
    change(d.index, { x: Math.max(0, round(p.x - d.dx)), y: Math.max(0, round(p.y - d.dy)) });
  };
  const up = () => {
    drag.current = null;
  };
  const key = (e, i) => {
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      setChosen(i);
    } else if (steps[e.key]) {
      e.preventDefault();
      const [dx, dy] = steps[e.key];
      change(i, { x: Math.max(0, items[i].x + dx * KEY_STEP), y: Math.max(0, items[i].y + dy * KEY_STEP) });
      setChosen(i);
    }
  };

  const width = Math.max(MIN_W, ...items.map((it) => it.x + it.w + 20));
  const height = Math.max(MIN_H, ...items.map((it) => it.y + it.h + 20));
  const it = items[chosen];
  const num = (label, field) => html`<${Input} label=${label} type="number" step="1" value=${String(it[field])}
    onValue=${(v) => change(chosen, { [field]: v === '' || Number.isNaN(Number(v)) ? it[field] : Number(v) })} />`;
  const errs = form.problem ? form.problem.errors.filter((x) => x.location?.startsWith('body.items')) : [];

  return html`
    <p class="muted">Drag a resource to move it, or focus it and use the arrow keys (${KEY_STEP} units a press); its fields set it exactly.</p>
    <div class="sch-layout">
      <div class="sch-plan-wrap">
        <svg ref=${svg} class="sch-plan" viewBox=${`0 0 ${width} ${height}`} role="group" aria-label=${`Floor plan of ${layout.name}`}
          onPointerMove=${move} onPointerUp=${up} onPointerCancel=${up}>
          ${items.map((x, i) => html`<g key=${x.resource_id} class=${`sch-item${i === chosen ? ' chosen' : ''}`} tabindex="0" role="button"
              aria-label=${`${names[x.resource_id] || x.resource_id} at ${x.x}, ${x.y}`} aria-pressed=${i === chosen ? 'true' : 'false'}
              data-resource=${names[x.resource_id] || x.resource_id}
              transform=${`rotate(${x.rotation} ${x.x + x.w / 2} ${x.y + x.h / 2})`}
              onPointerDown=${(e) => down(e, i)} onKeyDown=${(e) => key(e, i)}>
            <rect x=${x.x} y=${x.y} width=${x.w} height=${x.h} rx="4" />
            <text x=${x.x + x.w / 2} y=${x.y + x.h / 2} text-anchor="middle" dominant-baseline="middle">${names[x.resource_id] || '?'}</text>
          </g>`)}
        </svg>
      </div>
      <form class="card sch-form" novalidate aria-labelledby="sch-plan-title" onSubmit=${save}>
        <h2 id="sch-plan-title">Plan</h2>
        <${ProblemAlert} problem=${form.problem} />
        ${form.problem?.status === 412 && html`<p><button type="button" class="secondary" onClick=${reload}>Load their version</button></p>`}
        ${errs.length > 0 && html`<p class="error">Check the items named above.</p>`}
        ${it ? html`<fieldset class="sch-book">
            <legend>${names[it.resource_id] || it.resource_id}</legend>
            ${num('X', 'x')}${num('Y', 'y')}${num('Width', 'w')}${num('Height', 'h')}${num('Rotation (degrees)', 'rotation')}
            <button type="button" class="danger" onClick=${() => remove(chosen)}>Remove from the plan</button>
          </fieldset>`
          : html`<p class="muted">Choose a resource on the plan to place it exactly.</p>`}
        ${free.length > 0 && html`<div class="sch-buttons">
          <${Select} label="Resource to add" value=${pick} onValue=${setAdding} options=${free.map((r) => ({ value: r.id, label: r.name }))} />
          <button type="button" class="secondary" onClick=${add}>Add to the plan</button>
        </div>`}
        <div class="sch-buttons"><button type="submit" disabled=${form.busy}>Save layout</button></div>
        ${done && html`<${Status}>${done}<//>`}
      </form>
    </div>`;
}
