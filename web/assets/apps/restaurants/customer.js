// The customer's views: find restaurants by region, book a seating, and see
// one's seatings (live) to cancel them or hail the staff.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { flash, takeFlash } from '../../core/flash.js';
import { navigate } from '../../core/router.js';
import { Failed, Input, Loading, Page, ProblemAlert, Status, Table, TextArea, Time, ConfirmButton, fromLocalInput, useForm, useLoad } from '../../core/ui.js';
import { StatusBadge, errorAt, loadAll, useSeatings } from './common.js';
import { LiveStatus, useLive } from './live.js';
import { StaffSetup } from './settings.js';

const home = { href: '#/restaurants', label: 'Restaurants' };

/**
 * Find lists the restaurants of the region in the route (?region=); me, the
 * caller's profile, shows a staff account the way to create a restaurant.
 */
export function Find({ query, me }) {
  const region = query.get('region') || '';
  const [value, setValue] = useState(region);
  const found = useLoad(() => (region ? api('GET', '/restaurants', { params: { region } }).then((r) => r.data.items) : Promise.resolve(null)), [region]);
  const columns = [
    { label: 'Restaurant', cell: (r) => r.name },
    { label: 'Description', cell: (r) => r.description || html`<span class="muted">—</span>` },
    { label: 'Region', cell: (r) => r.region },
    { label: 'Book', cell: (r) => html`<a href=${`#/restaurants/${r.id}/book`}>Book a table at ${r.name}</a>` },
  ];
  const submit = (e) => {
    e.preventDefault();
    navigate('/restaurants', new URLSearchParams(value ? { region: value } : {}));
  };
  return html`<${Page} title="Find a restaurant" actions=${html`<a class="button secondary" href="#/restaurants/seatings">My seatings</a>`}>
    <${StaffSetup} me=${me} />
    <form class="filters" role="search" aria-label="Find restaurants" onSubmit=${submit} novalidate>
      <${Input} label="Region" hint="NORTH, SOUTH, EAST or WEST unless the node is configured otherwise." value=${value} onValue=${setValue} />
      <div class="filter-buttons"><button type="submit">Find</button></div>
    </form>
    ${found.loading && html`<${Loading} what="Finding restaurants" />`}
    ${found.error && html`<${Failed} problem=${found.error} retry=${found.reload} />`}
    ${found.data && html`<${Table} caption=${`Restaurants in ${region}`} columns=${columns} rows=${found.data}
      empty="No restaurant takes bookings in this region." />`}
  <//>`;
}

/** Book reserves a seating at a restaurant. */
export function Book({ params }) {
  const restaurant = useLoad(() => api('GET', `/restaurants/${params.id}`).then((r) => r.data), [params.id]);
  const [when, setWhen] = useState('');
  const [seats, setSeats] = useState('2');
  const [notes, setNotes] = useState('');
  const form = useForm();
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    form.submit(async () => {
      const n = Number(seats);
      await api('POST', `/restaurants/${params.id}/seatings`, {
        body: { seatingTime: fromLocalInput(when) || when, numSeats: seats !== '' && Number.isFinite(n) ? n : seats, notes },
      });
      flash(`Booked at ${restaurant.data.name}: the restaurant will confirm.`);
      navigate('/restaurants/seatings');
    }, el);
  };
  const p = form.problem;
  const shown = ['body.seatingTime', 'body.numSeats', 'body.notes'];
  const title = restaurant.data ? `Book at ${restaurant.data.name}` : 'Book a table';
  return html`<${Page} title=${title} crumbs=${[home]}>
    ${restaurant.loading && html`<${Loading} />`}
    ${restaurant.error && html`<${Failed} problem=${restaurant.error} retry=${restaurant.reload} />`}
    ${restaurant.data && html`<form class="card narrow" onSubmit=${send} novalidate>
      <p>${restaurant.data.description}</p>
      <${ProblemAlert} problem=${p} shown=${shown} />
      <${Input} label="When" type="datetime-local" required value=${when} onValue=${setWhen} error=${errorAt(p, 'body.seatingTime')} />
      <${Input} label="Seats" type="number" min="1" max="50" step="1" required value=${seats} onValue=${setSeats} error=${errorAt(p, 'body.numSeats')} />
      <${TextArea} label="Notes" hint="At most 500 characters." value=${notes} onValue=${setNotes} error=${errorAt(p, 'body.notes')} />
      <button type="submit" disabled=${form.busy}>Book</button>
    </form>`}
  <//>`;
}

