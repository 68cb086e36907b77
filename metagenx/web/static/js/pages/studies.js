// Studies (groups of fits: seeds, grids, batches, watches), newest first, refreshed every few seconds.
// Single fits, solves and tunes are listed under Jobs only.

import { api } from '../api.js';
import { countsBar, h, repeat, stateBadge, studyState, table, when } from '../dom.js';

const REFRESH = 3000;

function done(study) {
  const c = study.counts;
  return (c.succeeded ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0);
}

const COLUMNS = [
  { label: 'ID', class: 'num', value: (s) => h('a', { href: `#/studies/${s.id}` }, String(s.id)) },
  { label: 'Name', value: (s) => h('a', { href: `#/studies/${s.id}` }, s.name) },
  { label: 'Kind', value: (s) => h('span', { class: 'kind' }, s.kind) },
  { label: 'Project', value: (s) => s.project },
  { label: 'State', value: (s) => stateBadge(studyState(s)) },
  { label: 'Jobs', class: 'num', value: (s) => `${done(s)} / ${s.jobs}` },
  { label: 'Progress', value: (s) => h('div', { style: { width: '160px' } }, countsBar(s.counts, false)) },
  { label: 'Failed', class: 'num', value: (s) => String(s.counts.failed ?? 0) },
  { label: 'Created', value: (s) => when(s.created_at) },
];

export async function render(main, { signal }) {
  const body = h('div', { 'data-testid': 'studies-table' });
  const status = h('span', { class: 'muted' });

  async function refresh() {
    try {
      const { items } = await api('/api/v1/studies?single_jobs=false', { signal });
      body.replaceChildren(items.length
        ? table(COLUMNS, items, (s) => ({ class: 'clickable', onclick: (e) => { if (e.target.tagName !== 'A') location.hash = `#/studies/${s.id}`; } }))
        : h('div', { class: 'empty' }, 'No study yet. A study runs many fits of one model: seeds, a grid of settings, or a batch of data files. Single fits are listed under Jobs.'));
      status.textContent = `${items.length} ${items.length === 1 ? 'study' : 'studies'} · updated ${when(new Date().toISOString()).slice(11)}`;
    } catch (error) {
      if (!signal.aborted) status.textContent = `could not refresh: ${error.message}`;
    }
  }

  main.append(
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Studies'), h('div', { class: 'subtitle' }, 'Groups of fits with their summary. Single fits are listed under Jobs.')),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/upload?study' }, 'Submit a study'))),
    h('div', { class: 'toolbar' }, status),
    h('div', { class: 'card flush' }, body),
  );
  await repeat(REFRESH, signal, refresh);
}
