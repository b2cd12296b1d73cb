"""Retention schedules on the DuckDB warehouse: count the rows past their period, purge or
anonymise them.

Table and column names come from a validated :class:`~tenure.privacy.retention_schedule.TableRule`
(checked against the catalogue), never from a request, and are quoted; the cutoff is a bound
parameter. An applied rule is written to the audit trail inside the warehouse transaction, after
the change and before the commit: if the entry cannot be written the change is rolled back, so no
row goes without a record of it.
"""

from __future__ import annotations

from datetime import datetime

from tenure.adapters.duckdb.warehouse import DuckDBWarehouse
from tenure.privacy.audit import AuditSink
from tenure.privacy.retention_schedule import (
    REDACTED,
    RetentionAction,
    Scrub,
    Store,
    TableRule,
    audit_action,
    audit_details,
)

__all__ = ["DuckDBRetention"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _due(rule: TableRule) -> str:
    """The WHERE clause of the rows a rule changes; ``?`` is the cutoff.

    Anonymised rows already cleared do not match, so a second run changes (and counts) nothing.
    """
    past = f"{_quote(rule.measured_on)} < ?"
    if rule.action is RetentionAction.PURGE:
        return past
    uncleared = " OR ".join(
        f"{_quote(column)} IS NOT NULL"
        if scrub is Scrub.NULL
        else f"{_quote(column)} IS DISTINCT FROM '{REDACTED}'"
        for column, scrub in rule.columns.items()
    )
    return f"{past} AND ({uncleared})"


def _change(rule: TableRule) -> str:
    table = _quote(rule.table)
    if rule.action is RetentionAction.PURGE:
        return f"DELETE FROM {table} WHERE {_due(rule)}"
    cleared = ", ".join(
        f"{_quote(column)} = " + ("NULL" if scrub is Scrub.NULL else f"'{REDACTED}'")
        for column, scrub in rule.columns.items()
    )
    return f"UPDATE {table} SET {cleared} WHERE {_due(rule)}"


class DuckDBRetention:
    """The warehouse's side of a retention run (the ``RetentionStore`` port)."""

    def __init__(self, warehouse: DuckDBWarehouse, *, audit: AuditSink) -> None:
        self._warehouse = warehouse
        self._audit = audit

    @property
    def store(self) -> Store:
        """The warehouse."""
        return Store.WAREHOUSE

    def count_due(self, rule: TableRule, cutoff: datetime) -> int:
        """Rows the rule would purge or anonymise now."""
        (row,) = self._warehouse.fetch_all(
            f"SELECT count(*) FROM {_quote(rule.table)} WHERE {_due(rule)}", (cutoff,)
        )
        return int(row[0])

    def apply(self, rule: TableRule, cutoff: datetime, *, actor: str, at: datetime) -> int:
        """Purge or anonymise the rows due and audit it, in one warehouse transaction."""
        with self._warehouse.transaction():
            rows = self.count_due(rule, cutoff)
            self._warehouse.execute(_change(rule), (cutoff,))
            self._audit.record(
                actor=actor,
                action=audit_action(rule),
                subject=f"table:{rule.table}",
                details=audit_details(rule, rows=rows, cutoff=cutoff),
                at=at,
            )
        return rows
