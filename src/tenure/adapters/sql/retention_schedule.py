"""Retention schedules on the operational store (SQLite / PostgreSQL): count the rows past their
period, purge or anonymise them, and audit it in the same transaction.

Tables are looked up in the store's SQLAlchemy metadata by the name a validated
:class:`~tenure.privacy.retention_schedule.TableRule` gives, so the cutoff binds with the
column's own type (``UtcDateTime``). The change and its audit entry (``append_record``) commit
together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult, Engine

from tenure.adapters.sql import protection_tables
from tenure.adapters.sql.audit import append_record
from tenure.adapters.sql.engine import translate_errors
from tenure.core.errors import ValidationError
from tenure.privacy.retention_schedule import (
    REDACTED,
    RetentionAction,
    Scrub,
    Store,
    TableRule,
    audit_action,
    audit_details,
)

__all__ = ["SqlRetention"]


def _table(rule: TableRule) -> sa.Table:
    found = protection_tables.metadata.tables.get(rule.table)
    if found is None:
        raise ValidationError(
            f"{rule.table} is not a table of the operational store", field=f"tables.{rule.table}"
        )
    return found


def _due(table: sa.Table, rule: TableRule, cutoff: datetime) -> sa.ColumnElement[bool]:
    """The rows a rule changes; anonymised rows already cleared do not match again."""
    past = table.c[rule.measured_on] < cutoff
    if rule.action is RetentionAction.PURGE:
        return past
    uncleared = [
        table.c[column].is_not(None)
        if scrub is Scrub.NULL
        else table.c[column].is_distinct_from(REDACTED)
        for column, scrub in rule.columns.items()
    ]
    return sa.and_(past, sa.or_(*uncleared))


class SqlRetention:
    """The operational store's side of a retention run (the ``RetentionStore`` port)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def store(self) -> Store:
        """The operational store."""
        return Store.OPERATIONAL

    def count_due(self, rule: TableRule, cutoff: datetime) -> int:
        """Rows the rule would purge or anonymise now."""
        table = _table(rule)
        query = sa.select(sa.func.count()).select_from(table).where(_due(table, rule, cutoff))
        with translate_errors(), self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def apply(self, rule: TableRule, cutoff: datetime, *, actor: str, at: datetime) -> int:
        """Purge or anonymise the rows due and append the audit entry, in one transaction."""
        table = _table(rule)
        where = _due(table, rule, cutoff)
        change: sa.Executable
        if rule.action is RetentionAction.PURGE:
            change = sa.delete(table).where(where)
        else:
            cleared = {c: None if s is Scrub.NULL else REDACTED for c, s in rule.columns.items()}
            change = sa.update(table).where(where).values(cleared)
        with translate_errors(), self._engine.begin() as connection:
            rows = cast(CursorResult[Any], connection.execute(change)).rowcount
            append_record(
                connection,
                actor=actor,
                action=audit_action(rule),
                subject=f"table:{rule.table}",
                details=audit_details(rule, rows=rows, cutoff=cutoff),
                at=at,
            )
        return int(rows)