/** HailForm calls the staff to a seated table. */
function HailForm({ seating, name, done }) {
  const [reason, setReason] = useState('');
  const form = useForm();
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    form.submit(async () => {
      done((await api('POST', `/restaurants/${seating.restaurantId}/seatings/${seating.id}/hail`, { body: { reason } })).data);
      setReason('');
    }, el);
  };
  return html`<form class="inline-form" onSubmit=${send} novalidate>
    <${ProblemAlert} problem=${form.problem} shown=${['body.reason']} />
    <${Input} label=${`Reason for calling the staff at ${name}`} value=${reason} onValue=${setReason} error=${errorAt(form.problem, 'body.reason')} />
    <button type="submit" disabled=${form.busy}>Call the staff</button>
  </form>`;
}

/** Mine lists the customer's seatings, updated live: cancel, hail. */
export function Mine() {
  const [message] = useState(takeFlash);
  const seatings = useSeatings();
  const loaded = useLoad(async () => {
    const list = await loadAll('/restaurants/me/seatings');
    const ids = [...new Set(list.map((s) => s.restaurantId))];
    const names = await Promise.all(ids.map((id) => api('GET', `/restaurants/${id}`).then((r) => r.data.name, () => id)));
    seatings.reset(list);
    return Object.fromEntries(ids.map((id, i) => [id, names[i]]));
  }, []);
  const live = useLive(seatings.apply, loaded.reload);
  const [problem, setProblem] = useState(null);
  const act = (run) => async () => {
    setProblem(null);
    try {
      seatings.replace((await run()).data);
    } catch (err) {
      setProblem(err);
    }
  };
  const name = (s) => loaded.data?.[s.restaurantId] || 'the restaurant';
  const columns = [
    { label: 'Restaurant', cell: name },
    { label: 'When', cell: (s) => html`<${Time} value=${s.seatingTime} />` },
    { label: 'Seats', cell: (s) => s.numSeats },
    { label: 'Status', cell: (s) => html`<${StatusBadge} status=${s.status} />${s.tableNumber ? ` at table ${s.tableNumber}` : ''}` },
    { label: 'Notes', cell: (s) => s.notes || html`<span class="muted">—</span>` },
    {
      label: 'Actions',
      cell: (s) => html`
        ${(s.status === 'PENDING' || s.status === 'ACCEPTED') && html`<${ConfirmButton} label="Cancel seating"
          question=${`Cancel your seating at ${name(s)}?`} confirmLabel="Yes, cancel it"
          onConfirm=${act(() => api('DELETE', `/restaurants/${s.restaurantId}/seatings/${s.id}/cancel`))} />`}
        ${s.status === 'SEATED' && (s.hailing
          ? html`<span class="badge">The staff are called${s.hailReason ? `: ${s.hailReason}` : ''}</span>`
          : html`<${HailForm} seating=${s} name=${name(s)} done=${seatings.replace} />`)}`,
    },
  ];
  return html`<${Page} title="My seatings" crumbs=${[home]}>
    ${message && html`<${Status}>${message}<//>`}
    <${LiveStatus} status=${live} />
    <${ProblemAlert} problem=${problem} />
    ${loaded.loading && !seatings.list && html`<${Loading} what="Loading your seatings" />`}
    ${loaded.error && html`<${Failed} problem=${loaded.error} retry=${loaded.reload} />`}
    ${seatings.list && html`<${Table} caption="My seatings" columns=${columns} rows=${seatings.list}
      empty="No seating yet: find a restaurant and book one." />`}
  <//>`;
}
