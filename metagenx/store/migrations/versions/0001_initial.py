"""Initial schema: projects, studies, jobs, events, artifacts.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Users and tokens come later, in their own revision; ``owner`` columns are plain user names.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the enum values of this revision (never import the live models here).
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
STUDY_KINDS = ("fit", "study", "batch", "watch", "solve", "tune")
STUDY_STATES = ("active", "finished", "cancelled")
EVENT_KINDS = ("state", "progress", "log")


def when() -> sa.DateTime:
    """A timezone-aware timestamp column type."""
    return sa.DateTime(timezone=True)


def one_of(table: str, column: str, enum_name: str, values: Sequence[str]) -> sa.CheckConstraint:
    """The CHECK constraint SQLAlchemy's non-native Enum creates, under the same name."""
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{enum_name}"))


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=128), server_default="local", nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("owner", "name", name=op.f("uq_projects_owner_name")),
    )
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("directory", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        one_of("studies", "kind", "study_kind", STUDY_KINDS),
        one_of("studies", "state", "study_state", STUDY_STATES),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_studies_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_studies_project_id_name")),
    )
    op.create_index(op.f("ix_studies_project_id"), "studies", ["project_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), server_default="local", nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("model_path", sa.Text(), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("data_paths", sa.JSON(), nullable=False),
        sa.Column("data_sha256", sa.JSON(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="2", nullable=False),
        sa.Column("interruptions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("fom", sa.Double(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("queued_at", when(), nullable=False),
        sa.Column("started_at", when(), nullable=True),
        sa.Column("finished_at", when(), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("depends_on_job_id", sa.Integer(), nullable=True),
        one_of("jobs", "state", "job_state", JOB_STATES),
        sa.ForeignKeyConstraint(
            ["depends_on_job_id"],
            ["jobs.id"],
            name=op.f("fk_jobs_depends_on_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_jobs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_jobs_study_id_studies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("study_id", "key", name=op.f("uq_jobs_study_id_key")),
    )
    op.create_index(op.f("ix_jobs_depends_on_job_id"), "jobs", ["depends_on_job_id"])
    op.create_index(op.f("ix_jobs_key"), "jobs", ["key"])
    op.create_index(op.f("ix_jobs_project_id"), "jobs", ["project_id"])
    op.create_index(op.f("ix_jobs_state_id"), "jobs", ["state", "id"])
    op.create_index(op.f("ix_jobs_study_id_state"), "jobs", ["study_id", "state"])
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("at", when(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.Column("best_fom", sa.Double(), nullable=True),
        sa.Column("evaluations", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        one_of("events", "kind", "event_kind", EVENT_KINDS),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_events_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_job_id_id"), "events", ["job_id", "id"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", when(), nullable=False),
        sa.CheckConstraint("job_id IS NOT NULL OR study_id IS NOT NULL", name=op.f("ck_artifacts_owner_set")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_artifacts_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_artifacts_study_id_studies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
    )
    op.create_index(op.f("ix_artifacts_job_id"), "artifacts", ["job_id"])
    op.create_index(op.f("ix_artifacts_study_id"), "artifacts", ["study_id"])


def downgrade() -> None:
    """Drop the tables."""
    for table in ("artifacts", "events", "jobs", "studies", "projects"):
        op.drop_table(table)
