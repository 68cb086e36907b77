"""fit.png and fom.png (and their SVGs) drawn from real and from damaged results: always readable."""

from __future__ import annotations

import dataclasses
import io
import math
import threading

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from metagenx.engine.result import DatasetCurve, FitResult
from metagenx.outputs.plots import RESIDUAL_LABEL, X_LABELS, fit_figure, fom_figure, png_bytes, rendered


def decoded(png: bytes) -> Image.Image:
    """The PNG decoded by Pillow (fully: ``load`` reads every pixel)."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


def texts(figure: object) -> str:
    """Every text drawn in a figure, joined: titles, labels, legend entries, notes."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in figure.findobj(Text))  # type: ignore[attr-defined]


def curve(name: str = "d", use: bool = True, **values: list[float | None]) -> DatasetCurve:
    n = 50
    x: list[float | None] = [0.01 * (i + 1) for i in range(n)]
    y: list[float | None] = [10.0 ** (-4 * i / n) for i in range(n)]
    fields = {"x": x, "y": y, "error": [0.05 * v for v in y if v is not None], "simulated": list(y)}
    fields.update(values)
    return DatasetCurve(name=name, use=use, **fields)  # type: ignore[arg-type]


def test_real_result_draws_on_agg_with_titles_and_labels(result: FitResult) -> None:
    fit = fit_figure(result)
    assert isinstance(fit.canvas, FigureCanvasAgg)  # own canvas: no pyplot, no GUI backend
    ax, residuals = fit.axes
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() and residuals.get_ylabel() == RESIDUAL_LABEL
    assert residuals.get_xlabel() == "2θ (°)", "SuperAdam's instrument works in 2θ"
    drawn = texts(fit)
    assert "SuperAdam_SiO" in drawn and f"{result.fom:.6g}" in drawn and result.fom_name in drawn
    assert "NeutronData" in drawn
    fom = fom_figure(result)
    drawn = texts(fom)
    assert str(result.stop_reason) in drawn and "wall time (s)" in drawn and "generation" in drawn
    assert fom.axes[0].get_yscale() == "log"
    for figure in (fit, fom):
        image = decoded(png_bytes(figure))
        assert 900 <= image.width <= 2000 and 600 <= image.height <= 2000


def test_none_and_nan_from_a_json_round_trip_do_not_break_plotting(result: FitResult) -> None:
    first = result.datasets[0]
    damaged = dataclasses.replace(
        first,
        y=[None if i % 7 == 0 else v for i, v in enumerate(first.y)],
        error=[math.nan if i % 5 == 0 else -v for i, v in enumerate(first.error)],  # negative errors too
        simulated=[math.nan] * len(first.simulated),
    )
    broken = dataclasses.replace(
        result,
        fom=math.nan,
        fom_history=[math.inf, *result.fom_history[1:], math.nan],
        time_history=[math.nan] * (len(result.time_history) + 1),
        datasets=[damaged],
    )
    again = FitResult.from_json(broken.to_json())  # NaN and inf come back as None
    assert again.datasets[0].simulated[0] is None
    for damaged_result in (broken, again):
        decoded(png_bytes(fit_figure(damaged_result)))
        decoded(png_bytes(fom_figure(damaged_result)))


