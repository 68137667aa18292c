// The staff's live board: today's and upcoming seatings of their restaurant
// by status, updated by the /restaurants/ws events, with the staff's
// actions (accept, decline, seat at a table, order items, close) and the
// tables hailing the staff.
import { html, useState } from '../../core/html.js';
import { api } from '../../core/api.js';
import { Failed, Input, Loading, Notice, Page, ProblemAlert, Table, TextArea, Time, ConfirmButton, useForm, useLoad } from '../../core/ui.js';
import { STATUSES, STATUS_TEXT, errorAt, isStaff, loadAll, loadMe, useSeatings } from './common.js';
import { LiveStatus, useLive } from './live.js';

const home = { href: '#/restaurants', label: 'Restaurants' };

/** SeatForm seats an accepted seating at a table. */
function SeatForm({ seating, done }) {
  const [table, setTable] = useState('');
  const form = useForm();
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    form.submit(async () => {
      const n = Number(table);
      done(await api('PATCH', `${path(seating)}/seat`, { body: { tableNumber: table !== '' && Number.isInteger(n) ? n : table } }));
    }, el);
  };
  return html`<form class="inline-form" onSubmit=${send} novalidate>
    <${ProblemAlert} problem=${form.problem} shown=${['body.tableNumber']} />
    <${Input} label=${`Table for the seating at ${clock(seating)}`} type="number" min="1" max="9999" step="1" value=${table}
      onValue=${setTable} error=${errorAt(form.problem, 'body.tableNumber')} />
    <button type="submit" disabled=${form.busy}>Seat</button>
  </form>`;
}

/** OrderForm replaces a seated table's order items (one per line). */
function OrderForm({ seating, done }) {
  const [text, setText] = useState(seating.orderItems.join('\n'));
  const form = useForm();
  const send = (e) => {
    e.preventDefault();
    const el = e.currentTarget;
    form.submit(async () => {
      const items = text.split('\n').map((l) => l.trim()).filter(Boolean);
      done(await api('PUT', `${path(seating)}/order-items`, { body: { items } }));
    }, el);
  };
  const itemError = form.problem?.errors.find((e) => e.location?.startsWith('body.items'))?.message;
  return html`<form class="inline-form" onSubmit=${send} novalidate>
    <${ProblemAlert} problem=${form.problem} shown=${form.problem?.errors.filter((e) => e.location?.startsWith('body.items')).map((e) => e.location)} />
    <${TextArea} label=${`Order of table ${seating.tableNumber}`} hint="One item per line." value=${text} onValue=${setText} error=${itemError} />
    <button type="submit" class="secondary" disabled=${form.busy}>Save the order</button>
  </form>`;
}

const path = (s) => `/restaurants/${s.restaurantId}/seatings/${s.id}`;
const clock = (s) => new Date(s.seatingTime).toLocaleString();
const startOfToday = () => {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
};

/** Board is the live seating board of the staff member's restaurant. */
export function Board() {
  const me = useLoad(loadMe, []);
  if (me.loading) return html`<${Page} title="Seating board"><${Loading} /><//>`;
  if (me.error) return html`<${Page} title="Seating board"><${Failed} problem=${me.error} retry=${me.reload} /><//>`;
  if (!isStaff(me.data)) {
    return html`<${Page} title="Seating board" crumbs=${[home]}>
      <${Notice} title="For a restaurant's staff">
        <p>The board shows a restaurant's seatings to the people who work there. You are a customer: <a href="#/restaurants">find a restaurant</a>.</p>
      <//>
    <//>`;
  }
  return html`<${LiveBoard} restaurantId=${me.data.restaurantId} role=${me.data.role} />`;
}

