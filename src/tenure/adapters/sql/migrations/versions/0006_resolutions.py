"""Protection: how a decision that waited on someone ended (one row per decision).

Revision ID: 0006_resolutions
Revises: 0005_privacy
Create Date: 2026-11-23 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_resolutions"
down_revision: str | Sequence[str] | None = "0005_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``protection_resolutions``."""
    op.create_table(
        "protection_resolutions",
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["protection_decisions.decision_id"],
            name=op.f("fk_protection_resolutions_decision_id_protection_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_protection_resolutions")),
    )


def downgrade() -> None:
    """Drop ``protection_resolutions``."""
    op.drop_table("protection_resolutions")
