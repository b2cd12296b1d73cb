"""Append chunk tables to one CSV or Parquet file per table (labels and truth in ``truth/``)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tenure.data.catalog import canonical_catalog
from tenure.data.schema import Group
from tenure.data.simulator.config import FileFormat
from tenure.data.simulator.formatting import iso_timestamps
from tenure.data.simulator.tables import arrow_schema

__all__ = ["TRUTH_DIR", "TableFiles", "csv_view", "table_path"]

TRUTH_DIR = "truth"


def table_path(out: Path, name: str, fmt: FileFormat) -> Path:
    """Where the file of table ``name`` goes."""
    table = canonical_catalog()[name]
    folder = out if table.group is Group.INPUT else out / TRUTH_DIR
    return folder / f"{table.file_stem}.{fmt}"


def csv_view(table: pa.Table) -> pa.Table:
    """The same table with timestamps as ISO 8601 UTC strings (``2025-03-04T10:22:13Z``)."""
    columns, fields = [], []
    for column, field in zip(table.columns, table.schema, strict=True):
        if pa.types.is_timestamp(field.type):
            column = iso_timestamps(column.combine_chunks())
            field = pa.field(field.name, pa.string(), nullable=field.nullable)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


class TableFiles:
    """Open writers for every table; ``write`` appends one chunk's tables."""

    def __init__(self, out: Path, fmt: FileFormat) -> None:
        self._fmt = fmt
        self._writers: dict[str, pa_csv.CSVWriter | pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}
        for table in canonical_catalog():
            path = table_path(out, table.name, fmt)
            path.parent.mkdir(parents=True, exist_ok=True)
            schema = arrow_schema(table)
            if fmt == "csv":
                schema = csv_view(schema.empty_table()).schema
                self._writers[table.name] = pa_csv.CSVWriter(str(path), schema)
            else:
                self._writers[table.name] = pq.ParquetWriter(str(path), schema, compression="zstd")
            self.rows[table.name] = 0

    def write(self, tables: dict[str, pa.Table]) -> None:
        """Append each table to its file."""
        for name, table in tables.items():
            if table.num_rows == 0:
                continue
            data = csv_view(table) if self._fmt == "csv" else table
            self._writers[name].write_table(data)
            self.rows[name] += table.num_rows

    def close(self) -> None:
        """Finish every file."""
        for writer in self._writers.values():
            writer.close()

    def __enter__(self) -> TableFiles:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
