"""Compute point-in-time features in the warehouse: one query per snapshot, one row per customer.

Counts and flags come back as ``int64``; everything that can be empty (last values, ratios,
balances, days since) as ``float64`` with NaN for "no value". ``write_features`` keeps the
result in the warehouse table ``customer_features`` without moving rows through Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from tenure.core.errors import ConfigurationError
from tenure.retention.features.catalogue import FEATURES
from tenure.retention.features.compiler import compile_features, expand
from tenure.retention.features.definitions import FeatureDefinition

__all__ = [
    "FEATURES_TABLE",
    "FeatureWarehouse",
    "FrameWarehouse",
    "compute_feature_snapshots",
    "compute_features",
    "warehouse_tables",
    "write_features",
]

FEATURES_TABLE = "customer_features"


class FeatureWarehouse(Protocol):
    """What feature computation needs from a SQL warehouse (the DuckDB warehouse fits)."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> int: ...

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame: ...

    def transaction(self) -> AbstractContextManager[None]: ...


class FrameWarehouse(FeatureWarehouse, Protocol):
    """A warehouse that also appends a whole DataFrame at once (bulk writes of scores)."""

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int: ...


def warehouse_tables(warehouse: FeatureWarehouse) -> frozenset[str]:
    """Names (lower case) of the tables the warehouse holds."""
    rows = warehouse.fetch_all("SELECT table_name FROM information_schema.tables")
    return frozenset(str(row[0]).lower() for row in rows)


def _dtype(feature: FeatureDefinition) -> str:
    return "int64" if feature.sql_type == "BIGINT" and feature.fill is not None else "float64"


def _frame(raw: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    names = ["snapshot_at", "customer_id", *(f.name for f in FEATURES)]
    frame = raw.set_axis(names, axis="columns")
    frame["snapshot_at"] = pd.Series(
        [pd.Timestamp(as_of.astimezone(UTC))] * len(frame), dtype="datetime64[us, UTC]"
    )
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame.astype({f.name: _dtype(f) for f in FEATURES})


def compute_features(
    *,
    warehouse: FeatureWarehouse,
    as_of: datetime,
    customers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Features of every customer open at ``as_of`` (or of ``customers``), from data before it."""
    sql = compile_features(as_of, available_tables=warehouse_tables(warehouse), customers=customers)
    return _frame(warehouse.fetch_frame(sql), as_of)


def compute_feature_snapshots(
    *, warehouse: FeatureWarehouse, snapshots: Sequence[datetime]
) -> pd.DataFrame:
    """Features at several snapshots stacked (one row per customer and snapshot), for training."""
    frames = [compute_features(warehouse=warehouse, as_of=moment) for moment in snapshots]
    if not frames:
        return _frame(
            pd.DataFrame(columns=range(2 + len(FEATURES))), datetime(1970, 1, 1, tzinfo=UTC)
        )
    return pd.concat(frames, ignore_index=True)


def _table_ddl() -> str:
    columns = ", ".join(f"{f.name} {f.sql_type}" for f in FEATURES)
    return (
        f"CREATE TABLE IF NOT EXISTS {FEATURES_TABLE} "
        f"(snapshot_at TIMESTAMPTZ NOT NULL, customer_id VARCHAR NOT NULL, {columns})"
    )


def _check_columns(warehouse: FeatureWarehouse) -> None:
    rows = warehouse.fetch_all(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        (FEATURES_TABLE,),
    )
    expected = ["snapshot_at", "customer_id", *(f.name for f in FEATURES)]
    if [str(row[0]) for row in rows] != expected:
        raise ConfigurationError(
            f"table {FEATURES_TABLE} was written by another feature catalogue; drop it and "
            "recompute the snapshots"
        )


def write_features(*, warehouse: FeatureWarehouse, as_of: datetime) -> int:
    """Replace the ``as_of`` snapshot in ``customer_features``; returns the rows written."""
    sql = compile_features(as_of, available_tables=warehouse_tables(warehouse))
    warehouse.execute(_table_ddl())
    _check_columns(warehouse)
    with warehouse.transaction():
        warehouse.execute(
            f"DELETE FROM {FEATURES_TABLE} WHERE snapshot_at = {expand('{as_of}', as_of)}"
        )
        return warehouse.execute(f"INSERT INTO {FEATURES_TABLE} {sql}")
