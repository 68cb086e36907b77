// A running fit against the limits it was given: generations, fit time and evaluations, one bar each.

import { duration, h } from './dom.js';

const LIMITS = [
  { key: 'max_generations', label: 'Generations', name: 'generation limit', testid: 'limit-generations', at: (p) => p.generation, show: String },
  { key: 'max_time', label: 'Fit time', name: 'time limit', testid: 'limit-time', at: (p) => p.elapsed, show: duration },
  { key: 'max_evaluations', label: 'Evaluations', name: 'evaluation limit', testid: 'limit-evaluations', at: (p) => p.evaluations, show: String },
];

/** Where progress `p` stands against each limit set in `settings`; a note when none is set. */
export function limitBars(settings, p) {
  const bars = LIMITS.filter((limit) => settings[limit.key]).map((limit) => {
    const most = settings[limit.key];
    const at = limit.at(p);
    const known = at !== null && at !== undefined;
    const fraction = known ? Math.min(1, at / most) : 0;
    return h('div', { class: 'progress-row', 'data-testid': limit.testid, 'data-fraction': fraction.toFixed(4) },
      h('span', { class: 'limit-label' }, limit.label),
      h('div', { class: 'progress' }, h('span', { class: 'bar', style: { width: `${fraction * 100}%` } })),
      h('span', { class: 'limit-text' }, `${known ? limit.show(at) : '—'} of ${limit.show(most)} · ${Math.round(fraction * 100)} % of the ${limit.name}`));
  });
  if (bars.length) return bars;
  return [h('div', { class: 'progress-row', 'data-testid': 'limit-none' },
    'No generation, time or evaluation limit was set: the fit ends when it converges, or at the model file\'s own generation limit.')];
}
