// All watches (fitting data files as they arrive during beamtime), newest first, refreshed every
// few seconds; a form to create one.

import { api } from '../api.js';
import { countsBar, h, repeat, stateBadge, table, takeFlash, when } from '../dom.js';
import { watchForm } from '../watch-forms.js';

const REFRESH = 3000;

function state(watch) {
  if (watch.state !== 'active') return watch.state;
  return (watch.counts.queued ?? 0) + (watch.counts.running ?? 0) > 0 ? 'running' : 'idle';
}

const COLUMNS = [
  { label: 'ID', class: 'num', value: (w) => h('a', { href: `#/watches/${w.id}` }, String(w.id)) },
  { label: 'Name', value: (w) => h('a', { href: `#/watches/${w.id}` }, w.name) },
  { label: 'Project', value: (w) => w.project },
  { label: 'State', value: (w) => stateBadge(state(w)) },
  { label: 'Files', class: 'num', value: (w) => String(w.files) },
  { label: 'Progress', value: (w) => h('div', { style: { width: '160px' } }, countsBar(w.counts, false)) },
  { label: 'Failed', class: 'num', value: (w) => String(w.counts.failed ?? 0) },
  { label: 'Template', value: (w) => w.template },
  { label: 'Order', value: (w) => h('code', null, w.order) },
  { label: 'Created', value: (w) => when(w.created_at) },
];

export async function render(main, { signal }) {
  const body = h('div', { 'data-testid': 'watches-table' });
  const status = h('span', { class: 'muted' });
  const create = h('section', { class: 'card narrow', hidden: true }, h('h2', null, 'New watch'), watchForm());

  async function refresh() {
    try {
      const { items } = await api('/api/v1/watches', { signal });
      body.replaceChildren(items.length
        ? table(COLUMNS, items, (w) => ({ class: 'clickable', onclick: (e) => { if (e.target.tagName !== 'A') location.hash = `#/watches/${w.id}`; } }))
        : h('div', { class: 'empty' }, 'No watch yet. A watch fits each data file pushed to it: from this dashboard, or from the instrument’s folder with metagenx watch --server.'));
      status.textContent = `${items.length} watch${items.length === 1 ? '' : 'es'} · updated ${when(new Date().toISOString()).slice(11)}`;
    } catch (error) {
      if (!signal.aborted) status.textContent = `could not refresh: ${error.message}`;
    }
  }

  main.append(
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Watches'),
        h('div', { class: 'subtitle' }, 'Series fitted during beamtime: each data file is fitted once, as it arrives.')),
      h('div', { class: 'actions' },
        h('button', { class: 'button primary', type: 'button', 'data-testid': 'new-watch', onclick: () => { create.hidden = !create.hidden; } }, 'New watch'))),
    takeFlash(),
    create,
    h('div', { class: 'toolbar' }, status),
    h('div', { class: 'card flush' }, body),
  );
  await repeat(REFRESH, signal, refresh);
}
