"""The protection domain's tables, as SQLAlchemy Core ``Table`` objects on the store's ``MetaData``.

Core rather than ORM: the decision log is on the hot path, and every repository here writes
whole rows or compare-and-set updates, which Core states directly. JSON documents whose exact
text matters (a decision's payload, its event) are ``Text`` written by the adapter; the others
use ``JSON``. Money is ``BigInteger`` minor units; every timestamp is ``UtcDateTime``.

::

    protection_decisions      the decision log (retention reads customer_id, decided_at, action)
    protection_alerts         one open alert per hold or decline decision
    protection_rulesets       rule set versions; at most one active version per name
    protection_list_entries   block/allow list values, keyed by (list_name, value)
    protection_snoozes        per-entity rule snoozes, keyed by (rule_id, entity)
    protection_totp           TOTP enrolments with their encrypted secrets
    protection_challenges     step-up challenges (and an SMS code's HMAC)
    protection_outbox         notifications written with the change that caused them
    protection_limits         customer limits per product
    corporate_operators       a corporate customer's operators
    corporate_mandates        published mandate versions
    corporate_payments        corporate payments and their approvals
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.tables import Base, UtcDateTime
from tenure.core.errors import Conflict

__all__ = [
    "ALERTS",
    "CHALLENGES",
    "CORPORATE_MANDATES",
    "CORPORATE_OPERATORS",
    "CORPORATE_PAYMENTS",
    "DECISIONS",
    "LIMITS",
    "LIST_ENTRIES",
    "OUTBOX",
    "PROTECTION_TABLES",
    "RESOLUTIONS",
    "RULESETS",
    "SNOOZES",
    "STEP_UP_ONLY",
    "TOTP",
    "changed_rows",
    "insert_row",
    "upsert",
]

metadata = Base.metadata

_ID = 64  # ids are uuid hex (32) or a bank's own identifiers


def _id(name: str, *args: Any, **kwargs: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(_ID), *args, **kwargs)


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


# the literal condition of the partial index below: a query must repeat it word for word (not
# as a bound parameter) for SQLite and PostgreSQL to use the index
STEP_UP_ONLY = sa.text("action = 'step_up'")

DECISIONS = sa.Table(
    "protection_decisions",
    metadata,
    _id("decision_id", primary_key=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("event_kind", sa.String(32), nullable=False),
    _id("event_id", nullable=False),
    _id("customer_id", nullable=False),
    _at("occurred_at"),
    _at("decided_at"),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("risk", sa.Float(), nullable=False),
    sa.Column("model_risk", sa.Float(), nullable=True),
    sa.Column("rule_score", sa.Float(), nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),
    sa.Column("ruleset", sa.String(128), nullable=True),
    sa.Column("model_version", sa.String(128), nullable=True),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("event", sa.Text(), nullable=False),
    sa.Index("ix_protection_decisions_customer_id", "customer_id", "decided_at"),
    sa.Index("ix_protection_decisions_occurred_at", "occurred_at"),
    # step-up decisions only (under 1 % of them): what the sweep reads, and no cost to the rest
    sa.Index(
        "ix_protection_decisions_step_up_decided_at",
        "decided_at",
        sqlite_where=STEP_UP_ONLY,
        postgresql_where=STEP_UP_ONLY,
    ),
)

ALERTS = sa.Table(
    "protection_alerts",
    metadata,
    _id("alert_id", primary_key=True),
    _id(
        "decision_id",
        sa.ForeignKey("protection_decisions.decision_id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    _id("customer_id", nullable=False),
    _at("created_at"),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("risk", sa.Float(), nullable=False),
    sa.Index("ix_protection_alerts_status", "status", "created_at"),
)

# How a decision that waited on someone ended (a step-up verified or failed): one row, written once.
RESOLUTIONS = sa.Table(
    "protection_resolutions",
    metadata,
    _id(
        "decision_id",
        sa.ForeignKey("protection_decisions.decision_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    _at("resolved_at"),
)

_ACTIVE = sa.text("status = 'active'")

RULESETS = sa.Table(
    "protection_rulesets",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("document", sa.JSON(), nullable=False),
    sa.Column("content_hash", sa.String(128), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    _at("created_at"),
    sa.Column("approved_by", sa.String(100), nullable=True),
    _at("approved_at", nullable=True),
    sa.Column("activated_by", sa.String(100), nullable=True),
    _at("activated_at", nullable=True),
    sa.Column("shadow", sa.Boolean(), nullable=False),
    sa.Column("retired_by", sa.String(100), nullable=True),
    _at("retired_at", nullable=True),
    # Two racing activations cannot both leave a version active: the second one's write fails.
    sa.Index(
        "uq_protection_rulesets_active_name",
        "name",
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    ),
)

LIST_ENTRIES = sa.Table(
    "protection_list_entries",
    metadata,
    sa.Column("list_name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("added_by", sa.String(100), nullable=False),
    _at("added_at"),
    _at("expires_at", nullable=True),
)

SNOOZES = sa.Table(
    "protection_snoozes",
    metadata,
    sa.Column("rule_id", sa.String(100), primary_key=True),
    sa.Column("entity", sa.String(200), primary_key=True),
    _at("until"),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("added_by", sa.String(100), nullable=False),
    _at("added_at"),
    sa.Index("ix_protection_snoozes_entity", "entity"),
)

TOTP = sa.Table(
    "protection_totp",
    metadata,
    _id("customer_id", primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    _at("created_at"),
    _at("confirmed_at", nullable=True),
    sa.Column("last_used_counter", sa.BigInteger(), nullable=True),
    sa.Column("secret", sa.Text(), nullable=False),
)

CHALLENGES = sa.Table(
    "protection_challenges",
    metadata,
    _id("id", primary_key=True),
    _id("decision_id", nullable=False, index=True),
    _id("customer_id", nullable=False, index=True),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    _at("created_at"),
    _at("expires_at"),
    sa.Column("attempts_left", sa.Integer(), nullable=False),
    _at("finished_at", nullable=True),
    sa.Column("code_hash", sa.String(128), nullable=True),
    sa.Index("ix_protection_challenges_status_expires_at", "status", "expires_at"),
)

OUTBOX = sa.Table(
    "protection_outbox",
    metadata,
    _id("id", primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    _id("customer_id", nullable=False),
    sa.Column("template", sa.String(100), nullable=False),
    sa.Column("params", sa.JSON(), nullable=False),
    _at("created_at"),
    _at("delivered_at", nullable=True),
    sa.Index("ix_protection_outbox_delivered_at", "delivered_at", "created_at"),
)

LIMITS = sa.Table(
    "protection_limits",
    metadata,
    _id("customer_id", primary_key=True),
    sa.Column("product", sa.String(64), primary_key=True),
    sa.Column("amount_minor", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _at("updated_at", nullable=True),
    sa.Column("updated_by", sa.String(100), nullable=True),
)

CORPORATE_OPERATORS = sa.Table(
    "corporate_operators",
    metadata,
    _id("id", primary_key=True),
    _id("customer_id", nullable=False, index=True),
    sa.Column("name_ref", sa.String(200), nullable=False),
    # Sorted, comma-joined role names: plain text compares equal in a compare-and-set.
    sa.Column("roles", sa.String(100), nullable=False),
    sa.Column("single_limit_minor", sa.BigInteger(), nullable=False),
    sa.Column("daily_limit_minor", sa.BigInteger(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
)

CORPORATE_MANDATES = sa.Table(
    "corporate_mandates",
    metadata,
    _id("customer_id", primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _at("created_at"),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("rules", sa.JSON(), nullable=False),
)

CORPORATE_PAYMENTS = sa.Table(
    "corporate_payments",
    metadata,
    _id("id", primary_key=True),
    _id("customer_id", nullable=False),
    _id("account_id", nullable=False),
    _id("payee_id", nullable=False),
    sa.Column("amount_minor", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _id("initiator_id", nullable=False),
    _at("created_at"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("approvals", sa.JSON(), nullable=False),
    sa.Column("approval_count", sa.Integer(), nullable=False),
    sa.Column("required_approvers", sa.Integer(), nullable=False),
    sa.Column("reasons", sa.JSON(), nullable=False),
    _id("decision_id", nullable=True),
    sa.Column("mandate_version", sa.Integer(), nullable=False),
    _at("expires_at"),
    _at("hold_ends_at", nullable=True),
    _at("decided_at", nullable=True),
    sa.Column("rejection_reason", sa.String(500), nullable=True),
    sa.Index("ix_corporate_payments_status", "status", "created_at"),
    sa.Index("ix_corporate_payments_initiator_id", "initiator_id", "created_at"),
)

# Children before parents: the order to empty or drop them in.
PROTECTION_TABLES: tuple[sa.Table, ...] = (
    ALERTS,
    RESOLUTIONS,
    DECISIONS,
    RULESETS,
    LIST_ENTRIES,
    SNOOZES,
    TOTP,
    CHALLENGES,
    OUTBOX,
    LIMITS,
    CORPORATE_OPERATORS,
    CORPORATE_MANDATES,
    CORPORATE_PAYMENTS,
)


def _dialect(bind: Connection | Session) -> str:
    return bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name


def upsert(bind: Connection | Session, table: sa.Table, values: dict[str, Any]) -> sa.Executable:
    """An insert of ``values`` that replaces the row with the same primary key (either backend)."""
    keys = [column.name for column in table.primary_key.columns]
    if _dialect(bind) == "postgresql":
        on_postgres = postgresql.insert(table).values(values)
        changed = {name: on_postgres.excluded[name] for name in values if name not in keys}
        return on_postgres.on_conflict_do_update(index_elements=keys, set_=changed)
    on_sqlite = sqlite.insert(table).values(values)
    changed = {name: on_sqlite.excluded[name] for name in values if name not in keys}
    return on_sqlite.on_conflict_do_update(index_elements=keys, set_=changed)


def changed_rows(session: Session, statement: sa.Executable) -> int:
    """Run an ``UPDATE`` or ``DELETE`` in ``session``; how many rows it changed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def insert_row(
    session: Session, table: sa.Table, values: dict[str, Any], *, conflict: str, field: str
) -> None:
    """Insert ``values``; ``Conflict(conflict, field=field)`` if a unique key is taken.

    A taken key skips the row (``ON CONFLICT DO NOTHING``) instead of failing the statement: on
    PostgreSQL a failed statement aborts the whole transaction, and a caller told ``Conflict`` may
    carry on with the rest of its unit of work, as it can with the in-memory store.
    """
    keys = list(table.primary_key.columns)
    # RETURNING, not rowcount: psycopg reports no row count for an INSERT.
    if _dialect(session) == "postgresql":
        statement: sa.Executable = (
            postgresql.insert(table).values(values).on_conflict_do_nothing().returning(*keys)
        )
    else:
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing().returning(*keys)
    with translate_errors(conflict=conflict, field=field):
        inserted = session.execute(statement).first()
    if inserted is None:
        raise Conflict(conflict, field=field)
