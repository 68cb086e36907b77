// Forms of the watches: create a watch (template and definition), push data files to one.

import { api, ApiError } from './api.js';
import { flash, h } from './dom.js';

const MORE_EXAMPLE = '{"settings": {"seed": 1, "max_generations": 200}, "loader_options": {"commands": "loader"}}';

function field(label, input, hint) {
  return h('label', { class: 'field' }, label, input, hint ? h('span', { class: 'hint' }, hint) : null);
}

/**
 * Push the chosen data files to watch `id`, one request each (what `metagenx watch --server` does
 * for a folder). `orderLabel`: what orders the series, if a value per file does.
 */
export function pushForm(id, orderLabel) {
  const files = h('input', { type: 'file', name: 'file', multiple: true, required: true, 'data-testid': 'push-file' });
  const value = h('input', { type: 'number', name: 'order_value', step: 'any', placeholder: 'read from the file', 'data-testid': 'push-order-value' });
  const note = h('div', { class: 'form-message', role: 'status', 'data-testid': 'push-message' });
  const button = h('button', { class: 'button primary', type: 'submit', 'data-testid': 'push' }, 'Push');

  async function submit(event) {
    event.preventDefault();
    const lines = [];
    let failed = false;
    button.disabled = true;
    for (const file of files.files) {
      const form = new FormData();
      form.append('file', file);
      if (value.value !== '') form.append('order_value', value.value);
      try {
        const answer = await api(`/api/v1/watches/${id}/files`, { method: 'POST', form });
        lines.push(answer.created
          ? `${answer.label}: queued as job ${answer.job_id}.`
          : `${answer.label}: the same bytes were pushed before (job ${answer.job_id}); not fitted again.`);
        if (answer.order_problem) lines.push(`${answer.label}: ${answer.order_problem}`);
      } catch (error) {
        failed = true;
        lines.push(`${file.name}: ${error.message}`);
        if (error instanceof ApiError && error.status === 401) break;
      }
    }
    note.className = failed ? 'form-message error-text' : 'form-message muted';
    note.textContent = lines.join('\n');
    if (!failed) event.target.reset();
    button.disabled = false;
  }

  return h('form', { class: 'form', onsubmit: submit, 'data-testid': 'push-form' },
    field('Data files', files, 'Each file is fitted once per content: a file rewritten with new data is fitted again.'),
    orderLabel ? field(`${orderLabel}, optional`, value, 'For a file without it; applies to every file of this push.') : null,
    note,
    h('div', null, button));
}

/**
 * Targets typed as `name=σ` pairs separated by commas or spaces, e.g. `SiO.setD=2, SiO.setSigma=0.5`;
 * throws an Error naming the part that is not one, or a σ that is not a positive number.
 */
export function parseTargets(text) {
  const wanted = {};
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const match = /^([^=]+)=(.+)$/.exec(part);
    const sigma = match ? Number(match[2]) : NaN;
    if (!match) throw new Error(`Targets: “${part}” is not name=σ (e.g. SiO.setD=2).`);
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`Targets: the σ of ${match[1]} must be a positive number, not “${match[2]}”.`);
    wanted[match[1]] = sigma;
  }
  return wanted;
}

/** A new watch: its template model and how each pushed file is fitted; opens it when created. */
export function watchForm() {
  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'e.g. beamtime-2024-05', 'data-testid': 'watch-name' });
  const project = h('input', { type: 'text', name: 'project', value: 'default', required: true });
  const order = h('input', { type: 'text', name: 'order', placeholder: 'name', 'data-testid': 'watch-order' });
  const sequential = h('input', { type: 'checkbox', name: 'sequential' });
  const uncertainty = h('input', { type: 'checkbox', name: 'uncertainty', 'data-testid': 'watch-uncertainty' });
  const targets = h('input', { type: 'text', name: 'targets', placeholder: 'e.g. SiO.setD=2, SiO.setSigma=0.5', 'data-testid': 'watch-targets' });
  const template = h('input', { type: 'file', name: 'template', accept: '.hgx,.gx', required: true, 'data-testid': 'watch-template' });
  const more = h('textarea', { name: 'more', rows: 3, placeholder: MORE_EXAMPLE, 'data-testid': 'watch-more' });
  const note = h('div', { class: 'form-message error-text', role: 'alert', 'data-testid': 'watch-message' });
  const button = h('button', { class: 'button primary', type: 'submit', 'data-testid': 'create-watch' }, 'Create watch');

  async function submit(event) {
    event.preventDefault();
    note.textContent = '';
    button.disabled = true;
    try {
      let extra = {};
      if (more.value.trim()) {
        try {
          extra = JSON.parse(more.value);
        } catch (error) {
          throw new Error(`More settings is not valid JSON: ${error.message}`);
        }
      }
      const definition = { ...extra, name: name.value.trim(), project: project.value.trim() || 'default', sequential: sequential.checked };
      if (order.value.trim()) definition.order = order.value.trim();
      const wanted = parseTargets(targets.value);
      if (Object.keys(wanted).length) definition.targets = { ...(definition.targets ?? {}), ...wanted };
      if (uncertainty.checked) {
        const given = definition.settings ?? {};
        if (typeof given !== 'object' || Array.isArray(given)) throw new Error('“settings” under More must be a JSON object.');
        if (given.uncertainty === false) throw new Error('Uncertainty is ticked but “settings” under More says "uncertainty": false: set it in one place.');
        definition.settings = { ...given, uncertainty: true };
      }
      const form = new FormData();
      form.append('definition', JSON.stringify(definition));
      form.append('template', template.files[0]);
      const watch = await api('/api/v1/watches', { method: 'POST', form });
      if (watch.created === false) flash('A watch with this name, template and settings existed already: this is it.');
      location.hash = `#/watches/${watch.id}`;
    } catch (error) {
      note.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }

  return h('form', { class: 'form', onsubmit: submit },
    h('div', { class: 'form-row' }, field('Name', name), field('Project', project)),
    h('div', { class: 'form-row' },
      field('Template model', template, 'Each pushed file replaces its first data set (another: "dataset" under More).'),
      field('Order of the series', order, 'name (arrival), header:temperature, column:T')),
    field('Targets, optional', targets, 'The σ wanted per parameter, in its unit: each file gets a verdict (reached, count longer, not reachable).'),
    h('label', { class: 'check' }, sequential, ' sequential: start each fit from the previous file’s fitted values'),
    h('label', { class: 'check' }, uncertainty, ' Uncertainty (posterior sampling, DREAM) after each file’s fit: medians, 68 %/95 % intervals, corner and band plots'),
    field('More (JSON)', more, 'Other keys of the watch: settings, loader, loader_options, dataset.'),
    note,
    h('div', null, button));
}
