"""Retention schedules: per table, how long rows are kept, and whether they are then purged or
anonymised; the default schedule, the file format that overrides it, and the run over stores.

A :class:`TableRule` says: rows of ``table`` whose ``measured_on`` date is older than ``period``
before the run's *as-of* time are past their period (the *cutoff* is ``as_of - period``; a row
with no date is never past it). Past rows are then either

- **purged** (deleted), or
- **anonymised**: the named columns are set to NULL (``null``) or, where the column may not be
  empty, to :data:`REDACTED` (``redact``), and the rest of the row kept for statistics.

Each rule carries the legal reason (``basis``) a compliance officer reads in ``--show``.
:data:`DEFAULT_SCHEDULE` covers the canonical warehouse tables and the operational store's
protection tables; tables it leaves out are kept on purpose (see ``NOT_SCHEDULED``). A YAML or JSON
file overrides it table by table (:func:`parse_schedule`)::

    tables:
      digital_events: {keep: 2 years}        # only the period changes
      interactions:   {keep: 5 years, action: anonymise, columns: {text: redact}}
      contacts:       {keep: forever}        # never purge this table
    # extends_default: false                 # start from nothing instead of the default

Keys of an entry: ``keep`` (``90 days``, ``18 months``, ``5 years``; ``forever`` drops the rule),
``measured_on`` (a date column), ``action`` (``purge`` | ``anonymise``), ``columns`` (for
anonymise: column -> ``null`` | ``redact``), ``basis`` (text). A table missing from the default
must give ``keep``, ``measured_on``, ``action`` and ``basis``.

Running a schedule (:func:`run_retention`) goes over the stores that hold its tables
(:class:`RetentionStore`, implemented for DuckDB and for SQLite / PostgreSQL); each applied
rule is written to the audit trail (``retention.purge`` / ``retention.anonymise``, with the table,
rows and cutoff) in the same step that changes the rows. Errors, from Tenure's tree::

    TenureError
    └── ValidationError   a schedule that cannot be applied: the field path names the table and
                          key (``tables.surveys.keep``), the message says why
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import yaml

from tenure.core.errors import ValidationError
from tenure.privacy.retention_rules import (
    DEFAULT_SCHEDULE,
    NOT_SCHEDULED,
    REDACTED,
    RETAINABLE_TABLES,
    Period,
    RetentionAction,
    RetentionSchedule,
    Scrub,
    Store,
    TableRule,
    TableShape,
    check_table,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "NOT_SCHEDULED",
    "REDACTED",
    "RETAINABLE_TABLES",
    "Period",
    "RetentionAction",
    "RetentionSchedule",
    "RetentionStore",
    "RuleOutcome",
    "Scrub",
    "Store",
    "TableRule",
    "TableShape",
    "audit_action",
    "audit_details",
    "parse_schedule",
    "run_retention",
    "schedule_document",
]


_KEYS = frozenset({"keep", "measured_on", "action", "columns", "basis"})
_FOREVER = "forever"


def _entry(table: str, raw: object, default: TableRule | None) -> TableRule | None:
    where = f"tables.{table}"
    if not isinstance(raw, Mapping):
        raise ValidationError("each table's entry is a mapping (keep, action, ...)", field=where)
    unknown = sorted(set(map(str, raw)) - _KEYS)
    if unknown:
        allowed = ", ".join(sorted(_KEYS))
        raise ValidationError(f"unknown key {unknown[0]}; allowed: {allowed}", field=where)
    check_table(table)
    if str(raw.get("keep", "")).strip().lower() == _FOREVER:
        return None
    missing = sorted(k for k in _KEYS - {"columns"} if k not in raw) if default is None else []
    if missing:
        raise ValidationError(
            f"{table} is not in the default schedule: give {', '.join(missing)}",
            field=f"{where}.{missing[0]}",
        )
    period = Period.parse(raw["keep"], field=f"{where}.keep") if "keep" in raw else None
    action: RetentionAction | None = _choice(RetentionAction, raw, "action", where)
    columns = _columns(raw.get("columns"), where) if "columns" in raw else None
    if action is RetentionAction.PURGE and columns is None:
        columns = {}
    if default is None:
        assert period is not None  # "keep" and "action" were checked as missing above
        assert action is not None
        return TableRule(
            table, period, str(raw["measured_on"]), action, str(raw["basis"]), columns or {}
        )
    return replace(
        default,
        period=period or default.period,
        measured_on=str(raw.get("measured_on", default.measured_on)),
        action=action or default.action,
        basis=str(raw.get("basis", default.basis)),
        columns=default.columns if columns is None else columns,
    )


def _choice(kind: type[RetentionAction], raw: Mapping[Any, Any], key: str, where: str) -> Any:
    if key not in raw:
        return None
    try:
        return kind(str(raw[key]).lower())
    except ValueError:
        options = " or ".join(member.value for member in kind)
        raise ValidationError(f"{key} must be {options}", field=f"{where}.{key}") from None


def _columns(raw: object, where: str) -> dict[str, Scrub]:
    if not isinstance(raw, Mapping):
        raise ValidationError("columns maps a column to null or redact", field=f"{where}.columns")
    scrubs: dict[str, Scrub] = {}
    for column, how in raw.items():
        try:
            # YAML reads a bare `null` as None: that is the null scrub, not the text "None".
            scrubs[str(column)] = Scrub.NULL if how is None else Scrub(str(how).lower())
        except ValueError:
            raise ValidationError(
                "a column is cleared with null or redact", field=f"{where}.columns.{column}"
            ) from None
    return scrubs


def parse_schedule(text: str, *, base: RetentionSchedule = DEFAULT_SCHEDULE) -> RetentionSchedule:
    """The schedule a YAML or JSON document describes, over ``base`` unless it says
    ``extends_default: false``; errors name the table and key."""
    try:
        document = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ValidationError(
            "the schedule is neither valid YAML nor JSON", field="schedule"
        ) from exc
    if not isinstance(document, Mapping):
        raise ValidationError("the schedule is a mapping with a 'tables' key", field="schedule")
    unknown = sorted(set(map(str, document)) - {"tables", "extends_default"})
    if unknown:
        raise ValidationError(
            f"unknown key {unknown[0]}; allowed: tables, extends_default", field=unknown[0]
        )
    extends = document.get("extends_default", True)
    if not isinstance(extends, bool):
        raise ValidationError("extends_default is true or false", field="extends_default")
    tables = document.get("tables") or {}
    if not isinstance(tables, Mapping):
        raise ValidationError("tables maps a table name to its entry", field="tables")
    rules = {rule.table: rule for rule in base.rules} if extends else {}
    for name, raw in tables.items():
        kept = _entry(str(name), raw, rules.get(str(name)))
        if kept is None:
            rules.pop(str(name), None)
        else:
            rules[str(name)] = kept
    order = [rule.table for rule in base.rules]
    return RetentionSchedule(tuple(sorted(rules.values(), key=lambda r: _rank(order, r.table))))


def _rank(order: Sequence[str], table: str) -> tuple[int, str]:
    # Children before parents as in the default; new tables after, by name.
    return (order.index(table), "") if table in order else (len(order), table)


def schedule_document(schedule: RetentionSchedule) -> dict[str, object]:
    """The schedule as the file format (JSON-ready), for ``--show --json``."""
    return {
        "extends_default": False,
        "tables": {
            rule.table: {
                "keep": str(rule.period),
                "measured_on": rule.measured_on,
                "action": rule.action.value,
                **(
                    {"columns": {c: s.value for c, s in rule.columns.items()}}
                    if rule.columns
                    else {}
                ),
                "basis": rule.basis,
            }
            for rule in schedule.rules
        },
    }


def audit_action(rule: TableRule) -> str:
    """``retention.purge`` or ``retention.anonymise``."""
    return f"retention.{rule.action.value}"


def audit_details(rule: TableRule, *, rows: int, cutoff: datetime) -> dict[str, object]:
    """What the audit trail says of one applied rule (names and counts, never row content)."""
    details: dict[str, object] = {
        "table": rule.table,
        "store": rule.store.value,
        "rows": rows,
        "cutoff": cutoff,
        "period": str(rule.period),
        "measured_on": rule.measured_on,
    }
    if rule.columns:
        details["columns"] = {column: scrub.value for column, scrub in rule.columns.items()}
    return details


class RetentionStore(Protocol):
    """A store holding some of a schedule's tables (DuckDB warehouse, SQL operational store)."""

    @property
    def store(self) -> Store:
        """Which store this is."""
        ...

    def count_due(self, rule: TableRule, cutoff: datetime) -> int:
        """Rows the rule would change now (anonymised rows already cleared are not counted)."""
        ...

    def apply(self, rule: TableRule, cutoff: datetime, *, actor: str, at: datetime) -> int:
        """Purge or anonymise the rows due and record it in the audit trail, in one step (the
        rows stay as they were if the audit entry cannot be written). Returns rows changed."""
        ...


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One rule of a run: its cutoff and the rows it affects (or affected), or why it was
    skipped (``store_missing``: the store holding the table is not there)."""

    rule: TableRule
    cutoff: datetime
    rows: int
    applied: bool
    store_missing: bool = False

    def to_json(self) -> dict[str, object]:
        """The outcome as ``--json`` prints it."""
        return {
            "table": self.rule.table,
            "store": self.rule.store.value,
            "action": self.rule.action.value,
            "period": str(self.rule.period),
            "measured_on": self.rule.measured_on,
            "cutoff": self.cutoff.isoformat(),
            "rows": self.rows,
            "applied": self.applied,
            "store_missing": self.store_missing,
        }


def run_retention(
    schedule: RetentionSchedule,
    stores: Mapping[Store, RetentionStore],
    *,
    as_of: datetime,
    actor: str,
    dry_run: bool,
    at: Callable[[], datetime],
    progress: Callable[[RuleOutcome], None] | None = None,
) -> list[RuleOutcome]:
    """Count (``dry_run``) or apply each rule in order, on the store holding its table.

    ``as_of`` fixes the cutoffs; ``at`` stamps each audit entry. A rule whose store is absent
    (no warehouse yet) is reported with ``store_missing`` and changes nothing.
    """
    outcomes: list[RuleOutcome] = []
    for rule in schedule.rules:
        cutoff = rule.cutoff(as_of)
        target = stores.get(rule.store)
        if target is None:
            outcome = RuleOutcome(rule, cutoff, 0, applied=False, store_missing=True)
        elif dry_run:
            outcome = RuleOutcome(rule, cutoff, target.count_due(rule, cutoff), applied=False)
        else:
            rows = target.apply(rule, cutoff, actor=actor, at=at())
            outcome = RuleOutcome(rule, cutoff, rows, applied=True)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes
