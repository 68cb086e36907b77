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

export function parameterTable(parameters) {
  const withErrors = parameters.some((p) => p.error_low !== null || p.error_high !== null);
  const columns = [
    { label: 'Parameter', value: (p) => h('span', { class: 'mono' }, p.name) },
    { label: 'Value', class: 'num', value: (p) => number(p.value, 6) },
    { label: 'Position in range', value: rangeVisual },
    { label: 'Min', class: 'num', value: (p) => number(p.min) },
    { label: 'Max', class: 'num', value: (p) => number(p.max) },
    { label: 'Start', class: 'num', value: (p) => number(p.start) },
  ];
  if (withErrors) columns.push({ label: 'Error (−/+)', class: 'num', value: error });
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
