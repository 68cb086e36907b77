// A tune job: the trials as they end, the best settings, Optuna's plots and the settings file.

import { api, download, follow, protectedImage } from '../api.js';
import { h, message, number, stat, stateBadge, when } from '../dom.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

function card(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

function settingsList(values) {
  const entries = Object.entries(values ?? {});
  if (!entries.length) return h('span', { class: 'muted' }, 'none yet');
  return h('dl', { class: 'details' }, entries.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, typeof v === 'number' ? number(v, 4) : String(v))]));
}

function trialsTable(rows) {
  if (!rows.length) return h('div', { class: 'empty' }, 'No trial has ended.');
  const columns = Object.keys(rows[0]);
  const head = h('tr', null, columns.map((c) => h('th', null, c)));
  const body = rows.map((row) => h('tr', { 'data-testid': 'trial' }, columns.map((c) =>
    h('td', { class: typeof row[c] === 'number' ? 'num' : null }, typeof row[c] === 'number' ? number(row[c], 4) : String(row[c] ?? '')))));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, body)));
}

export async function render(main, job, { signal }) {
  const el = {
    head: h('div', { class: 'page-head' }),
    stats: h('div', { class: 'stats' }),
    error: h('div'),
    log: h('ol', { class: 'log', 'data-testid': 'tune-log' }),
    best: h('div', { 'data-testid': 'tune-best' }),
    trials: h('div', { 'data-testid': 'tune-trials' }),
    plots: h('div', { class: 'figures' }),
    downloads: h('div', { class: 'downloads' }),
  };
  main.append(el.head, el.stats, el.error,
    h('div', { class: 'grid-2' }, card('Best settings', el.best), card('Solve runs', el.log)),
    card('Trials', el.trials), card('Plots', el.plots), card('Downloads', el.downloads));

  function draw() {
    const tune = job.result?.tune;
    const running = !FINISHED.has(job.state);
    const cancel = h('button', {
      class: 'button danger', type: 'button', disabled: !running, 'data-testid': 'cancel',
      onclick: async () => {
        if (!confirm(`Cancel tune ${job.id}?`)) return;
        job = await api(`/api/v1/jobs/${job.id}/cancel`, { method: 'POST' });
        draw();
      },
    }, 'Cancel');
    el.head.replaceChildren(
      h('div', null,
        h('div', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ` / tune ${job.id}`),
        h('div', { class: 'title-row' }, h('h1', null, `Tune: ${(job.settings.models ?? []).map((m) => m.split('/').pop()).join(', ')}`), stateBadge(job.state)),
        h('div', { class: 'subtitle' }, `Optuna study ${job.settings.tune.study_name} · project ${job.project} · ${job.owner} · submitted ${when(job.queued_at)}`)),
      h('div', { class: 'actions' }, cancel));
    const t = job.settings.tune;
    el.stats.replaceChildren(
      stat('Trials', tune ? `${tune.trials} in the study` : `${t.trials} to run`, 'trials'),
      stat('Best mean log ERT', tune?.best_value === null || tune?.best_value === undefined ? '—' : number(tune.best_value, 4), 'best-value'),
      stat('Seeds per model', String(t.seeds)),
      stat('Budget per solve', `${t.run_budget} s`),
      stat('State', FINISHED.has(job.state) ? (job.stop_reason ?? job.state) : job.state, 'stop-reason', true));
    el.error.replaceChildren(job.error ? message(job.error) : '');
    el.best.replaceChildren(
      h('h3', null, '[fit]'), settingsList(tune?.best_fit),
      h('h3', null, '[solve]'), settingsList(tune?.best_solve));
    el.trials.replaceChildren(tune ? trialsTable(tune.table ?? []) : h('div', { class: 'empty' }, 'The trials appear when the tune has ended.'));
    el.downloads.replaceChildren(...job.artifacts.filter((a) => !a.kind.endsWith('_html')).map((a) =>
      h('button', { class: 'button', type: 'button', 'data-kind': a.kind, onclick: () => download(a.url, a.name) },
        a.kind === 'settings' ? 'Best settings (best.toml)' : a.name)));
  }

  async function plots() {
    const images = job.artifacts.filter((a) => a.kind.endsWith('_png'));
    el.plots.replaceChildren(...await Promise.all(images.map((a) => protectedImage(a.url, a.kind))));
    if (!images.length) el.plots.replaceChildren(h('div', { class: 'empty' }, 'Optuna\'s plots appear when trials have ended.'));
  }

  draw();
  const finished = FINISHED.has(job.state);
  await follow(`/api/v1/jobs/${job.id}/events`, (kind, data) => {  // stored runs first, then live ones
    if (kind === 'log' && data.message) el.log.append(h('li', null, data.message));
    else if (kind === 'state' && data.state !== job.state && !finished) {
      job.state = data.state;
      draw();
    }
  }, signal);
  if (!finished) {
    job = await api(`/api/v1/jobs/${job.id}`, { signal });
    draw();
  }
  if (!el.log.childElementCount) el.log.append(h('li', { class: 'muted' }, 'The solve runs of each trial are listed here while the tune runs.'));
  await plots();
}
