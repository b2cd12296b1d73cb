"""Refused rows: the SQL that writes them to the ``quarantine`` table with line, field and reason.

Two kinds of rows land there. Rows that parsed but broke a rule carry the code of their first
failing check (see :mod:`tenure.data.ingest.validation`), turned here into a field and a reason.
Lines the CSV reader could not split into the header's columns (wrong field count, bad quoting,
bad encoding) come from DuckDB's ``reject_errors`` table. ``line`` is the line in the CSV file,
counting the header as line 1 (a value with an embedded line break counts as one line), or the
0-based row index in a Parquet file.

No clear personal data is quarantined. ``raw_record`` holds a refused row's source record as JSON
with every column that feeds a ``pii=`` column pseudonymised (columns the mapping ignores are left
out); a line the reader could not split is kept sealed whole, ``{"csv_line_sealed": "q1:..."}``,
since which of its pieces are personal data cannot be told (``KeyedPiiProtector.open_line`` opens
it). Reasons name fields and rules, and quote values only of columns that are not personal data.
"""

from __future__ import annotations

from tenure.data.ingest.protection import SEAL_FUNCTION
from tenure.data.ingest.sources import REJECTS_TABLE, SourceFile, SourceFormat, sql_literal
from tenure.data.ingest.validation import CheckPlan

__all__ = [
    "CODES_TABLE",
    "REJECT_LINES_TABLE",
    "quarantine_query",
    "quarantine_rejects_sql",
    "quarantine_rows_sql",
    "reject_lines_sql",
]

CODES_TABLE = "__ingest_codes"
REJECT_LINES_TABLE = "__ingest_reject_lines"
_COLUMNS = "batch_id, table_name, source_file, line, field, reason, raw_record, quarantined_at"
_STRUCTURAL = {
    "TOO MANY COLUMNS": "the line has more fields than the header",
    "MISSING COLUMNS": "the line has fewer fields than the header",
    "UNQUOTED VALUE": "a value is badly quoted",
    "INVALID ENCODING": "the line is not valid UTF-8",
    "INVALID UNICODE": "the line is not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": "the line is too long",
}


def quarantine_query(batch_id: str) -> str:
    """The SQL an analyst runs to read one batch's quarantine."""
    return (
        "SELECT table_name, source_file, line, field, reason, raw_record FROM quarantine "
        f"WHERE batch_id = {sql_literal(batch_id)} ORDER BY table_name, line"
    )


def reject_lines_sql() -> str:
    """Per rejected CSV line: how many good rows precede it, and how many rejected lines so far."""
    return (
        "SELECT line - n - 1 AS good_before, max(n) AS n FROM ("
        "SELECT line, row_number() OVER (ORDER BY line) AS n "
        f"FROM (SELECT DISTINCT line FROM temp.{REJECTS_TABLE})) GROUP BY ALL"
    )


def _line_sql(source: SourceFile, ordinal: str, join: str, *, with_rejects: bool) -> str:
    if source.format is SourceFormat.PARQUET:
        return ordinal
    if not with_rejects:
        return f"({ordinal} + 1)"
    return f"({ordinal} + 1 + coalesce({join}.n, 0))"


def quarantine_rows_sql(source: SourceFile, plan: CheckPlan, *, with_rejects: bool) -> str:
    """``INSERT`` of the rows that failed a check; parameters: batch id, timestamp."""
    line = _line_sql(source, "q.__ord", "r1", with_rejects=with_rejects)
    first = _line_sql(source, "q.__first", "r2", with_rejects=with_rejects)
    asof = (
        f" ASOF LEFT JOIN temp.{REJECT_LINES_TABLE} r1 ON q.__ord > r1.good_before"
        f" ASOF LEFT JOIN temp.{REJECT_LINES_TABLE} r2 ON q.__first > r2.good_before"
        if with_rejects and source.format is SourceFormat.CSV
        else ""
    )
    fields = " ".join(f"WHEN {c.code} THEN {sql_literal(c.field)}" for c in plan.all)
    reasons = " ".join(f"WHEN {c.code} THEN {c.reason}" for c in plan.all)
    return (
        f"INSERT INTO quarantine ({_COLUMNS}) "
        f"SELECT ?, {sql_literal(source.table.name)}, {sql_literal(source.name)}, __line, "
        f"CASE __code {fields} END, CASE __code {reasons} END, __raw, CAST(? AS TIMESTAMPTZ) "
        f"FROM (SELECT q.*, {line} AS __line, "
        f"{sql_literal(source.line_kind + ' ')} || {first} AS __first_line "
        f"FROM (SELECT __ord, __code, __first, __raw, unnest(__bad) "
        f"FROM temp.{CODES_TABLE} WHERE __code > 0) q{asof})"
    )


def quarantine_rejects_sql(source: SourceFile) -> str:
    """``INSERT`` of the CSV lines the reader refused; parameters: batch id, timestamp."""
    reasons = " ".join(
        f"WHEN {sql_literal(kind)} THEN {sql_literal(text)}" for kind, text in _STRUCTURAL.items()
    )
    return (
        f"INSERT INTO quarantine ({_COLUMNS}) "
        f"SELECT ?, {sql_literal(source.table.name)}, {sql_literal(source.name)}, line, field, "
        f"coalesce(field || ': ', '') || CASE error_type {reasons} "
        f"ELSE lower(CAST(error_type AS VARCHAR)) END, "
        f"CAST(to_json({{'csv_line_sealed': {SEAL_FUNCTION}(csv_line)}}) AS VARCHAR), "
        "CAST(? AS TIMESTAMPTZ) "
        f"FROM (SELECT line, arg_min(column_name, column_idx) AS field, "
        f"arg_min(CAST(error_type AS VARCHAR), column_idx) AS error_type, "
        f"arg_min(csv_line, column_idx) AS csv_line FROM temp.{REJECTS_TABLE} GROUP BY line)"
    )
