// Submit a model (one fit) or a study (a definition with its template and data files).

import { api } from '../api.js';
import { flash, h } from '../dom.js';
import { merge, numberField } from '../fields.js';

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
  const time = h('input', { type: 'number', name: 'max_time', min: 1, step: 'any', placeholder: 'no limit', 'data-testid': 'max-time' });
  const more = h('textarea', { name: 'settings', rows: 3, placeholder: '{"tolerance": 1e-4, "population": 40}', 'data-testid': 'settings-json' });
  const uncertainty = h('input', { type: 'checkbox', name: 'uncertainty', 'data-testid': 'uncertainty' });
  const samples = h('input', { type: 'number', name: 'uncertainty_samples', min: 100, step: 1, placeholder: '10000', 'data-testid': 'uncertainty-samples' });
  const samplingTime = h('input', { type: 'number', name: 'uncertainty_time', min: 1, step: 'any', placeholder: '300', 'data-testid': 'uncertainty-time' });
  const advanced = h('details', { class: 'advanced', 'data-testid': 'advanced' },
    h('summary', null, 'Advanced: posterior sampling, more settings as JSON'),
    h('div', { class: 'form-row' },
      field('Posterior draws', samples, 'Draws the posterior sampling collects after its burn-in (with Uncertainty ticked).'),
      field('Sampling time cap (s)', samplingTime, 'The sampling ends here at the latest, and says so.')),
    field('More settings (JSON)', more, `${SETTINGS_HINT} The fields above are added to these; a setting may be given in one place only.`));
  const mode = h('select', { name: 'mode', 'data-testid': 'mode' },
    h('option', { value: 'fit' }, 'Fit: one differential-evolution run'),
    h('option', { value: 'solve' }, 'Solve: raced starts until the answer is confirmed'));
  const budget = h('input', { type: 'number', name: 'budget', min: 1, step: 'any', placeholder: '600', 'data-testid': 'solve-budget' });
  const budgetField = field('Solve budget (s)', budget, 'The solve ends sooner once enough starts agree.');
  budgetField.hidden = true;
  mode.addEventListener('change', () => { budgetField.hidden = mode.value !== 'solve'; });

  function submit(form) {
    if (!model.files.length) throw new Error('Choose a model file (.hgx or .gx).');
    const fields = [
      [['seed'], numberField(seed, 'Seed', { whole: true, min: 0 }), 'Seed'],
      [['max_generations'], numberField(generations, 'Max. generations', { whole: true, min: 1 }), 'Max. generations'],
      [['max_time'], numberField(time, 'Max. time', { above: 0 }), 'Max. time'],
    ];
    if (mode.value === 'solve') fields.push([['solve', 'budget'], numberField(budget, 'Solve budget', { above: 0 }), 'Solve budget']);
    const draws = numberField(samples, 'Posterior draws', { whole: true, min: 100 });
    const cap = numberField(samplingTime, 'Sampling time cap', { above: 0 });
    if ((draws !== null || cap !== null) && !uncertainty.checked) {
      advanced.open = true;
      throw new Error('Posterior draws and the sampling time cap apply to the posterior sampling: tick Uncertainty too.');
    }
    if (uncertainty.checked) fields.push([['uncertainty'], true, 'Uncertainty']);
    fields.push([['uncertainty_samples'], draws, 'Posterior draws'], [['uncertainty_time'], cap, 'Sampling time cap']);
    let settings;
    try {
      settings = jsonObject(more, 'The advanced settings');
    } catch (error) {
      advanced.open = true;
      throw error;
    }
    for (const [path, value, label] of fields) merge(settings, path, value, label);
    if (mode.value === 'solve') settings.solve ??= {};
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
    h('div', { class: 'form-row' }, field('Mode', mode), budgetField),
    h('div', { class: 'form-row' },
      field('Seed', seed), field('Max. generations', generations), field('Max. time (s)', time), field('Project', project)),
    h('label', { class: 'check' }, uncertainty, ' Uncertainty (posterior sampling, DREAM): after the fit, sample the posterior '
      + 'for each parameter\'s median, 68 % and 95 % intervals, a corner plot and a band plot (takes longer than the fit)'),
    advanced,
  ];
  return { body, submit, label: 'Start' };
}

function tuneForm() {
  const models = h('input', { type: 'file', name: 'models', accept: '.hgx,.gx', multiple: true, required: true, 'data-testid': 'tune-models' });
  const trials = h('input', { type: 'number', name: 'trials', min: 1, step: 1, value: 20, 'data-testid': 'tune-trials-input' });
  const seeds = h('input', { type: 'number', name: 'seeds', min: 1, step: 1, value: 3 });
  const runBudget = h('input', { type: 'number', name: 'run_budget', min: 1, step: 'any', value: 120, 'data-testid': 'tune-run-budget' });
  const project = h('input', { type: 'text', name: 'project', value: 'default', required: true });
  const more = h('textarea', { name: 'settings', rows: 2, placeholder: '{"study_name": "xray", "fixed": {"max_time": 60}, "budget": 3600}', 'data-testid': 'tune-settings-json' });

  function submit(form) {
    if (!models.files.length) throw new Error('Choose one or more model files (.hgx or .gx).');
    const settings = { ...jsonObject(more, 'More settings'), trials: Number(trials.value), seeds: Number(seeds.value), run_budget: Number(runBudget.value) };
    for (const file of models.files) form.append('models', file);
    form.append('settings', JSON.stringify(settings));
    form.append('project', project.value.trim() || 'default');
    return ['/api/v1/tunes', (job) => {
      if (job.created === false) flash(`This tune was submitted before: this is job ${job.id}.`);
      return `#/jobs/${job.id}`;
    }];
  }

  const body = [
    field('Model files', models, 'The models to tune the optimizer for; each trial solves every one of them.'),
    h('div', { class: 'form-row' },
      field('Trials', trials), field('Seeds per model', seeds), field('Budget per solve (s)', runBudget), field('Project', project)),
    field('More settings (JSON)', more, 'study_name (the same name resumes a tune), budget (s), parallel, target_reliability, fixed (fit settings kept fixed).'),
  ];
  return { body, submit, label: 'Start tune' };
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
  const FORMS = { fit: fitForm, study: studyForm, tune: tuneForm };
  let kind = params[0] in FORMS ? params[0] : 'fit';
  const card = h('div', { class: 'card narrow' });
  const tabs = h('div', { class: 'tabs' });

  function draw() {
    tabs.replaceChildren(
      ...[['fit', 'Fit or solve'], ['study', 'Study'], ['tune', 'Tune']].map(([k, label]) =>
        h('button', { type: 'button', class: k === kind ? 'tab active' : 'tab', 'data-testid': `tab-${k}`, onclick: () => { kind = k; draw(); } }, label)),
    );
    const form = FORMS[kind]();
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
    card.replaceChildren(tabs, h('form', { class: 'form', novalidate: true, onsubmit: submit }, form.body, note, h('div', null, button)));
  }

  draw();
  main.append(
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Upload'),
        h('div', { class: 'subtitle' }, 'Fit or solve a GenX model on this server, run a study of many fits, or tune the optimizer for your models.'))),
    card,
  );
}
