"""The ingest service: load a directory of CSV or Parquet files into the warehouse, all or nothing.

For each declared table in load order (parents first) the file is hashed (a file already loaded is
skipped), its header bound to the canonical columns (through the mapping, if any), validated in one
set-based pass, its accepted rows inserted and its refused rows quarantined with a reason. The whole
directory is one transaction: data, quarantine, the ``_ingest_files`` manifest and the
``_ingest_batches`` row commit together, or nothing does.

Personal data goes through the ``protector`` (:mod:`tenure.data.ingest.protection`): its
pseudonym and sealing functions are registered on the warehouse for the length of the load, and
the accepted customers' clear identity is handed to its vault before the warehouse commits (so
the vault holds every customer the warehouse does; a load that then fails leaves identities the
next run writes again, under the same keys).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import ConfigurationError, ValidationError
from tenure.data.ingest.binding import ColumnBinding, bind_columns
from tenure.data.ingest.mapping import IngestMapping
from tenure.data.ingest.ports import QueryFailed, Warehouse
from tenure.data.ingest.protection import IDENTITY_TABLE, PiiProtector, protection_functions
from tenure.data.ingest.quarantine import (
    CODES_TABLE,
    REJECT_LINES_TABLE,
    quarantine_rejects_sql,
    quarantine_rows_sql,
    reject_lines_sql,
)
from tenure.data.ingest.report import IngestProgress, IngestReport, TableReport, TableStatus
from tenure.data.ingest.sources import (
    REJECTS_SCAN,
    REJECTS_TABLE,
    SourceFile,
    SourceFormat,
    SourcePlan,
    discover_sources,
    file_sha256,
    read_header,
    scan_sql,
)
from tenure.data.ingest.validation import (
    CheckPlan,
    describe_sql,
    duplicates_sql,
    identity_sql,
    load_sql,
    plan_checks,
    validate_sql,
)
from tenure.privacy.identity import IDENTITY_FIELDS, CustomerIdentity

__all__ = ["ProgressCallback", "ingest_directory"]

ProgressCallback = Callable[[IngestProgress], None]
_STEPS = ("hashing", "validating", "loading", "quarantining", "done")
_EXAMPLES = 3
_ROWS = f"temp.{CODES_TABLE}"
_IDENTITY_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class _Batch:
    batch_id: str
    at: str
    warehouse: Warehouse
    protector: PiiProtector
    mapping: IngestMapping | None
    progress: ProgressCallback | None

    def tell(self, source: SourceFile, step: str) -> None:
        if self.progress is not None:
            done = _STEPS.index(step) + 1
            self.progress(IngestProgress(source.table.name, source.name, step, done, len(_STEPS)))


def ingest_directory(
    *,
    warehouse: Warehouse,
    source_dir: Path,
    protector: PiiProtector,
    mapping: IngestMapping | None = None,
    progress: ProgressCallback | None = None,
    clock: Clock | None = None,
    batch_id: str | None = None,
) -> IngestReport:
    """Validate and load every canonical file in ``source_dir`` as one all-or-nothing batch,
    personal data pseudonymised (and customers' identity vaulted) by ``protector``."""
    started = time.perf_counter()
    at = (clock or SystemClock()).now().isoformat()
    plan = discover_sources(source_dir, warehouse.catalog, mapping)
    batch = _Batch(batch_id or uuid.uuid4().hex, at, warehouse, protector, mapping, progress)
    try:
        with (
            protection_functions(warehouse, protector),
            _plans_as_written(warehouse),
            warehouse.transaction(),
        ):
            report = _ingest_batch(batch, plan, source_dir, started, clock or SystemClock())
    except _ExpressionFailed as failed:
        raise _explain_failure(batch, failed.source, failed.header) from failed.__cause__
    _drop_scratch(warehouse)
    return report


@contextmanager
def _plans_as_written(warehouse: Warehouse) -> Iterator[None]:
    """Keep hash joins building on the parent side, and let loads stream without ordering.

    DuckDB cannot estimate a CSV scan's size (it guesses a few dozen rows), so it would build the
    hash table on the millions of file rows instead of on the parent table's keys.
    """
    warehouse.execute("SET disabled_optimizers = 'build_side_probe_side'")
    # Row order inside a table carries no meaning (quarantine keeps file line numbers), and
    # keeping it makes DuckDB buffer whole files: a 1 M customer bank ran out of 6 GB with it.
    warehouse.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        warehouse.execute("RESET disabled_optimizers")
        warehouse.execute("RESET preserve_insertion_order")


class _ExpressionFailed(Exception):
    """The validation query failed; explained once the transaction has rolled back."""

    def __init__(self, source: SourceFile, header: tuple[str, ...]) -> None:
        super().__init__(source.name)
        self.source = source
        self.header = header


def _ingest_batch(
    batch: _Batch, plan: SourcePlan, source_dir: Path, started: float, clock: Clock
) -> IngestReport:
    by_table = {source.table.name: _ingest_file(batch, source) for source in plan.files}
    catalog = batch.warehouse.catalog
    report = IngestReport(
        batch.batch_id,
        str(source_dir),
        tuple(by_table.get(t.name, TableReport(t.name, TableStatus.NOT_PRESENT)) for t in catalog),
        plan.unknown,
        time.perf_counter() - started,
    )
    _record_batch(batch, report, at_end=clock.now().isoformat())
    return report


def _ingest_file(batch: _Batch, source: SourceFile) -> TableReport:
    started = time.perf_counter()
    warehouse = batch.warehouse
    batch.tell(source, "hashing")
    sha256 = file_sha256(source.path)
    seen = warehouse.fetch_all(
        "SELECT count(*) FROM _ingest_files WHERE table_name = ? AND sha256 = ?",
        [source.table.name, sha256],
    )
    if seen[0][0]:
        batch.tell(source, "done")
        return TableReport(source.table.name, TableStatus.ALREADY_LOADED, source.name)
    header = read_header(source, warehouse)
    binding = bind_columns(
        table=source.table,
        mapping=batch.mapping.for_table(source.table.name) if batch.mapping else None,
        header=header,
        warehouse=warehouse,
        file_name=source.name,
        typed_source=source.format is SourceFormat.PARQUET,
    )
    checks = plan_checks(source.table, binding)
    report = _load_rows(batch, source, header, binding, checks)
    if source.table.name == IDENTITY_TABLE and report.loaded:
        _keep_identities(batch, source, header, binding)
    report = TableReport(
        report.table, report.status, report.source_file, report.rows_in, report.loaded,
        report.quarantined, report.examples, time.perf_counter() - started,
    )  # fmt: skip
    _record_file(batch, report, sha256)
    batch.tell(source, "done")
    return report


@dataclass(frozen=True, slots=True)
class _Validated:
    """What validation found: rows parsed, rows refused, lines the reader rejected."""

    parsed: int
    refused: int
    rejected: int


def _load_rows(
    batch: _Batch,
    source: SourceFile,
    header: tuple[str, ...],
    binding: ColumnBinding,
    checks: CheckPlan,
) -> TableReport:
    warehouse = batch.warehouse
    batch.tell(source, "validating")
    found = _validate(batch, source, header, binding, checks)
    batch.tell(source, "loading")
    loaded = warehouse.execute(load_sql(source.table, rows=_ROWS))
    if loaded != found.parsed - found.refused:
        raise AssertionError(f"{source.name}: loaded {loaded} of {found.parsed - found.refused}")
    batch.tell(source, "quarantining")
    quarantined = _quarantine(batch, source, checks, found)
    return TableReport(
        source.table.name,
        TableStatus.LOADED,
        source.name,
        rows_in=found.parsed + found.rejected,
        loaded=loaded,
        quarantined=quarantined,
        examples=_examples(batch, source) if quarantined else (),
    )


def _keep_identities(
    batch: _Batch, source: SourceFile, header: tuple[str, ...], binding: ColumnBinding
) -> None:
    """Hand the accepted customers' clear identity to the vault, re-read from the file."""
    table = source.table
    (key,) = table.primary_key
    sql = identity_sql(
        table,
        binding,
        (key, *IDENTITY_FIELDS),
        rows=_ROWS,
        scan=scan_sql(source, header, store_rejects=False),
        ordinal=_ordinal(source),
    )
    for rows in batch.warehouse.stream(sql, batch_rows=_IDENTITY_ROWS):
        batch.protector.keep_identities([CustomerIdentity(*row) for row in rows])


def _ordinal(source: SourceFile) -> str:
    return "file_row_number" if source.format is SourceFormat.PARQUET else "row_number() OVER ()"


def _validate(
    batch: _Batch,
    source: SourceFile,
    header: tuple[str, ...],
    binding: ColumnBinding,
    checks: CheckPlan,
) -> _Validated:
    """Materialise every row, typed, with its ordinal and the code of its first failed check."""
    warehouse = batch.warehouse
    for name in (REJECTS_TABLE, REJECTS_SCAN):
        warehouse.drop_scratch(name)
    scan = scan_sql(source, header, store_rejects=True)
    query = validate_sql(source.table, binding, checks, scan=scan, ordinal=_ordinal(source))
    try:
        warehouse.materialize(CODES_TABLE, query)
    except QueryFailed as exc:
        raise _ExpressionFailed(source, header) from exc
    _mark_duplicates(batch, source, header, binding, checks)
    ((parsed, refused),) = warehouse.fetch_all(
        f"SELECT count(*), count(*) FILTER (WHERE __code > 0) FROM {_ROWS}"
    )
    rejected = 0
    if source.format is SourceFormat.CSV:
        ((rejected,),) = warehouse.fetch_all(
            f"SELECT count(DISTINCT line) FROM temp.{REJECTS_TABLE}"
        )
    return _Validated(int(parsed), int(refused), int(rejected))


def _mark_duplicates(
    batch: _Batch,
    source: SourceFile,
    header: tuple[str, ...],
    binding: ColumnBinding,
    checks: CheckPlan,
) -> None:
    """Fail repeated keys; re-read the text of the (rare) rows that failed nothing else."""
    warehouse = batch.warehouse
    if not warehouse.execute(duplicates_sql(source.table, checks, rows=_ROWS)):
        return
    ((undescribed,),) = warehouse.fetch_all(
        f"SELECT count(*) FROM {_ROWS} WHERE __code > 0 AND __raw IS NULL"
    )
    if not undescribed:
        return
    scan = scan_sql(source, header, store_rejects=False)
    describe = describe_sql(source.table, binding, rows=_ROWS, scan=scan, ordinal=_ordinal(source))
    warehouse.execute(describe)


def _explain_failure(batch: _Batch, source: SourceFile, header: tuple[str, ...]) -> Exception:
    """Name the mapping expression that failed on some row, without quoting the row."""
    table_mapping = batch.mapping.for_table(source.table.name) if batch.mapping else None
    scan = scan_sql(source, header, store_rejects=False)
    for column, rule in table_mapping.columns.items() if table_mapping else ():
        if rule.expression is None:
            continue
        try:
            batch.warehouse.fetch_all(f"SELECT count({rule.expression}) FROM {scan}")
        except QueryFailed:
            where = f"tables.{source.table.name}.expressions.{column}"
            return ConfigurationError(
                f"mapping {where}: the expression fails on some rows of {source.name}; "
                "use TRY_CAST so that bad values are quarantined instead",
                field=where,
            )
    return ValidationError(f"{source.name}: the file cannot be read", field=source.table.name)


def _quarantine(batch: _Batch, source: SourceFile, checks: CheckPlan, found: _Validated) -> int:
    warehouse = batch.warehouse
    params = [batch.batch_id, batch.at]
    written = 0
    if found.refused:
        if found.rejected:
            warehouse.materialize(REJECT_LINES_TABLE, reject_lines_sql())
        sql = quarantine_rows_sql(source, checks, with_rejects=found.rejected > 0)
        written += warehouse.execute(sql, params)
    if found.rejected:
        written += warehouse.execute(quarantine_rejects_sql(source), params)
    expected = found.refused + found.rejected
    if written != expected:
        raise AssertionError(f"{source.name}: quarantined {written} of {expected}")
    return written


def _examples(batch: _Batch, source: SourceFile) -> tuple[str, ...]:
    rows = batch.warehouse.fetch_all(
        "SELECT source_file, line, reason FROM quarantine WHERE batch_id = ? AND table_name = ? "
        f"ORDER BY line LIMIT {_EXAMPLES}",
        [batch.batch_id, source.table.name],
    )
    return tuple(f"{source.line_kind} {line}: {reason}" for _, line, reason in rows)


def _record_file(batch: _Batch, report: TableReport, sha256: str) -> None:
    batch.warehouse.execute(
        "INSERT INTO _ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMPTZ))",
        [
            batch.batch_id,
            report.table,
            report.source_file,
            sha256,
            report.rows_in,
            report.loaded,
            report.quarantined,
            batch.at,
        ],
    )


def _record_batch(batch: _Batch, report: IngestReport, *, at_end: str) -> None:
    batch.warehouse.execute(
        "INSERT INTO _ingest_batches VALUES "
        "(?, ?, CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ), ?, ?, ?)",
        [
            batch.batch_id,
            report.source_dir,
            batch.at,
            at_end,
            report.rows_in,
            report.loaded,
            report.quarantined,
        ],
    )


def _drop_scratch(warehouse: Warehouse) -> None:
    for name in (CODES_TABLE, REJECT_LINES_TABLE, REJECTS_TABLE, REJECTS_SCAN):
        warehouse.drop_scratch(name)
