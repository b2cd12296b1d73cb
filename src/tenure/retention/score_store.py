"""The warehouse tables churn scoring writes: ``churn_scores`` and ``scoring_runs``.

Writes are idempotent: scoring the same ``as_of`` with the same model version again replaces
that run's rows. Columns travel as one array per column (``UNNEST``), so 1 M rows are one
statement rather than 1 M round trips.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tenure.retention.features import FeatureWarehouse

__all__ = [
    "RUNS_TABLE",
    "SCORES_COLUMNS",
    "SCORES_TABLE",
    "ensure_tables",
    "write_runs_row",
    "write_scores",
]

SCORES_TABLE = "churn_scores"
RUNS_TABLE = "scoring_runs"
REASON_SLOTS = 3

SCORES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of", "TIMESTAMPTZ"),
    ("customer_id", "VARCHAR"),
    ("model_name", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("p_churn", "DOUBLE"),
    ("risk_band", "VARCHAR"),
    *(
        pair
        for slot in range(1, REASON_SLOTS + 1)
        for pair in (
            (f"reason_{slot}", "VARCHAR"),
            (f"reason_{slot}_feature", "VARCHAR"),
            (f"reason_{slot}_contribution", "DOUBLE"),
        )
    ),
    ("scored_at", "TIMESTAMPTZ"),
)
RUNS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of", "TIMESTAMPTZ"),
    ("model_name", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("scored_at", "TIMESTAMPTZ"),
    ("customers", "BIGINT"),
    ("mean_p_churn", "DOUBLE"),
    ("features_watch", "BIGINT"),
    ("features_drift", "BIGINT"),
    ("max_psi", "DOUBLE"),
    ("drift_features", "VARCHAR"),
    ("drift_json", "VARCHAR"),
)


def _ddl(table: str, columns: Sequence[tuple[str, str]]) -> str:
    body = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


_WHERE_RUN = "as_of = $1 AND model_name = $2 AND model_version = $3"


def _values(frame: pd.DataFrame, name: str) -> list[object]:
    column = frame[name]
    return [None if pd.isna(v) else v for v in column.tolist()]


def ensure_tables(warehouse: FeatureWarehouse) -> None:
    """Create ``churn_scores`` and ``scoring_runs`` if they do not exist."""
    warehouse.execute(_ddl(SCORES_TABLE, SCORES_COLUMNS))
    warehouse.execute(_ddl(RUNS_TABLE, RUNS_COLUMNS))


def write_scores(*, warehouse: FeatureWarehouse, frame: pd.DataFrame) -> int:
    """Replace the run's rows in ``churn_scores`` by ``frame``; call inside a transaction."""
    first = frame.iloc[0] if len(frame) else None
    names = [name for name, _ in SCORES_COLUMNS]
    selects = ", ".join(
        f"UNNEST(${i + 1}::{kind}[]) AS {name}" for i, (name, kind) in enumerate(SCORES_COLUMNS)
    )
    params = [_values(frame, name) for name in names]
    if first is not None:
        warehouse.execute(
            f"DELETE FROM {SCORES_TABLE} WHERE {_WHERE_RUN}",
            (first["as_of"], first["model_name"], first["model_version"]),
        )
        warehouse.execute(
            f"INSERT INTO {SCORES_TABLE} ({', '.join(names)}) SELECT {selects}", params
        )
    return len(frame)


def write_runs_row(*, warehouse: FeatureWarehouse, row: dict[str, object]) -> None:
    """Replace the run's summary row in ``scoring_runs``; call inside a transaction."""
    names = [name for name, _ in RUNS_COLUMNS]
    marks = ", ".join(f"${i + 1}" for i in range(len(names)))
    warehouse.execute(
        f"DELETE FROM {RUNS_TABLE} WHERE {_WHERE_RUN}",
        (row["as_of"], row["model_name"], row["model_version"]),
    )
    warehouse.execute(
        f"INSERT INTO {RUNS_TABLE} ({', '.join(names)}) VALUES ({marks})",
        [row[name] for name in names],
    )
