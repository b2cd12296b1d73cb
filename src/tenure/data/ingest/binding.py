"""Binding a table's mapping to one file's header: the SQL that yields each canonical column.

Every canonical column becomes a VARCHAR expression over the file's columns (empty text counts as
missing), so that mapped and unmapped files go through the same validation. Expressions are parsed
by the warehouse (``json_serialize_sql``), never evaluated in Python; one that reads a column the
file does not have, or does more than compute a value, is refused before any row is read.

The binding also says which of the file's columns feed a personal-data column (``source_pii``),
so that a refused row's source record is quarantined with those pseudonymised, and which columns
feed any column at all (``record_columns``): columns the mapping ignores are left out of the
record, since nothing says what they hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tenure.core.errors import ConfigurationError, ValidationError
from tenure.data.ingest.mapping import ColumnSource, TableMapping
from tenure.data.ingest.ports import Warehouse
from tenure.data.schema import PiiKind, Table

__all__ = ["ColumnBinding", "bind_columns", "quote_ident"]

_FORBIDDEN_NODES = frozenset({"SUBQUERY", "WINDOW", "STAR", "COLUMNS", "LAMBDA"})


@dataclass(frozen=True, slots=True)
class ColumnBinding:
    """Per canonical column: VARCHAR SQL over the file's columns, and any ``strptime`` format."""

    values: dict[str, str]
    formats: dict[str, str]
    source_columns: tuple[str, ...]
    record_columns: tuple[str, ...] = ()
    source_pii: dict[str, PiiKind] = field(default_factory=dict)


def quote_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def bind_columns(
    *,
    table: Table,
    mapping: TableMapping | None,
    header: tuple[str, ...],
    warehouse: Warehouse,
    file_name: str,
    typed_source: bool,
) -> ColumnBinding:
    """Resolve every canonical column against the header; refuse missing and unused columns."""
    mapping = mapping or TableMapping(table.name)
    available = set(header)
    used: set[str] = set()
    values: dict[str, str] = {}
    formats: dict[str, str] = {}
    source_pii: dict[str, PiiKind] = {}
    for column in table.column_names:
        source = mapping.source_for(column)
        key = f"tables.{table.name}"
        sql, reads = _column_sql(column, source, available, warehouse, key, file_name)
        used |= reads
        kind = table.column(column).pii
        if kind is not None:
            for name in sorted(reads):
                source_pii.setdefault(name, kind)
        values[column] = _with_value_map(
            _as_text(sql, typed_source and not source.is_constant), source
        )
        if source.format:
            formats[column] = source.format
    extra = [name for name in header if name not in used and name not in mapping.ignore]
    if extra:
        raise ValidationError(
            f"{file_name}: column {extra[0]!r} is not a column of table {table.name}"
            + (" (map it or list it under ignore)" if mapping.columns else ""),
            field=extra[0],
        )
    record = tuple(name for name in header if name in used)
    return ColumnBinding(values, formats, header, record, source_pii)


def _column_sql(
    column: str,
    source: ColumnSource,
    available: set[str],
    warehouse: Warehouse,
    key: str,
    file_name: str,
) -> tuple[str, set[str]]:
    if source.is_constant:
        return _constant_sql(source.constant), set()
    if source.expression is not None:
        where = f"{key}.expressions.{column}"
        reads = expression_columns(source.expression, warehouse, where)
        unknown = sorted(reads - available)
        if unknown:
            raise ConfigurationError(
                f"mapping {where}: {file_name} has no column {unknown[0]!r}", field=where
            )
        return f"({source.expression})", reads
    name = source.column or column
    if name not in available:
        if source.column is not None:
            where = f"{key}.columns.{column}"
            raise ConfigurationError(
                f"mapping {where}: {file_name} has no column {name!r}", field=where
            )
        raise ValidationError(
            f"{file_name}: table {key.split('.')[1]} needs column {column!r}, the file lacks it",
            field=column,
        )
    return quote_ident(name), {name}


def expression_columns(expression: str, warehouse: Warehouse, where: str) -> set[str]:
    """The source columns a SQL expression reads; refuses anything but a plain expression."""
    (row,) = warehouse.fetch_all("SELECT json_serialize_sql(?)", [f"SELECT {expression}"])
    tree = json.loads(str(row[0]))
    if tree.get("error"):
        message = tree.get("error_message", "cannot parse")
        raise ConfigurationError(f"mapping {where}: {message}", field=where)
    statements = tree.get("statements", [])
    node = statements[0]["node"] if len(statements) == 1 else {}
    if (
        node.get("type") != "SELECT_NODE"
        or len(node.get("select_list", [])) != 1
        or node.get("from_table", {}).get("type") != "EMPTY"
        or any(node.get(k) for k in ("where_clause", "group_expressions", "having"))
    ):
        raise ConfigurationError(f"mapping {where}: must be one SQL expression", field=where)
    columns: set[str] = set()
    for item in _walk(node["select_list"][0]):
        if item.get("class") in _FORBIDDEN_NODES or item.get("type") in _FORBIDDEN_NODES:
            raise ConfigurationError(
                f"mapping {where}: subqueries, windows and * are not allowed", field=where
            )
        if item.get("class") == "COLUMN_REF":
            columns.add(str(item["column_names"][-1]))
    return columns


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _constant_sql(value: object) -> str:
    if value is None:
        return "NULL"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _as_text(sql: str, cast: bool) -> str:
    return f"CAST({sql} AS VARCHAR)" if cast or sql.startswith("(") else sql


def _with_value_map(sql: str, source: ColumnSource) -> str:
    text = f"NULLIF({sql}, '')"
    if not source.values:
        return text
    cases = " ".join(
        f"WHEN {_constant_sql(old)} THEN {_constant_sql(new)}" for old, new in source.values
    )
    return f"CASE {text} {cases} ELSE {text} END"
