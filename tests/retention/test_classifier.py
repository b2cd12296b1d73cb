"""``ChurnClassifier``: the estimator contract, mixed-type input, contributions and calibration."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from tenure.core.errors import ValidationError
from tenure.retention.classifier import BIAS_COLUMN, ChurnClassifier


def churn_frame(rows: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers with numbers, text categories and gaps; churn depends on three of them."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    contract = rng.choice(["monthly", "one_year", "two_year"], rows, p=[0.5, 0.3, 0.2])
    charges = rng.normal(65, 20, rows).round(2)
    branch = rng.choice([f"B{i:02d}" for i in range(30)], rows).astype(object)
    branch[rng.random(rows) < 0.1] = None
    age = rng.normal(45, 12, rows)
    age[rng.random(rows) < 0.15] = np.nan
    logit = -0.5 + 1.6 * (contract == "monthly") - 0.05 * tenure + 0.02 * (charges - 65)
    churn = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {"tenure": tenure, "contract": contract, "charges": charges, "branch": branch, "age": age}
    )
    return frame, churn


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return churn_frame()


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, np.ndarray]) -> ChurnClassifier:
    frame, churn = data
    return ChurnClassifier(random_state=3, n_jobs=1).fit(frame, churn)


def test_fit_returns_self_and_learns_trailing_underscore_attributes(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, churn = data
    model = ChurnClassifier(n_estimators=30, n_jobs=1)
    assert model.fit(frame, churn) is model
    assert list(model.feature_names_in_) == list(frame.columns)
    assert model.n_features_in_ == 5
    assert list(model.classes_) == [0, 1]
    assert model.n_estimators_ == 30


def test_init_only_stores_parameters_so_clone_round_trips() -> None:
    model = ChurnClassifier(learning_rate=0.1, calibration="sigmoid", random_state=7)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not [name for name in vars(copy) if name.endswith("_")]


def test_ranks_churners_above_stayers_on_held_out_rows(fitted: ChurnClassifier) -> None:
    frame, churn = churn_frame(rows=1000, seed=1)
    assert roc_auc_score(churn, fitted.predict_proba(frame)[:, 1]) > 0.75


def test_fit_and_predict_leave_the_input_untouched(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, churn = data
    before = frame.copy(deep=True)
    model = ChurnClassifier(n_estimators=30, n_jobs=1).fit(frame, churn)
    model.predict_proba(frame)
    model.contributions(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_column_order_at_predict_time_does_not_matter(
    fitted: ChurnClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = data
    shuffled = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(fitted.predict_proba(frame), fitted.predict_proba(shuffled))


def test_pickle_round_trip_gives_identical_probabilities(
    fitted: ChurnClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(frame), fitted.predict_proba(frame))


def test_same_seed_gives_identical_predictions(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, churn = data
    first = ChurnClassifier(random_state=5, n_jobs=1).fit(frame, churn).predict_proba(frame)
    second = ChurnClassifier(random_state=5, n_jobs=1).fit(frame, churn).predict_proba(frame)
    np.testing.assert_array_equal(first, second)


def test_unseen_category_and_missing_values_at_predict_time_are_scored(
    fitted: ChurnClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = data
    odd = frame.head(3).copy()
    odd["contract"] = ["ten_year", None, "monthly"]
    odd["age"] = [np.nan, np.nan, 30.0]
    churn = fitted.predict_proba(odd)[:, 1]
    assert np.all((churn > 0) & (churn < 1))


def test_contributions_sum_to_the_raw_log_odds(
    fitted: ChurnClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = data
    reasons = fitted.contributions(frame.head(50))
    assert list(reasons.columns) == [*frame.columns, BIAS_COLUMN]
    assert list(reasons.index) == list(frame.head(50).index)
    np.testing.assert_allclose(
        reasons.sum(axis=1).to_numpy(), fitted.decision_function(frame.head(50)), atol=1e-9
    )


def test_sigmoid_calibration_keeps_the_ranking(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, churn = data
    model = ChurnClassifier(calibration="sigmoid", random_state=3, n_jobs=1).fit(frame, churn)
    raw = model.decision_function(frame)
    calibrated = model.predict_proba(frame)[:, 1]
    assert roc_auc_score(churn, calibrated) == pytest.approx(roc_auc_score(churn, raw), abs=1e-12)
    assert abs(calibrated.mean() - churn.mean()) < 0.05


def test_isotonic_calibration_gives_probabilities(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, churn = data
    churn_p = (
        ChurnClassifier(calibration="isotonic", n_jobs=1)
        .fit(frame, churn)
        .predict_proba(frame)[:, 1]
    )
    assert churn_p.min() >= 0.0
    assert churn_p.max() <= 1.0


def test_string_labels_and_numpy_input_are_accepted() -> None:
    frame, churn = churn_frame(rows=400)
    labels = np.where(churn == 1, "left", "stayed")
    numbers = frame[["tenure", "charges"]].to_numpy()
    model = ChurnClassifier(n_estimators=20, n_jobs=1).fit(numbers, labels)
    assert set(model.predict(numbers)) <= {"left", "stayed"}
    assert list(model.classes_) == ["left", "stayed"]


def test_missing_feature_column_at_predict_time_is_a_validation_error(
    fitted: ChurnClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, _ = data
    with pytest.raises(ValidationError, match="age"):
        fitted.predict_proba(frame.drop(columns=["age"]))


def test_one_class_target_is_a_validation_error(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, _ = data
    with pytest.raises(ValidationError, match="two classes"):
        ChurnClassifier().fit(frame, np.zeros(len(frame)))
