"""Privacy: the consent ledger and data-subject requests with their status history.

Revision ID: 0005_privacy
Revises: 0004_identity
Create Date: 2025-03-20 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the privacy tables on the store's MetaData, so that Alembic and the schema check
# compare them too whichever modules the process imported first (the DDL below does not use it).
import tenure.adapters.sql.consent
import tenure.adapters.sql.subject_requests  # noqa: F401

revision: str = "0005_privacy"
down_revision: str | Sequence[str] | None = "0004_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the consent ledger, the requests and their history."""
    op.create_table(
        "privacy_consent_events",
        sa.Column("event_id", sa.String(64), autoincrement=False, nullable=False),
        sa.Column("consent_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_privacy_consent_events")),
        sa.UniqueConstraint("consent_id", name=op.f("uq_privacy_consent_events_consent_id")),
    )
    op.create_index(
        "ix_privacy_consent_events_lookup",
        "privacy_consent_events",
        ["customer_id", "purpose", "channel", "at"],
    )
    op.create_table(
        "privacy_subject_requests",
        sa.Column("request_id", sa.String(32), autoincrement=False, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(200), nullable=False),
        sa.Column("handled_by", sa.String(200), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_privacy_subject_requests")),
    )
    op.create_index(
        op.f("ix_privacy_subject_requests_customer_id"),
        "privacy_subject_requests",
        ["customer_id"],
    )
    op.create_index(
        "ix_privacy_subject_requests_status", "privacy_subject_requests", ["status", "due_at"]
    )
    op.create_table(
        "privacy_subject_request_history",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_subject_requests.request_id"],
            name="fk_privacy_subject_request_history_request",
        ),
        sa.PrimaryKeyConstraint(
            "request_id", "seq", name=op.f("pk_privacy_subject_request_history")
        ),
    )


def downgrade() -> None:
    """Drop the privacy tables: consent history and request records go with them."""
    op.drop_table("privacy_subject_request_history")
    op.drop_index("ix_privacy_subject_requests_status", table_name="privacy_subject_requests")
    op.drop_index(
        op.f("ix_privacy_subject_requests_customer_id"), table_name="privacy_subject_requests"
    )
    op.drop_table("privacy_subject_requests")
    op.drop_index("ix_privacy_consent_events_lookup", table_name="privacy_consent_events")
    op.drop_table("privacy_consent_events")
