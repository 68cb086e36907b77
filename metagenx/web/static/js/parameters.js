// The fitted parameters of a job: value, bounds and where the value sits in its range.

import { h, number, table } from './dom.js';

const EDGE = 0.01;
/** Values within 1 % of the range from a bound are flagged: the bound may be what stops the fit. */

function position(p) {
  const span = p.max - p.min;
  return span > 0 ? Math.min(1, Math.max(0, (p.value - p.min) / span)) : 0.5;
}

/** The range flag: outside the bounds (the file allows it) or within 1 % of one. */
function rangeFlag(p, at) {
  if (p.value < p.min) return 'below min';
  if (p.value > p.max) return 'above max';
  if (at <= EDGE) return 'at min';
  return at >= 1 - EDGE ? 'at max' : null;
}

function rangeVisual(p) {
  const at = position(p);
  const start = p.max > p.min ? Math.min(1, Math.max(0, (p.start - p.min) / (p.max - p.min))) : null;
  const flag = rangeFlag(p, at);
  const bound = flag !== null;
  return h('div', { class: 'range-cell', style: { display: 'flex', alignItems: 'center' } },
    h('div', {
      class: bound ? 'range at-bound' : 'range',
      title: `${(at * 100).toFixed(1)} % of the range from min to max${start === null ? '' : '; grey tick: start value'}`,
      'data-position': at.toFixed(4),
    },
    h('div', { class: 'track' }),
    start === null ? null : h('div', { class: 'start', style: { left: `${start * 100}%` } }),
    h('div', { class: 'value', style: { left: `${at * 100}%` } })),
    bound ? h('span', { class: 'flag', 'data-testid': 'range-flag' }, flag) : null);
}

/** What is doubtful about a value (at or outside a bound, unphysical), as the result says. */
function flags(p) {
  return (p.flags || []).length
    ? h('span', { class: 'flag', title: FLAG_HELP, 'data-testid': 'flags' }, p.flags.join(', '))
    : '';
}

const FLAG_HELP = 'at min/max: the bound may have stopped the value; below min/above max: the model file does not '
  + 'enforce its bounds; negative thickness, roughness or density: physically impossible';

function error(p) {
  if (p.error_low === null && p.error_high === null) return '—';
  return `${number(p.error_low)} / +${number(p.error_high)}`;
}

const R_HAT_LIMIT = 1.1;
/** R̂ above this: the chains disagree (as the runner judges convergence). */

/** A signed offset: `+0.05`, `−0.12` (a true minus sign). */
function signed(offset) {
  return offset < 0 ? `−${number(-offset, 3)}` : `+${number(offset, 3)}`;
}

/** The 68 % interval's ends as offsets from the fitted value (`−a / +b`; both of one sign when the
 * value lies outside its own interval), the interval itself in the tooltip. */
function interval68(p, q) {
  return h('span', { title: `68 % interval ${number(q.p68[0], 6)} … ${number(q.p68[1], 6)}` },
    `${signed(q.p68[0] - p.value)} / ${signed(q.p68[1] - p.value)}`);
}

function rHat(q) {
  const value = q.r_hat;
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const text = value.toFixed(3);
  return value > R_HAT_LIMIT ? h('span', { class: 'flag', title: 'the chains disagree (R̂ > 1.1)' }, text) : text;
}

/** The posterior's columns: median, 68 % interval around the value, 95 % interval, R̂. */
function posteriorColumns(posterior) {
  const of = new Map(posterior.parameters.map((q) => [q.name, q]));
  const cell = (show) => (p) => (of.has(p.name) ? show(p, of.get(p.name)) : '—');
  return [
    { label: 'Median', class: 'num', value: cell((p, q) => number(q.median, 6)) },
    { label: '68 % interval (from value)', class: 'num', value: cell(interval68) },
    { label: '95 % interval', class: 'num', value: cell((p, q) => `${number(q.p95[0], 6)} … ${number(q.p95[1], 6)}`) },
    { label: 'R̂', class: 'num', value: cell((p, q) => rHat(q)) },
  ];
}

/** What the posterior sampling gave: draws and convergence, a warning when it did not converge, or why it was skipped. */
export function posteriorNote(posterior) {
  if (!posterior) return '';
  if (posterior.skipped) {
    return h('div', { class: 'note', 'data-testid': 'posterior-note' }, `No posterior uncertainties: ${posterior.skipped}`);
  }
  const how = `Posterior (bumps DREAM): ${posterior.draws} draws from ${posterior.chains} chains, ${posterior.seconds.toFixed(1)} s; `
    + 'intervals are central credible intervals of the draws.';
  if (posterior.converged) {
    return h('div', { class: 'note', 'data-testid': 'posterior-note' }, `${how} Converged (R̂ ≤ ${R_HAT_LIMIT} for every parameter).`);
  }
  return h('div', { class: 'note partial', 'data-testid': 'posterior-note' },
    h('span', { class: 'flag', 'data-testid': 'posterior-warning' }, 'not converged'), ' ',
    `${how} ${posterior.note || 'The chains did not converge.'} Sample longer before quoting these intervals.`);
}

/** The fitted parameters; with a `posterior` (result.extra.posterior, when sampled) its intervals and R̂. */
export function parameterTable(parameters, posterior = null) {
  const sampled = Boolean(posterior && !posterior.skipped && posterior.parameters?.length);
  const withErrors = !sampled && parameters.some((p) => p.error_low !== null || p.error_high !== null);
  const columns = [
    { label: 'Parameter', value: (p) => h('span', { class: 'mono' }, p.name) },
    { label: 'Value', class: 'num', value: (p) => number(p.value, 6) },
    { label: 'Position in range', value: rangeVisual },
    { label: 'Min', class: 'num', value: (p) => number(p.min) },
    { label: 'Max', class: 'num', value: (p) => number(p.max) },
    { label: 'Start', class: 'num', value: (p) => number(p.start) },
  ];
  if (withErrors) columns.push({ label: 'Error (−/+)', class: 'num', value: error });
  if (sampled) columns.push(...posteriorColumns(posterior));
  if (parameters.some((p) => p.flags?.length)) columns.push({ label: 'Flags', value: flags });
  return table(columns, parameters);
}

/** A running fit's current best values (`parameters`: name and value, as its latest snapshot gives them). */
export function currentTable(parameters) {
  const columns = [
    { label: 'Parameter', value: (p) => h('span', { class: 'mono' }, p.name) },
    { label: 'Current best value', class: 'num', value: (p) => number(p.value, 6) },
  ];
  return table(columns, parameters);
}
