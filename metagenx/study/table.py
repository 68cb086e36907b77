"""A study's results table as :meth:`metagenx.study.Study.run` returns it: dict rows, or a DataFrame."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas


class ResultTable(list[dict[str, Any]]):
    """One dict per job (label, state, seed, axes, FOM, fitted values, …), as in ``results.csv``;
    ``folder`` is the study folder that holds the jobs' files, the tables and the plots."""

    def __init__(self, rows: list[dict[str, Any]], folder: Path) -> None:
        super().__init__(rows)
        self.folder = folder

    def to_frame(self) -> pandas.DataFrame:
        """The table as a pandas DataFrame, one row per job indexed by its label; the columns
        of ``results.csv`` in their order."""
        import pandas

        columns = list(dict.fromkeys(key for row in self for key in row))
        frame = pandas.DataFrame(list(self), columns=columns)
        return frame.set_index("label") if "label" in frame.columns else frame
