"""Read-only SQL against the warehouse's ``customer_retention`` table, for the retention routes.

Every value from a request travels as a bound parameter; the only text put into SQL is the
fixed column list and the ``WHERE`` fragments chosen here. Each call opens the DuckDB file
read-only and closes it again, so the API never holds the lock a scoring run needs.

Errors: a missing file, table or scoring date is :class:`NotFound`; a file DuckDB cannot read
is :class:`StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb

from tenure.core.errors import NotFound, StoreUnavailable

__all__ = [
    "NO_SCORES_MESSAGE",
    "RETENTION_TABLE",
    "AtRiskFilter",
    "AtRiskPage",
    "RetentionRow",
    "fetch_at_risk",
    "fetch_customer",
    "open_retention",
    "resolve_as_of",
]

RETENTION_TABLE = "customer_retention"
NO_SCORES_MESSAGE = "no retention scores yet; run `tenure retention score`"


@dataclass(frozen=True, slots=True)
class RetentionRow:
    """One customer's retention scores on one scoring date (money in integer minor units)."""

    as_of: datetime
    customer_id: str
    rm_id: str | None
    model_version: str | None
    p_churn: float
    risk_band: str | None
    value_tier: str | None
    activity_tier: str | None
    risk_tier: str | None
    lifecycle_stage: str | None
    lifecycle_reason: str | None
    segment: int | None
    segment_name: str | None
    value_12m_minor: int | None
    value_at_risk_minor: int | None
    expected_months_to_churn: float | None
    p_churn_30d: float | None
    p_churn_90d: float | None
    p_churn_180d: float | None
    inflow_forecast_minor: int | None
    spend_forecast_minor: int | None
    reason_1: str | None
    reason_2: str | None
    reason_3: str | None
    scored_at: datetime | None

    @property
    def reasons(self) -> list[str]:
        """The stated reasons, strongest first, without the empty slots."""
        return [r for r in (self.reason_1, self.reason_2, self.reason_3) if r]


_COLUMNS = ", ".join(f'"{field.name}"' for field in fields(RetentionRow))
# Value at risk first; the id breaks ties so that paging never repeats or skips a row.
_ORDER = "value_at_risk_minor DESC NULLS LAST, customer_id ASC"


@dataclass(frozen=True, slots=True)
class AtRiskFilter:
    """Which customers an at-risk list holds; ``None`` means no restriction on that column."""

    value_tier: str | None = None
    risk_tier: str | None = None
    segment: int | None = None
    lifecycle_stage: str | None = None
    rm_id: str | None = None
    min_p_churn: float | None = None

    def sql(self) -> tuple[str, list[object]]:
        """SQL conditions (joined by ``AND``) and their parameters, in order."""
        equal = {
            "value_tier": self.value_tier,
            "risk_tier": self.risk_tier,
            "segment": self.segment,
            "lifecycle_stage": self.lifecycle_stage,
            "rm_id": self.rm_id,
        }
        clauses = [f"{column} = ?" for column, value in equal.items() if value is not None]
        params: list[object] = [value for value in equal.values() if value is not None]
        if self.min_p_churn is not None:
            clauses.append("p_churn >= ?")
            params.append(self.min_p_churn)
        return " AND ".join(clauses) or "TRUE", params


@dataclass(frozen=True, slots=True)
class AtRiskPage:
    """One page of an at-risk list and how many rows match in all."""

    rows: list[RetentionRow]
    total: int


@contextmanager
def open_retention(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse at ``path`` that holds ``customer_retention``."""
    if not path.exists():
        raise NotFound(NO_SCORES_MESSAGE)
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StoreUnavailable("the warehouse could not be read") from exc
    with closing(connection):
        try:
            connection.execute("SET TimeZone = 'UTC'")
            present = connection.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_name = ?",
                [RETENTION_TABLE],
            ).fetchone()
        except duckdb.Error as exc:
            raise StoreUnavailable("the warehouse could not be read") from exc
        if not present or not present[0]:
            raise NotFound(NO_SCORES_MESSAGE)
        yield connection


def _fetch(
    connection: duckdb.DuckDBPyConnection, sql: str, params: list[object]
) -> list[tuple[Any, ...]]:
    try:
        return connection.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        raise StoreUnavailable("the retention scores could not be read") from exc


def resolve_as_of(connection: duckdb.DuckDBPyConnection, on: date | None) -> datetime:
    """The latest scoring time, or the latest one on the UTC day ``on``; NotFound if none."""
    if on is None:
        rows = _fetch(connection, f"SELECT max(as_of) FROM {RETENTION_TABLE}", [])
        missing = NO_SCORES_MESSAGE
    else:
        start = datetime.combine(on, time(), tzinfo=UTC)
        rows = _fetch(
            connection,
            f"SELECT max(as_of) FROM {RETENTION_TABLE} WHERE as_of >= ? AND as_of < ?",
            [start, start + timedelta(days=1)],
        )
        missing = f"no retention scores for {on.isoformat()}"
    latest = rows[0][0] if rows else None
    if not isinstance(latest, datetime):
        raise NotFound(missing, field="as_of" if on is not None else None)
    return latest


def fetch_customer(
    connection: duckdb.DuckDBPyConnection, *, as_of: datetime, customer_id: str
) -> RetentionRow | None:
    """One customer's row on the scoring date ``as_of``, or ``None``."""
    rows = _fetch(
        connection,
        f"SELECT {_COLUMNS} FROM {RETENTION_TABLE} WHERE as_of = ? AND customer_id = ? LIMIT 1",
        [as_of, customer_id],
    )
    return RetentionRow(*rows[0]) if rows else None


def fetch_at_risk(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime,
    where: AtRiskFilter,
    limit: int,
    offset: int,
) -> AtRiskPage:
    """Rows matching ``where`` on ``as_of``, highest value at risk first, and their count."""
    conditions, params = where.sql()
    scope = f"FROM {RETENTION_TABLE} WHERE as_of = ? AND {conditions}"
    counted = _fetch(connection, f"SELECT count(*) {scope}", [as_of, *params])
    rows = _fetch(
        connection,
        f"SELECT {_COLUMNS} {scope} ORDER BY {_ORDER} LIMIT ? OFFSET ?",
        [as_of, *params, limit, offset],
    )
    return AtRiskPage(rows=[RetentionRow(*row) for row in rows], total=int(counted[0][0]))
