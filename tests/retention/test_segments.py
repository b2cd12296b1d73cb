"""Customer segments: k chosen right, stable numbering, estimator contract, readable profiles."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.errors import ValidationError
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.features import compute_features
from tenure.retention.margin import margin_value
from tenure.retention.segments import DEFAULT_SEGMENT_FEATURES, CustomerSegmenter, SegmentTrait
from tenure.retention.tiers import assign_tiers

_SIZES = (500, 400, 300, 200)


def _blobs(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four well-separated blobs of different sizes in three columns; returns truth too."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]], dtype=float)
    truth = np.repeat(np.arange(4), _SIZES)
    points = centres[truth] + rng.normal(0, 0.6, (len(truth), 3))
    return pd.DataFrame(points, columns=["x", "y", "z"]), truth


def _segmenter(**overrides: object) -> CustomerSegmenter:
    params: dict[str, object] = {"features": ("x", "y", "z"), "k_range": (2, 7), "threads": 1}
    params.update(overrides)
    return CustomerSegmenter(**params)  # type: ignore[arg-type]


def test_chooses_four_for_four_blobs_and_recovers_them() -> None:
    frame, truth = _blobs()
    model = _segmenter().fit(frame)
    assert model.k_ == 4
    assert max(model.scores_, key=model.scores_.__getitem__) == 4
    assert set(model.scores_) == set(range(2, 8))
    assert adjusted_rand_score(truth, model.labels_) > 0.9
    assert model.stability_ > 0.9


def test_segments_are_numbered_by_size_not_by_kmeans() -> None:
    frame, truth = _blobs()
    model = _segmenter().fit(frame)
    assert np.bincount(model.labels_).tolist() == list(_SIZES)
    assert (model.labels_ == truth).mean() > 0.99


def test_same_seed_gives_identical_segments_and_numbering() -> None:
    frame, _ = _blobs(3)
    first = _segmenter(random_state=7).fit(frame)
    second = _segmenter(random_state=7).fit(frame)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    assert first.scores_ == second.scores_
    assert first.stability_ == second.stability_


def test_column_order_is_irrelevant_and_input_is_not_mutated() -> None:
    frame, _ = _blobs()
    frame["noise"] = "ignored"
    before = frame.copy()
    model = _segmenter().fit(frame)
    model.profile(frame)
    pd.testing.assert_frame_equal(frame, before)
    shuffled = frame[["z", "noise", "x", "y"]]
    np.testing.assert_array_equal(_segmenter().fit(shuffled).labels_, model.labels_)
    np.testing.assert_array_equal(model.predict(shuffled), model.labels_)


def test_pickle_round_trip_predicts_the_same() -> None:
    frame, _ = _blobs()
    model = _segmenter().fit(frame)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(frame), model.predict(frame))
    assert restored.k_ == model.k_


def test_init_only_stores_parameters() -> None:
    model = CustomerSegmenter(k_range=(3, 5), random_state=4)
    assert model.k_range == (3, 5)
    assert model.features == DEFAULT_SEGMENT_FEATURES
    assert not hasattr(model, "k_")


def _planted(seed: int = 0) -> pd.DataFrame:
    """Default features: a quiet base, a digital group, a wealthy multi-product group."""
    rng = np.random.default_rng(seed)
    n = 900
    frame = pd.DataFrame(
        {name: rng.poisson(2, n).astype(float) for name in DEFAULT_SEGMENT_FEATURES}
    )
    for money in ("balance_last", "inflow_sum_90d", "outflow_sum_90d", "card_spend_90d"):
        frame[money] = rng.lognormal(12, 0.3, n)
    frame["has_loan"] = 0
    frame["has_wealth"] = 0
    digital, wealthy = slice(0, 250), slice(250, 400)
    frame.loc[frame.index[digital], "logins_90d"] = rng.poisson(60, 250)
    frame.loc[frame.index[digital], "login_weeks_last_12"] = 12
    frame.loc[frame.index[wealthy], "has_wealth"] = 1
    frame.loc[frame.index[wealthy], "products_held"] = rng.poisson(6, 150)
    frame.loc[frame.index[wealthy], "balance_last"] = rng.lognormal(16, 0.3, 150)
    frame["customer_id"] = [f"c{i}" for i in range(n)]
    return frame


def test_profiles_name_the_distinguishing_features_in_words_and_numbers() -> None:
    frame = _planted()
    model = CustomerSegmenter(k_range=(3, 5), threads=1).fit(frame)
    profiles = model.profile(frame)
    assert sum(p.size for p in profiles) == len(frame)
    assert sum(p.share for p in profiles) == pytest.approx(1.0)
    digital = profiles[model.predict(frame)[0]]
    top = [t.feature for t in digital.traits[:2]]
    assert set(top) <= {"logins_90d", "login_weeks_last_12"}
    assert "digital" in digital.name or "regular online" in digital.name
    assert "logins in 90 days" in digital.description
    wealthy = profiles[model.predict(frame)[300]]
    assert "investor" in wealthy.name
    assert any(t.text.startswith("share with a wealth product: 100% vs") for t in wealthy.traits)


def test_refuses_missing_columns_and_too_few_distinct_customers() -> None:
    frame, _ = _blobs()
    with pytest.raises(ValidationError) as error:
        _segmenter().fit(frame.drop(columns=["y"]))
    assert error.value.field == "y"
    flat = pd.DataFrame({"x": [1.0, 1.0, 2.0, 2.0], "y": 0.0, "z": 0.0})
    with pytest.raises(ValidationError):
        _segmenter(k_range=(3, 4)).fit(flat)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.Series]:
    """Features and 12-month value of a small simulated bank."""
    root = tmp_path_factory.mktemp("segments")
    synthesize(SimulationConfig(customers=800, months=6, seed=5), root / "bank")
    with DuckDBWarehouse.open(root / "warehouse.duckdb") as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
        features = compute_features(warehouse=warehouse, as_of=datetime(2025, 7, 1, tzinfo=UTC))
        accounts = pd.DataFrame(
            warehouse.fetch_all(
                "SELECT customer_id, product, balance_minor, interest_rate, status FROM accounts"
            ),
            columns=["customer_id", "product", "balance_minor", "interest_rate", "status"],
        )
        fees = pd.DataFrame(
            warehouse.fetch_all("SELECT customer_id, amount_minor FROM transactions "
                                "WHERE kind = 'fee' AND status = 'posted'"),
            columns=["customer_id", "amount_minor"],
        )  # fmt: skip
    value = margin_value(accounts=accounts, fees=fees)["total_value_minor"]
    return features, value.reindex(features["customer_id"], fill_value=0)


def test_every_simulated_customer_gets_tiers_a_stage_and_a_segment(
    bank: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    features, value = bank
    tiers = assign_tiers(features, value=value)
    for column in ("value_tier", "activity_tier", "lifecycle_stage", "lifecycle_reason"):
        assert tiers[column].notna().all(), column
    assert tiers["risk_tier"].isna().all()
    model = CustomerSegmenter(threads=1).fit(features)
    assert len(model.labels_) == len(features)
    assert 3 <= model.k_ <= 8
    profiles = model.profile(features)
    assert len(profiles) == model.k_
    assert all(p.name and p.traits and p.description for p in profiles)


def test_money_traits_read_in_whole_currency_units_not_minor_units() -> None:
    trait = SegmentTrait("balance_last", "deposit balance", 23_200_000.0, 5_012_345.0, 1.2)
    assert trait.text.endswith("232,000 CNY vs 50,123 CNY overall")
