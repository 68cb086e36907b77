// Interactive plots with Plotly. Its JavaScript comes from this server (the installed plotly
// Python package, /static/vendor/plotly.min.js), loaded on the first plot: no CDN, works offline.

const COLORS = ['#1f5fd1', '#d9480f', '#2f9e44', '#7048e8', '#c2255c', '#0c8599', '#e67700', '#5c940d'];
const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['lasso2d', 'select2d'] };
let loading = null;

/** User text (data set, file, parameter names) for Plotly, which renders a subset of HTML in labels. */
const plain = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/static/vendor/plotly.min.js';
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => {
      loading = null;
      reject(new Error('the plotting library could not be loaded'));
    };
    document.head.append(script);
  });
  return loading;
}

function axis(title, extra) {
  return { title: { text: title, standoff: 8 }, gridcolor: '#edf0f4', zeroline: false, linecolor: '#c9d1db', ticks: 'outside', tickcolor: '#c9d1db', ...extra };
}

function layout(x, y, extra) {
  return {
    margin: { l: 70, r: 16, t: 12, b: 48 },
    font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif', size: 12, color: '#1c2430' },
    paper_bgcolor: '#fff',
    plot_bgcolor: '#fff',
    colorway: COLORS,
    hovermode: 'closest',
    legend: { orientation: 'h', y: 1.02, yanchor: 'bottom', x: 0, font: { size: 11 } },
    xaxis: x,
    yaxis: y,
    uirevision: 'keep',
    ...extra,
  };
}

/** Log scale when every value is positive and they span more than a factor 20. */
function scaleFor(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length || Math.min(...finite) <= 0) return 'linear';
  return Math.max(...finite) / Math.min(...finite) > 20 ? 'log' : 'linear';
}

/**
 * Best FOM against generation (or `xLabel`); `add` appends live points (repeated x are ignored).
 * `scale` is the FOM axis: 'log', 'linear', or null to choose by the values (`onScale` is told the choice).
 */
export class FomPlot {
  constructor(element, fomName, xLabel = 'generation') {
    this.element = element;
    this.fomName = fomName;
    this.xLabel = xLabel;
    this.x = [];
    this.y = [];
    this.run = null;
    this.pending = null;
    this.scale = null;
    this.onScale = null;
  }

  set(generations, foms) {
    this.x = [...generations];
    this.y = [...foms];
    return this.draw();
  }

  /** A new run of the job (re-queued after an interruption) starts the curve again. */
  newRun(run) {
    if (this.run !== null && run !== this.run) [this.x, this.y] = [[], []];
    this.run = run;
  }

  add(generation, value) {
    if (generation === null || generation === undefined || value === null || value === undefined) return;
    if (this.x.length && generation <= this.x[this.x.length - 1]) return;
    this.x.push(generation);
    this.y.push(value);
    this.pending ??= requestAnimationFrame(() => {
      this.pending = null;
      this.draw();
    });
  }

  async draw() {
    const Plotly = await plotly();
    const trace = {
      x: [...this.x], y: [...this.y], mode: 'lines+markers', name: 'best FOM', line: { width: 2, shape: 'hv' },
      marker: { size: 4 }, hovertemplate: `${this.xLabel} %{x:.4g}<br>FOM %{y:.5g}<extra></extra>`,
    };
    const type = this.scale ?? scaleFor(this.y);
    const y = axis(this.fomName ? `best FOM (function: ${plain(this.fomName)})` : 'best FOM', { type, exponentformat: 'power' });
    // Autorange stated explicitly: with uirevision a user's zoom stays, and a one-point range is replaced.
    const single = this.y.length === 1 && this.y[0];
    Object.assign(y, single ? { range: [0.9 * this.y[0], 1.1 * this.y[0]].sort((a, b) => a - b) } : { autorange: true });
    const x = axis(this.xLabel, { rangemode: 'tozero', autorange: true });
    await Plotly.react(this.element, [trace], layout(x, y, { showlegend: false, datarevision: this.x.length }), CONFIG);
    this.element.dataset.points = String(this.x.length);
    this.element.dataset.scale = type;
    this.onScale?.(type);
  }
}

/** Measured reflectivity (with error bars) and simulation of each data set, log R against Q. */
/** The data's x axis by the model's instrument (`x_axis` of a result's data set). */
const X_LABELS = { q: 'Q (Å⁻¹)', '2theta': '2θ (°)', '': 'Q (Å⁻¹) or 2θ (°), as in the data file' };

