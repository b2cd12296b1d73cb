"""Finding the files to load in a directory, reading their headers, and the SQL that scans them."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tenure.core.errors import ValidationError
from tenure.data.ingest.mapping import IngestMapping
from tenure.data.ingest.ports import Warehouse
from tenure.data.schema import Catalog, Table

__all__ = [
    "REJECTS_SCAN",
    "REJECTS_TABLE",
    "SourceFile",
    "SourceFormat",
    "SourcePlan",
    "discover_sources",
    "file_sha256",
    "read_header",
    "scan_sql",
    "sql_literal",
]

REJECTS_TABLE = "__ingest_reject_errors"
REJECTS_SCAN = "__ingest_reject_scans"
TRUTH_DIR = "truth"


class SourceFormat(StrEnum):
    """File formats ingest reads."""

    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file to load into one canonical table."""

    table: Table
    path: Path
    format: SourceFormat
    name: str

    @property
    def line_kind(self) -> str:
        """What the quarantine's ``line`` means for this file."""
        return "line" if self.format is SourceFormat.CSV else "row"


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """What a directory holds: files to load (in load order), absent tables, unknown files."""

    files: tuple[SourceFile, ...]
    missing: tuple[str, ...]
    unknown: tuple[str, ...]


def discover_sources(
    source_dir: Path, catalog: Catalog, mapping: IngestMapping | None = None
) -> SourcePlan:
    """Match files in ``source_dir`` (and its ``truth/``) to catalogue tables, in load order."""
    if not source_dir.is_dir():
        raise ValidationError(f"{source_dir} is not a directory", field="source_dir")
    files: list[SourceFile] = []
    missing: list[str] = []
    for table in catalog:
        found = _find_file(source_dir, table, mapping)
        if found is None:
            missing.append(table.name)
        else:
            files.append(found)
    claimed = {f.path.resolve() for f in files}
    candidates = [*source_dir.iterdir()]
    if (source_dir / TRUTH_DIR).is_dir():
        candidates += [*(source_dir / TRUTH_DIR).iterdir()]
    unknown = sorted(
        p.relative_to(source_dir).as_posix()
        for p in candidates
        if p.is_file() and not p.name.startswith(".") and p.resolve() not in claimed
    )
    return SourcePlan(tuple(files), tuple(missing), tuple(unknown))


def _find_file(source_dir: Path, table: Table, mapping: IngestMapping | None) -> SourceFile | None:
    table_mapping = mapping.for_table(table.name) if mapping else None
    if table_mapping is not None and table_mapping.file is not None:
        named = [source_dir / table_mapping.file]
    else:
        named = [
            folder / f"{table.file_stem}.{fmt.value}"
            for folder in (source_dir, source_dir / TRUTH_DIR)
            for fmt in SourceFormat
        ]
    present = [p for p in named if p.is_file()]
    if len(present) > 1:
        shown = ", ".join(p.relative_to(source_dir).as_posix() for p in present)
        raise ValidationError(f"table {table.name}: more than one file ({shown})", field=table.name)
    if not present:
        return None
    path = present[0]
    suffix = path.suffix.lower().lstrip(".")
    fmt = SourceFormat.PARQUET if suffix in {"parquet", "pq"} else SourceFormat.CSV
    return SourceFile(table, path, fmt, path.relative_to(source_dir).as_posix())


def read_header(source: SourceFile, warehouse: Warehouse) -> tuple[str, ...]:
    """The column names of a file, in file order; a clear error when it has none or repeats."""
    if source.format is SourceFormat.PARQUET:
        rows = warehouse.fetch_all(
            f"SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet({_path(source)}))"
        )
        header = tuple(str(r[0]) for r in rows)
    else:
        with source.path.open(encoding="utf-8-sig", newline="") as handle:
            header = tuple(next(csv.reader(handle), []))
    if not header:
        raise ValidationError(
            f"{source.name}: the file has no header line", field=source.table.name
        )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ValidationError(
                f"{source.name}: column {name!r} appears twice in the header", field=name
            )
        seen.add(name)
    return header


def scan_sql(source: SourceFile, header: tuple[str, ...], *, store_rejects: bool) -> str:
    """A relation over the file: every CSV column as VARCHAR, Parquet with its row index."""
    if source.format is SourceFormat.PARQUET:
        return f"read_parquet({_path(source)}, file_row_number = true)"
    columns = ", ".join(f"{sql_literal(name)}: 'VARCHAR'" for name in header)
    rejects = (
        f", store_rejects = true, rejects_table = '{REJECTS_TABLE}', "
        f"rejects_scan = '{REJECTS_SCAN}'"
        if store_rejects
        else ""
    )
    return (
        f"read_csv({_path(source)}, header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = ',', quote = '\"', escape = '\"', "
        f"ignore_errors = true{rejects})"
    )


def file_sha256(path: Path) -> str:
    """The content hash that identifies a file already loaded."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def sql_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _path(source: SourceFile) -> str:
    return sql_literal(str(source.path))
