"""The one exception hierarchy of metagenx.

Every error a user can cause carries a message a scientist understands without a
traceback: what is wrong, and where possible what to do about it. The CLI prints
``str(error)`` and exits with :attr:`MetagenxError.exit_code`.
"""

from __future__ import annotations

import re


class MetagenxError(Exception):
    """Base of every error metagenx raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_report(cls, message: str) -> MetagenxError:
        """The error a job's report names, rebuilt from its message alone (only the message
        crosses from the fit's process)."""
        return cls(message)


def error_named(kind: str, message: str) -> MetagenxError:
    """The metagenx error of class ``kind`` (as a runner or a job reports it) with ``message``;
    a plain :class:`MetagenxError` for any other name (the name is never trusted further)."""
    found = globals().get(kind)
    if isinstance(found, type) and issubclass(found, MetagenxError):
        return found.from_report(message)
    return MetagenxError(message)


class ModelFileError(MetagenxError):
    """The model file is missing, of the wrong kind, truncated or corrupt."""

    exit_code = 2


class UnsafeModelFileError(ModelFileError):
    """A ``.gx`` pickle names something outside the allowlist; nothing was executed."""


class ModelScriptError(MetagenxError):
    """The model's own script raised while compiling or simulating."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

    @classmethod
    def from_report(cls, message: str) -> ModelScriptError:
        """As reported, with the script line the message names (``… (script line 28: …)``)."""
        found = SCRIPT_LINE.search(message)
        return cls(message, int(found.group(1)) if found else None)


SCRIPT_LINE = re.compile(r"\(script line (\d+)\b")


class ModelContentError(MetagenxError):
    """The model loads, but cannot be fitted as it stands (no fit parameter, empty data, bad bounds)."""


class SettingsError(MetagenxError):
    """A fit setting is out of range or unknown."""

    exit_code = 2


class OutputError(MetagenxError):
    """An output file or directory cannot be written."""


class DataFileError(MetagenxError):
    """A data file cannot be loaded into the model: missing, unreadable, or without usable points."""

    exit_code = 2


class StudyDefinitionError(MetagenxError):
    """A study file or study description is wrong: unknown key, wrong type, bad value, unknown parameter.

    ``key`` is the dotted key at fault (e.g. ``grid.km``) and ``line`` its line in the study file,
    where known.
    """

    exit_code = 2

    def __init__(self, message: str, key: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.line = line

    def __reduce__(self) -> tuple[type[StudyDefinitionError], tuple[str, str | None, int | None]]:
        return (type(self), (self.message, self.key, self.line))


class RunnerProtocolError(MetagenxError):
    """A runner sent something that is not a valid message for the task it runs: its fit is stopped.

    Raised at the boundary (:mod:`metagenx.runner.protocol`); the job fails with the message and
    the event is kept as a security event (a model's script may have written it).
    """
