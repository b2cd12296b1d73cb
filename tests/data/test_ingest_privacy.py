"""No customer's name, phone, e-mail or ID number reaches the warehouse; the vault keeps them."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_factories import write_csv
from sqlalchemy.engine import Engine

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.data.catalog import canonical_catalog
from tenure.data.ingest import (
    IngestReport,
    KeyedPiiProtector,
    ephemeral_protector,
    ingest_directory,
    parse_mapping,
)
from tenure.data.schema import PiiKind
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.privacy.identity import IDENTITY_FIELDS, IdentityNotFound
from tenure.privacy.keys import KeyRing, generate_key_ring
from tenure.privacy.pseudonyms import Pseudonymizer

CUSTOMERS = 300
CATALOG = canonical_catalog()


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    synthesize(SimulationConfig(customers=CUSTOMERS, months=2, seed=3), root)
    return root


@pytest.fixture
def ring() -> KeyRing:
    return generate_key_ring()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'operational.sqlite3'}"
    upgrade_to_head(url)
    engine = create_store_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def protector(ring: KeyRing, store: Engine) -> KeyedPiiProtector:
    return KeyedPiiProtector(ring=ring, vault=SqlIdentityVault(store, ring=ring))


def _customers(source: Path) -> list[dict[str, str]]:
    with (source / "customers.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _load(path: Path, source: Path, protector: KeyedPiiProtector) -> IngestReport:
    with DuckDBWarehouse.open(path) as warehouse:
        # Uncompressed pages keep every stored string as written, so a byte search sees them all.
        warehouse.execute("SET force_compression = 'uncompressed'")
        return ingest_directory(warehouse=warehouse, source_dir=source, protector=protector)


def _warehouse_bytes(path: Path) -> bytes:
    """The warehouse file and anything DuckDB left beside it (a WAL), read after closing."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(f"{path.name}*")))


def _leaks(data: bytes, customers: list[dict[str, str]]) -> list[str]:
    return [
        f"{column} of {row['customer_id']}"
        for row in customers
        for column in IDENTITY_FIELDS
        if row[column] and row[column].encode("utf-8") in data
    ]


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with DuckDBWarehouse.open(path, read_only=True) as warehouse:
        return warehouse.fetch_all(sql)


def test_no_customer_identity_reaches_the_warehouse_file(
    bank: Path, protector: KeyedPiiProtector, tmp_path: Path
) -> None:
    customers = _customers(bank)
    path = tmp_path / "w.duckdb"

    report = _load(path, bank, protector)

    assert report.table("customers").loaded == CUSTOMERS
    data = _warehouse_bytes(path)
    assert _leaks(data, customers) == []
    # The search does see stored strings: every customer id is there.
    assert all(row["customer_id"].encode() in data for row in customers)


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _spoil_customers(source: Path) -> dict[str, str]:
    """Break four customers' rows; returns {customer id: what was broken}."""
    path = source / "customers.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    col = {name: i for i, name in enumerate(header)}
    rows[3][col["kyc_risk"]] = "extreme"
    rows[9][col["opened_at"]] = "not a time"
    short = rows[20]
    rows[20] = short[: col["id_number"] + 1]
    duplicate = list(rows[30])
    duplicate[col["full_name"]], duplicate[col["phone"]] = "冒名顶替", "13900001111"
    rows.append(duplicate)
    _write_rows(path, header, rows)
    return {
        rows[3][0]: "kyc_risk",
        rows[9][0]: "opened_at",
        short[0]: "short line",
        duplicate[0]: "duplicate",
    }


def test_quarantined_rows_keep_no_clear_identity_and_say_why(
    bank: Path, protector: KeyedPiiProtector, tmp_path: Path
) -> None:
    source = tmp_path / "bank"
    shutil.copytree(bank, source)
    spoiled = _spoil_customers(source)
    customers = _customers(bank)
    path = tmp_path / "w.duckdb"

    report = _load(path, source, protector).table("customers")

    assert (report.rows_in, report.loaded, report.quarantined) == (CUSTOMERS + 1, 297, 4)
    assert _leaks(" ".join(report.examples).encode(), customers) == []
    assert _leaks(_warehouse_bytes(path), customers) == []
    assert "冒名顶替".encode() not in _warehouse_bytes(path)  # the duplicate row's name
    quarantined = {
        reason: json.loads(raw)
        for reason, raw in _query(
            path, "SELECT reason, raw_record FROM quarantine WHERE table_name = 'customers'"
        )
    }
    record = quarantined["kyc_risk: 'extreme' is not one of low, medium, high"]
    assert record["kyc_risk"] == "extreme"
    assert record["full_name"].startswith("nm_")
    assert record["phone"].startswith("ph_")
    assert record["id_number"].startswith("id_")
    sealed = [r["csv_line_sealed"] for r in quarantined.values() if "csv_line_sealed" in r]
    assert len(sealed) == 1
    (short_id,) = [key for key, broken in spoiled.items() if broken == "short line"]
    assert protector.open_line(sealed[0]).startswith(f"{short_id},")
    assert any(reason.startswith("duplicate key customer_id=") for reason in quarantined)
    assert protector.vault.count() == 297
    for row in customers:
        if spoiled.get(row["customer_id"]) in (None, "duplicate"):
            expected = {f: row[f] or None for f in IDENTITY_FIELDS}
            assert protector.vault.reveal(row["customer_id"]) == expected
        else:
            with pytest.raises(IdentityNotFound):
                protector.vault.reveal(row["customer_id"])


