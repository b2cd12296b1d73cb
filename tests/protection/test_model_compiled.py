"""The compiled tree walk and anomaly distance give exactly what LightGBM and NumPy give."""

from __future__ import annotations

import pickle
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from numba.core import caching

from tenure.protection.compiled import FlatTrees, jit, mahalanobis, walk
from tenure.protection.model import CALIBRATE_BY, AnomalyScorer, FraudModel, _flat, _leaf_paths

WIDTH = 6


def _rows(n: int, seed: int) -> np.ndarray:
    """Rows with NaNs, exact zeros and values right on either side of zero."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(0.0, 3.0, (n, WIDTH))
    rows[rng.random(rows.shape) < 0.15] = np.nan
    rows[rng.random(rows.shape) < 0.15] = 0.0
    rows[rng.random(rows.shape) < 0.05] = 1e-40
    rows[rng.random(rows.shape) < 0.05] = -1e-3
    return rows


def _booster(**params: Any) -> lgb.Booster:
    rows = _rows(4_000, seed=1)
    filled = np.nan_to_num(rows)
    labels = ((filled[:, 0] + filled[:, 1] * filled[:, 2] + np.isnan(rows[:, 3])) > 1.0).astype(int)
    base = {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1, "seed": 0}
    return lgb.train({**base, **params}, lgb.Dataset(rows, label=labels), num_boost_round=40)


def _flatten(booster: lgb.Booster, width: int = WIDTH) -> FlatTrees | None:
    return _flat(booster, _leaf_paths(booster, width), width)


@pytest.mark.parametrize(
    "params",
    [
        {},  # NaN as missing
        {"zero_as_missing": True},  # zero (and NaN) as missing
        {"use_missing": False},  # no missing values: NaN reads as zero
    ],
    ids=["nan-missing", "zero-missing", "no-missing"],
)
def test_the_walk_reaches_lightgbms_leaves_and_its_raw_score(params: dict[str, Any]) -> None:
    booster = _booster(**params)
    paths = _leaf_paths(booster, WIDTH)
    trees = _flatten(booster)
    assert trees is not None
    rows = _rows(2_000, seed=2)
    expected_raw = booster.predict(rows, raw_score=True)
    leaves = booster.predict(rows, pred_leaf=True).astype(np.int64)
    offsets = np.arange(booster.num_trees()) * paths.leaves_per_tree
    for row, raw_lgb, leaf in zip(rows, expected_raw, leaves, strict=True):
        raw, contributions = walk(trees, row)
        assert raw == raw_lgb  # same leaves, summed in the same order: bit for bit
        reached = offsets + leaf
        expected = np.bincount(
            paths.features[reached].ravel(),
            weights=paths.steps[reached].ravel(),
            minlength=WIDTH + 1,
        )
        np.testing.assert_array_equal(contributions, expected[:WIDTH])


def test_contributions_add_up_to_the_raw_score_less_the_trees_root_values() -> None:
    booster = _booster()
    paths = _leaf_paths(booster, WIDTH)
    trees = _flatten(booster)
    assert trees is not None
    for row in _rows(200, seed=4):
        raw, contributions = walk(trees, row)
        assert len(contributions) == WIDTH
        assert contributions.sum() + paths.bias == pytest.approx(raw, abs=1e-9)


def test_a_model_with_categorical_splits_is_not_flattened() -> None:
    rng = np.random.default_rng(5)
    rows = np.column_stack([rng.integers(0, 8, 3_000), rng.normal(size=3_000)])
    labels = np.isin(rows[:, 0], [1, 5]).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_per_group": 5},
        lgb.Dataset(rows, label=labels, categorical_feature=[0]),
        num_boost_round=5,
    )
    assert _flatten(booster, width=2) is None


def test_the_anomaly_distance_is_numpys_with_nan_as_zero() -> None:
    rng = np.random.default_rng(6)
    values = rng.normal(size=5)
    values[2] = np.nan
    scale = rng.uniform(0.5, 2.0, 5)
    location = rng.normal(size=5)
    half = rng.normal(size=(5, 5))
    precision = half @ half.T
    centred = np.nan_to_num(values) / scale - location
    expected = float(np.sqrt(centred @ precision @ centred))
    assert mahalanobis(values, scale, location, precision) == pytest.approx(expected, rel=1e-12)


def test_one_row_of_the_anomaly_scorer_matches_its_batch() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(500, 3)), columns=["a", "b", "c"])
    frame.iloc[::7, 1] = np.nan
    scorer = AnomalyScorer(["a", "b", "c"]).fit(frame)
    batch = scorer.score(frame)
    one = [scorer.score_one(row) for row in frame.to_numpy(dtype=np.float64)]
    np.testing.assert_allclose(one, batch, rtol=1e-10)


def _fraud_model() -> tuple[FraudModel, pd.DataFrame]:
    rng = np.random.default_rng(8)
    n = 4_000
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x0", "x1", "x2", "x3"])
    frame[CALIBRATE_BY[0]] = rng.uniform(5.0, 15.0, n)
    frame[CALIBRATE_BY[1]] = rng.integers(0, 3, n).astype(np.float64)
    frame.loc[frame.index[::9], "x2"] = np.nan
    labels = (frame["x0"] + rng.normal(0.0, 0.5, n) > 1.8).to_numpy()
    return FraudModel(n_estimators=60).fit(frame, labels), frame


def test_the_fraud_model_scores_one_event_as_its_batch_does() -> None:
    model, frame = _fraud_model()
    matrix = frame.to_numpy(dtype=np.float64)
    raw = model.booster_.predict(matrix, raw_score=True)
    batch = model.predict_proba(frame)
    for index in range(0, len(frame), 37):
        scored = model.score_one(matrix[index])
        assert scored.raw == raw[index]
        assert scored.probability == pytest.approx(batch[index], rel=1e-9, abs=1e-12)


def test_a_loaded_model_is_flattened_again_and_scores_as_before() -> None:
    model, frame = _fraud_model()
    assert "_flat" not in model.__getstate__()  # the layout is never stored, only the trees
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded._flat is not None
    row = frame.to_numpy(dtype=np.float64)[11]
    assert loaded.score_one(row).raw == model.score_one(row).raw
    np.testing.assert_array_equal(
        loaded.score_one(row).contributions, model.score_one(row).contributions
    )


def _plus_one(value: float) -> float:
    return value + 1.0


def test_without_a_writable_cache_the_functions_are_compiled_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])  # nowhere to write a cache
    compiled = jit(_plus_one)
    assert compiled(1.5) == 2.5
