"""Protection: find pending step-up challenges past their expiry without a scan.

Revision ID: 0007_challenge_expiry
Revises: 0006_resolutions
Create Date: 2026-11-24 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_challenge_expiry"
down_revision: str | Sequence[str] | None = "0006_resolutions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index challenges by status and expiry (what ``tenure protection sweep`` asks for)."""
    op.create_index(
        "ix_protection_challenges_status_expires_at",
        "protection_challenges",
        ["status", "expires_at"],
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_protection_challenges_status_expires_at", "protection_challenges")