function LiveBoard({ restaurantId, role }) {
  const seatings = useSeatings();
  const restaurant = useLoad(() => api('GET', `/restaurants/${restaurantId}`).then((r) => r.data), [restaurantId]);
  const loaded = useLoad(async () => {
    seatings.reset(await loadAll(`/restaurants/${restaurantId}/seatings`));
    return true;
  }, [restaurantId]);
  const live = useLive((data) => {
    if (data?.seating?.restaurantId === restaurantId) seatings.apply(data);
  }, loaded.reload);
  const [problem, setProblem] = useState(null);
  const done = (r) => seatings.replace(r.data);
  const act = (run) => async () => {
    setProblem(null);
    try {
      done(await run());
    } catch (err) {
      setProblem(err);
    }
  };
  const today = startOfToday();
  const tomorrow = new Date(today.getTime() + 86_400_000);
  const list = (seatings.list || []).filter((s) => new Date(s.seatingTime) >= today);
  const hailing = list.filter((s) => s.hailing);
  const when = (s) => html`${new Date(s.seatingTime) < tomorrow ? html`<strong>Today</strong> ` : ''}<${Time} value=${s.seatingTime} />`;
  const actions = (s) => {
    switch (s.status) {
      case 'PENDING': return html`<div class="filter-buttons">
        <button type="button" onClick=${act(() => api('PATCH', `${path(s)}/accept`))}>Accept</button>
        <button type="button" class="secondary" onClick=${act(() => api('PATCH', `${path(s)}/decline`))}>Decline</button>
      </div>`;
      case 'ACCEPTED': return html`<${SeatForm} seating=${s} done=${done} />`;
      case 'SEATED': return html`
        <${OrderForm} seating=${s} done=${done} />
        <${ConfirmButton} label="Close" question=${`Close table ${s.tableNumber}?`} confirmLabel="Yes, close it"
          onConfirm=${act(() => api('PATCH', `${path(s)}/close`))} />`;
      default: return html`<span class="muted">—</span>`;
    }
  };
  const columns = [
    { label: 'When', cell: when },
    { label: 'Seats', cell: (s) => s.numSeats },
    { label: 'Notes', cell: (s) => s.notes || html`<span class="muted">—</span>` },
    { label: 'Table', cell: (s) => s.tableNumber ?? html`<span class="muted">—</span>` },
    { label: 'Order', cell: (s) => (s.orderItems.length ? s.orderItems.join(', ') : html`<span class="muted">—</span>`) },
    { label: 'Actions', cell: actions },
  ];
  const title = restaurant.data ? `Seating board: ${restaurant.data.name}` : 'Seating board';
  return html`<${Page} title=${title} crumbs=${[home]} actions=${html`
    ${role === 'MANAGER' && html`<a class="button secondary" href="#/restaurants/settings">Restaurant settings</a>`}
    <a class="button secondary" href="#/restaurants/week">Weekly numbers</a>`}>
    <p class="muted">You are ${role === 'MANAGER' ? 'the manager' : 'on the staff'}. Today's and upcoming seatings, by status.</p>
    <${LiveStatus} status=${live} />
    <section aria-label="Tables calling the staff" role="alert">
      ${hailing.map((s) => html`<div class="problem">
        <p><strong>Table ${s.tableNumber} calls the staff${s.hailReason ? `: ${s.hailReason}` : '.'}</strong></p>
        <button type="button" onClick=${act(() => api('DELETE', `${path(s)}/hail`))}>Acknowledge table ${s.tableNumber}</button>
      </div>`)}
    </section>
    <${ProblemAlert} problem=${problem} />
    ${loaded.loading && !seatings.list && html`<${Loading} what="Loading the seatings" />`}
    ${loaded.error && html`<${Failed} problem=${loaded.error} retry=${loaded.reload} />`}
    ${seatings.list && STATUSES.map((st) => html`<section aria-labelledby=${`board-${st}`}>
      <h2 id=${`board-${st}`}>${STATUS_TEXT[st]} (${list.filter((s) => s.status === st).length})</h2>
      <${Table} caption=${`${STATUS_TEXT[st]} seatings`} columns=${columns} rows=${list.filter((s) => s.status === st)}
        empty=${`No ${STATUS_TEXT[st].toLowerCase()} seating.`} />
    </section>`)}
  <//>`;
}
