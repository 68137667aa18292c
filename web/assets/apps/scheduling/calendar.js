// The week calendar: the events of a chosen set of resources, kept live
// over the scheduling websocket (live.js). Drag over free time to fill the
// event form (which also works alone, from the keyboard), drag an event to
// move it; a refused booking (409 double_booking) is shown by the form and
// marks the event in the way.
import { html, useEffect, useRef, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { navigate } from '../../core/router.js';
import { Failed, Input, Loading, Page, Status, useForm, useLoad, fromLocalInput, toLocalInput } from '../../core/ui.js';
import { listAll, Tabs } from './catalog.js';
import { liveEvents } from './live.js';

/** The hours shown, their height in pixels (console.css's .sch-day lines match) and the drag step. */
const FIRST_HOUR = 6;
const LAST_HOUR = 22;
const HOUR_PX = 40;
const SNAP_MIN = 15;
const DAY_MIN = 24 * 60;

const pad = (n) => String(n).padStart(2, '0');
/** ymd is a local date as YYYY-MM-DD. */
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const addDays = (d, n) => {
  const x = new Date(d);
  x.setDate(x.getDate() + n);
  return x;
};
/** at is local midnight of day plus minutes. */
const at = (day, minutes) => {
  const x = new Date(day);
  x.setHours(0, minutes, 0, 0);
  return x;
};
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;

/** mondayOf is local midnight of the Monday of the week of s (YYYY-MM-DD), or of today. */
function mondayOf(s) {
  let d = s ? new Date(`${s}T00:00:00`) : new Date();
  if (Number.isNaN(d.getTime())) d = new Date();
  d.setHours(0, 0, 0, 0);
  return addDays(d, -((d.getDay() + 6) % 7));
}

/** Calendar is #/scheduling?week=YYYY-MM-DD&resources=a,b: the week of the chosen resources. */
export function Calendar({ session, query }) {
  const resources = useLoad(() => listAll('/scheduling/resources'), [session.orgId]);
  const week = mondayOf(query.get('week'));
  const title = 'Calendar';
  if (resources.loading && !resources.data) return html`<${Page} title=${title}><${Tabs} here="/scheduling" /><${Loading} what="Loading the resources" /><//>`;
  if (resources.error) return html`<${Page} title=${title}><${Tabs} here="/scheduling" /><${Failed} problem=${resources.error} retry=${resources.reload} /><//>`;
  const live = resources.data.filter((r) => !r.archived);
  const asked = (query.get('resources') || '').split(',').filter(Boolean);
  const shown = (asked.length ? live.filter((r) => asked.includes(r.id)) : live).slice(0, 100);
  const go = (w, ids) => {
    const q = new URLSearchParams();
    q.set('week', ymd(w));
    if (ids) q.set('resources', ids.join(','));
    navigate('/scheduling', q);
  };
  const toggle = (id, on) => {
    const ids = shown.map((r) => r.id).filter((x) => x !== id);
    go(week, on ? [...ids, id] : ids);
  };
  const ids = shown.map((r) => r.id);
  return html`<${Page} title=${title}>
    <${Tabs} here="/scheduling" />
    ${live.length === 0 && html`<p class="empty">No resource yet: <a href="#/scheduling/resources">create one</a> to book it.</p>`}
    ${live.length > 0 && html`
      <fieldset class="sch-picker">
        <legend>Resources shown</legend>
        ${live.map((r) => html`<label class="sch-check"><input type="checkbox" checked=${ids.includes(r.id)}
          onChange=${(e) => toggle(r.id, e.currentTarget.checked)} /> ${r.name}</label>`)}
      </fieldset>
      <nav class="sch-weeknav" aria-label="Weeks">
        <button type="button" class="secondary" onClick=${() => go(addDays(week, -7), asked.length ? ids : null)}>Previous week</button>
        <strong>Week of ${week.toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' })}</strong>
        <button type="button" class="secondary" onClick=${() => go(mondayOf(), asked.length ? ids : null)}>This week</button>
        <button type="button" class="secondary" onClick=${() => go(addDays(week, 7), asked.length ? ids : null)}>Next week</button>
      </nav>
      ${shown.length === 0 ? html`<p class="empty">Choose the resources to show.</p>`
        : html`<${Week} key=${`${ymd(week)} ${ids.join(',')}`} orgId=${session.orgId} week=${week} resources=${shown} />`}`}
  <//>`;
}

/** place lays the visible events of one day out: top and height in minutes, side-by-side lanes for overlaps. */
function place(events, day) {
  const lo = FIRST_HOUR * 60;
  const hi = LAST_HOUR * 60;
  const boxes = [];
  for (const ev of events) {
    const s = (new Date(ev.start) - day) / 60000;
    const e = (new Date(ev.end) - day) / 60000;
    if (e <= 0 || s >= DAY_MIN) continue;
    const top = clamp(s, lo, hi - SNAP_MIN);
    boxes.push({ ev, top, bottom: Math.max(clamp(e, lo, hi), top + SNAP_MIN) });
  }
  boxes.sort((a, b) => a.top - b.top || b.bottom - a.bottom);
  const lanes = []; // each lane's last bottom
  for (const b of boxes) {
    b.lane = lanes.findIndex((end) => end <= b.top);
    if (b.lane < 0) b.lane = lanes.push(0) - 1;
    lanes[b.lane] = b.bottom;
  }
  for (const b of boxes) b.lanes = lanes.length;
  return boxes;
}

/** shifted is ev moved by days and minutes (local days: a DST change keeps the wall time). */
function shifted(ev, days, minutes) {
  const move = (iso) => {
    const d = addDays(new Date(iso), days);
    d.setMinutes(d.getMinutes() + minutes);
    return d.toISOString();
  };
  return { ...ev, start: move(ev.start), end: move(ev.end) };
}

const blankForm = (resources) => ({ id: '', version: 0, title: '', start: '', end: '', resource_ids: resources.map((r) => r.id) });

/** Week is the live grid of one week and its event form. */
function Week({ orgId, week, resources }) {
  const ids = resources.map((r) => r.id);
  const names = Object.fromEntries(resources.map((r) => [r.id, r.name]));
  const end = addDays(week, 7);
  const days = [...Array(7).keys()].map((i) => addDays(week, i));
  const store = useRef(new Map()); // event id → the newest version seen; written by put and the pushes only
  const gone = useRef(new Set()); // deleted event ids: an older list answer must not bring them back
  const [, setTick] = useState(0);
  const redraw = () => setTick((n) => n + 1);
  const [state, setState] = useState('connecting');
  const [loadError, setLoadError] = useState(null);
  const [drag, setDrag] = useState(null);
  const dragRef = useRef(null);
  const noClick = useRef(false);
  const [form, setForm] = useState(() => blankForm(resources));
  const [conflict, setConflict] = useState('');
  const [done, setDone] = useState('');
  const submit = useForm();
  const titleRef = useRef(null);

  const put = (ev) => {
    if (gone.current.has(ev.id)) return;
    const old = store.current.get(ev.id);
    if (!old || ev.version >= old.version) store.current.set(ev.id, ev);
  };

  useEffect(() => {
    let live = true;
    let needList = true; // list the window once subscribed: no change falls between the list and the pushes
    const list = () => listAll('/scheduling/events', { from: week.toISOString(), to: end.toISOString(), resource_ids: ids.join(',') }).then(
      (items) => {
        if (!live) return;
        items.forEach(put);
        setLoadError(null);
        redraw();
      },
      (err) => live && setLoadError(err),
    );
    const stop = liveEvents({
      orgId,
      from: week.toISOString(),
      to: end.toISOString(),
      resourceIds: ids,
      onPush: (d) => {
        if (d.change === 'deleted') {
          gone.current.add(d.item.id);
          store.current.delete(d.item.id);
        } else {
          put(d.item);
        }
        redraw();
      },
      onState: (s) => {
        if (!live) return;
        setState(s);
        if (s === 'resync') {
          store.current.clear();
          needList = true;
        } else if (s === 'live' && needList) {
          needList = false;
          list();
        }
      },
    });
    return () => {
      live = false;
      stop();
    };
  }, []);

  const visible = [...store.current.values()].filter((ev) => ev.status !== 'cancelled'
    && new Date(ev.start) < end && new Date(ev.end) > week && ev.resource_ids.some((id) => ids.includes(id)));

  // ---- the event form (create, or edit the chosen event)

  const fail = (err) => {
    const value = err.status === 409 ? err.errors.find((e) => e.value)?.value : '';
    setConflict(value || '');
    throw err;
  };
  const save = (e) => {
    e.preventDefault();
    setDone('');
    setConflict('');
    submit.submit(async () => {
      const body = { title: form.title, start: fromLocalInput(form.start) || form.start, end: fromLocalInput(form.end) || form.end, resource_ids: form.resource_ids };
      const r = form.id
        ? await api('PATCH', `/scheduling/events/${form.id}`, { body, headers: { 'If-Match': `"${form.version}"` } }).catch(fail)
        : await api('POST', '/scheduling/events', { body }).catch(fail);
      put(r.data);
      redraw();
      setForm(blankForm(resources));
      setDone(`“${r.data.title}” is ${form.id ? 'saved' : 'booked'}.`);
    }, e.currentTarget);
  };
  const move = (ev, days, minutes) => {
    setDone('');
    setConflict('');
    submit.submit(async () => {
      const to = shifted(ev, days, minutes);
      const r = await api('PATCH', `/scheduling/events/${ev.id}`, { body: { start: to.start, end: to.end }, headers: { 'If-Match': `"${ev.version}"` } }).catch(fail);
      put(r.data);
      redraw();
      setDone(`“${ev.title}” is moved to ${new Date(r.data.start).toLocaleString()}.`);
    });
  };
  const edit = (ev) => {
    setForm({ id: ev.id, version: ev.version, title: ev.title, start: toLocalInput(ev.start), end: toLocalInput(ev.end), resource_ids: ev.resource_ids });
    setDone('');
    requestAnimationFrame(() => titleRef.current?.querySelector('input')?.focus());
  };
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const book = (id, on) => set('resource_ids')(on ? [...form.resource_ids, id] : form.resource_ids.filter((x) => x !== id));

  // ---- dragging: over free time to fill the form, an event to move it

  const minutesAt = (col, y) => {
    const m = FIRST_HOUR * 60 + ((y - col.getBoundingClientRect().top) / HOUR_PX) * 60;
    return clamp(Math.round(m / SNAP_MIN) * SNAP_MIN, FIRST_HOUR * 60, LAST_HOUR * 60);
  };
  const begin = (d) => {
    dragRef.current = d;
    setDrag(d);
  };
  const dayDown = (e, day) => {
    if (e.button !== 0 || e.target !== e.currentTarget) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const m = minutesAt(e.currentTarget, e.clientY);
    begin({ kind: 'new', day, a: m, b: m });
  };
  const dayMove = (e) => {
    const d = dragRef.current;
    if (d?.kind === 'new') begin({ ...d, b: minutesAt(e.currentTarget, e.clientY) });
  };
  const dayUp = () => {
    const d = dragRef.current;
    if (d?.kind !== 'new') return;
    begin(null);
    const lo = Math.min(d.a, d.b);
    const hi = Math.max(d.a, d.b) > lo ? Math.max(d.a, d.b) : lo + 60; // a click books an hour
    setForm({ ...blankForm(resources), title: form.id ? '' : form.title, start: toLocalInput(at(d.day, lo).toISOString()), end: toLocalInput(at(d.day, hi).toISOString()) });
    setDone('');
    titleRef.current?.querySelector('input')?.focus(); // the form is always there: name the new event next
  };
  const eventDown = (e, ev) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    begin({ kind: 'move', ev, x: e.clientX, y: e.clientY, width: e.currentTarget.parentElement.getBoundingClientRect().width, days: 0, minutes: 0 });
  };
  const eventMove = (e) => {
    const d = dragRef.current;
    if (d?.kind !== 'move') return;
    const minutes = Math.round((((e.clientY - d.y) / HOUR_PX) * 60) / SNAP_MIN) * SNAP_MIN;
    const days = Math.round((e.clientX - d.x) / d.width);
    if (minutes !== d.minutes || days !== d.days) begin({ ...d, minutes, days });
  };
  const eventUp = () => {
    const d = dragRef.current;
    if (d?.kind !== 'move') return;
    begin(null);
    if (d.days || d.minutes) {
      noClick.current = true; // the click that ends a drag is not a choice
      move(d.ev, d.days, d.minutes);
    }
  };
  const eventClick = (ev) => {
    if (noClick.current) {
      noClick.current = false;
      return;
    }
    edit(ev);
  };

  // ---- the grid

  const px = (min) => `${((min - FIRST_HOUR * 60) / 60) * HOUR_PX}px`;
  const label = (ev) => `${ev.title}, ${new Date(ev.start).toLocaleString()} to ${hhmm(new Date(ev.end))}, ${ev.resource_ids.map((id) => names[id]).filter(Boolean).join(', ')}`;
  // A dragged event stays in its column (a new parent would be a new
  // element, losing the pointer capture): it is only drawn shifted.
  const moving = (ev) => drag?.kind === 'move' && drag.ev.id === ev.id;
  const block = (b) => html`<button type="button" key=${b.ev.id}
      class=${`sch-event${b.ev.status === 'tentative' ? ' tentative' : ''}${moving(b.ev) ? ' moving' : ''}${b.ev.id === conflict ? ' conflict' : ''}${b.ev.id === form.id ? ' chosen' : ''}`}
      style=${{ top: px(b.top), height: `${((b.bottom - b.top) / 60) * HOUR_PX}px`, left: `${(100 * b.lane) / b.lanes}%`, width: `${100 / b.lanes}%`,
        transform: moving(b.ev) ? `translate(${drag.days * drag.width}px, ${(drag.minutes / 60) * HOUR_PX}px)` : '' }}
      aria-label=${label(b.ev)} data-event-id=${b.ev.id}
      onPointerDown=${(e) => eventDown(e, b.ev)} onPointerMove=${eventMove} onPointerUp=${eventUp} onClick=${() => eventClick(b.ev)}>
      <span class="sch-time">${hhmm(new Date(b.ev.start))}–${hhmm(new Date(b.ev.end))}</span>
      <span class="sch-title">${b.ev.title}</span>
    </button>`;
  const draft = (day) => drag?.kind === 'new' && drag.day === day
    && html`<div class="sch-draft" aria-hidden="true"
      style=${{ top: px(Math.min(drag.a, drag.b)), height: `${(Math.max(Math.abs(drag.b - drag.a), SNAP_MIN) / 60) * HOUR_PX}px` }}></div>`;
  const hours = [...Array(LAST_HOUR - FIRST_HOUR).keys()].map((i) => FIRST_HOUR + i);
  const errs = submit.problem?.fieldErrors('body.') || {};
  const other = conflict && store.current.get(conflict);
  const named = (text) => resources.reduce((t, r) => t.replaceAll(r.id, r.name), text || '');
  const states = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', resync: 'Reloading…', closed: 'Disconnected: you left this organization', failed: 'The subscription was refused' };

  return html`
    <p class=${`sch-live ${state}`} role="status">${states[state] || state}</p>
    ${loadError && html`<${Failed} problem=${loadError} />`}
    <div class="sch-layout">
      <div class="sch-scroll" role="region" aria-label="Week grid: drag over free time to book it, drag an event to move it" tabindex="0">
        <div class="sch-week">
          <div class="sch-corner"></div>
          ${days.map((d) => html`<div class="sch-dayhead">${d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })}</div>`)}
          <div class="sch-gutter">${hours.map((h) => html`<span style=${{ top: px(h * 60) }}>${pad(h)}:00</span>`)}</div>
          ${days.map((d) => html`<div class="sch-day" data-day=${ymd(d)}
              onPointerDown=${(e) => dayDown(e, d)} onPointerMove=${dayMove} onPointerUp=${dayUp}>
            ${place(visible, d).map(block)}
            ${draft(d)}
          </div>`)}
        </div>
      </div>
      <form class="card sch-form" novalidate aria-labelledby="sch-form-title" onSubmit=${save}>
        <h2 id="sch-form-title">${form.id ? 'Edit event' : 'New event'}</h2>
        <div role="alert" class=${submit.problem ? 'problem' : 'problem empty'}>
          ${submit.problem && html`<p><strong>${submit.problem.status === 409 && conflict ? 'Double booking: refused.' : submit.problem.status === 412 ? 'Someone changed this event meanwhile.' : ''}</strong>
            ${' '}${conflict && other ? `It would overlap “${other.title}” (${hhmm(new Date(other.start))}–${hhmm(new Date(other.end))}) on ${other.resource_ids.filter((id) => form.resource_ids.includes(id)).map((id) => names[id]).filter(Boolean).join(', ')}.` : named(submit.problem.detail || submit.problem.title)}</p>
            ${submit.problem.errors.filter((x) => !['body.title', 'body.start', 'body.end'].includes(x.location) && !x.value).map((x) => html`<p>${x.message}</p>`)}`}
        </div>
        <div ref=${titleRef}><${Input} label="Title" required value=${form.title} onValue=${set('title')} error=${errs.title} /></div>
        <${Input} label="Start" type="datetime-local" required value=${form.start} onValue=${set('start')} error=${errs.start} />
        <${Input} label="End" type="datetime-local" required value=${form.end} onValue=${set('end')} error=${errs.end} />
        <fieldset class="sch-book">
          <legend>Book</legend>
          ${resources.map((r) => html`<label class="sch-check"><input type="checkbox" checked=${form.resource_ids.includes(r.id)}
            onChange=${(e) => book(r.id, e.currentTarget.checked)} /> ${r.name}</label>`)}
        </fieldset>
        <div class="sch-buttons">
          <button type="submit" disabled=${submit.busy}>${form.id ? 'Save event' : 'Create event'}</button>
          ${form.id && html`<button type="button" class="secondary" onClick=${() => setForm(blankForm(resources))}>New event instead</button>`}
        </div>
        ${done && html`<${Status}>${done}<//>`}
      </form>
    </div>`;
}
