// One watch: the live series of its data files (state, FOM, fitted values ± the advisor's predicted σ,
// the targets' verdicts; why a file failed), the latest file's advice, a trend panel per fitted
// parameter, the CSV table and PNG plot, and a form to push data files.

import { api, download, follow } from '../api.js';
import { countsBar, fom, h, message, number, stat, stateBadge, takeFlash, when } from '../dom.js';
import { SeriesPlots } from '../plots.js';
import { pushForm } from '../watch-forms.js';

const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const FINISHED = new Set(STATES.slice(2));
const MAX_PANELS = 24;
const CHECK_DELAY = 1500;
/** A state change is followed by its `row` event; without one by then (a reconnect), the series is read again. */

function card(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

/** Fitted parameters: the server's list, then any new name in the rows, in order of appearance. */
function parameterNames(known, rows) {
  const names = new Set(known);
  for (const row of rows) for (const name of Object.keys(row.parameters ?? {})) names.add(name);
  return [...names];
}

function progressText(row, budget) {
  const p = row.progress;
  if (row.state === 'running') return p?.generation === null || p?.generation === undefined ? 'starting' : `generation ${p.generation}${budget ? ` / ${budget}` : ''}`;
  if (row.state === 'queued') return row.seeded_from ? `waits for job ${row.seeded_from}` : 'waiting';
  return '';
}

/** A fitted value, with the advisor's predicted σ when there is one. */
function valueCell(row, name) {
  const value = row.parameters[name];
  const sigma = row.sigma?.[name];
  if (value === null || value === undefined || sigma === null || sigma === undefined) return number(value, 6);
  return h('span', { title: 'predicted σ from the Fisher information (errors taken as counting errors)' },
    `${number(value, 6)} ± ${number(sigma, 2)}`);
}

/** The targets' verdicts of one row, as `name: verdict` lines. */
function verdictCell(row) {
  return Object.entries(row.verdicts ?? {}).map(([name, text]) => h('div', { 'data-testid': 'verdict' }, `${name}: ${text}`));
}

/** The advice line of the latest file that has one. */
function adviceLine(list) {
  const latest = [...list].reverse().find((r) => r.advice);
  return latest ? h('div', { class: 'note advice', 'data-testid': 'advice' }, h('strong', null, `Advice for ${latest.label}: `), latest.advice) : null;
}

/** One row per file in arrival order; a row's error (failed or cancelled) on a full-width line below it. */
function seriesTable(watch, rows, parameters) {
  const columns = [
    { label: '#', class: 'num', value: (r) => (r.file_index === null ? '—' : String(r.file_index + 1)) },
    { label: 'File', value: (r) => h('a', { href: `#/jobs/${r.job_id}`, 'data-testid': 'file' }, r.label) },
    watch.order_label ? { label: watch.order.replace(/^[a-z]+:/, ''), title: watch.order_label, class: 'num', value: (r) => number(r.order_value) } : null,
    { label: 'State', value: (r) => stateBadge(r.state) },
    { label: 'FOM', class: 'num', value: (r) => (r.fom === null && r.progress ? h('span', { class: 'muted' }, fom(r.progress.best_fom)) : fom(r.fom)) },
    rows.some((r) => r.state === 'queued' || r.state === 'running')
      ? { label: 'Progress', class: 'muted', value: (r) => progressText(r, watch.settings.max_generations) } : null,
    ...parameters.map((name) => ({ label: name, class: 'num param', value: (r) => valueCell(r, name) })),
    rows.some((r) => Object.keys(r.verdicts ?? {}).length) ? { label: 'Verdict', value: verdictCell } : null,
  ].filter(Boolean);
  const body = rows.flatMap((row) => [
    h('tr', { 'data-job': row.job_id, 'data-state': row.state }, columns.map((c) => h('td', { class: c.class }, c.value(row)))),
    row.error ? h('tr', { class: 'row-error' }, h('td', { colspan: columns.length, 'data-testid': 'row-error' }, row.error)) : null,
  ]);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data series' },
    h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.class, title: c.title }, c.label)))),
    h('tbody', null, body)));
}

