// One job: live FOM plot, data and simulation, parameters (a running fit's current best ones from its
// snapshots), progress against its limits, stop reason, downloads, cancel, re-run.

import { api, download, fetchBlob, follow } from '../api.js';
import { between, bytes, duration, flash, fom, h, message, stat, stateBadge, takeFlash, when } from '../dom.js';
import { limitBars } from '../limits.js';
import { currentTable, parameterTable, posteriorNote } from '../parameters.js';
import { dataPlot, FomPlot, purge } from '../plots.js';
import { solveAccount, solveCard, solveStats } from '../solve.js';
import { render as renderTune } from './tune.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
const ARTIFACTS = {
  model: 'Fitted model (.hgx)',
  result_json: 'Result (JSON)',
  parameters_csv: 'Parameters (CSV)',
  fit_png: 'Fit plot (PNG)',
  fom_png: 'FOM plot (PNG)',
  fit_svg: 'Fit plot (SVG)',
  fom_svg: 'FOM plot (SVG)',
  orso: 'Data, fit and model (ORSO .ort)',
  corner_png: 'Posterior corner plot (PNG)',
  corner_svg: 'Posterior corner plot (SVG)',
  band_png: 'Fit with its posterior band (PNG)',
  band_svg: 'Fit with its posterior band (SVG)',
  posterior_draws_csv: 'Posterior draws (CSV)',
  solve_json: 'Solve account (JSON)',
};

function card(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

/** A card whose title row also holds `option` (a control for its plot). */
function cardWith(title, option, ...children) {
  return h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, title), option), ...children);
}

