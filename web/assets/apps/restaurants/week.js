// The weekly numbers of the staff member's restaurant: the week's seatings
// (any status but DECLINED and CANCELLED, as the mailed weekly report
// counts them) per day, as a bar chart with the same numbers in a table.
// Days are the reader's (the browser's time zone).
import { html } from '../../core/html.js';
import { Failed, Loading, Notice, Page, Table, useLoad } from '../../core/ui.js';
import { isStaff, loadAll, loadMe } from './common.js';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const COUNTED = (s) => s.status !== 'DECLINED' && s.status !== 'CANCELLED';
const home = { href: '#/restaurants', label: 'Restaurants' };

/** monday is the local midnight starting the week of d (or of the YYYY-MM-DD text). */
function monday(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  const d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}

const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
const ymd = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** Chart draws counts (one per day) as bars; the table next to it holds the same numbers. */
function Chart({ counts, label }) {
  const W = 900;
  const H = 220;
  const top = 20;
  const bottom = 30;
  const max = Math.max(1, ...counts);
  const slot = W / counts.length;
  const bar = slot * 0.6;
  const y = (n) => top + (H - top - bottom) * (1 - n / max);
  return html`<figure class="card">
    <svg viewBox=${`0 0 ${W} ${H}`} width="100%" role="img" aria-labelledby="week-chart-title week-chart-desc" focusable="false">
      <title id="week-chart-title">${label}</title>
      <desc id="week-chart-desc">${DAYS.map((d, i) => `${d}: ${counts[i]}`).join(', ')}.</desc>
      <line x1="0" x2=${W} y1=${H - bottom} y2=${H - bottom} stroke="#5b6478" stroke-width="1" />
      ${counts.map((n, i) => html`<g>
        <rect x=${i * slot + (slot - bar) / 2} y=${y(n)} width=${bar} height=${H - bottom - y(n)} fill="#2f4ea8" />
        <text x=${i * slot + slot / 2} y=${y(n) - 4} text-anchor="middle" font-size="13" fill="#1c2333">${n}</text>
        <text x=${i * slot + slot / 2} y=${H - 10} text-anchor="middle" font-size="13" fill="#1c2333">${DAYS[i].slice(0, 3)}</text>
      </g>`)}
    </svg>
    <figcaption class="muted">The same numbers are in the table below.</figcaption>
  </figure>`;
}

/** Week shows the weekly numbers of the week starting ?start= (a Monday; this week by default). */
export function Week({ query }) {
  const start = monday(query.get('start'));
  const end = addDays(start, 7);
  const data = useLoad(async () => {
    const me = await loadMe();
    if (!isStaff(me)) return { me };
    const list = await loadAll(`/restaurants/${me.restaurantId}/seatings`, { from: start.toISOString(), to: end.toISOString() });
    const perDay = DAYS.map(() => 0);
    for (const s of list.filter(COUNTED)) perDay[(new Date(s.seatingTime).getDay() + 6) % 7] += 1;
    return { me, counts: perDay, week: ymd(start) };
  }, [ymd(start)]);
  // While another week loads, the previous week's numbers are not shown
  // under this week's title.
  const counts = data.data?.week === ymd(start) ? data.data.counts : null;
  const title = `Weekly numbers: week of ${ymd(start)}`;
  const nav = html`<nav class="pager" aria-label="Weeks">
    <a href=${`#/restaurants/week?start=${ymd(addDays(start, -7))}`}>Previous week</a>
    <a href=${`#/restaurants/week?start=${ymd(end)}`}>Next week</a>
  </nav>`;
  return html`<${Page} title=${title} crumbs=${[home, { href: '#/restaurants/board', label: 'Seating board' }]}>
    ${data.loading && html`<${Loading} what="Counting the week's seatings" />`}
    ${data.error && html`<${Failed} problem=${data.error} retry=${data.reload} />`}
    ${data.data && !data.data.counts && html`<${Notice} title="For a restaurant's staff"><p>The weekly numbers are a restaurant's; you are a customer.</p><//>`}
    ${counts && html`
      <p>Seatings from ${ymd(start)} to ${ymd(addDays(start, 6))} (any status but declined and cancelled), by day: <strong>${counts.reduce((a, b) => a + b, 0)} in total</strong>.</p>
      <${Chart} counts=${counts} label=${`Seatings per day, week of ${ymd(start)}`} />
      <${Table} caption="Seatings per day" rowKey=${(r) => r.day}
        columns=${[{ label: 'Day', cell: (r) => r.day }, { label: 'Seatings', cell: (r) => r.n }]}
        rows=${DAYS.map((day, i) => ({ day, n: counts[i] }))} />
      ${nav}`}
  <//>`;
}
