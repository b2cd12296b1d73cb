"""The hash-chained audit trail: ``audit_log`` and its one-row head, ``audit_head``.

Revision ID: 0003_audit
Revises: 0002_protection
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_audit"
down_revision: str | Sequence[str] | None = "0002_protection"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tenure.privacy.audit.GENESIS_HASH, spelled out: a migration must not change when code does.
_GENESIS_HASH = "0" * 64


def upgrade() -> None:
    """Create the audit trail, and its head at seq 0 (the empty chain)."""
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The row exists from the start, so the first append locks it like every later one does.
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": _GENESIS_HASH, "at": None}])


def downgrade() -> None:
    """Drop the audit trail (and with it the evidence: export it first)."""
    op.drop_table("audit_head")
    op.drop_table("audit_log")