export async function render(main, { params, signal }) {
  const id = Number(params[0]);
  let job = await api(`/api/v1/jobs/${id}`, { signal });
  if (job.settings?.tune) return renderTune(main, job, { signal });
  const solving = Boolean(job.settings?.solve);
  /** x of a progress report on the FOM plot: generation, or seconds for a solve (many starts). */
  const xOf = (p) => (solving ? p.elapsed : p.generation);
  const live = { generation: null, best_fom: null, evaluations: null, elapsed: null };

  const el = {
    head: h('div', { class: 'page-head' }),
    notice: h('div', null, takeFlash()),
    stats: h('div', { class: 'stats' }),
    progress: h('div', { class: 'limits', 'data-testid': 'limits' }),
    logFom: h('input', { type: 'checkbox', 'data-testid': 'fom-log' }),
    error: h('div'),
    fom: h('div', { class: 'plot', id: 'fom-plot', 'data-testid': 'fom-plot' }),
    data: h('div', { class: 'plot', id: 'data-plot', 'data-testid': 'data-plot' }),
    dataNote: h('div', { class: 'empty' }, 'The measured data and the current best simulation appear a few seconds after the fit has started.'),
    current: h('div', { class: 'live-note', 'data-testid': 'current-note', hidden: true }),
    fomNote: h('div', { class: 'empty', hidden: true }, 'No FOM history: the fit did not finish.'),
    parameters: h('div', { 'data-testid': 'parameters' }),
    posteriorPlots: h('div', { class: 'grid-2', 'data-testid': 'posterior-plots', hidden: true }),
    downloads: h('div', { class: 'downloads', 'data-testid': 'downloads' }),
    details: h('dl', { class: 'details' }),
    rerun: h('div'),
    solve: h('div'),
  };
  const fomPlot = new FomPlot(el.fom, job.result?.fom_name, solving ? 'time (s)' : 'generation');
  fomPlot.onScale = (type) => { el.logFom.checked = type === 'log'; };
  el.logFom.addEventListener('change', () => {
    fomPlot.scale = el.logFom.checked ? 'log' : 'linear';
    fomPlot.draw();
  });
  signal.addEventListener('abort', () => { purge(el.fom); purge(el.data); });

  main.append(
    el.head, el.notice, el.stats, el.progress, el.error,
    h('div', { class: 'grid-2' },
      cardWith('Figure of merit', h('label', { class: 'plot-option' }, el.logFom, 'log FOM axis'), el.fomNote, el.fom),
      card('Data and simulation', el.current, el.dataNote, el.data)),
    card('Parameters', el.parameters),
    el.posteriorPlots,
    el.solve,
    h('div', { class: 'grid-2' }, card('Downloads', el.downloads), card('Details', el.details)),
  );

  function head() {
    const running = !FINISHED.has(job.state);
    const cancel = h('button', {
      class: 'button danger', type: 'button', disabled: !running, 'data-testid': 'cancel',
      onclick: async () => {
        if (!confirm(`Cancel job ${job.id} (${job.label})?`)) return;
        try {
          job = await api(`/api/v1/jobs/${job.id}/cancel`, { method: 'POST' });
          draw();
        } catch (error) {
          el.error.replaceChildren(message(`Could not cancel: ${error.message}`));
        }
      },
    }, 'Cancel');
    const rerun = h('button', { class: 'button', type: 'button', disabled: running, 'data-testid': 're-run', onclick: toggleRerun }, 'Re-run…');
    const study = job.study_id && !['fit', 'tune'].includes(job.study_kind) ? h('a', { href: `#/studies/${job.study_id}` }, job.study) : null;
    el.head.replaceChildren(
      h('div', null,
        h('div', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ` / job ${job.id}`),
        h('div', { class: 'title-row' }, h('h1', null, job.label), stateBadge(job.state)),
        h('div', { class: 'subtitle' }, job.model, ' · project ', job.project, study ? [' · study ', study] : null, ' · ', job.owner)),
      h('div', { class: 'actions' }, rerun, cancel),
    );
  }

  function stats() {
    const p = job.state === 'running' ? { ...job.progress, ...dropNulls(live) } : (job.progress ?? {});
    if (solving) return solvingStats(p);
    const budget = job.settings.max_generations;
    const generation = p.generation === null || p.generation === undefined ? '—' : `${p.generation}${budget ? ` / ${budget}` : ''}`;
    const elapsed = p.elapsed ?? (job.state === 'running' ? null : between(job.started_at, job.finished_at));
    const reason = FINISHED.has(job.state) ? (job.stop_reason ?? job.state) : job.state === 'running' ? 'running…' : 'waiting in the queue';
    el.stats.replaceChildren(
      stat('Best FOM', fom(job.fom ?? p.best_fom), 'fom'),
      stat('Generation', generation, 'generation'),
      stat('Evaluations', p.evaluations ?? '—', 'evaluations'),
      // while the posterior is sampled, a progress report's elapsed counts the sampling's seconds
      stat(job.state === 'running' && p.sampling_words ? 'Sampling time' : 'Fit time', duration(elapsed), 'elapsed'),
      stat('Stop reason', reason, 'stop-reason', true),
    );
    el.progress.hidden = job.state !== 'running';
    const sampling = job.state === 'running' && p.sampling_words
      ? h('div', { class: 'progress-row', 'data-testid': 'sampling' }, `${p.sampling_words} (the fit has finished)`)
      : null;
    el.progress.replaceChildren(...limitBars(job.settings, { ...p, elapsed }), ...(sampling ? [sampling] : []));
  }

  function solvingStats(p) {
    const s = solveStats(p, solveAccount(job));
    const budget = job.settings.solve.budget;
    const elapsed = p.elapsed ?? (job.state === 'running' ? null : between(job.started_at, job.finished_at));
    const reason = FINISHED.has(job.state) ? (job.stop_reason ?? job.state) : job.state === 'running' ? 'solving…' : 'waiting in the queue';
    el.stats.replaceChildren(
      stat('Best FOM', fom(job.fom ?? p.best_fom), 'fom'),
      stat('Starts', s.starts, 'starts'),
      stat('Agreeing (1 %)', s.agreeing, 'agreeing'),
      stat('Confidence', s.confidence, 'confidence'),
      stat('Solve time', duration(elapsed), 'elapsed'),
      stat('Stop reason', reason, 'stop-reason', true),
    );
    const fraction = budget && elapsed ? Math.min(1, elapsed / budget) : null;
    el.progress.hidden = job.state !== 'running' || fraction === null;
    el.progress.replaceChildren(h('div', { class: 'progress-row' },
      h('div', { class: 'progress' }, h('span', { class: 'bar', style: { width: `${(fraction ?? 0) * 100}%` } })),
      h('span', null, `${Math.round((fraction ?? 0) * 100)} % of the time budget (the solve ends sooner once confident)`),
    ));
  }

  function details() {
    const rows = [
      ['Job', `${job.id} (${job.runs} run${job.runs === 1 ? '' : 's'}, ${job.attempts} attempt${job.attempts === 1 ? '' : 's'})`],
      ['Seed', String(job.seed)],
      ['Submitted', when(job.queued_at)],
      ['Started', when(job.started_at)],
      ['Finished', when(job.finished_at)],
      ['Settings', h('code', null, JSON.stringify(dropNulls(job.settings)))],
      ['Model SHA-256', h('code', null, job.model_sha256)],
    ];
    if (job.result) rows.push(['GenX / metagenx', `${job.result.genx_version} / ${job.result.metagenx_version}`]);
    el.details.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  }

  function downloads() {
    const note = h('div', { class: 'note' });
    const buttons = job.artifacts.map((a) =>
      h('button', {
        class: 'button', type: 'button', 'data-kind': a.kind,
        onclick: () => download(a.url, a.name).catch((e) => { note.textContent = e.message; }),
      }, ARTIFACTS[a.kind] ?? a.name, h('span', { class: 'muted' }, bytes(a.size))));
    el.downloads.replaceChildren(...(buttons.length ? buttons : [h('span', { class: 'muted' }, 'Files appear when the fit has finished.')]), note);
  }

  function toggleRerun() {
    if (el.rerun.childElementCount) return el.rerun.replaceChildren();
    const proposal = job.state === 'succeeded' ? { seed: job.seed + 1 } : {};
    const settings = h('textarea', { rows: 2, 'data-testid': 're-run-settings' }, JSON.stringify(proposal));
    const note = h('div', { class: 'form-message error-text' });
    async function start() {
      try {
        const changed = JSON.parse(settings.value.trim() || '{}');
        const next = await api(`/api/v1/jobs/${job.id}/reprocess`, { method: 'POST', body: { settings: changed } });
        if (next.id === job.id && !next.created) {
          note.textContent = 'Nothing changed, so this is the same job: change a setting (e.g. the seed) to fit again.';
          return;
        }
        if (next.id === job.id) {
          flash('The job is queued again.');
          window.dispatchEvent(new HashChangeEvent('hashchange'));
          return;
        }
        if (next.created === false) flash(`A job with these settings existed already: this is job ${next.id}.`);
        location.hash = `#/jobs/${next.id}`;
      } catch (error) {
        note.textContent = error.message;
      }
    }
    el.rerun.replaceChildren(h('div', { class: 'card rerun' },
      h('label', { class: 'field' }, 'Re-run as a new job, with these settings changed (JSON)', settings),
      note,
      h('div', { class: 'actions' }, h('button', { class: 'button primary', type: 'button', onclick: start }, 'Start re-run'))));
  }

  async function result() {
    const partial = job.result && job.result.complete === false
      ? h('div', { class: 'note partial', 'data-testid': 'partial-result' },
        `Partial result: the job was ${job.state === 'cancelled' ? 'cancelled' : 'stopped'} before it ended; `
        + 'these are the best values it had found, not a finished fit.')
      : '';
    el.error.replaceChildren(job.error ? message(job.error) : '', partial);
    el.current.hidden = true;
    if (job.result) {
      fomPlot.fomName = job.result.fom_name;
      const posterior = job.result.extra?.posterior;
      el.parameters.replaceChildren(posteriorNote(posterior), parameterTable(job.result.parameters, posterior));
      posteriorPlots();
      const account = solveAccount(job);
      if (account) {
        el.solve.replaceChildren(solveCard(account));
        await fomPlot.set(account.trace.map((t) => t[0]), account.trace.map((t) => t[1]));
      } else {
        const history = job.result.fom_history ?? [];
        await fomPlot.set(history.map((_, i) => i), history);
      }
    } else {
      el.parameters.replaceChildren(h('div', { class: 'empty' }, 'No fitted parameters: the fit did not finish.'));
      el.fom.hidden = fomPlot.x.length < 2;
    }
    el.fomNote.hidden = !el.fom.hidden;
    const file = job.artifacts.find((a) => a.kind === 'result_json');
    if (!file) {
      el.dataNote.textContent = 'No data to show: the fit left no result.';
      return;
    }
    const full = await api(file.url, { signal });
    el.dataNote.hidden = true;
    await dataPlot(el.data, full.datasets ?? []);
  }

  /** The posterior's corner and band plots (PNG), when the job left them. */
  async function posteriorPlots() {
    const plots = [['corner_png', 'Posterior: corner plot'], ['band_png', 'Fit with its 68 % and 95 % posterior band']]
      .map(([kind, title]) => [job.artifacts.find((a) => a.kind === kind), title, kind])
      .filter(([artifact]) => artifact);
    if (!plots.length) return;
    const cards = await Promise.all(plots.map(async ([artifact, title, kind]) => {
      const img = h('img', { class: 'posterior-plot', alt: title, 'data-testid': kind, style: { maxWidth: '100%' } });
      try {
        img.src = URL.createObjectURL(await fetchBlob(artifact.url, signal));
      } catch (error) {
        return card(title, message(`Could not load the plot: ${error.message}`));
      }
      return card(title, img);
    }));
    el.posteriorPlots.replaceChildren(...cards);
    el.posteriorPlots.hidden = false;
  }

  function draw() {
    head();
    el.head.after(el.rerun);
    stats();
    details();
    downloads();
  }

  draw();
  if (FINISHED.has(job.state)) return result();

  el.parameters.replaceChildren(h('div', { class: 'empty' }, solving
    ? 'The fitted parameters appear when the solve has finished.'
    : 'The current best values appear a few seconds after the fit has started.'));
  if (solving) el.dataNote.textContent = 'The measured data and the simulation appear when the solve has finished.';

  /** A snapshot of the running fit: its current best simulation against the data, and its values. */
  async function current(snapshot) {
    const at = `generation ${snapshot.generation}, best FOM ${fom(snapshot.best_fom)}`;
    el.current.hidden = false;
    el.current.textContent = `Current best solution (${at}), updated every few seconds.`;
    el.parameters.replaceChildren(h('div', { class: 'live-note' }, `Current best values (${at}); the fitted values, bounds and errors appear when the fit has finished.`),
      currentTable(snapshot.parameters));
    el.dataNote.hidden = true;
    await dataPlot(el.data, snapshot.datasets);
    el.data.dataset.generation = String(snapshot.generation);
  }
  await fomPlot.set([], []);
  if (job.progress) fomPlot.add(xOf(job.progress), job.progress.best_fom);
  await follow(`/api/v1/jobs/${id}/events`, (kind, data) => {
    if (kind === 'snapshot') {
      if (!FINISHED.has(job.state)) current(data);
    } else if (kind === 'progress') {
      Object.assign(live, dropNulls(data));
      if (!data.sampling) fomPlot.add(xOf(data), data.best_fom); // sampling reports repeat the fit's last point
      stats();
    } else if (kind === 'state' && data.state !== job.state) {
      if (data.state === 'running' && data.run !== undefined) fomPlot.newRun(data.run);
      job.state = data.state;
      head();
      stats();
      api(`/api/v1/jobs/${id}`, { signal }).then((fresh) => {
        job = { ...fresh, state: job.state }; // the stream's state is the newest
        details();
      }, () => {});
    }
  }, signal);
  job = await api(`/api/v1/jobs/${id}`, { signal });
  draw();
  await result();
}

function dropNulls(values) {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined));
}
