// All jobs, newest first, filtered by state; refreshed every few seconds.

import { api } from '../api.js';
import { between, duration, fom, h, repeat, stateBadge, table, takeFlash, when } from '../dom.js';

const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const PAGE = 50;
const REFRESH = 3000;

function progressText(job) {
  if (job.state === 'running' && job.progress) return `generation ${job.progress.generation ?? 0}`;
  if (job.state === 'queued') return 'waiting';
  return job.stop_reason ?? job.error ?? '';
}

const COLUMNS = [
  { label: 'ID', class: 'num', value: (j) => h('a', { href: `#/jobs/${j.id}` }, String(j.id)) },
  { label: 'Label', value: (j) => h('a', { href: `#/jobs/${j.id}` }, j.label) },
  { label: 'Model', value: (j) => j.model },
  { label: 'Project', value: (j) => j.project },
  { label: 'State', value: (j) => stateBadge(j.state) },
  { label: 'FOM', class: 'num', value: (j) => fom(j.fom ?? j.progress?.best_fom) },
  { label: 'Progress / stop reason', class: 'wrap muted', value: progressText },
  { label: 'Submitted', value: (j) => when(j.queued_at) },
  { label: 'Run time', class: 'num', value: (j) => duration(between(j.started_at, j.finished_at)) },
];

export async function render(main, { signal }) {
  let state = null;
  let page = 0;
  const body = h('div', { 'data-testid': 'jobs-table' });
  const pager = h('div', { class: 'pager' });
  const chips = h('div', { class: 'chips' });
  const status = h('span', { class: 'muted' });

  function drawChips() {
    chips.replaceChildren(
      ...[null, ...STATES].map((s) =>
        h('button', {
          type: 'button', class: s === state ? 'chip active' : 'chip',
          onclick: () => { state = s; page = 0; drawChips(); refresh(); },
        }, s ?? 'all'),
      ),
    );
  }

  async function refresh() {
    const query = new URLSearchParams();
    if (state) query.append('state', state);
    try {
      const { total } = await api(`/api/v1/jobs?${query}&limit=1`, { signal });
      const end = total - page * PAGE;
      const offset = Math.max(0, end - PAGE);
      const items = end > 0 ? (await api(`/api/v1/jobs?${query}&offset=${offset}&limit=${end - offset}`, { signal })).items : [];
      items.reverse();
      body.replaceChildren(items.length
        ? table(COLUMNS, items, (j) => ({ class: 'clickable', 'data-job': j.id, onclick: (e) => { if (e.target.tagName !== 'A') location.hash = `#/jobs/${j.id}`; } }))
        : h('div', { class: 'empty' }, state ? `No ${state} job.` : 'No job yet: upload a model to start a fit.'));
      const pages = Math.max(1, Math.ceil(total / PAGE));
      pager.replaceChildren(
        h('span', null, `${total} job${total === 1 ? '' : 's'} · page ${page + 1} of ${pages}`),
        h('span', { class: 'actions' },
          h('button', { class: 'button', type: 'button', disabled: page === 0, onclick: () => { page -= 1; refresh(); } }, 'Newer'),
          h('button', { class: 'button', type: 'button', disabled: page + 1 >= pages, onclick: () => { page += 1; refresh(); } }, 'Older')),
      );
      status.textContent = `updated ${when(new Date().toISOString()).slice(11)}`;
    } catch (error) {
      if (!signal.aborted) status.textContent = `could not refresh: ${error.message}`;
    }
  }

  drawChips();
  main.append(
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Jobs'), h('div', { class: 'subtitle' }, 'Every fit you may see, newest first; states update live.')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/upload' }, 'Upload a model'))),
    takeFlash(),
    h('div', { class: 'toolbar' }, chips, status),
    h('div', { class: 'card flush' }, body, pager),
  );
  await repeat(REFRESH, signal, refresh);
}
