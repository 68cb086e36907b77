"""Progress bars of the Python API (tqdm): shown in a notebook or a terminal, silent otherwise.

``progress`` arguments of :func:`metagenx.fit` and :func:`metagenx.solve` take a callable (called
as before), ``True`` (a bar), ``False`` (nothing) or ``None`` (a bar when :func:`interactive`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from metagenx.engine.fit import Progress
from metagenx.engine.posterior import sampling_words

if TYPE_CHECKING:
    from tqdm import tqdm

    from metagenx.solve.starts import SolveProgress

Update = TypeVar("Update")


def interactive() -> bool:
    """True in a Jupyter notebook (an IPython kernel) or when stderr is a terminal."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def wanted(progress: object) -> bool:
    return interactive() if progress is None else progress is True


@contextmanager
def reporting(
    progress: Callable[[Update], None] | bool | None,
    show: Callable[[tqdm[Any]], Callable[[Update], None]],
    **bar_options: Any,
) -> Iterator[Callable[[Update], None] | None]:
    """``progress`` itself when callable; else, when wanted, ``show(bar)`` for a tqdm bar made with
    ``bar_options`` (closed on exit); else None."""
    if callable(progress):
        yield progress
        return
    if not wanted(progress):
        yield None
        return
    from tqdm import tqdm

    with tqdm(file=sys.stderr, dynamic_ncols=True, **bar_options) as bar:
        yield show(bar)


def show_fit(bar: tqdm[Any]) -> Callable[[Progress], None]:
    """Generations done, with the best FOM and evaluations/s."""

    def report(p: Progress) -> None:
        bar.update(p.generation - bar.n)
        if p.sampling is not None:
            bar.set_postfix_str(f"best FOM {p.best_fom:.6g}; {sampling_words(p.sampling)}", refresh=True)
            return
        rate = p.evaluations / p.elapsed if p.elapsed > 0 else 0.0
        bar.set_postfix_str(f"best FOM {p.best_fom:.6g}, {rate:.0f} evaluations/s", refresh=False)

    return report


def fit_bar(
    progress: Callable[[Progress], None] | bool | None, label: str
) -> AbstractContextManager[Callable[[Progress], None] | None]:
    """The callback a fit reports to (see :func:`reporting`): a bar of generations."""
    return reporting(progress, show_fit, desc=label, unit=" gen")


def solve_bar(
    progress: Callable[[SolveProgress], None] | bool | None, label: str, budget: float
) -> AbstractContextManager[Callable[[SolveProgress], None] | None]:
    """The callback a solve reports to (see :func:`reporting`): a bar over the time ``budget`` (s)
    with the best FOM, the starts and the confidence."""

    def show(bar: tqdm[Any]) -> Callable[[SolveProgress], None]:
        def report(p: SolveProgress) -> None:
            bar.update(min(p.elapsed, budget) - bar.n)
            bar.set_postfix_str(
                f"best FOM {p.best_fom:.6g}, {p.running} running, {p.agreeing} agree, "
                f"confidence {p.confidence:.2f}",
                refresh=False,
            )

        return report

    form = "{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}"
    return reporting(progress, show, desc=label, total=budget, bar_format=form)
