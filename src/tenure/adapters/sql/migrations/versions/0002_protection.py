"""The protection domain: decision log and alerts, rule sets, lists, snoozes, step-up, limits and
corporate payments.

Revision ID: 0002_protection
Revises: 0001_auth
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002_protection"
down_revision: str | Sequence[str] | None = "0001_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(64), nullable=nullable)


def _text(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _create_decisions() -> None:
    op.create_table(
        "protection_decisions",
        _id("decision_id"),
        _text("idempotency_key", 255),
        _text("event_kind", 32),
        _id("event_id"),
        _id("customer_id"),
        _at("occurred_at"),
        _at("decided_at"),
        _text("action", 16),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("model_risk", sa.Float(), nullable=True),
        sa.Column("rule_score", sa.Float(), nullable=False),
        _text("policy", 64),
        _text("ruleset", 128, nullable=True),
        _text("model_version", 128, nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        _pk("protection_decisions", "decision_id"),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_protection_decisions_idempotency_key")
        ),
    )
    op.create_index(
        "ix_protection_decisions_customer_id",
        "protection_decisions",
        ["customer_id", "decided_at"],
    )
    op.create_index("ix_protection_decisions_occurred_at", "protection_decisions", ["occurred_at"])
    op.create_table(
        "protection_alerts",
        _id("alert_id"),
        _id("decision_id"),
        _id("customer_id"),
        _at("created_at"),
        _text("outcome", 16),
        _text("status", 16),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["protection_decisions.decision_id"],
            name=op.f("fk_protection_alerts_decision_id_protection_decisions"),
            ondelete="CASCADE",
        ),
        _pk("protection_alerts", "alert_id"),
        sa.UniqueConstraint("decision_id", name=op.f("uq_protection_alerts_decision_id")),
    )
    op.create_index("ix_protection_alerts_status", "protection_alerts", ["status", "created_at"])


def _create_rulesets() -> None:
    op.create_table(
        "protection_rulesets",
        _text("name", 100),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        _text("status", 16),
        sa.Column("document", sa.JSON(), nullable=False),
        _text("content_hash", 128),
        _text("author", 100),
        _at("created_at"),
        _text("approved_by", 100, nullable=True),
        _at("approved_at", nullable=True),
        _text("activated_by", 100, nullable=True),
        _at("activated_at", nullable=True),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        _text("retired_by", 100, nullable=True),
        _at("retired_at", nullable=True),
        _pk("protection_rulesets", "name", "version"),
    )
    active = sa.text("status = 'active'")
    op.create_index(
        "uq_protection_rulesets_active_name",
        "protection_rulesets",
        ["name"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )
    op.create_table(
        "protection_list_entries",
        _text("list_name", 64),
        _text("value", 255),
        _text("kind", 8),
        _text("reason", 500),
        _text("added_by", 100),
        _at("added_at"),
        _at("expires_at", nullable=True),
        _pk("protection_list_entries", "list_name", "value"),
    )
    op.create_table(
        "protection_snoozes",
        _text("rule_id", 100),
        _text("entity", 200),
        _at("until"),
        _text("reason", 500),
        _text("added_by", 100),
        _at("added_at"),
        _pk("protection_snoozes", "rule_id", "entity"),
    )
    op.create_index("ix_protection_snoozes_entity", "protection_snoozes", ["entity"])


def _create_stepup() -> None:
    op.create_table(
        "protection_totp",
        _id("customer_id"),
        _text("status", 16),
        _at("created_at"),
        _at("confirmed_at", nullable=True),
        sa.Column("last_used_counter", sa.BigInteger(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        _pk("protection_totp", "customer_id"),
    )
    op.create_table(
        "protection_challenges",
        _id("id"),
        _id("decision_id"),
        _id("customer_id"),
        _text("method", 8),
        _text("status", 16),
        _at("created_at"),
        _at("expires_at"),
        sa.Column("attempts_left", sa.Integer(), nullable=False),
        _at("finished_at", nullable=True),
        _text("code_hash", 128, nullable=True),
        _pk("protection_challenges", "id"),
    )
    for column in ("customer_id", "decision_id"):
        name = op.f(f"ix_protection_challenges_{column}")
        op.create_index(name, "protection_challenges", [column])
    op.create_table(
        "protection_outbox",
        _id("id"),
        _text("channel", 16),
        _id("customer_id"),
        _text("template", 100),
        sa.Column("params", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        _pk("protection_outbox", "id"),
    )
    op.create_index(
        "ix_protection_outbox_delivered_at", "protection_outbox", ["delivered_at", "created_at"]
    )


def _create_limits() -> None:
    op.create_table(
        "protection_limits",
        _id("customer_id"),
        _text("product", 64),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        _text("currency", 3),
        _at("updated_at", nullable=True),
        _text("updated_by", 100, nullable=True),
        _pk("protection_limits", "customer_id", "product"),
    )


def _create_corporate() -> None:
    op.create_table(
        "corporate_operators",
        _id("id"),
        _id("customer_id"),
        _text("name_ref", 200),
        _text("roles", 100),
        sa.Column("single_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("daily_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _pk("corporate_operators", "id"),
    )
    op.create_index(
        op.f("ix_corporate_operators_customer_id"), "corporate_operators", ["customer_id"]
    )
    op.create_table(
        "corporate_mandates",
        _id("customer_id"),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        _text("currency", 3),
        _at("created_at"),
        _text("created_by", 100),
        sa.Column("rules", sa.JSON(), nullable=False),
        _pk("corporate_mandates", "customer_id", "version"),
    )
    _create_corporate_payments()


def _create_corporate_payments() -> None:
    op.create_table(
        "corporate_payments",
        _id("id"),
        _id("customer_id"),
        _id("account_id"),
        _id("payee_id"),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        _text("currency", 3),
        _id("initiator_id"),
        _at("created_at"),
        _text("status", 20),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("approval_count", sa.Integer(), nullable=False),
        sa.Column("required_approvers", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _id("decision_id", nullable=True),
        sa.Column("mandate_version", sa.Integer(), nullable=False),
        _at("expires_at"),
        _at("hold_ends_at", nullable=True),
        _at("decided_at", nullable=True),
        _text("rejection_reason", 500, nullable=True),
        _pk("corporate_payments", "id"),
    )
    op.create_index("ix_corporate_payments_status", "corporate_payments", ["status", "created_at"])
    op.create_index(
        "ix_corporate_payments_initiator_id",
        "corporate_payments",
        ["initiator_id", "created_at"],
    )


def upgrade() -> None:
    """Create the protection tables."""
    _create_decisions()
    _create_rulesets()
    _create_stepup()
    _create_limits()
    _create_corporate()


# Children before parents; dropping a table drops its indexes.
_TABLES = (
    "corporate_payments",
    "corporate_mandates",
    "corporate_operators",
    "protection_limits",
    "protection_outbox",
    "protection_challenges",
    "protection_totp",
    "protection_snoozes",
    "protection_list_entries",
    "protection_rulesets",
    "protection_alerts",
    "protection_decisions",
)


def downgrade() -> None:
    """Drop the protection tables."""
    for table in _TABLES:
        op.drop_table(table)
