"""The warehouse tables scoring writes: ``churn_scores``, ``scoring_runs``, ``customer_retention``.

Writes are idempotent: scoring the same ``as_of`` with the same model version again replaces
that run's rows in ``churn_scores``; ``customer_retention`` holds one row per customer and
``as_of`` (whatever the model version). Frames go to the warehouse in one columnar insert
(``insert_frame``), so 1 M rows are one statement rather than 1 M round trips.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tenure.retention.features import FeatureWarehouse, FrameWarehouse

__all__ = [
    "RETENTION_COLUMNS",
    "RETENTION_TABLE",
    "RUNS_TABLE",
    "SCORES_COLUMNS",
    "SCORES_TABLE",
    "ensure_tables",
    "write_retention",
    "write_runs_row",
    "write_scores",
]

SCORES_TABLE = "churn_scores"
RUNS_TABLE = "scoring_runs"
RETENTION_TABLE = "customer_retention"
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


RETENTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of", "TIMESTAMPTZ"),
    ("customer_id", "VARCHAR"),
    ("rm_id", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("p_churn", "DOUBLE"),
    ("risk_band", "VARCHAR"),
    ("value_tier", "VARCHAR"),
    ("activity_tier", "VARCHAR"),
    ("risk_tier", "VARCHAR"),
    ("lifecycle_stage", "VARCHAR"),
    ("lifecycle_reason", "VARCHAR"),
    ("segment", "INTEGER"),
    ("segment_name", "VARCHAR"),
    ("value_12m_minor", "BIGINT"),
    ("value_at_risk_minor", "BIGINT"),
    ("expected_months_to_churn", "DOUBLE"),
    ("p_churn_30d", "DOUBLE"),
    ("p_churn_90d", "DOUBLE"),
    ("p_churn_180d", "DOUBLE"),
    ("inflow_forecast_minor", "BIGINT"),
    ("spend_forecast_minor", "BIGINT"),
    ("reason_1", "VARCHAR"),
    ("reason_2", "VARCHAR"),
    ("reason_3", "VARCHAR"),
    ("scored_at", "TIMESTAMPTZ"),
)
"""One row per customer and ``as_of``: what the API and the HTML report read."""


def _ddl(table: str, columns: Sequence[tuple[str, str]]) -> str:
    body = ", ".join(f"{name} {kind}" for name, kind in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


_WHERE_RUN = "as_of = $1 AND model_name = $2 AND model_version = $3"


def ensure_tables(warehouse: FeatureWarehouse) -> None:
    """Create ``churn_scores``, ``scoring_runs`` and ``customer_retention`` if missing."""
    warehouse.execute(_ddl(SCORES_TABLE, SCORES_COLUMNS))
    warehouse.execute(_ddl(RUNS_TABLE, RUNS_COLUMNS))
    warehouse.execute(_ddl(RETENTION_TABLE, RETENTION_COLUMNS))


def write_scores(*, warehouse: FrameWarehouse, frame: pd.DataFrame) -> int:
    """Replace the run's rows in ``churn_scores`` by ``frame``; call inside a transaction."""
    if not len(frame):
        return 0
    first = frame.iloc[0]
    warehouse.execute(
        f"DELETE FROM {SCORES_TABLE} WHERE {_WHERE_RUN}",
        (first["as_of"], first["model_name"], first["model_version"]),
    )
    return warehouse.insert_frame(SCORES_TABLE, frame[[name for name, _ in SCORES_COLUMNS]])


def write_retention(*, warehouse: FrameWarehouse, as_of: object, frame: pd.DataFrame) -> int:
    """Replace every ``customer_retention`` row of ``as_of`` by ``frame``; inside a transaction."""
    warehouse.execute(f"DELETE FROM {RETENTION_TABLE} WHERE as_of = $1", (as_of,))
    if not len(frame):
        return 0
    return warehouse.insert_frame(RETENTION_TABLE, frame[[name for name, _ in RETENTION_COLUMNS]])


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
