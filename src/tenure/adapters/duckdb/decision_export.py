"""Protection decisions copied into the warehouse, where retention counts the friction each
customer met (``tenure.retention.features.friction``: step-ups, holds and declines in 30 and 90
days feed the churn model).

Each run copies the decisions the warehouse does not hold yet: those decided since the newest one
it holds, less ``OVERLAP`` (workers commit concurrently, so a decision may be logged a little
after a later one), skipping any decision id already there; re-running adds nothing. Only what the
features read is copied: ids, the customer, the kind of event, when, and the action asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.duckdb.warehouse import DuckDBWarehouse
from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import DECISIONS
from tenure.retention.features.friction import DECISIONS_TABLE

__all__ = ["OVERLAP", "DecisionExport", "export_decisions"]

OVERLAP = timedelta(minutes=10)
_BATCH = 50_000
_COLUMNS = ("decision_id", "customer_id", "event_kind", "occurred_at", "decided_at", "action")
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {DECISIONS_TABLE} (decision_id VARCHAR PRIMARY KEY, "
    "customer_id VARCHAR NOT NULL, event_kind VARCHAR NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, "
    "decided_at TIMESTAMPTZ NOT NULL, action VARCHAR NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class DecisionExport:
    """What one run copied: how many decisions, and the newest decision time now held."""

    copied: int
    newest: datetime | None


def export_decisions(
    store: Engine, warehouse: DuckDBWarehouse, *, progress: Callable[[int], None] | None = None
) -> DecisionExport:
    """Copy the decisions the warehouse lacks (in one warehouse transaction)."""
    warehouse.execute(_DDL)
    newest = warehouse.fetch_all(f"SELECT max(decided_at) FROM {DECISIONS_TABLE}")[0][0]
    since = None if newest is None else newest - OVERLAP
    held: set[str] = set()
    if since is not None:
        rows = warehouse.fetch_all(
            f"SELECT decision_id FROM {DECISIONS_TABLE} WHERE decided_at >= ?", [since]
        )
        held = {row[0] for row in rows}
    query = sa.select(*(DECISIONS.c[name] for name in _COLUMNS)).order_by(DECISIONS.c.decided_at)
    if since is not None:
        query = query.where(DECISIONS.c.decided_at >= since)
    copied = 0
    with warehouse.transaction(), translate_errors(), store.connect() as connection:
        result = connection.execution_options(yield_per=_BATCH).execute(query)
        for batch in result.partitions():
            frame = pd.DataFrame([tuple(row) for row in batch], columns=list(_COLUMNS))
            frame = frame[~frame["decision_id"].isin(held)]
            if not frame.empty:
                copied += warehouse.insert_frame(DECISIONS_TABLE, frame)
            if progress is not None:
                progress(len(batch))
    newest = warehouse.fetch_all(f"SELECT max(decided_at) FROM {DECISIONS_TABLE}")[0][0]
    return DecisionExport(copied, newest)
