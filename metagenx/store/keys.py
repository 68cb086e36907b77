"""Content keys of jobs: the same fit of the same bytes always gets the same key.

A job's key is the SHA-256 of a canonical JSON of what determines its outcome: the model
file's bytes, the data files' bytes (by their SHA-256), the fit settings, the seed, the
parameter overrides and, for a sequentially seeded job, the key of the job it starts
from. File paths are not part of the key: the same file moved elsewhere is the same job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metagenx.jobs import DataAssignment, JobSpec
from metagenx.store.errors import StoreError
from metagenx.store.models import DEFAULT_MAX_ATTEMPTS

KEY_FORMAT = 1
_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical(value: Any) -> Any:
    """``value`` in a form whose JSON is stable: integral floats as ints, non-finite floats
    as strings, tuples as lists, mapping keys as strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    raise TypeError(f"cannot build a job key from a value of type {type(value).__name__}: {value!r}")


def canonical_json(value: Any) -> str:
    """Compact JSON of :func:`canonical` ``value`` with sorted keys."""
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def job_key(
    model_sha256: str,
    data_sha256: Sequence[str],
    settings: Mapping[str, Any],
    seed: int,
    overrides: Mapping[str, Any] | None = None,
    depends_on: str | None = None,
) -> str:
    """The job's content key: SHA-256 hex of a canonical JSON of everything that decides its result.

    ``data_sha256`` is in data-set order; ``depends_on`` is the key of the job whose result
    seeds this one (sequential batches), None for an independent job.
    """
    content: dict[str, Any] = {
        "format": KEY_FORMAT,
        "model": model_sha256,
        "data": list(data_sha256),
        "settings": dict(settings),
        "seed": seed,
        "overrides": dict(overrides or {}),
    }
    if depends_on is not None:
        content["depends_on"] = depends_on
    return hashlib.sha256(canonical_json(content).encode("ascii")).hexdigest()


def key_overrides(spec: JobSpec) -> dict[str, Any]:
    """The changes of ``spec`` as they enter its key: label, axes, data options, parameters (the
    form keys have always had, so that a study submitted again finds its jobs)."""
    return {
        "label": spec.label,
        "axes": dict(spec.axes),
        "data": [data_options(d) for d in spec.data],
        "parameters": [dataclasses.asdict(o) for o in spec.overrides],
    }


def data_options(assignment: DataAssignment) -> dict[str, Any]:
    """How a data file is loaded (its data set, loader and options), without its path."""
    return {k: v for k, v in dataclasses.asdict(assignment).items() if k != "path"}


@dataclass(frozen=True)
class NewJob:
    """A job to store: its spec (what to fit) and the checksums of its files (what makes it unique).

    Attributes:
        spec: the job (:class:`metagenx.jobs.JobSpec`); its ``depends_on`` label is not stored.
        model_sha256: SHA-256 of the model file's bytes (see :func:`file_sha256`).
        data_sha256: SHA-256 of each data file of ``spec.data``, same order.
        depends_on: key of the job (same study) whose result seeds this one; the job becomes
            claimable only once that one succeeded.
        max_attempts: runs charged before the job is failed for good.
    """

    spec: JobSpec
    model_sha256: str
    data_sha256: Sequence[str] = ()
    depends_on: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if len(self.spec.data) != len(self.data_sha256):
            raise StoreError(
                f"{len(self.spec.data)} data files but {len(self.data_sha256)} data checksums; give one each"
            )
        if self.max_attempts < 1:
            raise StoreError(f"max_attempts must be at least 1, got {self.max_attempts}")

    @property
    def key(self) -> str:
        """The content key (see :func:`job_key`)."""
        return job_key(
            self.model_sha256,
            self.data_sha256,
            self.spec.settings,
            self.spec.seed,
            key_overrides(self.spec),
            self.depends_on,
        )

    @classmethod
    def from_files(cls, spec: JobSpec, checksums: dict[str, str] | None = None, **options: Any) -> NewJob:
        """The job of ``spec``, its checksums read from its files (or taken from ``checksums``, a
        path → SHA-256 cache that is filled in as files are read)."""
        known = checksums if checksums is not None else {}
        for path in [spec.model_path, *(d.path for d in spec.data)]:
            if path not in known:
                known[path] = file_sha256(path)
        return cls(spec, known[spec.model_path], tuple(known[d.path] for d in spec.data), **options)
