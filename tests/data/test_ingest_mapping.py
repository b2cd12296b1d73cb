"""Mapping files: the example bank extract loads through its mapping; bad mappings name the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ingest_factories import write_csv

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.errors import ConfigurationError
from tenure.data.catalog import canonical_catalog
from tenure.data.ingest import ephemeral_protector, ingest_directory, load_mapping, parse_mapping

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mappings"
CATALOG = canonical_catalog()


@pytest.fixture
def warehouse(data_dir: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(data_dir / "warehouse.duckdb") as opened:
        yield opened


def test_example_bank_extract_loads_through_its_mapping(warehouse: DuckDBWarehouse) -> None:
    mapping = load_mapping(EXAMPLE / "example-bank.yaml", catalog=CATALOG)

    report = ingest_directory(
        warehouse=warehouse,
        source_dir=EXAMPLE / "example-bank",
        protector=ephemeral_protector(),
        mapping=mapping,
    )

    assert [(t.table, t.rows_in, t.loaded, t.quarantined) for t in report.tables if t.rows_in] == [
        ("customers", 4, 4, 0),
        ("accounts", 5, 5, 0),
        ("transactions", 6, 5, 1),
    ]
    assert warehouse.fetch_all(
        "SELECT customer_type, kyc_risk, CAST(opened_at AS VARCHAR), CAST(closed_at AS VARCHAR) "
        "FROM customers WHERE customer_id = 'C0004'"
    ) == [("retail", "low", "2009-09-30 00:00:00+00", "2023-12-31 00:00:00+00")]
    assert warehouse.fetch_all(
        "SELECT product, status, balance_minor, credit_limit_minor, interest_rate, "
        "CAST(maturity_date AS VARCHAR) FROM accounts ORDER BY account_id"
    )[1:5:3] == [
        ("card", "active", -231000, 5000000, None, None),
        ("term_deposit", "closed", 0, None, 0.0275, "2023-12-31"),
    ]
    assert warehouse.fetch_all(
        "SELECT CAST(occurred_at AS VARCHAR), amount_minor, direction, channel, kind, status "
        "FROM transactions WHERE transaction_id = 'TX240301000002'"
    ) == [("2024-03-01 04:40:33+00", 3850, "debit", "pos", "card_purchase", "posted")]
    refused = warehouse.fetch_all("SELECT source_file, line, field, reason FROM quarantine")
    assert refused == [
        (
            "TXN_DAILY.csv",
            7,
            "channel",
            "channel: 'XX' is not one of mobile, web, branch, atm, pos, phone, api, batch",
        )
    ]


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"tables": {"clients": {}}}, "clients"),
        ({"tabels": {}}, "tabels"),
        ({"tables": {"customers": {"colums": {}}}}, "tables.customers.colums"),
        (
            {"tables": {"customers": {"columns": {"cust_id": "X"}}}},
            "tables.customers.columns.cust_id",
        ),
        (
            {"tables": {"customers": {"values": {"kyc_risk": {"L": "lowest"}}}}},
            "tables.customers.values.kyc_risk",
        ),
        (
            {"tables": {"customers": {"formats": {"region": "%Y"}}}},
            "tables.customers.formats.region",
        ),
        (
            {"tables": {"customers": {"columns": {"region": "P"}, "constants": {"region": "x"}}}},
            "tables.customers.constants.region",
        ),
        (
            {"tables": {"customers": {"expressions": {"region": "1; DROP TABLE x"}}}},
            "tables.customers.expressions.region",
        ),
        ({"tables": {"customers": {"file": "../elsewhere.csv"}}}, "tables.customers.file"),
    ],
)
def test_a_bad_mapping_names_the_offending_key(document: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_mapping(document, catalog=CATALOG)

    assert caught.value.field == key
    assert key in caught.value.message


def _transactions_mapping(expression: str) -> dict[str, Any]:
    return {
        "tables": {"transactions": {"file": "tx.csv", "expressions": {"amount_minor": expression}}}
    }


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("CAST(AMTX AS BIGINT)", "tx.csv has no column 'AMTX'"),
        ("(SELECT max(amount) FROM tx)", "not allowed"),
        ("CAST(amount AS", "tables.transactions.expressions.amount_minor"),
    ],
)
def test_refuses_an_expression_that_reads_no_such_column_or_more_than_a_value(
    warehouse: DuckDBWarehouse, tmp_path: Path, expression: str, message: str
) -> None:
    header = [c if c != "amount_minor" else "amount" for c in CATALOG["transactions"].column_names]
    write_csv(tmp_path / "tx.csv", header, [])
    mapping = parse_mapping(_transactions_mapping(expression), catalog=CATALOG)

    with pytest.raises(ConfigurationError, match=message) as caught:
        ingest_directory(
            warehouse=warehouse,
            source_dir=tmp_path,
            protector=ephemeral_protector(),
            mapping=mapping,
        )

    assert caught.value.field == "tables.transactions.expressions.amount_minor"


def test_an_expression_failing_on_a_row_names_the_key_not_the_value(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    customers = CATALOG["customers"]
    header = [c if c != "birth_year" else "born" for c in customers.column_names]
    row = ["C1", "retail", "Secret Name", "", "", "", "nineteen-ninety", "Shanghai", "", "", "low",
           "mobile", "", "2020-01-01T00:00:00Z", ""]  # fmt: skip
    write_csv(tmp_path / "customers.csv", header, [row])
    document = {"tables": {"customers": {"expressions": {"birth_year": "CAST(born AS INTEGER)"}}}}

    with pytest.raises(ConfigurationError) as caught:
        ingest_directory(
            warehouse=warehouse,
            source_dir=tmp_path,
            protector=ephemeral_protector(),
            mapping=parse_mapping(document, catalog=CATALOG),
        )

    assert caught.value.field == "tables.customers.expressions.birth_year"
    assert "nineteen" not in caught.value.message
    assert "TRY_CAST" in caught.value.message


def test_reading_a_missing_mapping_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read mapping file"):
        load_mapping(tmp_path / "absent.yaml", catalog=CATALOG)
