"""Builders of small, valid canonical files (CSV or Parquet) derived from the catalogue."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from tenure.data.catalog import canonical_catalog
from tenure.data.schema import Column, ColumnType, Group, Table

__all__ = ["canonical_rows", "row_id", "write_canonical_dir", "write_csv", "write_table"]

TIMESTAMP = "2024-03-01T08:{minute:02d}:{second:02d}Z"


def row_id(table: Table, i: int) -> str:
    """The identifier the builders give row ``i`` of a table with a one-column key."""
    return f"{table.name[:3].upper()}{i}"


def _value(table: Table, column: Column, i: int, parents: dict[str, int]) -> str:
    if column.references is not None:
        parent = canonical_catalog()[column.referenced_table or ""]
        count = parents.get(parent.name, 1)
        return row_id(parent, i % count) if count else ""
    if column.type is ColumnType.ID:
        return row_id(table, i)
    if column.type is ColumnType.ENUM:
        return column.values[0]
    if column.type in (ColumnType.INT, ColumnType.MONEY):
        low = int(column.minimum or 0)
        high = int(column.maximum) if column.maximum is not None else low + 1000
        return str(low + i % (high - low + 1))
    if column.type is ColumnType.FLOAT:
        low = float(column.minimum or 0.0)
        high = float(column.maximum) if column.maximum is not None else low + 1.0
        return str(low + (high - low) / 2)
    if column.type is ColumnType.BOOL:
        return "true" if i % 2 else "false"
    if column.type is ColumnType.DATE:
        return "2026-06-30"
    if column.type is ColumnType.TIMESTAMP:
        return TIMESTAMP.format(minute=i // 60 % 60, second=i % 60)
    return f"{column.name} {i}"


def canonical_rows(
    table: Table, n: int, *, parents: dict[str, int] | None = None
) -> list[dict[str, str]]:
    """``n`` valid rows of a table; foreign keys point at rows ``i % parents[table]``."""
    counts = parents or {}
    return [{c.name: _value(table, c, i, counts) for c in table.columns} for i in range(n)]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    """Write a CSV file (rows may be ragged, to build broken files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_table(
    directory: Path, table: Table, rows: list[dict[str, str]], *, fmt: str = "csv"
) -> Path:
    """Write rows of one table where ingest looks for it (``truth/`` for simulator truth)."""
    folder = directory / "truth" if table.group is Group.TRUTH else directory
    csv_path = write_csv(
        folder / f"{table.file_stem}.csv",
        table.column_names,
        ([row.get(c, "") for c in table.column_names] for row in rows),
    )
    if fmt == "csv":
        return csv_path
    parquet_path = csv_path.with_suffix(".parquet")
    casts = ", ".join(
        f'CAST(NULLIF("{c.name}", \'\') AS {c.type.duckdb_type}) AS "{c.name}"'
        for c in table.columns
    )
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"COPY (SELECT {casts} FROM read_csv(?, all_varchar = true, header = true)) "
            f"TO '{parquet_path}' (FORMAT parquet)",
            [str(csv_path)],
        )
    csv_path.unlink()
    return parquet_path


def write_canonical_dir(
    directory: Path,
    *,
    rows: int = 5,
    tables: Iterable[str] | None = None,
    fmt: str = "csv",
) -> Path:
    """Write ``rows`` valid rows for each named table (default: every table) into ``directory``."""
    catalog = canonical_catalog()
    names = list(tables) if tables is not None else [t.name for t in catalog]
    parents = {t.name: rows for t in catalog}
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_table(
            directory, catalog[name], canonical_rows(catalog[name], rows, parents=parents), fmt=fmt
        )
    return directory
