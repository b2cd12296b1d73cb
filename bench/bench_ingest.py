"""Ingest benchmark: validated rows per second from canonical CSV files into DuckDB.

Generates (with DuckDB ``COPY ... TO`` from ``range()``) customers, accounts and transactions in
the ratio 1 : 2 : 20, with one row in ``--bad-every`` carrying a bad amount so that the quarantine
path is exercised, then runs ``ingest_directory`` on a fresh warehouse and prints rows/s per table
and overall, elapsed time and peak RSS. As in ``tenure ingest``, personal data is pseudonymised
and customers' identity sealed into an identity vault (SQLite, in the work directory) under a
fresh key ring. Not a test; run it by hand::

    .venv/bin/python bench/bench_ingest.py --rows 5000000
    .venv/bin/python bench/bench_ingest.py --dir path/to/canonical/files
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.identity import SqlIdentityVault
from tenure.data.catalog import canonical_catalog
from tenure.data.ingest import IngestReport, KeyedPiiProtector, ingest_directory
from tenure.data.schema import Column, ColumnType, Table
from tenure.privacy.keys import generate_key_ring

RATIOS = {"customers": 20, "accounts": 10, "transactions": 1}


def _prefix(table: Table) -> str:
    return table.name[:3].upper()


def _column_sql(column: Column, counts: dict[str, int], table: Table) -> str:
    catalog = canonical_catalog()
    if column.references is not None:
        parent = catalog[column.referenced_table or ""]
        if parent.name not in counts:
            return "NULL"
        return f"'{_prefix(parent)}' || (i * 7919 % {counts[parent.name]})"
    if column.type is ColumnType.ID:
        return f"'{_prefix(table)}' || i"
    if column.type is ColumnType.ENUM:
        values = ", ".join(f"'{v}'" for v in column.values)
        return f"([{values}])[1 + i % {len(column.values)}]"
    if column.type in (ColumnType.INT, ColumnType.MONEY):
        low = int(column.minimum or 0)
        span = int(column.maximum) - low + 1 if column.maximum is not None else 1_000_000
        return f"{low} + i % {span}"
    if column.type is ColumnType.FLOAT:
        low = float(column.minimum or 0.0)
        high = float(column.maximum) if column.maximum is not None else low + 1.0
        return f"{low} + {high - low} * (i % 1000) / 1000.0"
    if column.type is ColumnType.BOOL:
        return "i % 2 = 0"
    if column.type is ColumnType.DATE:
        return "DATE '2024-01-01' + CAST(i % 3650 AS INTEGER)"
    if column.type is ColumnType.TIMESTAMP:
        if not column.required:
            return "NULL"
        return "strftime(TIMESTAMP '2020-01-01' + to_seconds(i % 157680000), '%Y-%m-%dT%H:%M:%SZ')"
    return f"'{column.name} ' || (i % 997)"


def generate(directory: Path, rows: int, bad_every: int) -> dict[str, int]:
    """Write canonical CSV files of customers, accounts, transactions; returns row counts."""
    catalog = canonical_catalog()
    counts = {name: max(rows // ratio, 1) for name, ratio in RATIOS.items()}
    directory.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        for name, count in counts.items():
            table = catalog[name]
            columns = []
            for column in table.columns:
                sql = _column_sql(column, counts, table)
                if column.name == "amount_minor" and bad_every:
                    sql = (
                        f"CASE WHEN i % {bad_every} = 7 THEN 'abc' ELSE CAST({sql} AS VARCHAR) END"
                    )
                columns.append(f'{sql} AS "{column.name}"')
            target = directory / f"{table.file_stem}.csv"
            connection.execute(
                f"COPY (SELECT {', '.join(columns)} FROM range({count}) r(i)) "
                f"TO '{target}' (HEADER, DELIMITER ',')"
            )
    return counts


def run(source_dir: Path, work_dir: Path) -> IngestReport:
    """Ingest ``source_dir`` into a fresh warehouse and print the figures."""
    ring = generate_key_ring()
    store_url = f"sqlite:///{work_dir / 'operational.sqlite3'}"
    upgrade_to_head(store_url)
    store = create_store_engine(store_url)
    protector = KeyedPiiProtector(ring=ring, vault=SqlIdentityVault(store, ring=ring))
    try:
        with DuckDBWarehouse.open(work_dir / "warehouse.duckdb") as warehouse:
            started = time.perf_counter()
            report = ingest_directory(
                warehouse=warehouse, source_dir=source_dir, protector=protector
            )
            elapsed = time.perf_counter() - started
    finally:
        store.dispose()
    print(
        f"{'table':<16}{'rows_in':>12}{'loaded':>12}{'quarantined':>13}{'seconds':>9}{'rows/s':>12}"
    )
    for table in report.tables:
        if table.rows_in:
            rate = table.rows_in / table.seconds if table.seconds else 0.0
            print(
                f"{table.table:<16}{table.rows_in:>12,}{table.loaded:>12,}"
                f"{table.quarantined:>13,}{table.seconds:>9.2f}{rate:>12,.0f}"
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"overall: {report.rows_in:,} rows in {elapsed:.2f} s = "
        f"{report.rows_in / elapsed:,.0f} validated rows/s; peak RSS {peak_mb:,.0f} MB"
    )
    return report


def baseline(source_dir: Path, work_dir: Path, report: IngestReport) -> None:
    """Plain DuckDB CSV loads (auto-detected types, no validation) of the same files, as a ratio."""
    with duckdb.connect(str(work_dir / "baseline.duckdb")) as connection:
        for table in report.tables:
            if not table.rows_in or table.source_file is None:
                continue
            started = time.perf_counter()
            connection.execute(
                f"CREATE TABLE {table.table} AS SELECT * FROM read_csv(?)",
                [str(source_dir / table.source_file)],
            )
            seconds = time.perf_counter() - started
            ratio = table.seconds / seconds if seconds else 0.0
            print(
                f"baseline {table.table:<16} plain read_csv -> table: {seconds:.2f} s "
                f"({table.rows_in / seconds:,.0f} rows/s); validated ingest takes {ratio:.1f}x"
            )


def main(argv: list[str] | None = None) -> int:
    """Generate (or take) canonical CSV files, ingest them, print rows/s and peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=5_000_000, help="transactions to generate")
    parser.add_argument("--bad-every", type=int, default=10_000, help="0 for a clean file")
    parser.add_argument("--dir", type=Path, default=None, help="ingest these files instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tenure-bench-") as tmp:
        work = Path(tmp)
        source = args.dir
        if source is None:
            source = work / "source"
            started = time.perf_counter()
            counts = generate(source, args.rows, args.bad_every)
            print(f"generated {counts} in {time.perf_counter() - started:.1f} s")
        report = run(source, work)
        baseline(source, work, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
