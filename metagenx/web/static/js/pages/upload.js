// Submit a model (one fit) or a study (a definition with its template and data files).

import { api } from '../api.js';
import { flash, h } from '../dom.js';

const SETTINGS_HINT = 'Other fit settings: km, kr, population, strategy, max_evaluations, tolerance, window, min_spread, error_bars, polish, genx_defaults.';
const STUDY_EXAMPLE = `{
  "name": "seeds",
  "template": "model.hgx",
  "seeds": [1, 2, 3, 4],
  "settings": {"max_generations": 200}
}`;

function field(label, input, hint) {
  return h('label', { class: 'field' }, label, input, hint ? h('span', { class: 'hint' }, hint) : null);
}

/** The JSON object typed in `textarea` ({} when empty); throws a readable error otherwise. */
function jsonObject(textarea, what) {
  const text = textarea.value.trim();
  if (!text) return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${error.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value;
}

function fitForm() {
  const model = h('input', { type: 'file', name: 'model', accept: '.hgx,.gx', required: true, 'data-testid': 'model-file' });
  const project = h('input', { type: 'text', name: 'project', value: 'default', required: true });
  const seed = h('input', { type: 'number', name: 'seed', min: 0, step: 1, placeholder: 'random', 'data-testid': 'seed' });
  const generations = h('input', { type: 'number', name: 'max_generations', min: 1, step: 1, placeholder: 'until converged', 'data-testid': 'max-generations' });
  const time = h('input', { type: 'number', name: 'max_time', min: 1, step: 'any', placeholder: 'no limit' });
  const more = h('textarea', { name: 'settings', rows: 3, placeholder: '{"tolerance": 1e-4, "population": 40}', 'data-testid': 'settings-json' });

  function submit(form) {
    if (!model.files.length) throw new Error('Choose a model file (.hgx or .gx).');
    const settings = jsonObject(more, 'More settings');
    for (const [input, key] of [[seed, 'seed'], [generations, 'max_generations'], [time, 'max_time']]) {
      if (input.value !== '') settings[key] = Number(input.value);
    }
    form.append('model', model.files[0]);
    form.append('settings', JSON.stringify(settings));
    form.append('project', project.value.trim() || 'default');
    return ['/api/v1/jobs', (job) => {
      if (job.created === false) flash(`This model with these settings was submitted before: this is job ${job.id}.`);
      return `#/jobs/${job.id}`;
    }];
  }

  const body = [
    field('Model file', model, 'A GenX model saved from the GenX GUI (.hgx or .gx), with its data.'),
    h('div', { class: 'form-row' },
      field('Seed', seed), field('Max. generations', generations), field('Max. time (s)', time), field('Project', project)),
    field('More settings (JSON)', more, SETTINGS_HINT),
  ];
  return { body, submit, label: 'Start fit' };
}

function studyForm() {
  const definition = h('textarea', { name: 'definition', rows: 8, required: true, placeholder: STUDY_EXAMPLE });
  const files = h('input', { type: 'file', name: 'files', multiple: true, required: true });
  const project = h('input', { type: 'text', name: 'project', value: 'default', required: true });

  function submit(form) {
    if (!files.files.length) throw new Error('Choose the template model and any data files the definition names.');
    form.append('definition', JSON.stringify(jsonObject(definition, 'The study definition')));
    for (const file of files.files) form.append('files', file);
    form.append('project', project.value.trim() || 'default');
    return ['/api/v1/studies', (study) => {
      if (study.created === false) flash(`This study was submitted before; only new data files added jobs.`);
      return `#/studies/${study.id}`;
    }];
  }

  const body = [
    field('Study definition (JSON)', definition, 'The keys of a study file: template, seeds, grid, parameters, settings, data …'),
    h('div', { class: 'form-row' },
      field('Files', files, 'The template model and the data files. They are sent under their own names, without folders: use those names in the definition.'), field('Project', project)),
  ];
  return { body, submit, label: 'Submit study' };
}

export async function render(main, { params }) {
  let kind = params[0] === 'study' ? 'study' : 'fit';
  const card = h('div', { class: 'card narrow' });
  const tabs = h('div', { class: 'tabs' });

  function draw() {
    tabs.replaceChildren(
      ...[['fit', 'Single fit'], ['study', 'Study']].map(([k, label]) =>
        h('button', { type: 'button', class: k === kind ? 'tab active' : 'tab', onclick: () => { kind = k; draw(); } }, label)),
    );
    const form = kind === 'fit' ? fitForm() : studyForm();
    const note = h('div', { class: 'form-message error-text', role: 'alert', 'data-testid': 'upload-message' });
    const button = h('button', { class: 'button primary', type: 'submit', 'data-testid': 'submit' }, form.label);
    async function submit(event) {
      event.preventDefault();
      note.textContent = '';
      button.disabled = true;
      try {
        const data = new FormData();
        const [path, next] = form.submit(data);
        location.hash = next(await api(path, { method: 'POST', form: data }));
      } catch (error) {
        note.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    }
    card.replaceChildren(tabs, h('form', { class: 'form', onsubmit: submit }, form.body, note, h('div', null, button)));
  }

  draw();
  main.append(
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Upload'),
        h('div', { class: 'subtitle' }, 'Fit a GenX model on this server, or run a study of many fits.'))),
    card,
  );
}
