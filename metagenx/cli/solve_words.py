"""A solve's account in plain words: what each start did, what the confidence means, where the answer is."""

from __future__ import annotations

import math
from pathlib import Path

from metagenx.solve.racing import AGREE
from metagenx.solve.result import SolveResult, StartSummary

REFINED = ", then refined by a local search"


def start_words(start: StartSummary) -> str:
    """What ``start`` did, e.g. ``full DE search, settled; then refined by a local search``."""
    outcome = start.outcome
    refined = REFINED if start.polished else ""
    if outcome == "converged":
        return f"full DE search until it stopped improving{refined}"
    if outcome == "scatter":
        return f"quick probe: a few DE generations from random points{refined}"
    if outcome == "budget":
        return f"cut short when the solve ended (its best so far){refined}"
    if outcome.startswith("stopped: "):
        return f"stopped early, {outcome.removeprefix('stopped: ')}"
    if outcome.startswith("error: "):
        return f"failed: {outcome.removeprefix('error: ')}"
    return outcome + refined


def agrees(start: StartSummary, best_fom: float) -> bool:
    """Whether ``start`` ended within 1 % of the best FOM (found the same answer)."""
    return math.isfinite(start.fom) and start.fom <= best_fom + AGREE * abs(best_fom)


def confidence_words(result: SolveResult) -> str:
    """One line: the confidence, what it means, and how it was reached."""
    minima = "one minimum" if result.minima == 1 else f"{result.minima} distinct minima"
    return (
        f"confidence {result.confidence:.2f}: the estimated probability that the best FOM is the "
        f"global minimum: {result.searches} finished search(es) found {minima}, so a further start "
        f"would land in a minimum not yet seen with probability {1 - result.confidence:.2g} "
        f"({result.agreeing} of {len(result.starts)} starts agree on the best within 1 %)"
    )


def ending_words(result: SolveResult) -> str:
    """Why the solve ended, with what to do when the time budget cut it short."""
    reason = result.stop_reason
    if "budget" in reason:
        return f"ended: {reason} (a larger --budget lets more starts finish and raises the confidence)"
    if "request" in reason:
        return f"ended: {reason} (Ctrl-C or a stop)"
    return f"ended: {reason}"


def where_words(result: SolveResult) -> str | None:
    """Where the answer and its plots are, or None when nothing was written."""
    model = result.outputs.get("model")
    if model is None:
        return None
    folder = Path(model).parent
    present = [name for name in ("fit.png", "fom.png", "corner.png", "band.png") if (folder / name).exists()]
    plots = f"; plots: {', '.join(present)}" if present else ""
    return (
        f"the answer: {model} (opens in GenX){plots}; result.json, solve.json and parameters.csv "
        f"beside it in {folder}"
    )
