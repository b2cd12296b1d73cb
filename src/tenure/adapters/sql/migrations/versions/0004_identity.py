"""The identity vault: ``customer_identity``, customers' sealed identity and blind indexes.

Revision ID: 0004_identity
Revises: 0003_audit
Create Date: 2025-03-15 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the vault table on the store's MetaData, so that Alembic and the schema check compare
# it too whichever modules the process imported first (the DDL below does not use it).
import tenure.adapters.sql.identity  # noqa: F401

revision: str = "0004_identity"
down_revision: str | Sequence[str] | None = "0003_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the vault and its two blind-index lookups."""
    op.create_table(
        "customer_identity",
        sa.Column("customer_id", sa.String(64), autoincrement=False, nullable=False),
        sa.Column("wrapped_key", sa.String(128), nullable=True),
        sa.Column("full_name_enc", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("email_enc", sa.Text(), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_bidx", sa.String(32), nullable=True),
        sa.Column("phone_bidx", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_identity")),
    )
    op.create_index(
        op.f("ix_customer_identity_id_number_bidx"), "customer_identity", ["id_number_bidx"]
    )
    op.create_index(op.f("ix_customer_identity_phone_bidx"), "customer_identity", ["phone_bidx"])


def downgrade() -> None:
    """Drop the vault: every customer's clear identity with it (export or accept that first)."""
    op.drop_index(op.f("ix_customer_identity_phone_bidx"), table_name="customer_identity")
    op.drop_index(op.f("ix_customer_identity_id_number_bidx"), table_name="customer_identity")
    op.drop_table("customer_identity")
