"""Retention schedules as data: the default, the override file, validation and cutoffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import yaml

from tenure.adapters.sql import Base
from tenure.adapters.sql import protection_tables as _registers_tables  # noqa: F401
from tenure.core.errors import ValidationError
from tenure.data.catalog import canonical_catalog
from tenure.privacy.retention_schedule import (
    DEFAULT_SCHEDULE,
    NOT_SCHEDULED,
    RETAINABLE_TABLES,
    Period,
    RetentionAction,
    RetentionSchedule,
    RuleOutcome,
    Scrub,
    Store,
    TableRule,
    audit_action,
    audit_details,
    parse_schedule,
    run_retention,
    schedule_document,
)

AS_OF = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


def _error(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [("90 days", 90, "days"), ("18m", 18, "months"), ("5 Years", 5, "years"),
     ("1 year", 1, "years"), (30, 30, "days")],
)  # fmt: skip
def test_parses_periods_in_days_months_and_years(text: object, amount: int, unit: str) -> None:
    assert Period.parse(text, field="keep") == Period(amount, unit)


@pytest.mark.parametrize("text", ["", "0 days", "-3 years", "3 weeks", "forever", True, 2.5, None])
def test_refuses_periods_that_are_not_a_positive_count_of_days_months_or_years(
    text: object,
) -> None:
    with pytest.raises(ValidationError) as caught:
        Period.parse(text, field="tables.surveys.keep")
    assert caught.value.field == "tables.surveys.keep"


def test_cutoffs_go_back_by_calendar_months_and_years() -> None:
    assert Period(90, "days").before(AS_OF) == AS_OF - timedelta(days=90)
    assert Period(1, "months").before(AS_OF) == datetime(2025, 2, 28, 12, 0, tzinfo=UTC)
    assert Period(3, "years").before(AS_OF) == datetime(2022, 3, 31, 12, 0, tzinfo=UTC)
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert Period(1, "years").before(leap) == datetime(2023, 2, 28, tzinfo=UTC)
    assert Period(13, "months").before(datetime(2025, 1, 15, tzinfo=UTC)) == datetime(
        2023, 12, 15, tzinfo=UTC
    )


def test_a_rule_cutoff_is_in_utc_and_refuses_a_naive_as_of() -> None:
    rule = DEFAULT_SCHEDULE.rule("digital_events")
    assert rule is not None
    beijing = datetime(2025, 3, 31, 8, 0, tzinfo=timezone(timedelta(hours=8)))

    assert rule.cutoff(beijing) == datetime(2022, 3, 31, 0, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        rule.cutoff(datetime(2025, 3, 31))


def test_the_default_covers_the_tables_the_issue_names_with_a_reason_each() -> None:
    rules = {rule.table: rule for rule in DEFAULT_SCHEDULE.rules}

    assert str(rules["digital_events"].period) == "3 years"
    assert rules["transactions"].action is RetentionAction.PURGE
    assert str(rules["transactions"].period) == "5 years"
    assert "anti-money laundering" in rules["transactions"].basis.lower()
    assert rules["interactions"].columns == {"text": Scrub.REDACT}
    assert rules["surveys"].columns == {"comment": Scrub.NULL}
    assert rules["quarantine"].store is Store.WAREHOUSE
    assert rules["protection_challenges"].store is Store.OPERATIONAL
    assert all(rule.basis for rule in rules.values())
    assert not set(rules) & set(NOT_SCHEDULED)


def test_alerts_run_before_the_decisions_they_belong_to() -> None:
    order = [rule.table for rule in DEFAULT_SCHEDULE.rules]
    assert order.index("protection_alerts") < order.index("protection_decisions")


def test_known_tables_match_the_warehouse_catalogue_and_the_store_metadata() -> None:
    catalog = canonical_catalog()
    for name, shape in RETAINABLE_TABLES.items():
        if shape.store is Store.OPERATIONAL:
            table = Base.metadata.tables[name]
            assert shape.dates <= set(table.c.keys()), name
            assert all(isinstance(table.c[d].type, sa.types.TypeDecorator) for d in shape.dates)
        elif name != "quarantine":
            assert shape.dates <= set(catalog[name].column_names), name


def test_a_file_changes_only_what_it_names() -> None:
    schedule = parse_schedule(
        """
        tables:
          digital_events: {keep: 2 years}
          contacts: {keep: forever}
          surveys: {keep: 18 months, columns: {comment: redact}}
        """
    )

    events = schedule.rule("digital_events")
    default_events = DEFAULT_SCHEDULE.rule("digital_events")
    assert events is not None
    assert default_events is not None
    assert events.period == Period(2, "years")
    assert (events.measured_on, events.basis) == (default_events.measured_on, default_events.basis)
    assert schedule.rule("contacts") is None
    surveys = schedule.rule("surveys")
    assert surveys is not None
    assert surveys.columns == {"comment": Scrub.REDACT}
    assert len(schedule.rules) == len(DEFAULT_SCHEDULE.rules) - 1


def test_reads_json_and_can_start_from_an_empty_schedule() -> None:
    text = (
        '{"extends_default": false, "tables": {"payees": {"keep": "10 years", '
        '"measured_on": "added_at", "action": "purge", "basis": "contract end + 10 years"}}}'
    )

    schedule = parse_schedule(text)

    assert [rule.table for rule in schedule.rules] == ["payees"]
    assert schedule.rules[0].period == Period(10, "years")


def test_the_shown_document_reads_back_as_the_same_schedule() -> None:
    document = schedule_document(DEFAULT_SCHEDULE)

    assert parse_schedule(yaml.safe_dump(document, allow_unicode=True)) == DEFAULT_SCHEDULE


def test_an_action_changed_to_purge_drops_the_default_columns() -> None:
    schedule = parse_schedule("tables: {interactions: {action: purge}}")

    rule = schedule.rule("interactions")
    assert rule is not None
    assert (rule.action, dict(rule.columns)) == (RetentionAction.PURGE, {})


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        ("tables: {digital_events: {keep: 3 weeks}}", "tables.digital_events.keep", "period"),
        ("tables: {digital_events: {kept: 3 years}}", "tables.digital_events", "unknown key kept"),
        ("tables: {digital_events: {action: archive}}", "tables.digital_events.action",
         "purge or anonymise"),
        ("tables: {digital_events: {measured_on: latency_ms}}", "tables.digital_events.measured_on",
         "not a date column"),
        ("tables: {nonsense: {keep: 1 year}}", "tables.nonsense", "not a table"),
        ("tables: {audit_log: {keep: 1 year}}", "tables.audit_log", "hash chain"),
        ("tables: {customer_identity: {keep: 1 year}}", "tables.customer_identity", "erased"),
        ("tables: {payees: {keep: 1 year}}", "tables.payees.action", "not in the default"),
        ("tables: {interactions: {columns: {text: null}}}", "tables.interactions.columns.text",
         "may not be empty"),
        ("tables: {interactions: {columns: {customer_id: 'null'}}}",
         "tables.interactions.columns.customer_id", "not a clearable column"),
        ("tables: {interactions: {columns: {occurred_at: 'null'}}}",
         "tables.interactions.columns.occurred_at", "not a clearable column"),
        ("tables: {surveys: {columns: {comment: shred}}}", "tables.surveys.columns.comment",
         "null or redact"),
        ("tables: {surveys: {columns: {}}}", "tables.surveys.columns", "needs the columns"),
        ("tables: {transactions: {basis: ''}}", "tables.transactions.basis", "say why"),
        ("tables: {transactions: {columns: {ip: 'null'}}}", "tables.transactions.columns",
         "anonymise only"),
        ("tables: {transactions: 5 years}", "tables.transactions", "mapping"),
        ("tables: [transactions]", "tables", "maps a table"),
        ("retention: {}", "retention", "unknown key"),
        ("extends_default: maybe", "extends_default", "true or false"),
        ("tables: {a: [unclosed", "schedule", "YAML"),
        ("- just a list", "schedule", "mapping"),
    ],
)  # fmt: skip
def test_validation_errors_name_the_table_and_field(text: str, field: str, says: str) -> None:
    error = _error(text)

    assert error.field == field
    assert says in error.message


def test_an_empty_file_is_the_default() -> None:
    assert parse_schedule("") == DEFAULT_SCHEDULE
    assert parse_schedule("tables:") == DEFAULT_SCHEDULE


def test_a_table_cannot_be_scheduled_twice() -> None:
    rule = DEFAULT_SCHEDULE.rules[0]
    with pytest.raises(ValidationError, match="twice"):
        RetentionSchedule((rule, rule))


def test_audit_details_name_the_table_rows_and_cutoff_never_content() -> None:
    rule = DEFAULT_SCHEDULE.rule("interactions")
    assert rule is not None
    cutoff = rule.cutoff(AS_OF)

    details = audit_details(rule, rows=7, cutoff=cutoff)

    assert audit_action(rule) == "retention.anonymise"
    assert details == {
        "table": "interactions", "store": "warehouse", "rows": 7, "cutoff": cutoff,
        "period": "3 years", "measured_on": "occurred_at", "columns": {"text": "redact"},
    }  # fmt: skip


class _FakeStore:
    """A store of rows as (table, date) pairs: the RetentionStore test double."""

    def __init__(self, store: Store, rows: dict[str, list[datetime]]) -> None:
        self.rows = rows
        self.audited: list[tuple[str, str, int]] = []
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def count_due(self, rule: TableRule, cutoff: datetime) -> int:
        return sum(at < cutoff for at in self.rows.get(rule.table, []))

    def apply(self, rule: TableRule, cutoff: datetime, *, actor: str, at: datetime) -> int:
        due = self.count_due(rule, cutoff)
        self.rows[rule.table] = [d for d in self.rows.get(rule.table, []) if d >= cutoff]
        self.audited.append((actor, audit_action(rule), due))
        return due


def test_a_run_counts_on_a_dry_run_applies_otherwise_and_skips_a_missing_store() -> None:
    old, recent = datetime(2020, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    store = _FakeStore(Store.OPERATIONAL, {"protection_outbox": [old, old, recent]})
    schedule = parse_schedule(
        "extends_default: false\ntables:\n"
        "  protection_outbox: {keep: 90 days, measured_on: created_at, action: purge, basis: q}\n"
        "  digital_events: {keep: 1 year, measured_on: occurred_at, action: purge, basis: b}\n"
    )
    seen: list[RuleOutcome] = []

    def run(dry_run: bool) -> list[RuleOutcome]:
        return run_retention(
            schedule, {Store.OPERATIONAL: store}, as_of=AS_OF, actor="dpo", dry_run=dry_run,
            at=lambda: AS_OF, progress=seen.append,
        )  # fmt: skip

    dry = run(True)
    # in the default's order (children first), whatever the file's
    assert [(o.rule.table, o.rows, o.applied, o.store_missing) for o in dry] == [
        ("digital_events", 0, False, True),
        ("protection_outbox", 2, False, False),
    ]
    assert store.audited == []
    assert [o.rows for o in run(False)] == [0, 2]
    assert store.audited == [("dpo", "retention.purge", 2)]
    assert [o.rows for o in run(False)] == [0, 0]
    assert len(seen) == 6
    assert dry[1].to_json()["cutoff"] == "2024-12-31T12:00:00+00:00"