export async function dataPlot(element, datasets) {
  const Plotly = await plotly();
  const traces = [];
  datasets.forEach((set, index) => {
    const color = COLORS[index % COLORS.length];
    const name = plain(set.name || `data set ${index + 1}`);
    const note = set.use ? '' : ' (not fitted)';
    traces.push({
      x: set.x, y: set.y, name: `${name}${note}`, legendgroup: name, mode: 'markers',
      marker: { size: 4, color, opacity: set.use ? 0.85 : 0.35 },
      error_y: { type: 'data', array: set.error, visible: true, thickness: 1, width: 0, color },
      hovertemplate: `${name}<br>x %{x:.4g}<br>R %{y:.4g}<extra>data</extra>`,
    });
    traces.push({
      x: set.x, y: set.simulated, name: `${name} simulation`, legendgroup: name, mode: 'lines',
      line: { width: 2, color: index ? color : '#111827' },
      hovertemplate: `${name}<br>x %{x:.4g}<br>R %{y:.4g}<extra>simulation</extra>`,
    });
  });
  const x = axis(X_LABELS[datasets[0]?.x_axis] || X_LABELS['']);
  const y = axis('R', { type: 'log', exponentformat: 'power' });
  const legend = { x: 0.99, xanchor: 'right', y: 0.99, yanchor: 'top', orientation: 'v', bgcolor: 'rgba(255,255,255,0.85)' };
  await Plotly.react(element, traces, layout(x, y, { legend }), CONFIG);
  element.dataset.traces = String(traces.length);
}

/** FOM of each succeeded start, sorted, one line per problem (`groups`: {name, foms}); converged band shaded. */
export async function fomDistribution(element, groups, tolerance) {
  const Plotly = await plotly();
  const relative = groups.length > 1;
  const shapes = [];
  const traces = groups.map((group) => {
    const best = group.foms[0];
    const y = relative ? group.foms.map((f) => f / best) : group.foms;
    if (!relative) shapes.push(band(best, best + tolerance * Math.abs(best)));
    return {
      x: y.map((_, i) => i + 1), y, mode: 'lines+markers', marker: { size: 6 }, name: plain(group.name || 'all starts'),
      hovertemplate: 'start %{x}<br>FOM %{y:.5g}<extra></extra>',
    };
  });
  if (relative) shapes.push(band(1, 1 + tolerance));
  const y = axis(relative ? 'FOM / best FOM of its problem' : 'FOM', { type: scaleFor(traces.flatMap((t) => t.y)), exponentformat: 'power' });
  const most = Math.max(0, ...traces.map((t) => t.x.length));
  const x = axis('start, sorted by FOM', most <= 20 ? { dtick: 1 } : {});
  const legend = { x: 0.01, y: 0.99, yanchor: 'top', orientation: 'v', bgcolor: 'rgba(255,255,255,0.85)' };
  await Plotly.react(element, traces, layout(x, y, { shapes, legend, showlegend: relative }), CONFIG);
}

function band(low, high) {
  return { type: 'rect', xref: 'paper', x0: 0, x1: 1, y0: low, y1: high, fillcolor: '#2f9e44', opacity: 0.18, line: { width: 0 }, layer: 'below' };
}

/**
 * One small panel per fitted parameter. A batch over data files: the best start's value per file
 * against the file's order. Otherwise: each succeeded start's value against its FOM.
 */
