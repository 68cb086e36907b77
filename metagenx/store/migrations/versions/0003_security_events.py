"""Security events: a runner that broke the protocol or spoke for another job is recorded as such.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("state", "progress", "log")
AFTER = (*BEFORE, "security")
NAME = "ck_events_event_kind"


def allowed(values: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def replace_check(values: Sequence[str]) -> None:
    """Swap the CHECK constraint on ``events.kind``. SQLite cannot alter a constraint: the table is
    rebuilt (its CHECK constraints are not reflected, so the rebuilt table has only the new one)."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("events", recreate="always") as batch:
            batch.create_check_constraint(op.f(NAME), sa.text(allowed(values)))
        return
    op.drop_constraint(op.f(NAME), "events", type_="check")
    op.create_check_constraint(op.f(NAME), "events", sa.text(allowed(values)))


def upgrade() -> None:
    replace_check(AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM events WHERE kind = 'security'"))
    replace_check(BEFORE)
