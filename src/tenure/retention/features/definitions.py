"""The vocabulary of point-in-time features: a source block, a feature definition, units.

A feature is written once, as portable SQL (the subset of DuckDB SQL that SQLGlot transpiles to
Spark SQL): aggregates with ``FILTER (WHERE ...)``, ``CASE``, ``COALESCE``, ``NULLIF``,
arithmetic and ``EPOCH``. Time enters only through placeholders the compiler fills in:

- ``{as_of}``: the snapshot instant (TIMESTAMPTZ literal); ``{as_of_minus_30d}``,
  ``{as_of_plus_30d}``: the instant moved by whole days;
- ``{as_of_date}``, ``{as_of_date_plus_30d}``: DATE literals, for DATE columns;
- ``{as_of_epoch}``: the instant in epoch seconds; ``{as_of_year}``: its calendar year;

and through two macros:

- ``DAYS_SINCE(x)``: days (fractional) from the instant ``x`` to the snapshot;
- ``LATEST(value, at, id)``: ``value`` of the row with the latest ``at`` (ties broken by ``id``);
- ``SORT_KEY(at, id)``: a numeric key ordering rows by ``at`` to the millisecond, then by a hash
  of ``id``, for ``ARG_MAX`` / ``ARG_MIN``.

Window convention: an ``Nd`` window is ``[as_of - N days, as_of)``; an event exactly at
``as_of`` is never seen (the compiler keeps only rows strictly before it) and one exactly
``N`` days before is inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FeatureDefinition",
    "Kind",
    "Source",
    "Unit",
    "counted",
    "derived",
    "periods_with",
    "summed",
    "window",
]

Kind = Literal["aggregate", "attribute", "derived"]
Unit = Literal[
    "count",
    "flag",
    "minor units",
    "minor units per day",
    "ratio",
    "days",
    "years",
    "score",
    "rank",
    "ms",
]

_INTEGER_UNITS: frozenset[str] = frozenset({"count", "flag", "minor units", "rank"})


@dataclass(frozen=True, slots=True)
class Source:
    """A per-customer aggregate block: the rows one group of features is computed from.

    ``relation`` is the FROM item (a table name or a parenthesised query; placeholders allowed);
    ``columns`` are row-level (alias, expression) pairs computed once per row, so that the many
    features filtering on the same condition do not each evaluate it. The compiler keeps only
    rows whose ``time_column`` is before the snapshot. With a ``grain``
    the rows are first aggregated per customer and grain key into ``pre_aggregates`` (alias,
    aggregate), and the features aggregate those per customer. ``tables`` must all exist in
    the warehouse, or the source is skipped and its features take their ``fill`` value.
    """

    name: str
    description: str
    tables: tuple[str, ...]
    time_column: str
    relation: str = ""
    columns: tuple[tuple[str, str], ...] = ()
    grain: tuple[str, ...] = ()
    pre_aggregates: tuple[tuple[str, str], ...] = ()

    @property
    def from_item(self) -> str:
        """What the block selects from: the relation, with the row-level columns added."""
        relation = self.relation or self.tables[0]
        if not self.columns:
            return relation
        extra = ", ".join(f"{expression} AS {alias}" for alias, expression in self.columns)
        return f"(SELECT *, {extra} FROM {relation} AS r)"


@dataclass(frozen=True, slots=True)
class FeatureDefinition:
    """One customer feature: its name, meaning, where it comes from and how it is computed.

    ``kind`` is ``aggregate`` (an aggregate over the source's rows for the customer),
    ``attribute`` (a row expression over the customer's own record) or ``derived`` (an
    expression over other features' names). ``fill`` replaces NULL: the value when the customer
    has no row in the source or the source's table is absent; ``None`` leaves such values NULL.
    A feature with a ``fill`` is never NULL.
    """

    name: str
    description: str
    source: str
    expression: str
    kind: Kind = "aggregate"
    unit: Unit = "count"
    fill: int | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"feature name {self.name!r} must be a lower-case identifier")
        if not self.description.strip():
            raise ValueError(f"feature {self.name} needs a description")

    @property
    def sql_type(self) -> str:
        """The SQL type of the feature's column."""
        return "BIGINT" if self.unit in _INTEGER_UNITS else "DOUBLE"


def window(column: str, days: int) -> str:
    """SQL condition: ``column`` falls in the ``days``-day window before the snapshot."""
    return f"{column} >= {{as_of_minus_{days}d}}"


def counted(name: str, description: str, source: str, condition: str) -> FeatureDefinition:
    """A count of the source's rows meeting ``condition`` (0 when there are none)."""
    expression = f"COUNT(*) FILTER (WHERE {condition})"
    return FeatureDefinition(name, description, source, expression, unit="count", fill=0)


def summed(
    name: str, description: str, source: str, value: str, condition: str
) -> FeatureDefinition:
    """A sum in minor units over the source's rows meeting ``condition`` (0 when none)."""
    expression = f"SUM({value}) FILTER (WHERE {condition})"
    return FeatureDefinition(name, description, source, expression, unit="minor units", fill=0)


def derived(
    name: str, description: str, expression: str, unit: Unit, fill: int | None = None
) -> FeatureDefinition:
    """A feature computed from other (non-derived) features by name."""
    return FeatureDefinition(name, description, "derived", expression, "derived", unit, fill)


def periods_with(condition: str, column: str, periods: int, start: int = 0, days: int = 30) -> str:
    """How many ``days``-long periods, counted back from the snapshot, hold a matching row.

    Periods ``start`` to ``start + periods - 1`` are counted; period 0 ends at the snapshot. A
    sum of per-period flags, cheaper than ``COUNT(DISTINCT period)`` and as portable.
    """
    terms = []
    for k in range(start, start + periods):
        upper = "" if k == 0 else f" AND {column} < {{as_of_minus_{days * k}d}}"
        inside = f"{condition} AND {window(column, days * (k + 1))}{upper}"
        terms.append(f"CASE WHEN COUNT(*) FILTER (WHERE {inside}) > 0 THEN 1 ELSE 0 END")
    return "(" + " + ".join(terms) + ")"
