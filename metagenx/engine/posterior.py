"""Posterior uncertainties: sample the fitted model's posterior with bumps' DREAM, through GenX.

After a fit, :func:`sample_posterior` runs the DREAM Markov-chain Monte Carlo sampler of bumps
on GenX's own bumps problem (``Model.bumps_problem`` and ``Model.bumps_fit``, as GenX's Error
Statistics dialog does): a Gaussian likelihood of the data sets in use with their error bars,
``log p = −χ²/2``, and a flat prior inside each parameter's bounds. The chains start in a small
ball around the fitted values, run ``burn`` generations of burn-in, then collect ``samples``
draws; the sampling also ends at ``max_time`` seconds or when asked to stop, and says so.

It reports, per fitted parameter, the median, mean and standard deviation of the draws, the
68 % and 95 % central credible intervals (asymmetric around the fitted value), the
Gelman–Rubin statistic R̂ over the chains and an effective sample size; for the whole, the
covariance and correlation of the draws. A posterior whose burn-in did not finish, or whose
R̂ is above :data:`R_HAT_LIMIT` for some parameter, is marked not converged, with a note.

Unlike the Jacobian covariance (:mod:`metagenx.engine.covariance`), the posterior is not scaled by
the reduced χ²: error bars that are too small give intervals that are too small. It costs
``chains × (burn + samples / chains)`` simulations (``chains`` = :data:`CHAINS_PER_PARAMETER`
per fitted parameter), run in this process.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from metagenx.engine.model import GenxModel
from metagenx.errors import ModelContentError

KIND = "dream"
LABEL = (
    "posterior from bumps DREAM through GenX's bumps problem: Gaussian likelihood with the data's"
    " error bars, flat prior within the parameters' bounds"
)
CHAINS_PER_PARAMETER = 10
"""DREAM chains per fitted parameter (bumps' default population)."""
R_HAT_LIMIT = 1.1
"""Gelman–Rubin R̂ below which the chains are taken to agree (Gelman et al., *Bayesian Data
Analysis*)."""
KEEP_DRAWS = 4000
"""Draws kept (evenly thinned) for the corner plot and ``posterior_draws.csv``."""
BAND_DRAWS = 100
"""Draws simulated for the reflectivity's posterior band."""
BAND_PERCENTILES = (2.5, 16.0, 50.0, 84.0, 97.5)
NAMES_IN_NOTE = 20
"""Parameters named in a note before "and N more"."""


@dataclass(frozen=True)
class SamplingSettings:
    """How long to sample: ``samples`` draws after ``burn`` generations of burn-in, at most
    ``max_time`` seconds in all; ``seed`` seeds the sampler (the same seed, the same draws)."""

    samples: int
    burn: int
    max_time: float
    seed: int


@dataclass(frozen=True)
class SamplingStatus:
    """How a fit's posterior sampling stands, as a runner reports it: DREAM ``generation`` of
    ``burn`` burn-in generations and the sampling ones, ``draws`` collected of ``target``."""

    draws: int
    target: int
    generation: int
    burn: int


SamplingCallback = Callable[[SamplingStatus, float], None]
"""Called each DREAM generation with where the sampling stands and its seconds so far."""


def sampling_words(status: SamplingStatus) -> str:
    """How a posterior sampling stands, in words: burn-in generations, then draws (the same words
    in the terminal, the Python API's bar and the dashboard)."""
    if status.generation < status.burn:
        return f"sampling the posterior: burn-in {status.generation}/{status.burn} generations"
    return f"sampling the posterior: {status.draws}/{status.target} draws"


@dataclass(frozen=True)
class ParameterPosterior:
    """One parameter's posterior, in its own unit: ``value`` is the fitted value; ``p68`` and
    ``p95`` the central credible intervals (low, high); ``r_hat`` Gelman–Rubin's statistic;
    ``ess`` the effective number of independent draws."""

    name: str
    value: float
    median: float
    mean: float
    std: float
    p68: tuple[float, float]
    p95: tuple[float, float]
    r_hat: float
    ess: float

    @property
    def error_low(self) -> float:
        """The 68 % interval's lower end minus the fitted value (≤ 0 when the value lies inside)."""
        return self.p68[0] - self.value

    @property
    def error_high(self) -> float:
        return self.p68[1] - self.value


@dataclass(frozen=True)
class BandCurve:
    """The posterior band of one data set's simulation: ``percentiles[k]`` is the
    :data:`BAND_PERCENTILES` ``[k]`` percentile of the simulated curve at each x."""

    name: str
    x: list[float]
    percentiles: list[list[float]]


@dataclass(frozen=True)
class Posterior:
    """The posterior of a fit's parameters, with how it was sampled.

    ``stop`` says why sampling ended: ``"samples"`` (all draws collected), ``"time"`` (the time
    cap) or ``"stopped"`` (asked to stop). ``draws`` are the draws the statistics use;
    ``generations`` the DREAM generations run (burn-in included); ``seconds`` the sampling's wall
    time; ``note`` what limits the result, empty when nothing does. ``sample`` (a thinned
    ``draws × parameters`` array) and ``band`` are for plots and files; :meth:`to_dict` leaves
    them out.
    """

    parameters: list[ParameterPosterior]
    covariance: list[list[float]]
    draws: int
    chains: int
    generations: int
    burn: int
    evaluations: int
    seconds: float
    stop: str
    seed: int
    converged: bool
    note: str = ""
    kind: str = KIND
    label: str = LABEL
    sample: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False, compare=False)
    band: list[BandCurve] = field(default_factory=list, repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def correlation(self) -> list[list[float]]:
        matrix = np.array(self.covariance, dtype=float)
        sigma = np.sqrt(np.clip(np.diag(matrix), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = matrix / np.outer(sigma, sigma)
        return [[float(v) for v in row] for row in scaled]

    @property
    def effective_draws_per_second(self) -> float:
        """The smallest effective sample size over the parameters, per second of sampling."""
        ess = min((p.ess for p in self.parameters), default=0.0)
        return ess / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self).items() if k not in ("sample", "band")}
        values["correlation"] = self.correlation
        values["ess_per_second"] = self.effective_draws_per_second
        return values


def sample_posterior(
    model: GenxModel,
    settings: SamplingSettings,
    *,
    stop_event: threading.Event | None = None,
    progress: SamplingCallback | None = None,
) -> Posterior:
    """Sample the posterior of ``model``'s fitted parameters around their current (fitted) values.

    The model is left holding its fitted values and their simulation. Raises
    :class:`ModelContentError` when a data set in use has a point without a positive, finite
    error bar (the likelihood needs them).
    """
    check_error_bars(model)
    from bumps.monitor import Monitor

    genx_model = model.model
    fitted = np.array([p.value for p in model.fit_parameters], dtype=float)
    names = [p.name for p in model.fit_parameters]
    problem = genx_model.bumps_problem()
    chains = CHAINS_PER_PARAMETER * len(names)
    started = time.monotonic()
    stop = stop_event or threading.Event()

    class Watch(Monitor):  # type: ignore[misc]  # bumps has no type information
        """Sends progress each generation and ends the sampling when asked to stop."""

        def __call__(self, history: Any) -> None:
            state = getattr(history, "fit_state", None)
            if stop.is_set():
                problem.stop_fit = True
            if progress is not None and state is not None:
                generation = int(state.generation)
                collected = max(0, generation - settings.burn) * chains
                status = SamplingStatus(
                    min(collected, settings.samples), settings.samples, generation, settings.burn
                )
                progress(status, time.monotonic() - started)

    seed_samplers(settings.seed)
    try:
        fit = genx_model.bumps_fit(
            method="dream",
            pop=CHAINS_PER_PARAMETER,
            samples=settings.samples,
            burn=settings.burn,
            monitors=[Watch()],
            problem=problem,
            time=settings.max_time / 3600.0,
        )
    finally:
        model.set_fit_values(fitted)
        model.simulate(recompile=False)
    seconds = time.monotonic() - started
    state = fit.state
    generations = int(state.generation)
    stop_reason = (
        "stopped"
        if stop.is_set()
        else "time"
        if generations < settings.burn + want_steps(settings, chains)
        else "samples"
    )
    return summarise(model, state, names, fitted, settings, chains, generations, seconds, stop_reason)


def seed_samplers(seed: int) -> None:
    """Seed NumPy's global generator and numba's own, which bumps' compiled DREAM steps draw from
    (numba keeps a generator per thread that ``numpy.random.seed`` called from Python does not
    reach): the same seed then gives the same draws."""
    np.random.seed(seed)
    try:
        seeder = numba_seeder()
    except ImportError:  # bumps runs its steps in plain Python, on NumPy's generator
        return
    seeder(seed)


@functools.cache
def numba_seeder() -> Callable[[int], None]:
    """A compiled function seeding numba's generator of the calling thread."""
    from numba import njit

    @njit(cache=False)
    def seed(value: int) -> None:
        np.random.seed(value)

    return seed


def want_steps(settings: SamplingSettings, chains: int) -> int:
    """Sampling generations after burn-in to collect ``settings.samples`` draws."""
    return -(-settings.samples // chains)


def check_error_bars(model: GenxModel) -> None:
    for data in model.model.data:
        if not data.use:
            continue
        error = np.asarray(data.error, dtype=float)
        bad = int(np.count_nonzero(~(np.isfinite(error) & (error > 0))))
        if bad:
            raise ModelContentError(
                f"data set {data.name!r} has {bad} point(s) without a positive error bar; the posterior"
                " needs one on every point (give the data file an error column, or untick 'use' for"
                " that data set)"
            )


def summarise(
    model: GenxModel,
    state: Any,
    names: list[str],
    fitted: np.ndarray,
    settings: SamplingSettings,
    chains: int,
    generations: int,
    seconds: float,
    stop: str,
) -> Posterior:
    """Statistics of the DREAM ``state``'s draws (bumps' ``var_stats``), R̂, ESS and the band."""
    from bumps.dream.gelman import gelman
    from bumps.dream.stats import var_stats

    draw = state.draw()
    points = np.asarray(draw.points, dtype=float)
    _, traces = state.traces()
    traces = np.asarray(traces, dtype=float)
    r_hat = np.asarray(gelman(traces, portion=1.0), dtype=float) if traces.shape[0] >= 2 else None
    ess = effective_sizes(traces)
    parameters = []
    for index, (name, stats) in enumerate(zip(names, var_stats(draw), strict=True)):
        parameters.append(
            ParameterPosterior(
                name=name,
                value=float(fitted[index]),
                median=float(np.median(points[:, index])),
                mean=float(stats.mean),
                std=float(stats.std),
                p68=(float(stats.p68[0]), float(stats.p68[1])),
                p95=(float(stats.p95[0]), float(stats.p95[1])),
                r_hat=math.nan if r_hat is None or r_hat[index] < 0 else float(r_hat[index]),
                ess=float(ess[index]),
            )
        )
    covariance = np.atleast_2d(np.cov(points.T)) if len(points) > 1 else np.full((len(names),) * 2, np.nan)
    notes = []
    burned_in = generations > settings.burn
    if not burned_in:
        notes.append(
            f"stopped during burn-in (generation {generations} of {settings.burn}): the draws are not"
            " from the posterior; give the sampling more time or a smaller burn-in"
        )
    unmixed = [p.name for p in parameters if not (p.r_hat < R_HAT_LIMIT)]
    if burned_in and unmixed:
        shown = ", ".join(unmixed[:NAMES_IN_NOTE])
        if len(unmixed) > NAMES_IN_NOTE:
            shown += f" and {len(unmixed) - NAMES_IN_NOTE} more"
        notes.append(
            f"the chains do not agree (R̂ ≥ {R_HAT_LIMIT}) for {shown}: sample longer"
            " (more samples or a longer burn-in) before trusting these intervals"
        )
    if stop == "time" and burned_in:
        notes.append(f"the time cap of {settings.max_time:g} s ended the sampling before all draws")
    band = posterior_band(model, points, fitted, settings.seed)
    return Posterior(
        parameters=parameters,
        covariance=covariance.tolist(),
        draws=len(points),
        chains=chains,
        generations=generations,
        burn=settings.burn,
        evaluations=generations * chains,
        seconds=seconds,
        stop=stop,
        seed=settings.seed,
        converged=burned_in and not unmixed,
        note="; ".join(notes)[:RECORD_TEXT],
        sample=thinned(points, KEEP_DRAWS),
        band=band,
    )


def thinned(points: np.ndarray, keep: int) -> np.ndarray:
    """At most ``keep`` rows of ``points``, evenly spaced."""
    if len(points) <= keep:
        return points
    rows: np.ndarray = points[np.linspace(0, len(points) - 1, keep).astype(int)]
    return rows


def effective_sizes(traces: np.ndarray) -> np.ndarray:
    """Effective sample size per parameter of ``traces`` (generations × chains × parameters).

    ``chains × generations / τ`` with the integrated autocorrelation time ``τ`` from the
    chain-averaged autocorrelation, summed over Geyer's initial positive sequence of pairs.
    """
    generations, chains, count = traces.shape if traces.ndim == 3 else (0, 0, 0)
    if generations < 4:
        return np.full(count, float(generations * chains))
    centred = traces - traces.mean(axis=0)
    size = 1 << (2 * generations - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    autocovariance = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[:generations]
    autocovariance = autocovariance.mean(axis=1) / generations  # over chains: generations × parameters
    result = np.empty(count)
    for index in range(count):
        variance = autocovariance[0, index]
        if not variance > 0:
            result[index] = float(generations * chains)
            continue
        rho = autocovariance[:, index] / variance
        tau = -1.0
        for lag in range(0, generations - 1, 2):
            pair = rho[lag] + rho[lag + 1]
            if pair <= 0:
                break
            tau += 2 * pair
        result[index] = generations * chains / max(tau, 1.0)
    return result


def posterior_band(model: GenxModel, points: np.ndarray, fitted: np.ndarray, seed: int) -> list[BandCurve]:
    """Percentiles of each used data set's simulation over :data:`BAND_DRAWS` random draws.

    The model is left holding ``fitted`` and its simulation."""
    if len(points) == 0:
        return []
    chosen = np.random.default_rng(seed).choice(len(points), size=min(BAND_DRAWS, len(points)), replace=False)
    used = [d for d in model.model.data if d.use]
    curves: list[list[np.ndarray]] = [[] for _ in used]
    try:
        for row in chosen:
            model.set_fit_values(points[row])
            model.simulate(recompile=False)
            for store, data in zip(curves, used, strict=True):
                store.append(np.asarray(data.y_sim, dtype=float))
    finally:
        model.set_fit_values(fitted)
        model.simulate(recompile=False)
    bands = []
    for data, simulated in zip(used, curves, strict=True):
        stacked = np.vstack(simulated)
        levels = np.nanpercentile(stacked, BAND_PERCENTILES, axis=0)
        bands.append(BandCurve(str(data.name), np.asarray(data.x, dtype=float).tolist(), levels.tolist()))
    return bands


def apply_to_grid(model: GenxModel, posterior: Posterior) -> None:
    """Write the 68 % interval's offsets into the model's error column, as GenX's Error
    Statistics does: ``(low, high)`` with ``low ≤ 0 ≤ high`` around the fitted value."""
    errors = [f"({p.error_low:.3e}, {p.error_high:.3e})" for p in posterior.parameters]
    model.controller.set_error_pars(errors)


STOPS = ("samples", "time", "stopped")
RECORD_TEXT = 4000
"""Longest note, label or reason a posterior record may carry."""


def check_record(record: object, max_parameters: int = 100_000) -> None:
    """Raise ``ValueError`` unless ``record`` has the shape of :meth:`Posterior.to_dict` (or of a
    skipped sampling's ``{"skipped": reason}``): for records from a process that ran a model's
    script, before anything shows or stores them."""
    if not isinstance(record, dict):
        raise ValueError("not a mapping")
    if set(record) == {"skipped"}:
        short_text("skipped", record["skipped"])
        return
    parameters = record.get("parameters")
    if not isinstance(parameters, list) or len(parameters) > max_parameters:
        raise ValueError("no list of parameters")
    for entry in parameters:
        if not isinstance(entry, dict):
            raise ValueError("a parameter that is not a mapping")
        short_text("parameter name", entry.get("name"), 200)
        for key in ("value", "median", "mean", "std", "r_hat", "ess"):
            number(key, entry.get(key))
        for key in ("p68", "p95"):
            pair = entry.get(key)
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"{key} is not a pair")
            for value in pair:
                number(key, value)
    size = len(parameters)
    for key in ("covariance", "correlation"):
        matrix = record.get(key)
        if not isinstance(matrix, list) or len(matrix) != size:
            raise ValueError(f"{key} is not a {size}×{size} matrix")
        for row in matrix:
            if not isinstance(row, list) or len(row) != size:
                raise ValueError(f"{key} is not a {size}×{size} matrix")
            for value in row:
                number(key, value)
    for key in ("draws", "chains", "generations", "burn", "evaluations", "seed"):
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise ValueError(f"{key} is not a count")
    for key in ("seconds", "ess_per_second"):
        number(key, record.get(key))
    if record.get("stop") not in STOPS:
        raise ValueError("an unknown stop reason")
    if not isinstance(record.get("converged"), bool):
        raise ValueError("converged is not true or false")
    for key in ("note", "kind", "label"):
        short_text(key, record.get(key))


def number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isinf(value):
        raise ValueError(f"{name} is not a number")


def short_text(name: str, value: object, limit: int = RECORD_TEXT) -> None:
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{name} is not a text of at most {limit} characters")
