"""Typed jobs: a job's kind, label, axes and data assignments get columns of their own.

A job may also name its output file (``output``; None: its folder in its study).

Before, ``jobs.overrides`` held ``{"label", "axes", "data", "parameters"}`` and a job's kind was
read from its settings (a ``solve`` table) or its study's kind (``tune``). Now ``kind``,
``label``, ``axes`` and ``data`` are columns and ``overrides`` holds the parameter changes only
(a list). Existing rows are converted; content keys do not change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_KINDS = ("fit", "solve", "tune")


def as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="fit"))
        batch.add_column(sa.Column("label", sa.String(length=255), nullable=False, server_default=""))
        batch.add_column(sa.Column("axes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("output", sa.Text(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_jobs_job_kind"), sa.text("kind IN (" + ", ".join(f"'{k}'" for k in JOB_KINDS) + ")")
        )
    bind = op.get_bind()
    jobs = sa.table(
        "jobs",
        sa.column("id", sa.Integer),
        sa.column("study_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("label", sa.String),
        sa.column("axes", sa.JSON),
        sa.column("data", sa.JSON),
        sa.column("overrides", sa.JSON),
        sa.column("settings", sa.JSON),
    )
    studies = sa.table("studies", sa.column("id", sa.Integer), sa.column("kind", sa.String))
    tune_studies = {row.id for row in bind.execute(sa.select(studies.c.id).where(studies.c.kind == "tune"))}
    rows = bind.execute(sa.select(jobs.c.id, jobs.c.study_id, jobs.c.overrides, jobs.c.settings)).all()
    for row in rows:
        old = as_dict(row.overrides)
        settings = as_dict(row.settings)
        solve = isinstance(settings.get("solve"), dict)
        kind = "tune" if row.study_id in tune_studies else "solve" if solve else "fit"
        bind.execute(
            jobs.update()
            .where(jobs.c.id == row.id)
            .values(
                kind=kind,
                label=str(old.get("label") or f"job-{row.id}")[:255],
                axes=dict(old.get("axes") or {}),
                data=list(old.get("data") or []),
                overrides=list(old.get("parameters") or []),
            )
        )


def downgrade() -> None:
    bind = op.get_bind()
    jobs = sa.table(
        "jobs",
        sa.column("id", sa.Integer),
        sa.column("label", sa.String),
        sa.column("axes", sa.JSON),
        sa.column("data", sa.JSON),
        sa.column("overrides", sa.JSON),
    )
    query = sa.select(jobs.c.id, jobs.c.label, jobs.c.axes, jobs.c.data, jobs.c.overrides)
    for row in bind.execute(query).all():
        parameters = row.overrides if isinstance(row.overrides, list) else []
        old = {"label": row.label, "axes": row.axes or {}, "data": row.data or [], "parameters": parameters}
        bind.execute(jobs.update().where(jobs.c.id == row.id).values(overrides=old))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("ck_jobs_job_kind"), type_="check")
        for column in ("output", "data", "axes", "label", "kind"):
            batch.drop_column(column)
