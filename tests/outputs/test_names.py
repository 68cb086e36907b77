"""Job folder names: short, unique by number, safe on every file system."""

from __future__ import annotations

import re

import pytest

from metagenx.outputs.names import JOB_LABEL_CHARS, job_folder_name

SAFE = re.compile(r"^[0-9]{3,}-[A-Za-z0-9][A-Za-z0-9._=+-]*$")


@pytest.mark.parametrize(
    ("number", "label", "name"),
    [
        (1, "T100K.dat strategy=best_1_bin SiO.setD=1100 r1", "001-T100K"),
        (12, "km=0.7 kr=0.9 r2", "012-km=0.7_kr=0.9_r2"),
        (3, "", "003-fit"),
        (4, "r1", "004-r1"),
        (1234, "run 2/T300 K.dat", "1234-run_2_T300_K"),
        (5, "../../etc/passwd", "005-etc_passwd"),
        (6, "sample:Å #2", "006-sample_2"),
    ],
)
def test_names(number: int, label: str, name: str) -> None:
    assert job_folder_name(number, label) == name


def test_names_are_short_safe_and_unique() -> None:
    labels = ["x" * 200, "a/b\\c:d*e?f", ". .. ...", "T100K.dat seed=1", "T100K.dat seed=2", "ünïcode ✓"]
    names = [job_folder_name(n, label) for n, label in enumerate(labels, start=1)]
    assert len(set(names)) == len(names)
    for name in names:
        assert SAFE.match(name), name
        assert len(name) <= 4 + JOB_LABEL_CHARS
