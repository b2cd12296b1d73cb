"""Mapping files: how a bank's own extract layout becomes the canonical tables.

A mapping is YAML; per canonical table it names the source file and how each canonical column is
produced: renamed from a source column, derived by a SQL expression over source columns, set to a
constant, parsed with a ``strptime`` format, or translated through a value map. Nothing is
evaluated in Python: expressions run inside the warehouse and are checked before any row is read.
See ``docs/loading-your-data.md``.
"""

from __future__ import annotations

from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from tenure.core.errors import ConfigurationError
from tenure.data.schema import Catalog, Table

__all__ = ["ColumnSource", "IngestMapping", "TableMapping", "load_mapping", "parse_mapping"]

Constant = str | int | float | bool | None
_TABLE_KEYS = frozenset(
    {"file", "columns", "expressions", "constants", "formats", "values", "ignore"}
)


@dataclass(frozen=True, slots=True)
class ColumnSource:
    """How one canonical column is produced; at most one of column / expression / constant."""

    column: str | None = None
    expression: str | None = None
    constant: Constant = None
    is_constant: bool = False
    format: str | None = None
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TableMapping:
    """The mapping of one canonical table."""

    table: str
    file: str | None = None
    columns: dict[str, ColumnSource] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()

    def source_for(self, column: str) -> ColumnSource:
        """The rule for a canonical column (a same-named source column when none is given)."""
        return self.columns.get(column, ColumnSource())


@dataclass(frozen=True, slots=True)
class IngestMapping:
    """A parsed, checked mapping file."""

    tables: dict[str, TableMapping]

    def for_table(self, name: str) -> TableMapping | None:
        """The mapping of a canonical table, if the file maps it."""
        return self.tables.get(name)


def load_mapping(path: Path, *, catalog: Catalog) -> IngestMapping:
    """Read and check a mapping YAML file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read mapping file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"mapping file {path} is not valid YAML: {exc}") from exc
    return parse_mapping(document, catalog=catalog)


def parse_mapping(document: object, *, catalog: Catalog) -> IngestMapping:
    """Check a mapping document (already parsed from YAML) against the catalogue."""
    root = _as_dict(document, "mapping")
    unknown = set(root) - {"version", "tables"}
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise ConfigurationError(f"mapping: unknown key {key!r}", field=key)
    if root.get("version", 1) != 1:
        raise ConfigurationError("mapping: only version 1 is supported", field="version")
    tables: dict[str, TableMapping] = {}
    for name, body in _as_dict(root.get("tables", {}), "tables").items():
        if name not in catalog:
            raise ConfigurationError(
                f"mapping: no table {name!r} in the canonical model", field=name
            )
        tables[name] = _parse_table(catalog[name], _as_dict(body, f"tables.{name}"))
    return IngestMapping(tables)


def _parse_table(table: Table, body: dict[str, Any]) -> TableMapping:
    where = f"tables.{table.name}"
    unknown = set(body) - _TABLE_KEYS
    if unknown:
        key = f"{where}.{sorted(unknown)[0]}"
        raise ConfigurationError(f"mapping: unknown key {key!r}", field=key)
    file = _parse_file(body.get("file"), f"{where}.file")
    producers: dict[str, ColumnSource] = {}
    for kind in ("columns", "expressions", "constants"):
        for column, value in _column_dict(table, body, kind).items():
            key = f"{where}.{kind}.{column}"
            if column in producers:
                raise ConfigurationError(
                    f"mapping: {key} is given more than once (columns, expressions, constants)",
                    field=key,
                )
            producers[column] = _parse_producer(kind, value, key)
    for column, fmt in _column_dict(table, body, "formats").items():
        producers[column] = _with_format(table, column, fmt, producers.get(column), where)
    for column, values in _column_dict(table, body, "values").items():
        producers[column] = _with_values(table, column, values, producers.get(column), where)
    ignore = body.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise ConfigurationError(f"mapping: {where}.ignore must be a list of source columns",
                                 field=f"{where}.ignore")  # fmt: skip
    return TableMapping(table.name, file, producers, tuple(ignore))


def _parse_file(value: object, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"mapping: {key} must be a file name", field=key)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise ConfigurationError(f"mapping: {key} must stay inside the load directory", field=key)
    return value


def _column_dict(table: Table, body: dict[str, Any], kind: str) -> dict[str, Any]:
    where = f"tables.{table.name}.{kind}"
    entries = _as_dict(body.get(kind, {}), where)
    for column in entries:
        if column not in table.column_names:
            key = f"{where}.{column}"
            raise ConfigurationError(
                f"mapping: {key}: table {table.name} has no column {column!r}", field=key
            )
    return entries


def _parse_producer(kind: str, value: object, key: str) -> ColumnSource:
    if kind == "constants":
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ConfigurationError(f"mapping: {key} must be a scalar", field=key)
        return ColumnSource(constant=value, is_constant=True)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"mapping: {key} must be a non-empty string", field=key)
    if kind == "columns":
        return ColumnSource(column=value)
    if ";" in value:
        raise ConfigurationError(f"mapping: {key} must be a single SQL expression", field=key)
    return ColumnSource(expression=value)


def _with_format(
    table: Table, column: str, fmt: object, base: ColumnSource | None, where: str
) -> ColumnSource:
    key = f"{where}.formats.{column}"
    if not table.column(column).type.is_temporal:
        raise ConfigurationError(
            f"mapping: {key}: formats apply to dates and timestamps", field=key
        )
    if not isinstance(fmt, str) or "%" not in fmt:
        raise ConfigurationError(f"mapping: {key} must be a strptime format", field=key)
    source = base or ColumnSource(column=column)
    if source.is_constant:
        raise ConfigurationError(f"mapping: {key}: a constant takes no format", field=key)
    return ColumnSource(source.column, source.expression, None, False, fmt, source.values)


def _with_values(
    table: Table, column: str, values: object, base: ColumnSource | None, where: str
) -> ColumnSource:
    key = f"{where}.values.{column}"
    pairs = _as_dict(values, key)
    allowed = table.column(column).values
    for source_value, target in pairs.items():
        if not isinstance(target, str | bool | int):
            raise ConfigurationError(f"mapping: {key}.{source_value} must be a value", field=key)
        if allowed and str(target) not in allowed:
            raise ConfigurationError(
                f"mapping: {key}.{source_value}: {target!r} is not one of {', '.join(allowed)}",
                field=key,
            )
    source = base or ColumnSource(column=column)
    if source.is_constant:
        raise ConfigurationError(f"mapping: {key}: a constant takes no value map", field=key)
    mapped = tuple((str(k), _text(v)) for k, v in pairs.items())
    return ColumnSource(source.column, source.expression, None, False, source.format, mapped)


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _as_dict(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, AnyMapping):
        raise ConfigurationError(f"mapping: {where} must be a mapping", field=where)
    return {str(k) if isinstance(k, str | int | bool) else repr(k): v for k, v in value.items()}
