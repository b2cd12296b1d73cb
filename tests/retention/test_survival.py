"""Time to churn: censoring, a survival model that ranks known hazards, Kaplan-Meier, cohorts."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.errors import ValidationError
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.retention.features import compute_features
from tenure.retention.survival import (
    Family,
    TimeToChurnModel,
    kaplan_meier_by_group,
    retention_by_cohort,
    survival_frame,
)

AS_OF = datetime(2025, 4, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
FAMILIES: tuple[Family, ...] = ("weibull_aft", "cox", "lognormal_aft")


def _known_hazard(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Exponential times with rate 0.004 * exp(a - 0.8 b), censored uniformly within a year."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.normal(size=rows),
            "noise": rng.normal(size=rows),
            "constant": np.ones(rows),
            "logins": rng.poisson(5.0, size=rows).astype(np.int64),
        }
    )
    rate = 0.004 * np.exp(frame["a"] - 0.8 * frame["b"])
    churn = rng.exponential(1.0 / rate)
    censor = rng.uniform(0.0, 365.0, size=rows)
    frame.loc[rng.random(rows) < 0.05, "noise"] = np.nan
    return frame, np.minimum(churn, censor), churn <= censor


@pytest.fixture(scope="module")
def known() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    return _known_hazard(2000, seed=0)


@pytest.fixture(scope="module")
def fitted(known: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> TimeToChurnModel:
    frame, duration, event = known
    return TimeToChurnModel().fit(frame[:1400], duration[:1400], event[:1400])


@pytest.mark.parametrize("family", FAMILIES)
def test_ranks_known_hazard_on_holdout(
    known: tuple[pd.DataFrame, np.ndarray, np.ndarray], family: Family
) -> None:
    frame, duration, event = known
    model = TimeToChurnModel(family=family).fit(frame[:1400], duration[:1400], event[:1400])
    assert model.concordance(frame[1400:], duration[1400:], event[1400:]) > 0.7


def test_concordance_is_lifelines_concordance_of_the_risk_score(
    fitted: TimeToChurnModel, known: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    frame, duration, event = known
    expected = concordance_index(duration, -fitted.risk_score(frame), event)
    assert fitted.concordance(frame, duration, event) == pytest.approx(expected)


def test_churn_probability_grows_with_horizon(
    fitted: TimeToChurnModel, known: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    probabilities = fitted.predict_survival(known[0])
    assert list(probabilities.columns) == ["p_churn_30d", "p_churn_90d", "p_churn_180d"]
    values = probabilities.to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    assert (np.diff(values, axis=1) >= 0).all()


def test_expected_months_are_finite_capped_and_lower_for_high_hazard(
    fitted: TimeToChurnModel,
) -> None:
    rows = pd.DataFrame(
        {"a": [2.0, 0.0, -2.0], "b": [-2.0, 0.0, 2.0], "noise": [0.0, np.nan, 0.0],
         "constant": [1.0] * 3, "logins": [5, 5, 5]}
    )  # fmt: skip
    months = fitted.expected_months_to_churn(rows, cap_months=60).to_numpy()
    assert np.isfinite(months).all()
    assert ((months > 0) & (months <= 60)).all()
    assert months[0] < months[1] < months[2]
    risk = fitted.predict_survival(rows, days=(90,))["p_churn_90d"].to_numpy()
    assert risk[0] > risk[1] > risk[2]


def test_learns_columns_medians_and_log_transform_in_fit(fitted: TimeToChurnModel) -> None:
    assert fitted.columns_ == ("a", "b", "noise", "logins")
    assert fitted.log_columns_ == ()
    model = TimeToChurnModel(log_columns=["logins"]).fit(*_known_hazard(300, seed=4))
    assert model.log_columns_ == ("logins",)
    assert model.medians_["logins"] == 5.0


def test_catalogue_money_and_counts_get_a_log_by_default() -> None:
    frame, duration, event = _known_hazard(300, seed=5)
    frame = frame.rename(columns={"logins": "logins_30d"})
    frame["balance_last"] = np.linspace(-1e6, 1e8, len(frame))
    model = TimeToChurnModel().fit(frame, duration, event)
    assert model.log_columns_ == ("logins_30d", "balance_last")


def test_fits_are_deterministic(known: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    frame, duration, event = known
    first = TimeToChurnModel().fit(frame, duration, event).predict_survival(frame)
    second = TimeToChurnModel().fit(frame, duration, event).predict_survival(frame)
    pd.testing.assert_frame_equal(first, second)


def test_pickle_round_trip_predicts_the_same(
    fitted: TimeToChurnModel, known: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(
        restored.predict_survival(known[0]), fitted.predict_survival(known[0])
    )


def test_inputs_are_not_mutated_and_column_order_is_irrelevant(
    fitted: TimeToChurnModel, known: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    frame, duration, event = known
    before = frame.copy()
    TimeToChurnModel(family="cox").fit(frame[:300], duration[:300], event[:300])
    shuffled = frame[list(reversed(frame.columns))]
    pd.testing.assert_frame_equal(
        fitted.expected_months_to_churn(shuffled).to_frame(),
        fitted.expected_months_to_churn(frame).to_frame(),
    )
    pd.testing.assert_frame_equal(frame, before)


def _separated(rows: int = 300) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    event = rng.random(rows) < 0.5
    duration = np.where(event, rng.uniform(1.0, 100.0, rows), 200.0)
    return pd.DataFrame({"leak": event.astype(float), "x": rng.normal(size=rows)}), duration, event


def test_non_convergence_is_retried_with_a_higher_penalizer() -> None:
    model = TimeToChurnModel(family="cox", penalizer=0.0).fit(*_separated())
    assert model.penalizer_ == pytest.approx(0.01)


def test_non_convergence_without_room_to_retry_is_a_clear_error() -> None:
    model = TimeToChurnModel(family="cox", penalizer=0.0, max_penalizer=0.0)
    with pytest.raises(ValidationError, match="could not be fitted cleanly"):
        model.fit(*_separated())


def test_refuses_bad_targets_and_unfitted_use(
    known: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    frame, duration, event = known
    with pytest.raises(ValidationError, match="no churn event"):
        TimeToChurnModel().fit(frame, duration, np.zeros(len(frame), dtype=bool))
    with pytest.raises(ValidationError, match="non-negative"):
        TimeToChurnModel().fit(frame, -duration, event)
    with pytest.raises(ValidationError, match="targets"):
        TimeToChurnModel().fit(frame.assign(event=event), duration, event)
    with pytest.raises(ValidationError, match="not fitted"):
        TimeToChurnModel().predict_survival(frame)


def test_survival_frame_censors_at_observation_end() -> None:
    features = pd.DataFrame(
        {"snapshot_at": [pd.Timestamp(AS_OF)] * 5, "customer_id": ["c1", "c2", "c3", "c4", "c5"],
         "x": [1.0, 2.0, 3.0, 4.0, 5.0]}
    )  # fmt: skip
    churn = pd.DataFrame(
        {"customer_id": ["c1", "c2", "c3", "c5", "c5"],
         "churned_at": [datetime(2025, 4, 11, 12, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC),
                        datetime(2025, 3, 1, tzinfo=UTC), None, datetime(2025, 7, 1, tzinfo=UTC)]}
    )  # fmt: skip
    frame = survival_frame(features, churn, as_of=AS_OF, observation_end=END)
    assert frame["customer_id"].tolist() == ["c1", "c2", "c4", "c5"]
    assert frame["duration_days"].tolist() == [10.5, 91.0, 91.0, 91.0]
    assert frame["event"].tolist() == [True, False, False, True]
    assert frame["x"].tolist() == [1.0, 2.0, 4.0, 5.0]
    assert "duration_days" not in features.columns


def test_survival_frame_refuses_naive_times_and_other_snapshots() -> None:
    features = pd.DataFrame({"snapshot_at": [pd.Timestamp(END)], "customer_id": ["c1"]})
    churn = pd.DataFrame({"customer_id": [], "churned_at": []})
    with pytest.raises(ValidationError, match="timezone-aware"):
        survival_frame(features, churn, as_of=datetime(2025, 4, 1), observation_end=END)
    with pytest.raises(ValidationError, match="after as_of"):
        survival_frame(features, churn, as_of=END, observation_end=AS_OF)
    with pytest.raises(ValidationError, match="snapshots other"):
        survival_frame(features, churn, as_of=AS_OF, observation_end=END)


def test_kaplan_meier_matches_the_product_limit_by_hand() -> None:
    curves = kaplan_meier_by_group(
        [1, 2, 2, 3, 4, 5, 2, 2, 4], [1, 1, 0, 1, 0, 1, 1, 0, 1], ["a"] * 6 + ["b"] * 3
    )
    a = curves[curves["group"] == "a"]
    assert a["timeline"].tolist() == [0, 1, 2, 3, 4, 5]
    assert a["survival"].to_numpy() == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0])
    assert a["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    b = curves[curves["group"] == "b"]
    assert b["survival"].to_numpy() == pytest.approx([1, 2 / 3, 0])
    assert b["at_risk"].tolist() == [3, 3, 1]
    assert (curves["ci_lower"] <= curves["survival"]).all()
    assert (curves["survival"] <= curves["ci_upper"]).all()


_CUSTOMERS = (
    ("c1", "2025-01-10", None),
    ("c2", "2025-01-20", "2025-02-15"),
    ("c3", "2025-01-31", "2025-05-01"),
    ("c4", "2025-02-05", None),
    ("c5", "2025-02-25", "2025-03-01"),
    ("c6", "2025-04-02", None),
)


@pytest.fixture
def cohort_warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(tmp_path / "cohorts.duckdb") as warehouse:
        for customer, opened, closed in _CUSTOMERS:
            warehouse.execute(
                "INSERT INTO customers (customer_id, customer_type, full_name, region, kyc_risk, "
                "channel_preference, opened_at, closed_at) VALUES (?, 'retail', 'x', 'Beijing', "
                "'low', 'mobile', CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ))",
                (customer, f"{opened} 09:00:00+00", closed and f"{closed} 09:00:00+00"),
            )
        yield warehouse


def _shares(frame: pd.DataFrame) -> list[tuple[str, int, int, int]]:
    return [
        (str(row.cohort), int(row.months), int(row.observed), int(row.retained))
        for row in frame.itertuples()
    ]


def test_retention_by_month_cohort_gives_exact_shares(cohort_warehouse: DuckDBWarehouse) -> None:
    frame = retention_by_cohort(warehouse=cohort_warehouse, as_of=AS_OF)
    assert _shares(frame) == [
        ("2025-01-01", 0, 3, 3), ("2025-01-01", 1, 3, 2), ("2025-01-01", 2, 3, 2),
        ("2025-02-01", 0, 2, 2), ("2025-02-01", 1, 2, 1),
    ]  # fmt: skip
    assert frame["share"].tolist() == pytest.approx([1, 2 / 3, 2 / 3, 1, 0.5])


def test_retention_by_quarter_cohort_and_group(cohort_warehouse: DuckDBWarehouse) -> None:
    quarters = retention_by_cohort(warehouse=cohort_warehouse, as_of=AS_OF, cohort="quarter")
    assert _shares(quarters) == [
        ("2025-01-01", 0, 5, 5), ("2025-01-01", 1, 5, 3), ("2025-01-01", 2, 3, 2),
    ]  # fmt: skip
    cohort_warehouse.execute("CREATE TABLE tiers (customer_id VARCHAR, tier VARCHAR)")
    cohort_warehouse.execute("INSERT INTO tiers VALUES ('c1', 'gold'), ('c2', 'gold')")
    grouped = retention_by_cohort(
        warehouse=cohort_warehouse, as_of=AS_OF, group_table="tiers", group_column="tier"
    )
    gold = grouped[grouped["group"] == "gold"]
    assert gold[["months", "observed", "retained"]].to_numpy().tolist() == [
        [0, 2, 2], [1, 2, 1], [2, 2, 1],
    ]  # fmt: skip
    with pytest.raises(ValidationError, match="identifier"):
        retention_by_cohort(warehouse=cohort_warehouse, as_of=AS_OF, group_table="t; DROP")


@pytest.fixture(scope="module")
def simulated_bank(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Features four months into a simulated year, followed to its end (closure churn)."""
    root = tmp_path_factory.mktemp("survival")
    synthesize(SimulationConfig(customers=2000, months=12, seed=1), root / "bank")
    as_of, end = datetime(2025, 5, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    with DuckDBWarehouse.open(root / "warehouse.duckdb") as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
        features = compute_features(warehouse=warehouse, as_of=as_of)
        rows = warehouse.fetch_all(
            "SELECT customer_id, churned_at FROM churn_labels WHERE definition = 'closure'"
        )
    churn = pd.DataFrame(rows, columns=["customer_id", "churned_at"])
    return survival_frame(features, churn, as_of=as_of, observation_end=end)


@pytest.mark.slow
def test_ranks_churn_of_a_simulated_bank_on_holdout(simulated_bank: pd.DataFrame) -> None:
    frame = simulated_bank
    inputs = frame.drop(columns=["snapshot_at", "customer_id", "duration_days", "event"])
    holdout = (pd.util.hash_pandas_object(frame["customer_id"], index=False) % 10 >= 7).to_numpy()
    model = TimeToChurnModel().fit(
        inputs[~holdout], frame["duration_days"][~holdout], frame["event"][~holdout]
    )
    assert frame["event"][holdout].sum() >= 20
    c_index = model.concordance(
        inputs[holdout], frame["duration_days"][holdout], frame["event"][holdout]
    )
    assert c_index > 0.6
