"""The outputs of a tune: best settings file, table of trials (CSV) and Optuna's plots."""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
import math
import warnings
from pathlib import Path
from typing import Any

from metagenx.outputs.files import write_atomic
from metagenx.solve.settings_file import write_settings_file

log = logging.getLogger(__name__)

FIT_PARAMS = ("km", "kr", "population", "strategy", "tolerance", "window", "polish")
SOLVE_PARAMS = ("margin", "grace", "scatter")
PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice")


def best_settings(study: Any, fixed: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The best completed trial's fit and solve tables (empty when no trial completed)."""
    completed = [t for t in study.trials if t.value is not None and t.state.name == "COMPLETE"]
    if not completed:
        return {}, {}
    best = min(completed, key=lambda t: t.value)
    fit = {k: best.params[k] for k in FIT_PARAMS if k in best.params}
    fit.update({k: v for k, v in fixed.items() if v is not None})
    return fit, {k: best.params[k] for k in SOLVE_PARAMS if k in best.params}


def three_digits(seconds: float | None) -> float | None:
    """``seconds`` to 3 significant digits (None stays None)."""
    return None if seconds is None or not math.isfinite(seconds) else float(f"{seconds:.3g}")


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, value (the score: mean log ERT), ert_s (its geometric-mean
    ERT, s), duration (s), ERT per model (s), parameters; times to 3 significant digits."""
    trials = study.trials
    params = sorted({k for t in trials for k in t.params})
    erts = sorted({k for t in trials for k in t.user_attrs if k.startswith("ert:")})
    rows = []
    for t in trials:
        value = t.value if t.value is not None and math.isfinite(t.value) else None
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state.name,
            "value": value,
            "ert_s": three_digits(math.exp(value)) if value is not None else None,
            "duration_s": three_digits(t.duration.total_seconds()) if t.duration is not None else None,
        }
        row.update({k: three_digits(t.user_attrs.get(k)) for k in erts})
        row.update({k: t.params.get(k) for k in params})
        rows.append(row)
    return rows


def trials_csv(study: Any) -> str:
    """:func:`trial_rows` as CSV (an empty cell where a trial has no value)."""
    rows = trial_rows(study)
    columns = list(dict.fromkeys(k for row in rows for k in row)) or [
        "trial",
        "state",
        "value",
        "ert_s",
        "duration_s",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(k) is None else row[k] for k in columns])
    return buffer.getvalue()


def write_plots(study: Any, folder: Path) -> dict[str, str]:
    """Optuna's plots as PNG (matplotlib) and, when plotly is installed, HTML; skipped ones are logged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna

    done = [t for t in study.trials if t.value is not None and math.isfinite(t.value)]
    files: dict[str, str] = {}
    for name in PLOTS:
        if not done or (name in ("param_importances", "parallel_coordinate") and len(done) < 2):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                axes = getattr(optuna.visualization.matplotlib, f"plot_{name}")(study)
                figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
                figure.set_size_inches(10, 6)
                figure.tight_layout()
            path = folder / f"{name}.png"
            figure.savefig(path, dpi=100)
            plt.close(figure)
            files[f"{name}_png"] = str(path)
        except Exception as exc:  # a plot Optuna cannot draw for these trials
            log.info("tune plot %s skipped: %s", name, exc)
        if importlib.util.find_spec("plotly") is None:
            continue
        try:
            figure_html = getattr(optuna.visualization, f"plot_{name}")(study)
            path = folder / f"{name}.html"
            figure_html.write_html(
                str(path), include_plotlyjs="directory"
            )  # offline: plotly.min.js beside it
            files[f"{name}_html"] = str(path)
        except Exception as exc:
            log.info("tune plot %s (HTML) skipped: %s", name, exc)
    return files


def write_report(
    study: Any, folder: Path, fixed: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """Write best.toml (when a trial completed), trials.csv and the plots; return files and best tables."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"trials_csv": str(write_atomic(folder / "trials.csv", trials_csv(study).encode("utf-8")))}
    fit, solve = best_settings(study, fixed)
    if fit:
        models = ", ".join(study.user_attrs.get("models", []))
        comment = (
            f"tuned by metagenx tune (study {study.study_name!r}, {len(study.trials)} trials) on {models}\n"
            "use with: metagenx fit|solve MODEL --settings this-file"
        )
        outputs["settings"] = str(write_settings_file(folder / "best.toml", fit, solve, comment))
    outputs.update(write_plots(study, folder))
    return outputs, fit, solve
