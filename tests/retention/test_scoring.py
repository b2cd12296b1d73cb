"""Batch retention scoring on a simulated bank: one customer_retention row per open customer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention.simulated_bank import build_bank, plant_leaving_events
from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.clock import FixedClock
from tenure.retention.registry import ModelRegistry
from tenure.retention.score_store import RETENTION_COLUMNS, RETENTION_TABLE
from tenure.retention.scoring import ScoringRun, score_customers
from tenure.retention.training import RetentionModels, train_retention_models

pytestmark = pytest.mark.slow

AS_OF = datetime(2025, 8, 1, tzinfo=UTC)
EXPECTED_COLUMNS = [
    ("as_of", "TIMESTAMP WITH TIME ZONE"), ("customer_id", "VARCHAR"), ("rm_id", "VARCHAR"),
    ("model_version", "VARCHAR"), ("p_churn", "DOUBLE"), ("risk_band", "VARCHAR"),
    ("value_tier", "VARCHAR"), ("activity_tier", "VARCHAR"), ("risk_tier", "VARCHAR"),
    ("lifecycle_stage", "VARCHAR"), ("lifecycle_reason", "VARCHAR"), ("segment", "INTEGER"),
    ("segment_name", "VARCHAR"), ("value_12m_minor", "BIGINT"),
    ("value_at_risk_minor", "BIGINT"), ("expected_months_to_churn", "DOUBLE"),
    ("p_churn_30d", "DOUBLE"), ("p_churn_90d", "DOUBLE"), ("p_churn_180d", "DOUBLE"),
    ("inflow_forecast_minor", "BIGINT"), ("spend_forecast_minor", "BIGINT"),
    ("reason_1", "VARCHAR"), ("reason_2", "VARCHAR"), ("reason_3", "VARCHAR"),
    ("scored_at", "TIMESTAMP WITH TIME ZONE"),
]  # fmt: skip


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bank(tmp_path_factory.mktemp("scoring"))


@pytest.fixture(scope="module")
def trained(
    bank: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ModelRegistry, RetentionModels]:
    registry = ModelRegistry(tmp_path_factory.mktemp("models"))
    with DuckDBWarehouse.open(bank) as warehouse:
        models = train_retention_models(warehouse=warehouse, registry=registry, n_jobs=1)
    return registry, models


@pytest.fixture
def warehouse(bank: Path, tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(bank, copy)
    with DuckDBWarehouse.open(copy) as opened:
        yield opened


def _score(warehouse: DuckDBWarehouse, registry: ModelRegistry, day: int = 2) -> ScoringRun:
    clock = FixedClock(datetime(2025, 8, day, tzinfo=UTC))
    return score_customers(warehouse=warehouse, registry=registry, as_of=AS_OF, clock=clock)


def _retention(warehouse: DuckDBWarehouse) -> pd.DataFrame:
    names = [name for name, _ in RETENTION_COLUMNS]
    rows = warehouse.fetch_all(
        f"SELECT {', '.join(names)} FROM {RETENTION_TABLE} WHERE as_of = ? ORDER BY customer_id",
        (AS_OF,),
    )
    return pd.DataFrame.from_records(rows, columns=names)


def test_training_registers_segments_and_survival_linked_to_the_churn_version(
    trained: tuple[ModelRegistry, RetentionModels],
) -> None:
    registry, models = trained
    assert registry.list_versions("segments") == registry.list_versions("survival") == ["v0001"]
    for manifest in (models.segments, models.survival):
        assert manifest.extra["churn_version"] == models.churn.manifest.version
        assert manifest.training["snapshot"] == models.churn.manifest.training["last_snapshot"]
    assert 3 <= models.segment_count <= 8
    assert len(models.segments.extra["segment_names"]) == models.segment_count
    assert 0.0 < models.silhouette <= 1.0
    # Measured on this bank (about 260 held-out customers): 0.599.
    assert models.concordance > 0.55


def test_customer_retention_holds_every_column_for_every_open_customer(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, models = trained
    run = _score(warehouse, registry)
    columns = warehouse.fetch_all(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        (RETENTION_TABLE,),
    )
    assert columns == EXPECTED_COLUMNS
    ((open_customers,),) = warehouse.fetch_all(
        "SELECT COUNT(*) FROM customers "
        "WHERE opened_at < $1 AND (closed_at IS NULL OR closed_at >= $1)",
        (AS_OF,),
    )
    frame = _retention(warehouse)
    assert len(frame) == open_customers == run.customers
    assert frame["customer_id"].is_unique
    assert (frame["model_version"] == models.churn.manifest.version).all()
    required = ["value_tier", "activity_tier", "risk_tier", "lifecycle_stage",
                "lifecycle_reason", "segment", "segment_name", "value_12m_minor"]  # fmt: skip
    assert frame[required].notna().all().all()
    names = {int(k): v for k, v in models.segments.extra["segment_names"].items()}
    assert (frame["segment"].map(names) == frame["segment_name"]).all()
    expected_risk = np.sign(frame["p_churn"] * frame["value_12m_minor"]) * np.floor(
        (frame["p_churn"] * frame["value_12m_minor"]).abs() + 0.5
    )
    assert (frame["value_at_risk_minor"] == expected_risk).all()
    assert run.value_at_risk_minor == int(frame["value_at_risk_minor"].sum())
    p = frame[["p_churn_30d", "p_churn_90d", "p_churn_180d"]]
    assert p.notna().all().all()
    assert ((p >= 0) & (p <= 1)).all().all()
    assert ((p["p_churn_30d"] <= p["p_churn_90d"]) & (p["p_churn_90d"] <= p["p_churn_180d"])).all()
    assert (frame["expected_months_to_churn"] > 0).all()
    forecasts = frame[["inflow_forecast_minor", "spend_forecast_minor"]]
    assert forecasts.notna().mean().min() > 0.9
    known = forecasts.stack()
    assert (known >= 0).all()
    assert (known == known.round()).all()
    assert frame["rm_id"].notna().any()


def test_scores_join_churn_scores_and_runs(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, _ = trained
    run = _score(warehouse, registry)
    ((joined, runs),) = warehouse.fetch_all(
        "SELECT COUNT(*), (SELECT COUNT(*) FROM scoring_runs) FROM customer_retention r "
        "JOIN churn_scores c USING (as_of, customer_id, model_version) "
        "WHERE r.p_churn = c.p_churn AND r.reason_1 IS NOT DISTINCT FROM c.reason_1"
    )
    assert joined == run.customers
    assert runs == 1
    assert set(run.seconds) >= {"features", "churn", "value", "tiers", "segments", "survival"}


def test_scoring_an_as_of_again_replaces_its_rows(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, _ = trained
    _score(warehouse, registry, day=2)
    first = _retention(warehouse)
    _score(warehouse, registry, day=3)
    second = _retention(warehouse)
    assert len(second) == len(first)
    assert (second["scored_at"] > first["scored_at"]).all()
    pd.testing.assert_frame_equal(first.drop(columns="scored_at"), second.drop(columns="scored_at"))


def test_customers_who_refused_profiling_are_neither_scored_nor_written(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, _ = trained
    everyone = _score(warehouse, registry)
    refused = set(_retention(warehouse)["customer_id"].iloc[:3])
    run = score_customers(
        warehouse=warehouse, registry=registry, as_of=AS_OF, exclude=refused | {"NOT-A-CUSTOMER"}
    )
    scored = set(_retention(warehouse)["customer_id"])
    churn = warehouse.fetch_all("SELECT customer_id FROM churn_scores WHERE as_of = ?", (AS_OF,))
    assert (run.excluded, run.customers) == (3, everyone.customers - 3)
    assert not refused & scored
    assert not refused & {customer_id for (customer_id,) in churn}
    assert len(scored) == everyone.customers - 3


def test_events_after_the_snapshot_change_no_retention_column(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, _ = trained
    _score(warehouse, registry)
    before = _retention(warehouse)
    plant_leaving_events(warehouse, AS_OF, AS_OF + timedelta(days=20), close=True)
    _score(warehouse, registry, day=3)
    after = _retention(warehouse)
    pd.testing.assert_frame_equal(before.drop(columns="scored_at"), after.drop(columns="scored_at"))


def test_the_same_events_before_the_snapshot_move_value_and_scores(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, _ = trained
    _score(warehouse, registry)
    before = _retention(warehouse).set_index("customer_id")
    plant_leaving_events(warehouse, AS_OF, AS_OF - timedelta(days=1), close=False)
    _score(warehouse, registry, day=3)
    after = _retention(warehouse).set_index("customer_id")
    changed = (before != after).drop(columns="scored_at").any()
    assert changed[["p_churn", "value_12m_minor", "reason_1"]].all()


def test_reasons_go_to_the_riskiest_customers_first(
    trained: tuple[ModelRegistry, RetentionModels], warehouse: DuckDBWarehouse
) -> None:
    registry, _ = trained
    score_customers(warehouse=warehouse, registry=registry, as_of=AS_OF, reasons_limit=100)
    frame = _retention(warehouse).sort_values("p_churn", ascending=False, kind="stable")
    explained = frame["reason_1"].notna()
    assert 0 < explained.sum() <= 100
    assert not explained.iloc[100:].any()
    assert explained.iloc[:10].all()
