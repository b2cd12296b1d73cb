"""What a retention schedule is made of: tables and their shapes, periods, rules, and the default.

The nouns of :mod:`tenure.privacy.retention_schedule` (which parses schedule files, runs a
schedule over the stores and re-exports all of these). See there for the rules' meaning.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from tenure.core.errors import ValidationError
from tenure.data.model import LABEL_TABLES, MODEL_TABLES
from tenure.data.schema import ColumnType

__all__ = [
    "DEFAULT_SCHEDULE",
    "NOT_SCHEDULED",
    "REDACTED",
    "RETAINABLE_TABLES",
    "Period",
    "RetentionAction",
    "RetentionSchedule",
    "Scrub",
    "Store",
    "TableRule",
    "TableShape",
    "check_table",
]

REDACTED = "[removed]"


class Store(StrEnum):
    """Where a table lives."""

    WAREHOUSE = "warehouse"
    OPERATIONAL = "operational"


class RetentionAction(StrEnum):
    """What happens to a row past its period."""

    PURGE = "purge"
    ANONYMISE = "anonymise"


class Scrub(StrEnum):
    """How an anonymised column is cleared: emptied, or replaced by :data:`REDACTED`."""

    NULL = "null"
    REDACT = "redact"


@dataclass(frozen=True, slots=True)
class TableShape:
    """What a schedule may name in one table: its store, date columns and clearable columns."""

    store: Store
    dates: frozenset[str]
    texts: frozenset[str]  # columns that may be redacted (hold text)
    required: frozenset[str]  # columns that may not be NULL
    keys: frozenset[str] = frozenset()  # never cleared: rows would lose their identity


def _catalog_shapes() -> dict[str, TableShape]:
    shapes: dict[str, TableShape] = {}
    for table in MODEL_TABLES + LABEL_TABLES:
        dates = {c.name for c in table.columns if c.type in (ColumnType.TIMESTAMP, ColumnType.DATE)}
        texts = {c.name for c in table.columns if c.pii or c.type is ColumnType.TEXT}
        required = {c.name for c in table.columns if c.required}
        keys = set(table.primary_key) | {c.name for c in table.columns if c.references}
        shapes[table.name] = TableShape(
            Store.WAREHOUSE, frozenset(dates), frozenset(texts), frozenset(required),
            frozenset(keys),
        )  # fmt: skip
    return shapes


def _shape(store: Store, dates: str, texts: str = "", required: str = "") -> TableShape:
    return TableShape(
        store, frozenset(dates.split()), frozenset(texts.split()), frozenset(required.split())
    )


# The warehouse's bookkeeping table and the operational store's tables with a date to measure.
RETAINABLE_TABLES: Mapping[str, TableShape] = MappingProxyType(
    {
        **_catalog_shapes(),
        "quarantine": _shape(
            Store.WAREHOUSE, "quarantined_at", "raw_record field reason", "reason"
        ),
        "protection_decisions": _shape(
            Store.OPERATIONAL, "occurred_at decided_at", "payload event", "payload event"
        ),
        "protection_alerts": _shape(Store.OPERATIONAL, "created_at"),
        "protection_challenges": _shape(Store.OPERATIONAL, "created_at expires_at finished_at"),
        "protection_outbox": _shape(Store.OPERATIONAL, "created_at delivered_at"),
        "protection_snoozes": _shape(Store.OPERATIONAL, "until added_at"),
        "protection_list_entries": _shape(Store.OPERATIONAL, "added_at expires_at"),
    }
)

# Tables a schedule may not name, and why (other tables are kept because nothing names them).
_REFUSED = {
    "audit_log": "the audit trail is append-only: deleting entries breaks its hash chain",
    "audit_head": "the audit trail is append-only: deleting entries breaks its hash chain",
    "customer_identity": "identities are erased by data-subject requests (crypto-shredding)",
}
NOT_SCHEDULED: Mapping[str, str] = MappingProxyType(
    {
        **_REFUSED,
        "customers": "parents of every other table; removed by erasure requests, not by age",
        "accounts": "parents of transactions; removed with their customer",
        "payees": "still used by transactions long after they were added",
        "consents": "proof of consent is kept as long as the relationship",
        "campaigns": "holds no personal data",
        "offers": "holds no personal data",
    }
)

_PERIOD = re.compile(r"^\s*([0-9]{1,5})\s*(d|days?|m|months?|y|years?)\s*$", re.IGNORECASE)
_UNITS = {"d": "days", "m": "months", "y": "years"}


@dataclass(frozen=True, slots=True)
class Period:
    """How long rows are kept: a whole number of days, months or years."""

    amount: int
    unit: str  # "days" | "months" | "years"

    @classmethod
    def parse(cls, text: object, *, field: str) -> Period:
        """``"90 days"``, ``"18 months"``, ``"5 years"`` (or ``90d``, ``18m``, ``5y``)."""
        match = None
        if isinstance(text, str):
            match = _PERIOD.match(text)
        elif isinstance(text, int) and not isinstance(text, bool):
            match = _PERIOD.match(f"{text} days")
        if match is None or int(match.group(1)) < 1:
            raise ValidationError(
                "a period is a positive number of days, months or years, e.g. '5 years'",
                field=field,
            )
        return cls(int(match.group(1)), _UNITS[match.group(2)[0].lower()])

    def before(self, at: datetime) -> datetime:
        """``at`` minus this period (a month or year back from the 31st lands on the month's
        last day)."""
        if at.tzinfo is None:
            raise ValidationError("the as-of time must be timezone-aware", field="as_of")
        if self.unit == "days":
            return at - timedelta(days=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1)
        year, month = divmod(at.year * 12 + at.month - 1 - months, 12)
        day = min(at.day, calendar.monthrange(year, month + 1)[1])
        return at.replace(year=year, month=month + 1, day=day)

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"


@dataclass(frozen=True, slots=True)
class TableRule:
    """One table's retention: period, date measured on, action, basis, columns anonymised."""

    table: str
    period: Period
    measured_on: str
    action: RetentionAction
    basis: str
    columns: Mapping[str, Scrub] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        _validate_rule(self)

    @property
    def store(self) -> Store:
        """The store the table lives in."""
        return RETAINABLE_TABLES[self.table].store

    def cutoff(self, as_of: datetime) -> datetime:
        """Rows measured before this time are past their period."""
        return self.period.before(as_of).astimezone(UTC)