function definition(watch) {
  const rows = [
    ['Template', watch.template],
    ['Data set', String(watch.dataset)],
    ['Loader', watch.loader],
    ['Loader options', h('code', null, JSON.stringify(watch.loader_options))],
    ['Settings', h('code', null, JSON.stringify(Object.fromEntries(Object.entries(watch.settings).filter(([, v]) => v !== null))))],
    ['Order', watch.order_label ?? 'arrival order'],
    ['Sequential', watch.sequential ? 'yes: each fit starts from the previous file’s values' : 'no'],
    ['Targets', Object.keys(watch.targets ?? {}).length ? Object.entries(watch.targets).map(([k, v]) => `${k}: σ ≤ ${v}`).join(', ') : 'none'],
  ];
  return h('dl', { class: 'details' }, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export async function render(main, { params, signal }) {
  const id = Number(params[0]);
  let watch = null;
  let rows = new Map();
  const el = {
    head: h('div', { class: 'page-head' }),
    error: h('div'),
    stats: h('div', { class: 'stats' }),
    counts: h('div', { class: 'counts' }),
    table: h('div', { 'data-testid': 'series' }),
    advice: h('div'),
    trends: h('div', { class: 'plot-grid', 'data-testid': 'watch-trends' }),
    trendsNote: h('div', { class: 'note' }),
    definition: h('div'),
    push: h('div'),
  };
  const trends = new SeriesPlots(el.trends);
  signal.addEventListener('abort', () => trends.purge());
  main.append(
    el.head, takeFlash(), el.error, el.stats,
    h('section', { class: 'card flush' }, h('h2', null, 'Series'), el.counts, el.advice, el.table),
    card('Parameter trends', el.trendsNote, el.trends),
    h('div', { class: 'grid-2' }, card('Push a data file', el.push), card('Definition', el.definition)),
  );

  function save(path, name) {
    download(path, name).catch((error) => el.error.replaceChildren(message(`Could not download: ${error.message}`)));
  }

  function head(list, counts) {
    const active = (counts.queued ?? 0) + (counts.running ?? 0) > 0;
    el.head.replaceChildren(
      h('div', null,
        h('div', { class: 'crumbs' }, h('a', { href: '#/watches' }, 'Watches'), ` / watch ${watch.id}`),
        h('div', { class: 'title-row' }, h('h1', null, watch.name), h('span', { class: 'kind' }, 'watch'),
          stateBadge(watch.state === 'active' ? (active ? 'running' : 'idle') : watch.state)),
        h('div', { class: 'subtitle' }, `project ${watch.project} · ${watch.owner} · created ${when(watch.created_at)} · ${list.length} file${list.length === 1 ? '' : 's'}`)),
      h('div', { class: 'actions' },
        h('button', { class: 'button', type: 'button', 'data-kind': 'csv', onclick: () => save(watch.links.table, `watch-${id}.csv`) }, 'Table (CSV)'),
        h('button', { class: 'button', type: 'button', 'data-kind': 'png', disabled: (counts.succeeded ?? 0) < 2,
          title: 'Needs two fitted files', onclick: () => save(watch.links.plot, `watch-${id}-trends.png`) }, 'Trend plot (PNG)')),
    );
  }

  let drawing = null;
  let replot = false;
  let plotting = Promise.resolve();
  const failed = (error) => !signal.aborted && el.error.replaceChildren(message(error.message));
  /** Draw the page on the next frame; `plots` also redraws the trends (one redraw at a time). */
  function schedule(plots = false) {
    replot ||= plots;
    drawing ??= requestAnimationFrame(() => {
      const [list, counts, parameters] = draw();
      if (replot) plotting = plotting.then(() => drawTrends(list, counts, parameters)).catch(failed);
      drawing = null;
      replot = false;
    });
  }

  function draw() {
    const list = [...rows.values()].sort((a, b) => (a.file_index ?? 1e9) - (b.file_index ?? 1e9) || a.job_id - b.job_id);
    const counts = {};
    for (const row of list) counts[row.state] = (counts[row.state] ?? 0) + 1;
    const parameters = parameterNames(watch.parameters, list);
    const latest = list[list.length - 1];
    head(list, counts);
    el.stats.replaceChildren(
      stat('Files', String(list.length), 'files'),
      ...STATES.filter((s) => s !== 'cancelled' || counts[s]).map((s) => stat(s[0].toUpperCase() + s.slice(1), String(counts[s] ?? 0), s)),
      stat('Latest file', latest ? `${latest.label} (${latest.state})` : '—', 'latest', true),
    );
    el.counts.replaceChildren(countsBar(counts));
    el.advice.replaceChildren(...[adviceLine(list)].filter(Boolean));
    el.table.replaceChildren(list.length ? seriesTable(watch, list, parameters)
      : h('div', { class: 'empty' }, 'No data file yet: push one below, or run “metagenx watch --server” on the instrument’s folder.'));
    return [list, counts, parameters];
  }

  async function drawTrends(list, counts, parameters) {
    const fitted = counts.succeeded ?? 0;
    el.trends.hidden = fitted === 0;
    const missing = await trends.draw(list, parameters.slice(0, MAX_PANELS), watch.order_label);
    el.trendsNote.textContent = [
      fitted ? `The fitted value in each file against ${watch.order_label ?? 'the file’s place in the series'}; updated as fits finish.` : 'A panel per fitted parameter appears when the first file is fitted.',
      missing ? `${missing} fitted file${missing === 1 ? ' has' : 's have'} no ${watch.order_label} and ${missing === 1 ? 'is' : 'are'} not plotted.` : '',
      parameters.length > MAX_PANELS ? `First ${MAX_PANELS} of ${parameters.length} parameters.` : '',
    ].filter(Boolean).join(' ');
  }

  const stale = new Set();
  let timer = null;
  let arrived = null;
  /** Read the series; `row` events that arrive meanwhile may be newer than the answer, so they win. */
  async function load() {
    arrived = new Map();
    const checked = [...stale];
    stale.clear();
    try {
      const { rows: list, ...series } = await api(`/api/v1/watches/${id}`, { signal });
      watch = series;
      rows = new Map([...list.map((row) => [row.job_id, row]), ...arrived]);
    } catch (error) {
      for (const job of checked) stale.add(job);
      throw error;
    } finally {
      arrived = null;
    }
    el.definition.replaceChildren(definition(watch));
    schedule(true);
  }

  function check() {
    timer ??= setTimeout(() => {
      timer = null;
      if (!stale.size || signal.aborted) return;
      if (arrived) check();
      else load().catch(failed);
    }, CHECK_DELAY);
  }
  signal.addEventListener('abort', () => clearTimeout(timer));

  await load();
  el.push.replaceChildren(pushForm(id, watch.order_label));
  await follow(`/api/v1/watches/${id}/events`, (kind, data) => {
    const row = rows.get(data.job_id);
    if (kind === 'row') {
      const { finished, ...fresh } = data;
      rows.set(fresh.job_id, fresh);
      arrived?.set(fresh.job_id, fresh);
      stale.delete(fresh.job_id);
      schedule(true);
    } else if (kind === 'state' && row?.state !== data.state) {
      if (row) Object.assign(row, { state: data.state, fom: data.fom ?? row.fom, progress: null });
      stale.add(data.job_id);
      check();
      schedule();
    } else if (kind === 'progress' && row && !FINISHED.has(row.state)) {
      row.state = 'running';
      row.progress = { ...row.progress, ...data };
      schedule();
    }
  }, signal);
}
