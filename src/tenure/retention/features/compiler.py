"""Compile the feature catalogue into one point-in-time SQL query per snapshot.

The query is a customer spine (customers opened before the snapshot and not closed before it)
LEFT JOINed to one aggregate block per source, then derived features in an outer SELECT. The
point-in-time rule lives here and only here: every block keeps the rows whose time column is
strictly before the snapshot. Sources whose tables are absent are skipped and their features take
their ``fill`` value. The SQL is DuckDB's, in a subset that :func:`to_spark_sql` transpiles.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

import sqlglot

from tenure.retention.features.catalogue import FEATURES, SOURCES, SPINE
from tenure.retention.features.definitions import FeatureDefinition, Source

__all__ = [
    "compile_features",
    "expand",
    "feature_columns",
    "referenced_features",
    "required_tables",
    "to_spark_sql",
]

_PLACEHOLDER = re.compile(r"\{(as_of(?:_date)?)(?:_(minus|plus)_(\d+)d)?\}|\{as_of_(epoch|year)\}")
_MACRO = re.compile(r"\b(DAYS_SINCE|LATEST|SORT_KEY)\(")


def _utc(as_of: datetime) -> datetime:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    return as_of.astimezone(UTC)


def _literal(match: re.Match[str], as_of: datetime) -> str:
    if match.group(4) == "epoch":
        return str(int(as_of.timestamp())) if as_of.microsecond == 0 else repr(as_of.timestamp())
    if match.group(4) == "year":
        return str(as_of.year)
    days = int(match.group(3) or 0) * (-1 if match.group(2) == "minus" else 1)
    moment = as_of + timedelta(days=days)
    if match.group(1) == "as_of_date":
        return f"CAST('{moment.date().isoformat()}' AS DATE)"
    return f"CAST('{moment.isoformat(sep=' ')}' AS TIMESTAMPTZ)"


def _arguments(text: str, start: int) -> tuple[list[str], int]:
    """Split the call's arguments at top-level commas; returns them and the index after ')'."""
    depth, begin, parts = 0, start, []
    for i in range(start, len(text)):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")" and depth == 0:
            parts.append(text[begin:i].strip())
            return parts, i + 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[begin:i].strip())
            begin = i + 1
    raise ValueError(f"unbalanced parentheses in {text!r}")


def _macro(name: str, args: list[str]) -> str:
    if name == "DAYS_SINCE" and len(args) == 1:
        return f"(({{as_of_epoch}} - EPOCH({args[0]})) / 86400.0)"
    if name == "SORT_KEY" and len(args) == 2:
        # Milliseconds, then three digits of the id's hash: a numeric key (fast to aggregate)
        # that orders rows of the same millisecond deterministically.
        at, key = args
        return (
            f"(CAST(FLOOR(EPOCH({at}) * 1000) AS BIGINT) * 1000 "
            f"+ CAST(ABS(HASH({key}) % 1000) AS BIGINT))"
        )
    if name == "LATEST" and len(args) == 3:
        value, at, key = args
        return f"ARG_MAX({value}, {_macro('SORT_KEY', [at, key])})"
    raise ValueError(f"bad use of macro {name} with {len(args)} arguments")


def _expand_macros(sql: str) -> str:
    while match := _MACRO.search(sql):
        args, end = _arguments(sql, match.end())
        args = [_expand_macros(a) for a in args]
        sql = sql[: match.start()] + _macro(match.group(1), args) + sql[end:]
    return sql


def expand(sql: str, as_of: datetime) -> str:
    """Expand macros and fill in time placeholders for the snapshot ``as_of``."""
    moment = _utc(as_of)
    filled = _PLACEHOLDER.sub(lambda m: _literal(m, moment), _expand_macros(sql))
    if "{" in filled:
        raise ValueError(f"unknown placeholder in {sql!r}")
    return filled


def required_tables() -> frozenset[str]:
    """Every warehouse table some source reads."""
    return frozenset(t for s in SOURCES.values() for t in s.tables)


def feature_columns() -> tuple[FeatureDefinition, ...]:
    """The feature columns of a snapshot, in output order (after snapshot_at, customer_id)."""
    return FEATURES


def referenced_features(definition: FeatureDefinition) -> frozenset[str]:
    """Names a derived feature's expression refers to."""
    tree = sqlglot.parse_one(definition.expression, read="duckdb")
    return frozenset(c.name for c in tree.find_all(sqlglot.exp.Column))


