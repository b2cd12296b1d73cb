"""The stake-aware calibration of the fraud model and the loss cap the scorer learns."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from tenure.core.errors import ConfigurationError
from tenure.protection.model import CALIBRATE_BY, FraudModel, StakeCalibrator
from tenure.protection.replay import ReplayFrame
from tenure.protection.training import loss_caps


def held_out(n: int = 6_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, (log amount, kind) and labels where huge amounts are never fraud."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(-5.0, 2.0, n)
    log_amount = rng.uniform(5.0, 24.0, n)
    kind = rng.integers(0, 3, n).astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-raw)) * (log_amount < 19.0)
    labels = (rng.random(n) < p).astype(np.int64)
    return raw, np.column_stack([log_amount, kind]), labels


def test_one_event_gets_the_probability_the_batch_gives() -> None:
    raw, context, labels = held_out()
    calibrator = StakeCalibrator().fit(raw, context, labels)
    batch = calibrator.predict(raw[:200], context[:200])
    one = [
        calibrator.predict_one(float(r), c) for r, c in zip(raw[:200], context[:200], strict=True)
    ]
    np.testing.assert_allclose(one, batch, rtol=1e-9, atol=1e-12)


def test_probability_never_falls_as_the_score_rises_for_one_amount_and_kind() -> None:
    raw, context, labels = held_out()
    calibrator = StakeCalibrator().fit(raw, context, labels)
    grid = np.linspace(-12.0, 6.0, 200)
    for amount, kind in ((8.0, 0.0), (15.0, 1.0), (22.0, 2.0)):
        p = calibrator.predict(grid, np.tile([amount, kind], (len(grid), 1)))
        assert np.all(np.diff(p) >= -1e-12)


def test_amounts_never_defrauded_get_a_lower_probability_than_isotonic_pooling_would() -> None:
    raw, context, labels = held_out(n=20_000)
    calibrator = StakeCalibrator().fit(raw, context, labels)
    score = np.full(50, -2.0)
    small = calibrator.predict(score, np.tile([12.0, 1.0], (50, 1)))
    huge = calibrator.predict(score, np.tile([23.0, 1.0], (50, 1)))
    assert huge.mean() < 0.5 * small.mean()


def test_the_fraud_model_refuses_features_without_the_calibration_columns() -> None:
    frame = pd.DataFrame({"x": np.arange(100.0)})
    with pytest.raises(Exception, match=CALIBRATE_BY[0]):
        FraudModel().fit(frame, np.r_[np.zeros(90), np.ones(10)])


def test_loss_caps_are_the_largest_fraud_per_money_kind() -> None:
    events = pd.DataFrame(
        {
            "kind": ["transfer", "transfer", "transfer", "card_payment", "login"],
            "amount_minor": [5_000, 90_000, 7_000_000, 1_200, 0],
        }
    )
    labels = np.array([True, True, False, True, True])
    caps = loss_caps(ReplayFrame(pd.DataFrame(index=events.index), events.assign(is_fraud=labels)))
    assert caps == {"transfer": 90_000, "card_payment": 1_200}


def test_a_model_pickled_before_stake_calibration_asks_to_be_retrained() -> None:
    old = FraudModel()
    old.booster_ = "an old booster"  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match="protection train"):
        pickle.loads(pickle.dumps(old))


def test_one_event_exactly_on_a_split_point_gets_the_trees_answer() -> None:
    raw, context, labels = held_out()
    calibrator = StakeCalibrator().fit(raw, context, labels)
    cuts = calibrator._cuts  # the split points the lookup table is built on
    points = [(r, a, k) for r in cuts[0][::7] for a in cuts[1][::5] for k in (0.0, 1.0, 2.0)]
    matrix = np.array(points)
    batch = calibrator.predict(matrix[:, 0], matrix[:, 1:])
    one = [calibrator.predict_one(float(row[0]), row[1:]) for row in matrix]
    np.testing.assert_allclose(one, batch, rtol=1e-9, atol=1e-12)