def test_edge_cases_draw_a_note_instead_of_failing(result: FitResult) -> None:
    cases = {
        "unused": [curve("off", use=False), curve("on")],
        "nothing in use": [curve("off", use=False)],
        "no data sets": [],
        "empty": [curve("empty", x=[], y=[], error=[], simulated=[])],
        "all NaN": [curve("nan", y=[math.nan] * 50, simulated=[None] * 50)],
        "negative": [curve("neg", y=[-1.0 + 0.01 * i for i in range(50)])],
        "some zeros": [curve("zeros", y=[0.0] * 5 + [1.0] * 45)],
        "ragged": [curve("ragged", error=[1.0], simulated=[1.0] * 10)],
        "unsorted": [curve("unsorted", x=[float((i * 7) % 50) for i in range(50)])],
        "many": [curve(f"rod {i}") for i in range(11)],
        "math text": [curve("$\\notacommand$ 50$")],
    }
    for name, datasets in cases.items():
        figure = fit_figure(dataclasses.replace(result, datasets=datasets, model_path="/x/$\\bad$.hgx"))
        drawn, panels = texts(figure), len(figure.axes)
        assert decoded(png_bytes(figure)).width > 300, name
        if name == "unused":
            assert "not in use, not shown: off" in drawn
            assert panels == 2, "the data and their residuals"
        if name in ("nothing in use", "no data sets"):
            assert "no data set is in use" in drawn
        if name in ("empty", "all NaN"):
            assert "no finite points" in drawn
        if name == "negative":
            assert "intensity (log scale)" not in drawn
        if name == "some zeros":
            assert "5 points ≤ 0 not shown" in drawn
        if name == "many":
            assert panels == 22


def test_fom_history_edge_cases(result: FitResult) -> None:
    for history, scale in (([], None), ([1.0], "log"), ([0.0, -1.0], "linear"), ([2.0, 1.5, 1.0], "log")):
        figure = fom_figure(
            dataclasses.replace(
                result, fom_history=history, time_history=[0.1 * i for i in range(len(history))]
            )
        )
        if scale is None:
            assert "no generation recorded" in texts(figure)
        else:
            assert figure.axes[0].get_yscale() == scale
        decoded(png_bytes(figure))


def test_figures_draw_in_parallel_threads(result: FitResult) -> None:
    serial = [png_bytes(fit_figure(result)), png_bytes(fom_figure(result))]
    produced: list[bytes] = []
    failures: list[BaseException] = []

    def draw() -> None:
        try:
            produced.extend([png_bytes(fit_figure(result)), png_bytes(fom_figure(result))])
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=draw) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(produced) == sorted(serial * 2)  # same pixels as drawn alone


@pytest.mark.parametrize("draw", [fit_figure, fom_figure])
def test_png_bytes_frees_the_figure(result: FitResult, draw: object) -> None:
    figure = draw(result)  # type: ignore[operator]
    png_bytes(figure)
    assert figure.axes == []


def test_x_axis_and_residuals_follow_the_model(result: FitResult) -> None:
    for axis, label in (("q", "Q (Å⁻¹)"), ("2theta", "2θ (°)"), ("", X_LABELS[""])):
        figure = fit_figure(dataclasses.replace(result, datasets=[curve("d", x_axis=axis)]))  # type: ignore[arg-type]
        assert figure.axes[1].get_xlabel() == label
    y = [10.0 ** (-4 * i / 50) for i in range(50)]
    off = [v * (1 + (0.1 if i % 2 else -0.1)) for i, v in enumerate(y)]
    figure = fit_figure(
        dataclasses.replace(result, datasets=[curve("r", y=off, error=[0.05 * v for v in y])])
    )
    (points,) = [line for line in figure.axes[1].get_lines() if line.get_marker() == "."]
    assert np.allclose(np.abs(points.get_ydata()), 2.0), "(data − sim) / error: ±10 % over 5 % errors"


def test_error_bars_larger_than_the_value_stop_a_decade_below_it(result: FitResult) -> None:
    y = [10.0 ** (-4 * i / 50) for i in range(50)]
    figure = fit_figure(dataclasses.replace(result, datasets=[curve("e", error=[2 * v for v in y])]))
    bars = figure.axes[0].get_lines()[0]
    lows = np.asarray(bars.get_ydata())[0::3]
    assert np.allclose(lows, np.asarray(y) / 10), "cut one decade below each point, not at the axis"


def test_every_figure_is_also_an_svg_without_a_date(result: FitResult) -> None:
    png, svg = rendered(fit_figure(result), "png", "svg")
    decoded(png)
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"<dc:date>" not in svg
    assert rendered(fit_figure(result), "svg")[0] == svg, "the same result gives the same file"