def _quote_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _spine(customers: Sequence[str] | None) -> str:
    attributes = "".join(
        f", {f.expression} AS {f.name}"
        for f in FEATURES
        if f.source == SPINE and f.kind != "derived"
    )
    where = "opened_at < {as_of} AND (closed_at IS NULL OR closed_at >= {as_of})"
    if customers is not None:
        listed = ", ".join(_quote_text(c) for c in customers) or "NULL"
        where += f" AND customer_id IN ({listed})"
    return f"SELECT customer_id{attributes} FROM {SOURCES[SPINE].from_item} WHERE {where}"


def _block(source: Source, features: Sequence[FeatureDefinition]) -> str:
    """One source's aggregates per customer, over its rows before the snapshot."""
    aggregates = ", ".join(f"{f.expression} AS {f.name}" for f in features)
    where = f"WHERE {source.time_column} < {{as_of}}"
    if not source.grain:
        return (
            f"SELECT customer_id, {aggregates} FROM {source.from_item} AS s {where} "
            "GROUP BY customer_id"
        )
    keys = ", ".join(("customer_id", *source.grain))
    pre = ", ".join(f"{expression} AS {alias}" for alias, expression in source.pre_aggregates)
    inner = f"SELECT {keys}, {pre} FROM {source.from_item} AS s {where} GROUP BY {keys}"
    return f"SELECT customer_id, {aggregates} FROM ({inner}) AS g GROUP BY customer_id"


def _filled(feature: FeatureDefinition, column: str | None) -> str:
    fill = "NULL" if feature.fill is None else str(feature.fill)
    if column is None:
        return f"CAST({fill} AS {feature.sql_type}) AS {feature.name}"
    if feature.fill is None:
        return f"{column} AS {feature.name}"
    return f"COALESCE({column}, {fill}) AS {feature.name}"


def _blocks(available: Collection[str] | None) -> tuple[list[str], list[str], list[str]]:
    """CTEs, base columns and joins for every non-spine source."""
    ctes: list[str] = []
    columns: list[str] = [f"spine.{f.name}" for f in FEATURES if f.source == SPINE]
    joins: list[str] = []
    for name, source in SOURCES.items():
        features = [f for f in FEATURES if f.source == name and f.kind != "derived"]
        if name == SPINE or not features:
            continue
        present = available is None or all(t in available for t in source.tables)
        alias = f"src_{name}"
        if present:
            ctes.append(f"{alias} AS ({_block(source, features)})")
            joins.append(f"LEFT JOIN {alias} ON {alias}.customer_id = spine.customer_id")
        columns += [_filled(f, f"{alias}.{f.name}" if present else None) for f in features]
    return ctes, columns, joins


def _output(feature: FeatureDefinition) -> str:
    value = feature.expression if feature.kind == "derived" else feature.name
    if feature.fill is not None:
        value = f"COALESCE({value}, {feature.fill})"
    return f"CAST({value} AS {feature.sql_type}) AS {feature.name}"


def compile_features(
    as_of: datetime,
    *,
    dialect: str = "duckdb",
    available_tables: Collection[str] | None = None,
    customers: Sequence[str] | None = None,
) -> str:
    """One query: a row per customer open at ``as_of``, with every feature as of that instant.

    ``available_tables`` lists the warehouse's tables (sources needing others are skipped; None
    assumes all are there); ``customers`` restricts the spine to those ids.
    """
    ctes, columns, joins = _blocks(
        None if available_tables is None else {t.lower() for t in available_tables}
    )
    base = f"SELECT spine.customer_id, {', '.join(columns)} FROM spine {' '.join(joins)}"
    outputs = [_output(f) for f in FEATURES]
    sql = (
        f"WITH spine AS ({_spine(customers)}), {''.join(c + ', ' for c in ctes)}"
        f"base AS ({base}) SELECT {{as_of}} AS snapshot_at, customer_id, {', '.join(outputs)} "
        "FROM base ORDER BY customer_id"
    )
    sql = expand(sql, as_of)
    if dialect == "duckdb":
        return sql
    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


def to_spark_sql(
    as_of: datetime,
    *,
    available_tables: Collection[str] | None = None,
    customers: Sequence[str] | None = None,
) -> str:
    """The snapshot query in Spark SQL, transpiled by SQLGlot from the DuckDB one."""
    return compile_features(
        as_of, dialect="spark", available_tables=available_tables, customers=customers
    )
