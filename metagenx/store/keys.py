"""Content keys of jobs: the same fit of the same bytes always gets the same key.

A job's key is the SHA-256 of a canonical JSON of what determines its outcome: the model
file's bytes, the data files' bytes (by their SHA-256), the fit settings, the seed, the
parameter overrides and, for a sequentially seeded job, the key of the job it starts
from. File paths are not part of the key: the same file moved elsewhere is the same job.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class JobSpec:
    """What to run for one job, as submitted.

    Attributes:
        model_path: the model file (``.hgx``/``.gx``) to load.
        model_sha256: SHA-256 of the model file's bytes (see :func:`file_sha256`).
        seed: seed of the fit; part of the key, so a rerun gives the same answer.
        settings: ``FitSettings.to_dict()``.
        data_paths: data files replacing the model's data, in data-set order.
        data_sha256: SHA-256 of each data file, same order.
        overrides: parameter name → start value (or any JSON the runner understands).
        sequence: position within a sequential batch.
        depends_on: key of the job (same study) whose result seeds this one; the job
            becomes claimable only once that one succeeded.
        max_attempts: runs charged before the job is failed for good.
    """

    model_path: str
    model_sha256: str
    seed: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    data_paths: Sequence[str] = ()
    data_sha256: Sequence[str] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    sequence: int | None = None
    depends_on: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if len(self.data_paths) != len(self.data_sha256):
            raise StoreError(
                f"{len(self.data_paths)} data paths but {len(self.data_sha256)} data checksums; give one each"
            )
        if self.max_attempts < 1:
            raise StoreError(f"max_attempts must be at least 1, got {self.max_attempts}")

    @property
    def key(self) -> str:
        """The content key (see :func:`job_key`)."""
        return job_key(
            self.model_sha256, self.data_sha256, self.settings, self.seed, self.overrides, self.depends_on
        )

    @classmethod
    def from_files(
        cls,
        model_path: str | os.PathLike[str],
        seed: int,
        settings: Mapping[str, Any] | None = None,
        data_paths: Sequence[str | os.PathLike[str]] = (),
        **options: Any,
    ) -> JobSpec:
        """A spec whose checksums are read from the files (which must exist)."""
        return cls(
            model_path=str(model_path),
            model_sha256=file_sha256(model_path),
            seed=seed,
            settings=dict(settings or {}),
            data_paths=tuple(str(p) for p in data_paths),
            data_sha256=tuple(file_sha256(p) for p in data_paths),
            **options,
        )
