"""``tenure privacy retention`` on a simulated bank: a dry run counts, a run removes exactly that.

The warehouse is a small simulated bank (January to March 2025) ingested once per module and
copied for each test; the operational store (SQLite, and PostgreSQL) gets a few outbox messages
and list entries. ``--as-of 2028-02-15`` puts part of every three-year table past its period.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql import Base, create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import AUDIT_HEAD, AUDIT_LOG, SqlAuditLog
from tenure.adapters.sql.protection_tables import LIST_ENTRIES, OUTBOX
from tenure.cli import privacy_schedules
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.privacy.audit import GENESIS_HASH
from tenure.privacy.retention_schedule import (
    DEFAULT_SCHEDULE,
    REDACTED,
    RetentionAction,
    Scrub,
    TableRule,
    schedule_document,
)
from tenure.settings import Settings

AS_OF = "2028-02-15"
CUTOFF_3Y = datetime(2025, 2, 15, tzinfo=UTC)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


OUTBOX_ROWS = [
    ("m1", "2027-01-01"),
    ("m2", "2027-06-01"),
    ("m3", "2027-11-01"),
    ("m4", "2028-02-01"),
]
LIST_ROWS = [("13800000001", "2026-01-01"), ("13800000002", None), ("13800000003", "2028-01-01")]


@pytest.fixture(scope="module")
def bank_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("retention-bank")
    synthesize(SimulationConfig(customers=200, months=3, seed=3), root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
        # a quarantined row from long ago, and one from last week
        warehouse.execute(
            "INSERT INTO quarantine VALUES ('b0', 'customers', 'customers.csv', 2, 'phone', "
            "'bad phone', 'raw', TIMESTAMPTZ '2027-01-01 00:00:00+00'), ('b1', 'customers', "
            "'customers.csv', 3, 'phone', 'bad phone', 'raw', TIMESTAMPTZ '2028-02-10 00:00:00+00')"
        )
    return path


def _reset(engine: Engine) -> None:
    # The PostgreSQL database lives for the whole session: leave what this module wrote empty.
    with engine.begin() as connection:
        connection.execute(OUTBOX.delete())
        connection.execute(LIST_ENTRIES.delete())
        connection.execute(AUDIT_LOG.delete())
        connection.execute(AUDIT_HEAD.delete())
        connection.execute(AUDIT_HEAD.insert().values(id=1, seq=0, hash=GENESIS_HASH, at=None))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    url = None if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("TENURE_DATA_DIR", str(data_dir))
    if url is None:
        monkeypatch.delenv("TENURE_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("TENURE_DATABASE_URL", url)
    operational = Settings(data_dir=data_dir, database_url=url).operational_url
    upgrade_to_head(operational)
    engine = create_store_engine(operational)
    _reset(engine)
    with engine.begin() as connection:
        connection.execute(
            OUTBOX.insert(),
            [
                {"id": id_, "channel": "sms", "customer_id": "C1", "template": "otp",
                 "params": {}, "created_at": _at(at), "delivered_at": None}
                for id_, at in OUTBOX_ROWS
            ],
        )  # fmt: skip
        connection.execute(
            LIST_ENTRIES.insert(),
            [
                {"list_name": "blocked_phones", "value": value, "kind": "block",
                 "reason": "fraud ring", "added_by": "ann", "added_at": _at("2025-01-01"),
                 "expires_at": None if expires is None else _at(expires)}
                for value, expires in LIST_ROWS
            ],
        )  # fmt: skip
    try:
        yield engine
    finally:
        _reset(engine)
        engine.dispose()


@pytest.fixture
def warehouse(bank_warehouse: Path, data_dir: Path) -> Path:
    path = Settings(data_dir=data_dir).warehouse_path
    shutil.copy(bank_warehouse, path)
    return path


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    group = typer.Typer()
    privacy_schedules.register(group)
    app.add_typer(group, name="privacy")
    return app


def invoke(cli: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(cli, ["privacy", "retention", *args])


def run_json(cli: typer.Typer, *args: str) -> dict[str, int]:
    result = invoke(cli, "--as-of", AS_OF, "--json", *args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return {entry["table"]: entry["rows"] for entry in document["tables"]}


def _quote(name: str) -> str:
    return f'"{name}"'


def expected_due(rule: TableRule, cutoff: datetime, warehouse: Path, store: Engine) -> int:
    """The rows a rule should touch, counted here with plain SQL."""
    where = f"{_quote(rule.measured_on)} < ?"
    if rule.action is RetentionAction.ANONYMISE:
        cleared = " OR ".join(
            f"{c} IS NOT NULL" if s is Scrub.NULL else f"{c} IS DISTINCT FROM '{REDACTED}'"
            for c, s in rule.columns.items()
        )
        where += f" AND ({cleared})"
    if rule.store.value == "warehouse":
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            row = connection.execute(
                f"SELECT count(*) FROM {rule.table} WHERE {where}", [cutoff]
            ).fetchone()
        return int(row[0]) if row else 0
    # Read the dates back and compare in Python: no reliance on how a backend compares them.
    table = Base.metadata.tables[rule.table]
    with store.connect() as connection:
        dates = connection.execute(sa.select(table.c[rule.measured_on])).scalars().all()
    return sum(at is not None and at < cutoff for at in dates)


def table_counts(warehouse: Path, store: Engine) -> dict[str, int]:
    counts: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for rule in DEFAULT_SCHEDULE.rules:
            if rule.store.value == "warehouse":
                row = connection.execute(f"SELECT count(*) FROM {rule.table}").fetchone()
                counts[rule.table] = int(row[0]) if row else 0
    with store.connect() as connection:
        for rule in DEFAULT_SCHEDULE.rules:
            if rule.store.value == "operational":
                counts[rule.table] = int(
                    connection.execute(sa.text(f"SELECT count(*) FROM {rule.table}")).scalar_one()
                )
    return counts


def retention_entries(store: Engine) -> list[Any]:
    return [r for r in SqlAuditLog(store).entries() if r.action.startswith("retention.")]


def test_show_prints_every_table_with_its_period_and_reason(cli: typer.Typer) -> None:
    shown = invoke(cli, "--show")
    as_json = invoke(cli, "--show", "--json")

    assert shown.exit_code == 0, shown.output
    for rule in DEFAULT_SCHEDULE.rules:
        assert rule.table in shown.output
    assert "audit_log" in shown.output  # listed as not scheduled, with why
    assert json.loads(as_json.stdout) == json.loads(json.dumps(schedule_document(DEFAULT_SCHEDULE)))


def test_a_dry_run_changes_nothing_and_counts_what_plain_sql_counts(
    cli: typer.Typer, warehouse: Path, store: Engine
) -> None:
    before = table_counts(warehouse, store)
    as_of = datetime(2028, 2, 15, tzinfo=UTC)

    counted = run_json(cli, "--dry-run")

    assert table_counts(warehouse, store) == before
    assert retention_entries(store) == []
    expected = {
        rule.table: expected_due(rule, rule.cutoff(as_of), warehouse, store)
        for rule in DEFAULT_SCHEDULE.rules
    }
    assert counted == expected
    assert counted["protection_outbox"] == 3
    assert counted["protection_list_entries"] == 1
    assert counted["quarantine"] == 1
    assert counted["transactions"] == 0
    assert 0 < counted["digital_events"] < before["digital_events"]
    assert 0 < counted["interactions"] < before["interactions"]
    assert counted["surveys"] > 0
    assert counted["contacts"] == before["contacts"]


def test_a_run_removes_exactly_what_the_dry_run_counted_and_a_rerun_nothing_more(
    cli: typer.Typer, warehouse: Path, store: Engine
) -> None:
    before = table_counts(warehouse, store)
    counted = run_json(cli, "--dry-run")

    applied = run_json(cli, "--actor", "dpo-monthly")

    assert applied == counted
    after = table_counts(warehouse, store)
    for rule in DEFAULT_SCHEDULE.rules:
        removed = counted[rule.table] if rule.action is RetentionAction.PURGE else 0
        assert after[rule.table] == before[rule.table] - removed, rule.table
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        old_texts = connection.execute(
            "SELECT DISTINCT text FROM interactions WHERE occurred_at < ?", [CUTOFF_3Y]
        ).fetchall()
        recent = connection.execute(
            "SELECT count(*) FROM interactions WHERE occurred_at >= ? AND text = ?",
            [CUTOFF_3Y, REDACTED],
        ).fetchone()
        comments = connection.execute("SELECT count(comment) FROM surveys").fetchone()
    assert old_texts == [(REDACTED,)]
    assert recent == (0,)
    assert comments == (0,)
    assert run_json(cli) == dict.fromkeys(counted, 0)


def test_each_applied_table_is_in_the_audit_trail_and_the_trail_verifies(
    cli: typer.Typer, warehouse: Path, store: Engine
) -> None:
    counted = run_json(cli, "--dry-run")
    run_json(cli, "--actor", "dpo-monthly")

    entries = retention_entries(store)

    assert [e.details["table"] for e in entries] == [r.table for r in DEFAULT_SCHEDULE.rules]
    by_table = {e.details["table"]: e for e in entries}
    events = by_table["digital_events"]
    assert (events.actor, events.action, events.subject) == (
        "dpo-monthly", "retention.purge", "table:digital_events",
    )  # fmt: skip
    assert events.details["rows"] == counted["digital_events"]
    assert events.details["cutoff"] == "2025-02-15T00:00:00.000000+00:00"
    assert by_table["interactions"].action == "retention.anonymise"
    assert by_table["protection_outbox"].details["rows"] == 3
    assert SqlAuditLog(store).verify().intact


def test_the_report_is_a_table_with_a_summary(
    cli: typer.Typer, warehouse: Path, store: Engine
) -> None:
    result = invoke(cli, "--dry-run", "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    assert "dry run: nothing changed" in result.output
    assert "digital_events" in result.output
    assert "2025-02-15" in result.output
    assert "Run again without --dry-run" in result.output


def test_a_schedule_file_overrides_the_default(
    cli: typer.Typer, warehouse: Path, store: Engine, tmp_path: Path
) -> None:
    schedule = tmp_path / "retention.yaml"
    schedule.write_text("tables:\n  contacts: {keep: forever}\n  transactions: {keep: 1 month}\n")

    counted = run_json(cli, "--dry-run", "--schedule", str(schedule))

    assert "contacts" not in counted
    assert counted["transactions"] == table_counts(warehouse, store)["transactions"]


def test_a_bad_schedule_file_exits_2_naming_the_table_and_field(
    cli: typer.Typer, store: Engine, tmp_path: Path
) -> None:
    schedule = tmp_path / "retention.yaml"
    schedule.write_text("tables:\n  surveys: {keep: 3 fortnights}\n")

    result = invoke(cli, "--dry-run", "--schedule", str(schedule))

    assert result.exit_code == 2
    assert "tables.surveys.keep" in result.output
    assert retention_entries(store) == []


def test_without_a_warehouse_the_operational_store_is_still_kept_in_order(
    cli: typer.Typer, store: Engine
) -> None:
    result = invoke(cli, "--as-of", AS_OF, "--json")

    assert result.exit_code == 0, result.output
    tables = {t["table"]: t for t in json.loads(result.stdout)["tables"]}
    assert tables["digital_events"]["store_missing"] is True
    assert tables["protection_outbox"]["rows"] == 3
    assert [e.details["table"] for e in retention_entries(store)] == [
        r.table for r in DEFAULT_SCHEDULE.rules if r.store.value == "operational"
    ]
