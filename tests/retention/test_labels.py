"""Churn events computed from warehouse data agree exactly with the simulator's own labels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from retention.simulated_bank import build_bank
from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.errors import ValidationError
from tenure.retention.labels import (
    DataWindow,
    churn_events,
    data_window,
    label_snapshot,
    month_bounds,
    prior_churners,
)

pytestmark = pytest.mark.slow


def _truth(warehouse: DuckDBWarehouse, definition: str) -> pd.DataFrame:
    rows = warehouse.fetch_all(
        "SELECT customer_id, churned_at FROM churn_labels WHERE churned AND definition = ?",
        (definition,),
    )
    frame = pd.DataFrame.from_records(rows, columns=["customer_id", "churned_at"])
    frame["churned_at"] = pd.to_datetime(frame["churned_at"], utc=True)
    return frame.sort_values("customer_id", ignore_index=True)


@pytest.mark.parametrize("definition", ["closure", "dormancy_90d", "balance_flight_80"])
def test_events_match_simulator_labels_exactly(
    definition: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = build_bank(tmp_path_factory.mktemp(definition), definition=definition, customers=800)
    with DuckDBWarehouse.open(path) as warehouse:
        truth = _truth(warehouse, definition)
        events = churn_events(warehouse=warehouse, definition=definition)
    assert len(truth) > 20
    assert events["customer_id"].tolist() == truth["customer_id"].tolist()
    pd.testing.assert_series_equal(
        events["churned_at"].astype("datetime64[us, UTC]"),
        truth["churned_at"].astype("datetime64[us, UTC]"),
    )


def test_unknown_definition_is_refused(tmp_path: Path) -> None:
    with (
        DuckDBWarehouse.open(tmp_path / "w.duckdb") as warehouse,
        pytest.raises(ValidationError, match="unknown churn definition 'attrition'"),
    ):
        churn_events(warehouse=warehouse, definition="attrition")


def test_empty_warehouse_has_no_data_window(tmp_path: Path) -> None:
    with (
        DuckDBWarehouse.open(tmp_path / "w.duckdb") as warehouse,
        pytest.raises(ValidationError, match="no transactions"),
    ):
        data_window(warehouse)


def _at(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def test_label_counts_churn_inside_the_horizon_only() -> None:
    features = pd.DataFrame(
        {"snapshot_at": [_at("2025-03-01")] * 5, "customer_id": ["a", "b", "c", "d", "e"]}
    )
    events = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "churned_at": [_at("2025-03-01"), _at("2025-05-29"), _at("2025-05-30"),
                           _at("2025-02-28")],
        }
    )  # fmt: skip
    assert label_snapshot(features, events, horizon_days=90).tolist() == [1, 1, 0, 0, 0]
    assert prior_churners(features, events).tolist() == [False, False, False, True, False]


def test_month_bounds_cap_the_day_at_28() -> None:
    window = DataWindow(datetime(2025, 1, 31, tzinfo=UTC), datetime(2025, 4, 30, tzinfo=UTC))
    assert [b.date().isoformat() for b in month_bounds(window)] == [
        "2025-01-31", "2025-02-28", "2025-03-28", "2025-04-28",
    ]  # fmt: skip
