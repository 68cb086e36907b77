// The parts of a job page that belong to a solve: its starts, how sure it is, and the spread.

import { fom, h, number, percent, table } from './dom.js';

/** The solve account of a finished solve job (null for a plain fit). */
export function solveAccount(job) {
  return job.result?.extra?.solve ?? null;
}

/** Stats of a running solve (from its latest progress) or a finished one (from its account). */
export function solveStats(progress, account) {
  if (account) {
    const starts = account.starts ?? [];
    return {
      starts: `${starts.length} started`,
      agreeing: `${account.agreeing} of ${starts.filter((s) => Number.isFinite(s.fom)).length}`,
      confidence: percent(account.confidence),
    };
  }
  const s = progress?.solve;
  if (!s) return { starts: '—', agreeing: '—', confidence: '—' };
  return { starts: `${s.ended} ended, ${s.running} running`, agreeing: String(s.agreeing), confidence: percent(s.confidence) };
}

/** The card of a finished solve: why it ended, each start, and the spread of agreeing starts. */
export function solveCard(account) {
  const starts = [...(account.starts ?? [])].sort((a, b) => (a.fom ?? Infinity) - (b.fom ?? Infinity));
  const best = starts.length ? starts[0].fom : null;
  const startTable = table([
    { label: 'Start', value: (s) => String(s.start_id), class: 'num' },
    { label: 'Seed', value: (s) => String(s.seed), class: 'num' },
    { label: 'FOM', value: (s) => fom(s.fom), class: 'num' },
    { label: 'Evaluations', value: (s) => String(s.evaluations), class: 'num' },
    { label: 'Ran (s)', value: (s) => number(s.ended - s.launched, 3), class: 'num' },
    { label: 'Outcome', value: (s) => s.outcome + (s.polished ? ' · polished' : '') },
  ], starts, (s) => ({ class: s.fom === best ? 'best-row' : null, 'data-testid': 'solve-start' }));
  const spread = table([
    { label: 'Parameter', value: (p) => p.name },
    { label: 'Best', value: (p) => number(p.best, 5), class: 'num' },
    { label: 'Mean', value: (p) => number(p.mean, 5), class: 'num' },
    { label: 'Std', value: (p) => number(p.std, 3), class: 'num' },
    { label: 'Min', value: (p) => number(p.min, 5), class: 'num' },
    { label: 'Max', value: (p) => number(p.max, 5), class: 'num' },
  ], account.spread ?? []);
  return h('section', { class: 'card', 'data-testid': 'solve-card' },
    h('h2', null, 'Solve'),
    h('p', null, `Ended: ${account.stop_reason}. ${account.agreeing} start(s) reached the best FOM within 1 %; `
      + `confidence that it is the global minimum: ${percent(account.confidence)}.`),
    (account.notes ?? []).map((note) => h('p', { class: 'muted' }, note)),
    h('h3', null, 'Parameters across the agreeing starts'), spread,
    h('h3', null, 'Starts'), startTable);
}