def test_pseudonyms_are_the_same_in_every_load_and_table(
    bank: Path, ring: KeyRing, tmp_path: Path
) -> None:
    _load(tmp_path / "a.duckdb", bank, ephemeral_protector(ring))
    _load(tmp_path / "b.duckdb", bank, ephemeral_protector(ring))
    every = "SELECT * EXCLUDE (opened_at, closed_at) FROM customers ORDER BY customer_id"

    first = _query(tmp_path / "a.duckdb", every)

    assert first == _query(tmp_path / "b.duckdb", every)
    pseudonyms = Pseudonymizer(ring)
    stored = dict(_query(tmp_path / "a.duckdb", "SELECT customer_id, full_name FROM customers"))
    assert stored == {
        row["customer_id"]: pseudonyms.pseudonym(PiiKind.NAME, row["full_name"])
        for row in _customers(bank)
    }
    with (bank / "payees.csv").open(encoding="utf-8", newline="") as handle:
        payees = {r["payee_id"]: r["payee_name"] for r in csv.DictReader(handle)}
    kept = dict(_query(tmp_path / "a.duckdb", "SELECT payee_id, payee_name FROM payees"))
    assert kept == {k: pseudonyms.pseudonym(PiiKind.NAME, v) for k, v in payees.items()}
    (unnamed,) = _query(
        tmp_path / "a.duckdb",
        "SELECT count(*) FROM transactions WHERE counterparty NOT LIKE 'nm\\_%' ESCAPE '\\'",
    )
    assert unnamed == (0,)


def test_loading_the_same_bank_again_adds_nothing(
    bank: Path, protector: KeyedPiiProtector, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    _load(path, bank, protector)
    with DuckDBWarehouse.open(path, read_only=True) as warehouse:
        counts = warehouse.table_counts()

    again = _load(path, bank, protector)

    assert again.loaded == 0
    assert protector.vault.count() == CUSTOMERS
    with DuckDBWarehouse.open(path, read_only=True) as warehouse:
        assert warehouse.table_counts() == counts


def test_staff_find_a_customer_by_id_number_then_reveal_and_erase_them(
    bank: Path, protector: KeyedPiiProtector, tmp_path: Path
) -> None:
    _load(tmp_path / "w.duckdb", bank, protector)
    row = _customers(bank)[41]
    vault = protector.vault

    assert vault.find_by_id_number(row["id_number"].lower()) == (row["customer_id"],)
    assert vault.reveal(row["customer_id"]) == {f: row[f] or None for f in IDENTITY_FIELDS}

    assert vault.erase(row["customer_id"])
    with pytest.raises(IdentityNotFound):
        vault.reveal(row["customer_id"])
    assert vault.find_by_id_number(row["id_number"]) == ()


def test_a_mapped_extract_quarantines_pseudonymised_records_without_ignored_columns(
    protector: KeyedPiiProtector, tmp_path: Path
) -> None:
    table = CATALOG["customers"]
    renamed = {"full_name": "NAME", "phone": "MOBILE"}
    header = [renamed.get(c, c) for c in table.column_names] + ["MOBILE_2"]
    good = ["C1", "retail", "张三丰", "13812341234", "", "", "1980", "上海市", "", "middle", "low",
            "mobile", "", "2020-01-01T00:00:00Z", "", "13700001111"]  # fmt: skip
    bad = [*good]
    bad[:4], bad[10], bad[-1] = ["C2", "retail", "李四", "13912345678"], "sky-high", "13600002222"
    write_csv(tmp_path / "in" / "customers.csv", header, [good, bad])
    mapping = parse_mapping(
        {"tables": {"customers": {"columns": {"full_name": "NAME", "phone": "MOBILE"},
                                  "ignore": ["MOBILE_2"]}}},
        catalog=CATALOG,
    )  # fmt: skip
    path = tmp_path / "w.duckdb"

    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=tmp_path / "in", protector=protector, mapping=mapping
        )
        ((raw,),) = warehouse.fetch_all("SELECT raw_record FROM quarantine")

    record = json.loads(raw)
    assert "MOBILE_2" not in record
    assert record["MOBILE"] == protector.pseudonymize(PiiKind.PHONE, ["13912345678"])[0]
    assert record["NAME"].startswith("nm_")
    assert record["kyc_risk"] == "sky-high"
    data = _warehouse_bytes(path)
    for value in ("张三丰", "13812341234", "李四", "13912345678", "13700001111", "13600002222"):
        assert value.encode() not in data
    assert protector.vault.reveal("C1")["phone"] == "13812341234"
