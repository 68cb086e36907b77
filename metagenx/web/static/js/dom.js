// DOM helpers and formatters. Text is always inserted as text nodes, never parsed as HTML:
// model names, labels and error messages come from users.

/** An element: h('td', {class: 'num'}, 'text', otherNode). `on<event>` attributes become listeners. */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'style') Object.assign(element.style, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A table: `columns` are {label, value(row) -> text or Node, class?}; `rowAttrs(row)` adds row attributes. */
export function table(columns, rows, rowAttrs) {
  const head = h('tr', null, columns.map((c) => h('th', { class: c.class }, c.label)));
  const body = rows.map((row) =>
    h('tr', rowAttrs ? rowAttrs(row) : null, columns.map((c) => h('td', { class: c.class }, c.value(row)))),
  );
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, body)));
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${state}`, 'data-testid': 'state' }, state);
}

/** What a study is doing, from its job counts (the stored state stays "active" while it may get jobs). */
export function studyState(study) {
  const c = study.counts ?? {};
  if (study.state === 'cancelled') return 'cancelled';
  if ((c.queued ?? 0) + (c.running ?? 0) > 0) return 'running';
  if (!study.jobs) return study.state;
  return (c.succeeded ?? 0) === 0 && (c.failed ?? 0) > 0 ? 'failed' : 'finished';
}

export function stat(label, value, testid, small = false) {
  return h(
    'div',
    { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: small ? 'stat-value small' : 'stat-value', 'data-testid': testid }, value),
  );
}

export function message(text, kind = 'error') {
  return h('div', { class: kind === 'info' ? 'message info' : 'message', role: 'alert' }, text);
}

/** A number for people: 4 significant digits, exponent notation for very small or large values. */
export function number(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (typeof value !== 'number') return String(value);
  const size = Math.abs(value);
  if (size !== 0 && (size < 1e-3 || size >= 1e5)) return value.toExponential(digits - 1);
  return String(Number(value.toPrecision(digits)));
}

export const fom = (value) => number(value, 5);

export function percent(fraction) {
  return fraction === null || fraction === undefined ? '—' : `${Math.round(fraction * 100)} %`;
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Seconds as "12.3 s", "4 min 05 s" or "2 h 03 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Seconds between two ISO times (the second defaults to now). */
export function between(start, end) {
  if (!start) return null;
  return ((end ? new Date(end) : new Date()) - new Date(start)) / 1000;
}

export function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 ** 2).toFixed(1)} MiB`;
}

/** A stacked bar of job counts by state, with its legend. */
export function countsBar(counts, withLegend = true) {
  const states = ['succeeded', 'running', 'queued', 'failed', 'cancelled'];
  const total = states.reduce((sum, s) => sum + (counts[s] ?? 0), 0) || 1;
  const bar = h(
    'div',
    { class: 'progress' },
    states.map((s) => h('span', { class: `seg-${s}`, style: { width: `${(100 * (counts[s] ?? 0)) / total}%` } })),
  );
  if (!withLegend) return bar;
  const legend = h(
    'div',
    { class: 'legend' },
    states.filter((s) => counts[s]).map((s) => h('span', { class: `state-${s}` }, `${counts[s]} ${s}`)),
  );
  return h('div', null, bar, legend);
}

/** Call `fn` now and then every `ms` while the page is shown (until `signal` aborts). */
export async function repeat(ms, signal, fn) {
  while (!signal.aborted) {
    await fn();
    await new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }
}

let flashed = null;

/** A one-time notice for the next page shown (e.g. "this job already existed"). */
export function flash(text) {
  flashed = text;
}

export function takeFlash() {
  const text = flashed;
  flashed = null;
  return text ? message(text, 'info') : '';
}