export async function trendPlots(container, rows, summary, parameterNames, orderLabel) {
  const Plotly = await plotly();
  const problems = (summary.problems ?? []).filter((p) => p.data_file !== null);
  const batch = new Set(problems.map((p) => p.data_file)).size >= 2;
  const byValue = batch && problems.every((p) => p.order_value !== null);
  const panels = [];
  for (const parameter of parameterNames) {
    const name = plain(parameter);
    const element = document.createElement('div');
    element.className = 'plot-small';
    container.append(element);
    let traces;
    let xTitle;
    if (batch) {
      const ordered = [...problems].sort((a, b) => position(a, byValue) - position(b, byValue));
      traces = [{
        x: ordered.map((p) => position(p, byValue)), y: ordered.map((p) => p.best_values[parameter] ?? null),
        text: ordered.map((p) => plain(p.data_file)), mode: 'lines+markers', marker: { size: 6 },
        hovertemplate: `%{text}<br>${name} %{y:.5g}<extra></extra>`,
      }];
      // Error bars: each file's best fit's (posterior 68 % interval, else Jacobian σ, else GenX's).
      const bars = ordered.map((p) => p.best_errors?.[parameter] ?? null);
      if (bars.some((b) => b !== null)) {
        traces[0].error_y = { type: 'data', symmetric: false, array: bars.map((b) => (b ? b[1] : 0)), arrayminus: bars.map((b) => (b ? b[0] : 0)), thickness: 1, width: 3 };
        element.dataset.errors = [...new Set(ordered.map((p) => p.error_source).filter(Boolean))].join('; ');
      }
      xTitle = byValue ? plain(orderLabel ?? 'order value') : 'data file, in fitting order';
    } else {
      const done = rows.filter((r) => r.state === 'succeeded' && r.fom !== null && r[parameter] !== undefined);
      traces = [{
        x: done.map((r) => r.fom), y: done.map((r) => r[parameter]), text: done.map((r) => plain(r.label)), mode: 'markers',
        marker: { size: 7, opacity: 0.8 }, hovertemplate: `%{text}<br>FOM %{x:.5g}<br>${name} %{y:.5g}<extra></extra>`,
      }];
      xTitle = 'FOM of the start';
    }
    const extra = { showlegend: false, margin: { l: 70, r: 12, t: 30, b: 44 }, title: { text: name, font: { size: 13 }, x: 0.02, y: 0.97 } };
    panels.push(Plotly.react(element, traces, layout(axis(xTitle), axis('', { exponentformat: 'power' }), extra), CONFIG));
  }
  await Promise.all(panels);
  return batch;
}

function position(problem, byValue) {
  return byValue ? problem.order_value : (problem.file_index ?? 0);
}

/**
 * A watch's trends: one panel per fitted parameter, its value in each fitted file against the
 * file's order value (`orderLabel`, e.g. "temperature (file header)") or, without one, the file's
 * number in arrival order. Call `draw` again as rows change: panels are added for new parameters
 * and a user's zoom stays (uirevision).
 */
export class SeriesPlots {
  constructor(container) {
    this.container = container;
    this.panels = new Map();
  }

  /** Rows without an order value are left out of a plot against it; returns how many fitted ones were. */
  async draw(rows, parameters, orderLabel) {
    const Plotly = await plotly();
    const byValue = Boolean(orderLabel);
    const at = (row) => (byValue ? row.order_value : (row.file_index ?? 0) + 1);
    const fitted = rows.filter((r) => r.state === 'succeeded');
    const shown = fitted.filter((r) => at(r) !== null && at(r) !== undefined).sort((a, b) => at(a) - at(b));
    const xTitle = byValue ? plain(orderLabel) : 'data file, in arrival order';
    const ticks = byValue || shown.length > 20 ? {} : { dtick: 1 };
    await Promise.all(parameters.map((parameter) => {
      const name = plain(parameter);
      const points = shown.filter((r) => r.parameters[parameter] !== null && r.parameters[parameter] !== undefined);
      const trace = {
        x: points.map(at), y: points.map((r) => r.parameters[parameter]), text: points.map((r) => plain(r.label)),
        mode: 'lines+markers', marker: { size: 7 }, line: { width: 1.5 },
        hovertemplate: `%{text}<br>${xTitle} %{x:.5g}<br>${name} %{y:.5g}<extra></extra>`,
      };
      // Error bars: a watch's predicted σ per file (the beamtime advisor's), where the rows carry it.
      const sigma = points.map((r) => r.sigma?.[parameter] ?? null);
      if (sigma.some((s) => s !== null)) trace.error_y = { type: 'data', array: sigma.map((s) => s ?? 0), thickness: 1, width: 3 };
      const title = { text: name, font: { size: 13 }, x: 0.02, y: 0.97 };
      const extra = { showlegend: false, margin: { l: 70, r: 12, t: 30, b: 44 }, title };
      const element = this.panel(parameter);
      element.dataset.points = String(points.length);
      // Fresh axes for each panel: Plotly keeps a user's zoom in them, and one panel's must not reach another.
      const x = axis(xTitle, { autorange: true, ...ticks });
      return Plotly.react(element, [trace], layout(x, axis('', { autorange: true, exponentformat: 'power' }), extra), CONFIG);
    }));
    return fitted.length - shown.length;
  }

  panel(parameter) {
    if (!this.panels.has(parameter)) {
      const element = Object.assign(document.createElement('div'), { className: 'plot-small' });
      element.dataset.parameter = parameter;
      this.container.append(element);
      this.panels.set(parameter, element);
    }
    return this.panels.get(parameter);
  }

  purge() {
    for (const element of this.panels.values()) purge(element);
  }
}

/** Free a plot's memory and listeners (pages call this when they are left). */
export function purge(element) {
  if (window.Plotly && element) window.Plotly.purge(element);
}
