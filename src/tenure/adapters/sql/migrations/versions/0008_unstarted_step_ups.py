"""Protection: find step-up decisions whose challenge never started, without a scan.

Revision ID: 0008_unstarted_step_ups
Revises: 0007_challenge_expiry
Create Date: 2026-11-24 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_unstarted_step_ups"
down_revision: str | Sequence[str] | None = "0007_challenge_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STEP_UP_ONLY = sa.text("action = 'step_up'")


def upgrade() -> None:
    """Index step-up decisions by decision time (what ``tenure protection sweep`` asks for)."""
    op.create_index(
        "ix_protection_decisions_step_up_decided_at",
        "protection_decisions",
        ["decided_at"],
        sqlite_where=_STEP_UP_ONLY,
        postgresql_where=_STEP_UP_ONLY,
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_protection_decisions_step_up_decided_at", "protection_decisions")
