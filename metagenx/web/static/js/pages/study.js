// One study: counts, success rate, summary per problem, parameter statistics, FOM and trend plots,
// and its jobs; follows the study's events and refreshes as jobs finish.

import { api, download, follow } from '../api.js';
import { countsBar, fom, h, message, number, percent, stat, stateBadge, studyState, table, takeFlash, when } from '../dom.js';
import { fomDistribution, purge, trendPlots } from '../plots.js';

const MAX_ROWS = 500;
const MAX_PANELS = 24;
const REFRESH_DELAY = 1500;

function card(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

/** Axis columns of the table (between "seed" and "data_file") and the fitted parameters' columns. */
function columnsOf(columns) {
  const axes = columns.slice(columns.indexOf('seed') + 1, columns.indexOf('data_file'));
  const parameters = columns.slice(columns.indexOf('fom') + 1, columns.indexOf('generations'));
  return { axes, parameters };
}

/** Succeeded starts grouped by problem (data file and bound/fit-flag axes), FOMs sorted. */
function groupStarts(rows, axes) {
  const problemAxes = axes.filter((a) => /^(min|max|fit):/.test(a));
  const groups = new Map();
  for (const row of rows) {
    if (row.state !== 'succeeded' || row.fom === null) continue;
    const name = [row.data_file ?? '', ...problemAxes.map((a) => `${a}=${row[a]}`)].filter(Boolean).join(' ');
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(row.fom);
  }
  return [...groups].map(([name, foms]) => ({ name, foms: foms.sort((a, b) => a - b) }));
}

/** The x axis of a batch's trends: the order key and its unit when the headers give one
 * ("temperature (K)"), else where it is read ("temperature (file header)"). */
function orderLabel(definition, summary) {
  const [kind, key] = (definition?.data?.order ?? 'name').split(/:(.*)/);
  if (!key) return null;
  const units = new Set(summary.problems.filter((p) => p.order_value !== null).map((p) => p.order_unit ?? null));
  const unit = units.size === 1 ? [...units][0] : null;
  if (unit) return `${key} (${unit})`;
  return `${key} (${kind === 'header' ? 'file header' : 'column mean'})`;
}

/** A value with its error bar: "1180.2 ± 3.1", or "1180.2 −2.0/+4.1" when asymmetric. */
function withError(value, error) {
  if (value === undefined || value === null) return '—';
  if (!error) return number(value, 6);
  const [low, high] = error;
  const close = Math.abs(low - high) <= 0.05 * Math.max(low, high);
  return close ? `${number(value, 6)} ± ${number(Math.max(low, high), 2)}` : `${number(value, 6)} −${number(low, 2)}/+${number(high, 2)}`;
}

/** A batch or series: one row per data file (order value, FOM, the best fit's values ± error bars). */
function filesTable(summary, names) {
  const ordered = summary.problems.some((p) => p.order_value !== null);
  const unit = summary.problems.find((p) => p.order_unit)?.order_unit;
  const columns = [
    { label: 'Data file', value: (p) => p.data_file || p.problem },
    ...(ordered ? [{ label: unit ? `Order (${unit})` : 'Order', class: 'num', value: (p) => number(p.order_value, 6) }] : []),
    { label: 'FOM', class: 'num', value: (p) => fom(p.best_fom) },
    ...names.map((n) => ({ label: n, class: 'num', value: (p) => withError(p.best_values[n], p.best_errors?.[n]) })),
  ];
  const sources = [...new Set(summary.problems.map((p) => p.error_source).filter(Boolean))];
  return h('div', null, table(columns, summary.problems),
    sources.length ? h('div', { class: 'note', 'data-testid': 'error-source' }, `Error bars: ${sources.join('; ')}.`) : '');
}

/** A sweep of settings: one row per settings point (FOM min/median/max, share within the tolerance). */
function pointsTable(summary) {
  return table([
    { label: 'Settings', value: (p) => h('span', { class: 'mono' }, p.label + (p.label === summary.best_point ? ' (best)' : '')) },
    { label: 'Starts', class: 'num', value: (p) => `${p.succeeded}/${p.starts}` },
    { label: 'FOM min', class: 'num', value: (p) => fom(p.fom_min) },
    { label: 'FOM median', class: 'num', value: (p) => fom(p.fom_median) },
    { label: 'FOM max', class: 'num', value: (p) => fom(p.fom_max) },
    { label: `Within ${percent(summary.tolerance)} of best`, class: 'num', value: (p) => percent(p.success_share) },
  ], summary.points ?? []);
}

function problemsTable(summary) {
  return table([
    { label: 'Data file / problem', value: (p) => p.problem || p.data_file || 'all starts' },
    { label: 'Starts', class: 'num', value: (p) => String(p.starts) },
    { label: 'Converged', class: 'num', value: (p) => String(p.converged) },
    { label: 'Success rate', class: 'num', value: (p) => percent(p.success_rate) },
    { label: 'Best FOM', class: 'num', value: (p) => fom(p.best_fom) },
    { label: 'Best start', value: (p) => p.best_label },
  ], summary.problems);
}

function statisticsTable(summary) {
  const several = summary.problems.length > 1;
  const rows = summary.problems.flatMap((p) => p.parameters.map((s) => ({ ...s, problem: p.problem || p.data_file || '' })));
  const columns = [
    { label: 'Parameter', value: (s) => h('span', { class: 'mono' }, s.name) },
    { label: 'Mean', class: 'num', value: (s) => number(s.mean, 6) },
    { label: 'Std', class: 'num', value: (s) => number(s.std) },
    { label: 'Rel. std', class: 'num', value: (s) => (s.mean ? `${number((100 * s.std) / Math.abs(s.mean), 2)} %` : '—') },
    { label: 'Min', class: 'num', value: (s) => number(s.min, 6) },
    { label: 'Max', class: 'num', value: (s) => number(s.max, 6) },
    { label: 'Starts', class: 'num', value: (s) => String(s.count) },
  ];
  if (several) columns.unshift({ label: 'Problem', value: (s) => s.problem });
  return table(columns, rows);
}

function jobsTable(rows, ids) {
  return table([
    { label: 'Label', value: (r) => (ids.has(r.label) ? h('a', { href: `#/jobs/${ids.get(r.label)}` }, r.label) : r.label) },
    { label: 'State', value: (r) => stateBadge(r.state) },
    { label: 'Seed', class: 'num', value: (r) => (r.seed ?? '—') },
    { label: 'Data file', value: (r) => r.data_file ?? '—' },
    { label: 'FOM', class: 'num', value: (r) => fom(r.fom) },
    { label: 'Generations', class: 'num', value: (r) => (r.generations ?? '—') },
    { label: 'Time (s)', class: 'num', value: (r) => number(r.wall_time, 3) },
    { label: 'Stop reason / error', class: 'wrap muted', value: (r) => r.error ?? r.stop_reason ?? '' },
  ], rows.slice(0, MAX_ROWS));
}

export async function render(main, { params, signal }) {
  const id = Number(params[0]);
  const el = {
    head: h('div', { class: 'page-head' }),
    stats: h('div', { class: 'stats' }),
    counts: h('div'),
    summary: h('div', { 'data-testid': 'study-summary' }),
    statistics: h('div'),
    distribution: h('div', { class: 'plot', 'data-testid': 'fom-distribution' }),
    trends: h('div', { class: 'plot-grid', 'data-testid': 'trends' }),
    trendsNote: h('div', { class: 'note' }),
    distributionNote: h('div', { class: 'empty' }),
    jobs: h('div'),
    error: h('div'),
  };
  el.pair = h('div', { class: 'grid-2' },
    card('FOM of the starts', el.distributionNote, el.distribution),
    card('Parameter statistics (converged starts)', el.statistics));
  signal.addEventListener('abort', () => {
    purge(el.distribution);
    for (const panel of el.trends.children) purge(panel);
  });
  main.append(
    el.head, takeFlash(), el.error, el.stats,
    card('Summary', el.counts, el.summary),
    el.pair,
    card('Parameter trends', el.trendsNote, el.trends),
    h('section', { class: 'card flush' }, h('h2', null, 'Jobs'), el.jobs),
  );

  async function refresh() {
    const [summary, results, jobs] = await Promise.all([
      api(`/api/v1/studies/${id}/summary`, { signal }),
      api(`/api/v1/studies/${id}/table`, { signal }),
      api(`/api/v1/jobs?study=${id}&limit=${MAX_ROWS}`, { signal }),
    ]);
    const study = summary.study;
    const active = (study.counts.queued ?? 0) + (study.counts.running ?? 0) > 0;
    el.head.replaceChildren(
      h('div', null,
        h('div', { class: 'crumbs' }, h('a', { href: '#/studies' }, 'Studies'), ` / study ${study.id}`),
        h('div', { class: 'title-row' }, h('h1', null, study.name), h('span', { class: 'kind' }, study.kind), stateBadge(studyState(study))),
        h('div', { class: 'subtitle' }, `project ${study.project} · ${study.owner} · created ${when(study.created_at)}`)),
      h('div', { class: 'actions' },
        h('button', { class: 'button', type: 'button', onclick: () => download(`/api/v1/studies/${id}/table?format=csv`, `study-${id}.csv`) }, 'Table (CSV)'),
        h('button', { class: 'button danger', type: 'button', disabled: !active, onclick: cancel }, 'Cancel study')),
    );
    const shape = summary.shape ?? 'repeats';
    el.stats.replaceChildren(
      stat('Jobs', String(study.jobs), 'jobs'),
      stat('Succeeded', String(study.counts.succeeded ?? 0), 'succeeded'),
      stat('Failed', String(study.counts.failed ?? 0), 'failed'),
      shape === 'batch'
        ? stat('Data files', String(summary.problems.length), 'data-files')
        : stat('Success rate', percent(summary.success_rate), 'success-rate'),
      ...(shape === 'sweep' && summary.best_point ? [stat('Best point', summary.best_point, 'best-point', true)] : []),
      stat('Best FOM', fom(summary.best_fom ?? (summary.problems.length ? Math.min(...summary.problems.map((p) => p.best_fom)) : null)), 'best-fom'),
      stat('Best start', summary.best_label ?? (summary.problems.length ? `${summary.problems.length} problems` : '—'), 'best-label', true),
    );
    const notes = {
      repeats: `A start has converged when its FOM is within ${percent(summary.tolerance)} of the best FOM of its problem; the success rate is converged / succeeded starts.`,
      sweep: `Each settings point's starts: FOM min/median/max and the share within ${percent(summary.tolerance)} of the best FOM; the best point has the highest share, then the lowest median FOM.`,
      batch: 'The best fit of each data file, in fitting order.',
    };
    el.counts.replaceChildren(countsBar(study.counts), h('div', { class: 'note summary-note' }, notes[shape] ?? notes.repeats));
    const none = h('div', { class: 'empty' }, 'No succeeded fit yet.');
    const names = columnsOf(results.columns).parameters;
    const shown = shape === 'batch' ? filesTable(summary, names) : shape === 'sweep' ? pointsTable(summary) : problemsTable(summary);
    el.summary.dataset.shape = shape;
    el.summary.replaceChildren(summary.problems.length ? shown : none);
    el.pair.className = summary.problems.length > 1 || shape === 'batch' ? 'stack' : 'grid-2';
    el.statistics.parentElement.hidden = shape === 'batch';
    el.statistics.replaceChildren(summary.problems.length ? statisticsTable(summary) : none.cloneNode(true));
    const ids = new Map(jobs.items.map((j) => [j.label, j.id]));
    el.jobs.replaceChildren(results.rows.length ? jobsTable(results.rows, ids) : h('div', { class: 'empty' }, 'No job.'));
    await plots(results, summary);
  }

  async function plots(results, summary) {
    const { axes, parameters } = columnsOf(results.columns);
    const starts = results.rows.filter((r) => r.state === 'succeeded' && r.fom !== null).length;
    for (const panel of el.trends.children) purge(panel);
    el.trends.replaceChildren();
    el.distribution.hidden = starts < 2;
    el.distributionNote.hidden = starts >= 2;
    el.distributionNote.textContent = `Plots need two or more succeeded starts; this study has ${starts}.`;
    if (starts < 2 || !parameters.length) {
      el.trendsNote.textContent = el.distributionNote.textContent;
      return;
    }
    await fomDistribution(el.distribution, groupStarts(results.rows, axes), summary.tolerance ?? 0.01);
    const names = parameters.slice(0, MAX_PANELS);
    const batch = await trendPlots(el.trends, results.rows, summary, names, orderLabel(summary.study.definition, summary));
    const sources = [...new Set(summary.problems.map((p) => p.error_source).filter(Boolean))];
    el.trendsNote.textContent = (batch
      ? `Best start per data file, in fitting order.${sources.length ? ` Error bars: ${sources.join('; ')}.` : ''}`
      : 'Each succeeded start’s value against its FOM: converged starts should agree.')
      + (parameters.length > MAX_PANELS ? ` First ${MAX_PANELS} of ${parameters.length} parameters.` : '');
  }

  async function cancel() {
    if (!confirm(`Cancel the queued and running jobs of study ${id}?`)) return;
    try {
      await api(`/api/v1/studies/${id}/cancel`, { method: 'POST' });
      await refresh();
    } catch (error) {
      el.error.replaceChildren(message(`Could not cancel: ${error.message}`));
    }
  }

  await refresh();
  let timer = null;
  const later = () => {
    timer ??= setTimeout(() => {
      timer = null;
      if (!signal.aborted) refresh().catch((e) => !signal.aborted && el.error.replaceChildren(message(e.message)));
    }, REFRESH_DELAY);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  await follow(`/api/v1/studies/${id}/events`, (kind) => {
    if (kind === 'state') later();
  }, signal);
  later();
}
