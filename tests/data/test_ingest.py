"""Ingest of canonical files: types, quarantine reasons and lines, idempotency, all-or-nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from ingest_factories import canonical_rows, write_canonical_dir, write_csv, write_table

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.errors import ValidationError
from tenure.data.catalog import canonical_catalog
from tenure.data.ingest import (
    IngestReport,
    KeyedPiiProtector,
    QueryFailed,
    TableStatus,
    ephemeral_protector,
    ingest_directory,
)
from tenure.data.schema import Catalog, Column, ColumnType, PiiKind, Table

CATALOG = canonical_catalog()
TX = CATALOG["transactions"]
PARENTS = {"customers": 5, "accounts": 5, "payees": 5}
_ALL_TRANSACTIONS = (
    "SELECT * EXCLUDE (occurred_at), CAST(occurred_at AS VARCHAR) FROM transactions ORDER BY 1"
)


@pytest.fixture
def warehouse(data_dir: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(data_dir / "warehouse.duckdb") as opened:
        yield opened


def _parents(directory: Path) -> Path:
    return write_canonical_dir(directory, rows=5, tables=["customers", "accounts", "payees"])


def _transactions(directory: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(
        directory / "transactions.csv",
        TX.column_names,
        ([r[c] for c in TX.column_names] for r in rows),
    )


def _quarantine(warehouse: DuckDBWarehouse, table: str = "transactions") -> list[tuple[Any, ...]]:
    return warehouse.fetch_all(
        "SELECT line, field, reason, raw_record FROM quarantine WHERE table_name = ? ORDER BY line",
        [table],
    )


def _ingest(
    warehouse: DuckDBWarehouse, directory: Path, protector: KeyedPiiProtector | None = None
) -> IngestReport:
    return ingest_directory(
        warehouse=warehouse, source_dir=directory, protector=protector or ephemeral_protector()
    )


def test_loads_every_declared_table_with_its_declared_types(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    report = _ingest(warehouse, write_canonical_dir(tmp_path / "in", rows=5))

    assert {t.table: (t.rows_in, t.loaded, t.quarantined) for t in report.tables} == {
        t.name: (5, 5, 0) for t in CATALOG
    }
    assert warehouse.table_counts() == {t.name: 5 for t in CATALOG}
    row = warehouse.fetch_all(
        "SELECT typeof(amount_minor), typeof(occurred_at), CAST(occurred_at AS VARCHAR), "
        "typeof(geo_lat) FROM transactions WHERE transaction_id = 'TRA1'"
    )
    assert row == [("BIGINT", "TIMESTAMP WITH TIME ZONE", "2024-03-01 08:00:01+00", "DOUBLE")]


def test_stores_offset_timestamps_in_utc(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    rows = canonical_rows(TX, 3, parents=PARENTS)
    rows[0]["occurred_at"] = "2024-03-01T16:30:00+08:00"
    rows[1]["occurred_at"] = "2024-03-01T08:30:00Z"
    _transactions(_parents(tmp_path), rows)

    _ingest(warehouse, tmp_path)

    stored = warehouse.fetch_all(
        "SELECT CAST(occurred_at AS VARCHAR) FROM transactions ORDER BY transaction_id LIMIT 2"
    )
    assert stored == [("2024-03-01 08:30:00+00",), ("2024-03-01 08:30:00+00",)]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("amount_minor", "abc", "amount_minor: 'abc' is not an integer"),
        ("amount_minor", "12.50", "amount_minor: '12.50' is not an integer"),
        ("amount_minor", "0", "amount_minor: '0' is below the minimum 1"),
        ("currency", "XYZ", "currency: 'XYZ' is not one of CNY, USD"),
        ("direction", "", "direction: required value is missing"),
        (
            "occurred_at",
            "2025-02-30T10:00:00Z",
            "occurred_at: '2025-02-30T10:00:00Z' is not a valid",
        ),
        (
            "occurred_at",
            "2025-13-01T10:00:00Z",
            "occurred_at: '2025-13-01T10:00:00Z' is not a valid",
        ),
        (
            "occurred_at",
            "9999-01-01T00:00:00Z",
            "occurred_at: '9999-01-01T00:00:00Z' is after 2100",
        ),
        ("geo_lat", "91.5", "geo_lat: '91.5' is above the maximum 90.0"),
        ("account_id", "A123", "account_id: no account 'A123' in accounts"),
    ],
)
def test_quarantines_a_bad_value_with_its_line_field_and_reason(
    warehouse: DuckDBWarehouse, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    rows = canonical_rows(TX, 5, parents=PARENTS)
    rows[2][column] = value
    _transactions(_parents(tmp_path), rows)

    report = _ingest(warehouse, tmp_path).table("transactions")

    assert (report.rows_in, report.loaded, report.quarantined) == (5, 4, 1)
    ((line, field, message, raw),) = _quarantine(warehouse)
    assert (line, field) == (4, column)
    assert message.startswith(reason)
    assert json.loads(raw)[column] == (value or None)
    assert warehouse.table_counts()["transactions"] == 4


def test_quarantines_later_copies_of_a_key_repeated_in_the_file(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    rows = canonical_rows(TX, 4, parents=PARENTS)
    rows.append({**rows[1], "amount_minor": "999"})
    _transactions(_parents(tmp_path), rows)

    report = _ingest(warehouse, tmp_path).table("transactions")

    assert (report.rows_in, report.loaded, report.quarantined) == (5, 4, 1)
    assert _quarantine(warehouse)[0][:3] == (
        6,
        "transaction_id",
        "duplicate key transaction_id='TRA1' (also at line 3)",
    )
    kept = warehouse.fetch_all("SELECT amount_minor FROM transactions WHERE transaction_id='TRA1'")
    assert kept == [(2,)]


def test_quarantines_lines_with_the_wrong_field_count_sealed_and_keeps_later_line_numbers(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    rows: list[Sequence[str]] = [
        [r[c] for c in TX.column_names] for r in canonical_rows(TX, 4, parents=PARENTS)
    ]
    rows.insert(1, ["T-short", "ACC1"])
    rows[3] = [*rows[3], "one too many"]
    rows[4] = [
        "currency-bad" if c == "currency" else v
        for c, v in zip(TX.column_names, rows[4], strict=True)
    ]
    write_csv(_parents(tmp_path) / "transactions.csv", TX.column_names, rows)

    protector = ephemeral_protector()

    report = _ingest(warehouse, tmp_path, protector).table("transactions")

    assert (report.rows_in, report.loaded, report.quarantined) == (5, 2, 3)
    quarantined = _quarantine(warehouse)
    assert [(line, field) for line, field, *_ in quarantined] == [
        (3, "customer_id"),
        (5, None),
        (6, "currency"),
    ]
    assert "fewer fields than the header" in quarantined[0][2]
    assert "more fields than the header" in quarantined[1][2]
    sealed = json.loads(quarantined[0][3])["csv_line_sealed"]
    assert "T-short" not in sealed
    assert protector.open_line(sealed) == "T-short,ACC1"


def test_applies_row_checks_across_columns(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    customers = CATALOG["customers"]
    rows = canonical_rows(customers, 3)
    rows[1]["closed_at"] = "2020-01-01T00:00:00Z"
    write_table(tmp_path, customers, rows)

    report = _ingest(warehouse, tmp_path).table("customers")

    assert (report.loaded, report.quarantined) == (2, 1)
    assert _quarantine(warehouse, "customers")[0][:3] == (
        3,
        "closed_at",
        "closed_at: closed_at is before opened_at",
    )


def test_quarantines_children_of_a_quarantined_parent(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    accounts = CATALOG["accounts"]
    write_canonical_dir(tmp_path, rows=5, tables=["customers", "payees"])
    account_rows = canonical_rows(accounts, 5, parents=PARENTS)
    account_rows[1]["product"] = "crypto"
    write_table(tmp_path, accounts, account_rows)
    _transactions(tmp_path, canonical_rows(TX, 5, parents=PARENTS))

    report = _ingest(warehouse, tmp_path)

    assert report.table("accounts").quarantined == 1
    assert report.table("transactions").quarantined == 1
    assert _quarantine(warehouse)[0][2] == "account_id: no account 'ACC1' in accounts"


def test_running_the_same_directory_twice_loads_nothing_new(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    rows = canonical_rows(TX, 5, parents=PARENTS)
    rows[0]["currency"] = "XYZ"
    _transactions(_parents(tmp_path), rows)
    first = _ingest(warehouse, tmp_path)
    counts = warehouse.table_counts()

    second = _ingest(warehouse, tmp_path)

    assert first.loaded == 19
    assert first.quarantined == 1
    assert (second.rows_in, second.loaded, second.quarantined) == (0, 0, 0)
    assert {t.status for t in second.tables if t.source_file} == {TableStatus.ALREADY_LOADED}
    assert warehouse.table_counts() == counts
    assert warehouse.fetch_all("SELECT count(*) FROM quarantine") == [(1,)]
    assert warehouse.fetch_all("SELECT count(*) FROM _ingest_batches") == [(2,)]


def test_a_new_file_overlapping_loaded_keys_quarantines_the_overlap(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    rows = canonical_rows(TX, 8, parents=PARENTS)
    _transactions(_parents(tmp_path / "day1"), rows[:5])
    _ingest(warehouse, tmp_path / "day1")
    _transactions(tmp_path / "day2", rows[3:])

    report = _ingest(warehouse, tmp_path / "day2").table("transactions")

    assert (report.rows_in, report.loaded, report.quarantined) == (5, 3, 2)
    reasons = [reason for _, _, reason, _ in _quarantine(warehouse)]
    assert reasons == [
        "already loaded: transaction_id='TRA3' is already in transactions",
        "already loaded: transaction_id='TRA4' is already in transactions",
    ]
    assert warehouse.table_counts()["transactions"] == 8


class _FailingWarehouse:
    """The real warehouse, except that one kind of statement fails (an injected crash)."""

    def __init__(self, inner: DuckDBWarehouse, fail_on: str) -> None:
        self._inner = inner
        self._fail_on = fail_on
        self.catalog = inner.catalog
        self.materialize = inner.materialize
        self.drop_scratch = inner.drop_scratch
        self.transaction = inner.transaction
        self.table_counts = inner.table_counts
        self.fetch_all = inner.fetch_all
        self.stream = inner.stream
        self.register_text_function = inner.register_text_function
        self.remove_function = inner.remove_function

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        if sql.startswith(self._fail_on):
            raise QueryFailed("injected failure")
        return self._inner.execute(sql, params)


def test_a_failure_midway_leaves_the_warehouse_as_it_was(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    write_canonical_dir(tmp_path / "day1", rows=3, tables=["customers"])
    _ingest(warehouse, tmp_path / "day1")
    rows = canonical_rows(TX, 5, parents=PARENTS)
    rows[0]["currency"] = "XYZ"
    _transactions(_parents(tmp_path / "day2"), rows)
    before = {
        name: warehouse.fetch_all(f"SELECT count(*) FROM {name}")
        for name in ("quarantine", "_ingest_files", "_ingest_batches")
    }
    counts = warehouse.table_counts()

    failing = _FailingWarehouse(warehouse, 'INSERT INTO "transactions"')
    with pytest.raises(QueryFailed, match="injected"):
        ingest_directory(
            warehouse=failing, source_dir=tmp_path / "day2", protector=ephemeral_protector()
        )

    assert warehouse.table_counts() == counts
    assert counts["customers"] == 3
    assert counts["accounts"] == 0
    for name, count in before.items():
        assert warehouse.fetch_all(f"SELECT count(*) FROM {name}") == count
    assert _ingest(warehouse, tmp_path / "day2").table("accounts").loaded == 5


def test_refuses_a_file_missing_a_column_naming_table_and_column(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    header = [c for c in TX.column_names if c != "channel"]
    rows = canonical_rows(TX, 2, parents=PARENTS)
    write_csv(
        _parents(tmp_path) / "transactions.csv", header, ([r[c] for c in header] for r in rows)
    )

    with pytest.raises(ValidationError, match="transactions needs column 'channel'") as caught:
        _ingest(warehouse, tmp_path)

    assert caught.value.field == "channel"
    assert warehouse.table_counts()["customers"] == 0


def test_refuses_a_file_with_an_extra_column(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    header = [*TX.column_names, "branch"]
    rows = canonical_rows(TX, 2, parents=PARENTS)
    write_csv(
        tmp_path / "transactions.csv",
        header,
        ([*(r[c] for c in TX.column_names), "B1"] for r in rows),
    )

    with pytest.raises(ValidationError, match="'branch' is not a column of table transactions"):
        _ingest(warehouse, tmp_path)


def test_reports_absent_tables_and_unknown_files(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    write_canonical_dir(tmp_path, rows=2, tables=["customers", "customer_truth"])
    (tmp_path / "notes.txt").write_text("not data", encoding="utf-8")

    report = _ingest(warehouse, tmp_path)

    assert report.table("customer_truth").source_file == "truth/customer_truth.csv"
    assert report.table("customer_truth").loaded == 2
    assert report.table("accounts").status is TableStatus.NOT_PRESENT
    assert report.unknown_files == ("notes.txt",)


def test_parquet_loads_like_csv(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    write_canonical_dir(tmp_path / "csv", rows=4, fmt="csv")
    write_canonical_dir(tmp_path / "pq", rows=4, fmt="parquet")
    protector = ephemeral_protector()
    with DuckDBWarehouse.open(tmp_path / "other.duckdb") as other:
        _ingest(other, tmp_path / "csv", protector)
        expected = other.fetch_all(_ALL_TRANSACTIONS)

    report = _ingest(warehouse, tmp_path / "pq", protector)

    assert report.loaded == 4 * len(CATALOG)
    assert report.quarantined == 0
    assert report.table("transactions").source_file == "transactions.parquet"
    loaded = warehouse.fetch_all(_ALL_TRANSACTIONS)
    assert loaded == expected


def test_parquet_refusals_carry_the_row_index(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    rows = canonical_rows(TX, 4, parents=PARENTS)
    rows[1]["currency"] = "XYZ"
    rows[3]["transaction_id"] = rows[0]["transaction_id"]
    _parents(tmp_path)
    csv_path = _transactions(tmp_path / "staging", rows)
    warehouse.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) "
        f"TO '{tmp_path / 'transactions.parquet'}' (FORMAT parquet)"
    )

    report = _ingest(warehouse, tmp_path).table("transactions")

    assert (report.rows_in, report.loaded, report.quarantined) == (4, 2, 2)
    assert [(line, field, reason) for line, field, reason, _ in _quarantine(warehouse)] == [
        (1, "currency", "currency: 'XYZ' is not one of CNY, USD, EUR, HKD, GBP, JPY"),
        (3, "transaction_id", "duplicate key transaction_id='TRA0' (also at row 0)"),
    ]


def test_reasons_never_quote_personal_data(tmp_path: Path) -> None:
    people = Table(
        "people",
        "A table whose key and one checked column are personal data.",
        (
            Column("national_id", ColumnType.ID, "ID number.", pii=PiiKind.ID_NUMBER),
            Column("pin", ColumnType.INT, "A PIN.", pii=PiiKind.ID_NUMBER),
            Column("city", ColumnType.ENUM, "City.", values=("Beijing", "Shanghai")),
        ),
        ("national_id",),
    )
    rows = [
        ["110101199001011234", "12x4", "Beijing"],
        ["110101199001011234", "1234", "Shanghai"],
        ["310101198505052345", "1234", "Paris"],
    ]
    write_csv(tmp_path / "in" / "people.csv", people.column_names, rows)

    with DuckDBWarehouse.open(tmp_path / "w.duckdb", catalog=Catalog((people,))) as warehouse:
        _ingest(warehouse, tmp_path / "in")
        reasons = [reason for _, _, reason, _ in _quarantine(warehouse, "people")]

    assert reasons == [
        "pin: the value is not an integer",
        "duplicate key national_id=the value (also at line 2)",
        "city: 'Paris' is not one of Beijing, Shanghai",
    ]