def check_table(table: str) -> TableShape:
    """The shape of a table a schedule may name; a ValidationError naming it otherwise."""
    where = f"tables.{table}"
    if table in _REFUSED:
        raise ValidationError(f"{table} cannot be scheduled: {_REFUSED[table]}", field=where)
    shape = RETAINABLE_TABLES.get(table)
    if shape is None:
        known = ", ".join(sorted(RETAINABLE_TABLES))
        raise ValidationError(f"{table} is not a table Tenure keeps; known: {known}", field=where)
    return shape


def _validate_rule(rule: TableRule) -> None:
    where = f"tables.{rule.table}"
    shape = check_table(rule.table)
    if rule.measured_on not in shape.dates:
        dates = ", ".join(sorted(shape.dates))
        raise ValidationError(
            f"{rule.measured_on} is not a date column of {rule.table}; use one of: {dates}",
            field=f"{where}.measured_on",
        )
    if not rule.basis.strip():
        raise ValidationError(f"say why {rule.table} is kept this long", field=f"{where}.basis")
    if rule.action is RetentionAction.PURGE and rule.columns:
        raise ValidationError("columns apply to anonymise only", field=f"{where}.columns")
    if rule.action is RetentionAction.ANONYMISE:
        _validate_columns(rule, shape, where)


def _validate_columns(rule: TableRule, shape: TableShape, where: str) -> None:
    if not rule.columns:
        raise ValidationError("anonymise needs the columns to clear", field=f"{where}.columns")
    for column, scrub in rule.columns.items():
        at = f"{where}.columns.{column}"
        if column not in shape.texts or column in shape.keys or column == rule.measured_on:
            raise ValidationError(
                f"{column} is not a clearable column of {rule.table} (keys, the measured date "
                "and non-text columns are kept)",
                field=at,
            )
        if scrub is Scrub.NULL and column in shape.required:
            raise ValidationError(
                f"{column} of {rule.table} may not be empty; use 'redact'", field=at
            )


def _rule(table: str, keep: str, on: str, action: str, basis: str, **columns: str) -> TableRule:
    scrubs = {name: Scrub(how) for name, how in columns.items()}
    return TableRule(
        table, Period.parse(keep, field=table), on, RetentionAction(action), basis, scrubs
    )


_AML = "AML record keeping: at least 5 years (PRC Anti-Money Laundering Law; FATF R.11)"
_PIPL = "PIPL art. 19: kept no longer than the purpose needs"


@dataclass(frozen=True, slots=True)
class RetentionSchedule:
    """Rules in the order they run (children before parents)."""

    rules: tuple[TableRule, ...]

    def __post_init__(self) -> None:
        tables = [rule.table for rule in self.rules]
        if len(set(tables)) != len(tables):
            raise ValidationError("a table is scheduled twice", field="tables")

    def rule(self, table: str) -> TableRule | None:
        """The rule of ``table``, if scheduled."""
        return next((rule for rule in self.rules if rule.table == table), None)


DEFAULT_SCHEDULE = RetentionSchedule(
    (
        _rule("quarantine", "90 days", "quarantined_at", "purge",
              "Rejected rows keep the raw record, which may hold clear personal data; 90 days "
              f"is enough to fix and reload an extract. {_PIPL}"),
        _rule("transactions", "5 years", "occurred_at", "purge", f"{_AML}; then {_PIPL}"),
        _rule("profile_changes", "5 years", "changed_at", "purge",
              f"Account-takeover evidence, kept as long as the payments it explains. {_AML}"),
        _rule("digital_events", "3 years", "occurred_at", "purge",
              f"Logins and sessions for fraud investigation and disputes. {_PIPL}"),
        _rule("interactions", "3 years", "occurred_at", "anonymise",
              "Complaint statistics (topic, kind, resolution time) are kept; the customer's own "
              f"words are removed. {_PIPL}", text="redact"),
        _rule("surveys", "2 years", "answered_at", "anonymise",
              f"Scores are kept for NPS / CSAT trends; free-text comments removed. {_PIPL}",
              comment="null"),
        _rule("contacts", "3 years", "assigned_at", "purge",
              f"Campaign results are measured within 3 years of assignment. {_PIPL}"),
        _rule("protection_outbox", "90 days", "created_at", "purge",
              f"Delivery queue of SMS and push messages; nothing is owed after delivery. {_PIPL}"),
        _rule("protection_challenges", "180 days", "expires_at", "purge",
              f"Step-up challenges, kept past the dispute window of the payment. {_PIPL}"),
        _rule("protection_snoozes", "1 year", "until", "purge", "Expired rule snoozes."),
        _rule("protection_list_entries", "1 year", "expires_at", "purge",
              "Expired block / allow list entries (entries without an expiry are kept)."),
        _rule("protection_alerts", "5 years", "created_at", "purge",
              f"Fraud alerts, kept with the decisions they were raised on. {_AML}"),
        _rule("protection_decisions", "5 years", "decided_at", "purge",
              f"Why each payment was allowed, challenged or held. {_AML}"),
    )
)  # fmt: skip
