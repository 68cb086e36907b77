"""Tables of the job store: projects, studies, jobs (one fit each), events and artifacts.

The types are portable between SQLite and PostgreSQL: JSON via :class:`sqlalchemy.JSON`,
enums as short strings guarded by a CHECK constraint, times as timezone-aware UTC.
Every change to these models needs a new Alembic migration in ``migrations/versions``
(``tests/store`` fails when models and migrations drift apart).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from metagenx.jobs import JobKind

DEFAULT_OWNER = "local"
DEFAULT_MAX_ATTEMPTS = 2

# Deterministic constraint names on every backend, so later migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class JobState(StrEnum):
    """Life of a job: queued → running → succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the terminal states."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class StudyKind(StrEnum):
    """What a study was created by."""

    FIT = "fit"
    STUDY = "study"
    BATCH = "batch"
    WATCH = "watch"
    SOLVE = "solve"
    TUNE = "tune"


class StudyState(StrEnum):
    """A study is active while it may still get or run jobs."""

    ACTIVE = "active"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """Kinds of job events: a state change, a progress report, a log line, a security event (the
    job's runner broke the protocol or spoke for another job)."""

    STATE = "state"
    PROGRESS = "progress"
    LOG = "log"
    SECURITY = "security"


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no zone: UTC is implied)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(enum: type[StrEnum], name: str) -> Enum:
    """A non-native enum: a VARCHAR holding the member's value, with a CHECK constraint."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


# Event ids grow fastest (one per progress report): 64 bit on PostgreSQL. SQLite only
# auto-increments an INTEGER primary key, whose values are 64 bit there anyway.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Project(Base):
    """A named collection of studies, owned by one user (``local`` without a server)."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(128), default=DEFAULT_OWNER, server_default=DEFAULT_OWNER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Study(Base):
    """One request (a fit, batch, study, watch, solve or tune) and the directory of its outputs.

    ``definition`` is the request as submitted (JSON); ``name`` is unique within a project,
    so that running the same command again finds the same study and resumes it.
    """

    __tablename__ = "studies"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[StudyKind] = mapped_column(_enum(StudyKind, "study_kind"))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    directory: Mapped[str | None] = mapped_column(Text)
    state: Mapped[StudyState] = mapped_column(_enum(StudyState, "study_state"), default=StudyState.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """One job (a fit, a solve or a tune: ``kind``): a model file, its data, settings and seed,
    and what became of it.

    ``label`` names it in its study; ``axes`` are the study-axis values that made it; ``data``
    holds, per data file (``data_paths``), its data set, loader and loader options;
    ``overrides`` the parameter changes (see :class:`metagenx.jobs.ParameterOverride`);
    ``output`` the fitted model file to write when the submitter chose it (None: in the job's
    folder of its study; the server never sets it).
    ``key`` is the content hash of (model bytes, data bytes, settings, seed, changes),
    unique within a study. ``runs`` counts every start; ``attempts`` the runs charged
    against the crash budget ``max_attempts`` (a run in progress included);
    ``interruptions`` the runs lost when the controller itself died, which are not
    charged (see :mod:`metagenx.store.jobs`). ``result`` is ``FitResult.to_dict()``,
    normally without the data curves (they live in the result file).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("study_id", "key"),
        Index(None, "state", "id"),
        Index(None, "study_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    owner: Mapped[str] = mapped_column(String(128), default=DEFAULT_OWNER, server_default=DEFAULT_OWNER)
    key: Mapped[str] = mapped_column(String(64), index=True)
    model_path: Mapped[str] = mapped_column(Text)
    model_sha256: Mapped[str] = mapped_column(String(64))
    data_paths: Mapped[list[str]] = mapped_column(default=list)
    data_sha256: Mapped[list[str]] = mapped_column(default=list)
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(
        default=DEFAULT_MAX_ATTEMPTS, server_default=str(DEFAULT_MAX_ATTEMPTS)
    )
    interruptions: Mapped[int] = mapped_column(default=0, server_default="0")
    runs: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    fom: Mapped[float | None] = mapped_column(Double)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(255))
    sequence: Mapped[int | None]
    depends_on_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[JobKind] = mapped_column(
        _enum(JobKind, "job_kind"), default=JobKind.FIT, server_default=JobKind.FIT.value
    )
    label: Mapped[str] = mapped_column(String(255), default="", server_default="")
    axes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """Something that happened to a job: a state change, a progress report or a log line.

    ``run`` is the number of the job's run the event belongs to (1 for the first start,
    see :attr:`Job.runs`; 0 before any), so the events of a run that died can be told
    apart from the rerun's.
    """

    __tablename__ = "events"
    __table_args__ = (Index(None, "job_id", "id"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "event_kind"))
    generation: Mapped[int | None]
    best_fom: Mapped[float | None] = mapped_column(Double)
    evaluations: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Artifact(Base):
    """A file a job or a study left behind (fitted model, result JSON, CSV table, plot).

    ``path`` is absolute, or relative to the study's directory; ``size`` is in bytes.
    """

    __tablename__ = "artifacts"
    __table_args__ = (
        CheckConstraint("job_id IS NOT NULL OR study_id IS NOT NULL", name="owner_set"),
        Index(None, "job_id"),
        Index(None, "study_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """An account of the HTTP server. ``name`` is what ``owner`` columns hold.

    ``max_running`` / ``max_queued`` override the server's per-user limits (None: the
    server's defaults); ``limits`` overrides the server's sandbox limits per fit.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    max_running: Mapped[int | None]
    max_queued: Mapped[int | None]
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Sandbox limits of this user's fits (``cpu_seconds``, ``memory_bytes``, ``wall_seconds``,
    ``max_output_bytes``...) over the server's; None: the server's."""


class Token(Base):
    """A bearer token of a user, stored as the SHA-256 of its text; ``prefix`` (shown in the
    token itself) finds the row without scanning."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
