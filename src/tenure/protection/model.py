"""The fraud model: LightGBM with calibrated probabilities and per-decision contributions.

Scoring one event must take tens of microseconds, and LightGBM's own ``pred_contrib`` (TreeSHAP)
takes milliseconds per row, so contributions come from the path each tree takes instead (Saabas):
for every leaf of every tree the change in the node value at each split on the way down is
credited to that split's feature. Those per-leaf vectors are tabulated once after training; at
decision time one compiled walk through the flattened trees (``tenure.protection.compiled``)
finds the leaves and sums the raw score and the contributions from the table on the way. The raw
score is exactly LightGBM's (same leaves, summed in LightGBM's order); the contributions sum to
it.

Probabilities are calibrated on the most recent quarter of the training events (time order, never
shuffled), so a probability of 0.02 means about 2 in 100, and calibrated *given what is at stake*:
the expected-cost policy multiplies the probability by the amount, so a probability right on
average but wrong for very large amounts (a plain isotonic map of the score pools a bank's rare
100-million-yuan treasury transfers with everyday ones of the same score) puts a price on friction
that no fraud justifies. The calibrator is a small boosted model of the raw score, the amount and
the event kind, constrained to rise with the score (:class:`StakeCalibrator`).

An unsupervised anomaly score (robust Mahalanobis distance on a few behaviour features, see
:class:`AnomalyScorer`) is added as a feature: it says how unusual an event is even when the
customer has little history of their own.
"""

from __future__ import annotations

import bisect
import ctypes
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm import basic as lgb_basic
from sklearn.covariance import MinCovDet
from sklearn.metrics import average_precision_score, roc_auc_score

from tenure.core.errors import ConfigurationError, ValidationError
from tenure.protection.compiled import FlatTrees, flatten, mahalanobis, walk, warm_up

__all__ = ["CALIBRATE_BY", "AnomalyScorer", "FraudModel", "Scored", "StakeCalibrator"]

# what the probability is calibrated on, besides the raw score: the amount and the kind of event
CALIBRATE_BY = ("event.log_amount", "event.kind_code")

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class Scored:
    """One event's calibrated fraud probability and each feature's share of the raw score."""

    probability: float
    raw: float
    contributions: FloatArray


class AnomalyScorer:
    """Robust Mahalanobis distance of an event from the bulk of events on ``columns``."""

    def __init__(self, columns: Sequence[str], *, sample: int = 20_000, random_state: int = 0):
        self.columns = tuple(columns)
        self.sample = sample
        self.random_state = random_state

    def fit(self, frame: pd.DataFrame) -> AnomalyScorer:
        """Fit the robust centre and spread on (a seeded sample of) ``frame``."""
        values = self._matrix(frame)
        rng = np.random.default_rng(self.random_state)
        if len(values) > self.sample:
            values = values[rng.choice(len(values), self.sample, replace=False)]
        self.scale_ = np.maximum(values.std(axis=0), 1e-6)
        robust = MinCovDet(random_state=self.random_state).fit(values / self.scale_)
        self.location_ = robust.location_
        self.precision_ = robust.get_precision()
        return self

    def _matrix(self, frame: pd.DataFrame) -> FloatArray:
        matrix = frame[list(self.columns)].to_numpy(dtype=np.float64)
        return np.asarray(np.nan_to_num(matrix, nan=0.0), dtype=np.float64)

    def score(self, frame: pd.DataFrame) -> FloatArray:
        """Distances of every row (larger = more unusual)."""
        return np.asarray(self._distance(self._matrix(frame)), dtype=np.float64)

    def score_one(self, values: FloatArray) -> float:
        """The distance of one row given in ``columns`` order (NaN counts as 0)."""
        return mahalanobis(values, self.scale_, self.location_, self.precision_)

    def _distance(self, values: FloatArray) -> FloatArray:
        centred = values / self.scale_ - self.location_
        squared = np.einsum("ij,jk,ik->i", centred, self.precision_, centred)
        return np.asarray(np.sqrt(np.maximum(squared, 0.0)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _LeafPaths:
    """Per (tree, leaf) row: the leaf value and its path's split features and value steps.

    Paths are padded to the deepest one with feature index ``width`` (a dummy slot dropped after
    summing), so contributions of one event are one gather and one ``bincount``.
    """

    values: FloatArray
    features: np.ndarray
    steps: FloatArray
    leaves_per_tree: int
    bias: float


def _leaf_paths(booster: lgb.Booster, width: int) -> _LeafPaths:
    trees = booster.dump_model()["tree_info"]
    per_tree = max(int(t["num_leaves"]) for t in trees)
    paths: dict[int, list[tuple[int, float]]] = {}
    values = np.zeros(len(trees) * per_tree)
    bias = 0.0
    for index, tree in enumerate(trees):
        root = tree["tree_structure"]
        if "split_feature" not in root:  # a single-leaf tree adds a constant
            values[index * per_tree : (index + 1) * per_tree] = float(root["leaf_value"])
            bias += float(root["leaf_value"])
            continue
        bias += float(root["internal_value"])
        _walk(root, [], index * per_tree, values, paths)
    depth = max((len(p) for p in paths.values()), default=1)
    features = np.full((len(values), depth), width, dtype=np.int64)
    steps = np.zeros((len(values), depth))
    for row, path in paths.items():
        for column, (feature, step) in enumerate(path):
            features[row, column], steps[row, column] = feature, step
    return _LeafPaths(values, features, steps, per_tree, bias)


def _walk(
    node: dict[str, Any],
    path: list[tuple[int, float]],
    offset: int,
    values: FloatArray,
    paths: dict[int, list[tuple[int, float]]],
) -> None:
    here = float(node["internal_value"])
    for side in ("left_child", "right_child"):
        child = node[side]
        is_leaf = "split_feature" not in child
        child_value = float(child["leaf_value"] if is_leaf else child["internal_value"])
        step = [*path, (int(node["split_feature"]), child_value - here)]
        if is_leaf:
            values[offset + int(child.get("leaf_index", 0))] = child_value
            paths[offset + int(child.get("leaf_index", 0))] = step
        else:
            _walk(child, step, offset, values, paths)


def _flat(booster: lgb.Booster, paths: _LeafPaths, width: int) -> FlatTrees | None:
    return flatten(
        booster,
        paths.leaves_per_tree,
        values=paths.values,
        path_features=paths.features,
        path_steps=paths.steps,
        padding=width,
    )


# the C library handle LightGBM loads; typed Any because the package does not export it
_LIB: Any = vars(lgb_basic)["_LIB"]
# LightGBM C API constants (c_api.h): predict leaf indices of float64 row-major input
_PREDICT_LEAF_INDEX, _DTYPE_FLOAT64 = 2, 1


class _FastLeaves:
    """Leaf indices of one row through LightGBM's single-row fast path (about 5x the Python one).

    The C handle is not picklable, so it is rebuilt on first use after loading.
    """

    def __init__(self, booster: lgb.Booster, width: int) -> None:
        self._booster = booster
        self._width = width
        self._handle: ctypes.c_void_p | None = None
        self._out = np.zeros(booster.num_trees(), dtype=np.float64)
        self._out_len = ctypes.c_int64()
        # the row is copied into a buffer of its own, so the pointers are made once, not per call
        self._in = np.zeros(width, dtype=np.float64)
        self._in_ptr = self._in.ctypes.data_as(ctypes.c_void_p)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._len_ref = ctypes.byref(self._out_len)

    def _init(self) -> ctypes.c_void_p:
        handle = ctypes.c_void_p()
        lgb_basic._safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                self._booster._handle,
                ctypes.c_int(_PREDICT_LEAF_INDEX),
                ctypes.c_int(0),
                ctypes.c_int(-1),
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(self._width),
                lgb_basic._c_str("num_threads=1"),
                ctypes.byref(handle),
            )
        )
        self._handle = handle
        return handle

    def __call__(self, row: FloatArray) -> np.ndarray:
        handle = self._handle or self._init()
        self._in[:] = row
        if _LIB.LGBM_BoosterPredictForMatSingleRowFast(
            handle, self._in_ptr, self._len_ref, self._out_ptr
        ):
            lgb_basic._safe_call(-1)  # raises LightGBMError with the library's last message
        return self._out.astype(np.int64)

    def __getstate__(self) -> dict[str, object]:
        return {"booster": self._booster, "width": self._width}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["booster"], state["width"])  # type: ignore[misc]

    def __del__(self) -> None:
        if self._handle is not None:
            _LIB.LGBM_FastConfigFree(self._handle)
            self._handle = None


# a calibrator whose split points make more cells than this is scored through its trees instead
_MAX_TABLE_CELLS = 2_000_000


def _tabulate(booster: lgb.Booster, width: int) -> tuple[list[list[float]], FloatArray | None]:
    """The ensemble as a table over the cells its split points cut each feature into.

    Trees on three features with a few hundred splits are piecewise constant on that grid, so
    one event's probability is a bisection per feature and one lookup (exactly the trees' value,
    a few microseconds instead of a pass through every tree). ``x <= threshold`` goes left, so
    the cell of ``x`` is the number of split points below it, and split point ``i`` itself
    stands for cell ``i``.
    """
    found: list[set[float]] = [set() for _ in range(width)]
    for tree in booster.dump_model()["tree_info"]:
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" in node:
                found[int(node["split_feature"])].add(float(node["threshold"]))
                stack += [node["left_child"], node["right_child"]]
    cuts = [sorted(points) for points in found]
    shape = tuple(len(points) + 1 for points in cuts)
    if math.prod(shape) > _MAX_TABLE_CELLS:
        return cuts, None
    axes = [np.array([*points, (points[-1] + 1.0) if points else 0.0]) for points in cuts]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, width)
    table = np.asarray(booster.predict(grid, num_threads=1), dtype=np.float64)
    return cuts, table.reshape(shape)


class StakeCalibrator:
    """P(fraud) from the raw score, rising with it, given the amount and the kind of event.

    A boosted model with a monotone constraint on the score (so calibration never reorders two
    events of the same amount and kind) and small, well-populated leaves (``min_data_in_leaf``),
    fitted by log loss on held-out events. One event is scored through the fast leaf path.
    """

    def __init__(
        self, *, rounds: int = 100, num_leaves: int = 8, min_data_in_leaf: int = 100,
        random_state: int = 0,
    ) -> None:  # fmt: skip
        self.rounds = rounds
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.random_state = random_state

    def fit(self, raw: FloatArray, context: FloatArray, labels: np.ndarray) -> StakeCalibrator:
        """Fit on held-out raw scores, their context columns and labels."""
        matrix = np.column_stack([raw, context])
        params = {
            "objective": "binary",
            "learning_rate": 0.05,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "monotone_constraints": [1] + [0] * context.shape[1],
            "seed": self.random_state,
            "deterministic": True,
            "num_threads": 1,
            "verbose": -1,
        }
        data = lgb.Dataset(matrix, label=labels, free_raw_data=True)
        self.booster_ = lgb.train(params, data, num_boost_round=self.rounds)
        width = matrix.shape[1]
        paths = _leaf_paths(self.booster_, width)
        self._values = paths.values
        self._offsets = np.arange(self.booster_.num_trees()) * paths.leaves_per_tree
        self._leaves = _FastLeaves(self.booster_, width)
        self._row = np.zeros(width)
        self._cuts, self._table = _tabulate(self.booster_, width)
        return self

    def predict(self, raw: FloatArray, context: FloatArray) -> FloatArray:
        """Probabilities of many events."""
        matrix = np.column_stack([raw, context])
        return np.asarray(self.booster_.predict(matrix, num_threads=1), dtype=np.float64)

    def predict_one(self, raw: float, context: FloatArray) -> float:
        """The probability of one event (the same number :meth:`predict` gives)."""
        if self._table is not None and not math.isnan(raw) and not np.isnan(context).any():
            cell = tuple(
                bisect.bisect_left(cuts, value)
                for cuts, value in zip(self._cuts, (raw, *context.tolist()), strict=True)
            )
            return float(self._table[cell])
        row = self._row.copy()
        row[0] = raw
        row[1:] = context
        score = float(self._values[self._offsets + self._leaves(row)].sum())
        return 1.0 / (1.0 + math.exp(-score))


class FraudModel:
    """Gradient-boosted trees on event features, calibrated, explained per decision."""

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.03,
        num_leaves: int = 7,
        calibration_share: float = 0.25,
        random_state: int = 0,
        threads: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.calibration_share = calibration_share
        self.random_state = random_state
        self.threads = threads

    def fit(self, X: pd.DataFrame, y: Sequence[bool] | np.ndarray) -> FraudModel:  # noqa: N803
        """Fit on rows in time order; the last ``calibration_share`` calibrates and validates."""
        labels = np.asarray(y, dtype=np.int64)
        if len(X) != len(labels):
            raise ValidationError("features and labels differ in length", field="y")
        missing = [c for c in CALIBRATE_BY if c not in X.columns]
        if missing:
            raise ValidationError(
                f"the features lack {', '.join(missing)}, which calibration needs", field="X"
            )
        cut = int(len(X) * (1.0 - self.calibration_share))
        if labels[:cut].sum() < 5 or labels[cut:].sum() < 5:
            raise ValidationError(
                "too few fraud labels to train and calibrate (need 5 on each side of the time "
                "split); simulate or load more history",
                field="fraud_labels",
            )
        self.features_ = tuple(str(c) for c in X.columns)
        self.booster_ = self._train(X.iloc[:cut], labels[:cut])
        self.paths_ = _leaf_paths(self.booster_, len(self.features_))
        held_raw = np.asarray(
            self.booster_.predict(X.iloc[cut:], raw_score=True, num_threads=self.threads),
            dtype=np.float64,
        )
        self._context_index = [self.features_.index(c) for c in CALIBRATE_BY]
        held_context = X.iloc[cut:][list(CALIBRATE_BY)].to_numpy(dtype=np.float64)
        self.calibrator_ = StakeCalibrator(random_state=self.random_state)
        self.calibrator_.fit(held_raw, held_context, labels[cut:])
        calibrated = self.calibrator_.predict(held_raw, held_context)
        self.validation_ = {
            "roc_auc": float(roc_auc_score(labels[cut:], held_raw)),
            "pr_auc": float(average_precision_score(labels[cut:], held_raw)),
            "events": float(len(held_raw)),
            "fraud_rate": float(labels[cut:].mean()),
            "mean_calibrated": float(np.mean(calibrated)),
        }
        self._leaves = _FastLeaves(self.booster_, len(self.features_))
        self._offsets = np.arange(self.booster_.num_trees()) * self.paths_.leaves_per_tree
        self._flat = _flat(self.booster_, self.paths_, len(self.features_))
        return self

    def _train(self, X: pd.DataFrame, labels: np.ndarray) -> lgb.Booster:  # noqa: N803
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": 20,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.random_state,
            "deterministic": True,
            "num_threads": self.threads,
            "verbose": -1,
        }
        data = lgb.Dataset(X.to_numpy(dtype=np.float64), label=labels, free_raw_data=True)
        return lgb.train(params, data, num_boost_round=self.n_estimators)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a model pickled before stake-aware calibration cannot score: say so, not AttributeError
        if "booster_" in state and "_context_index" not in state:
            raise ConfigurationError(
                "the registered fraud model was trained by an older Tenure; run "
                "`tenure protection train` again",
                field="models_dir",
            )
        self.__dict__.update(state)
        if "booster_" in state:  # flattened again on every load: the layout is this code's own
            self._flat = _flat(self.booster_, self.paths_, len(self.features_))
            if self._flat is not None:
                warm_up()  # a loaded model is about to score: its first event should not wait

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_flat", None)
        return state

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """Calibrated fraud probabilities of many rows (batch)."""
        matrix = X[list(self.features_)].to_numpy(dtype=np.float64)
        raw = self.booster_.predict(matrix, raw_score=True, num_threads=self.threads)
        context = matrix[:, self._context_index]
        return self.calibrator_.predict(np.asarray(raw, dtype=np.float64), context)

    def score_one(self, row: FloatArray) -> Scored:
        """One event (features in ``features_`` order): probability, raw score, contributions."""
        paths = self.paths_
        width = len(self.features_)
        flat: FlatTrees | None = self._flat
        if flat is not None:
            raw, summed = walk(flat, row)
        else:
            rows = self._offsets + self._leaves(row)
            # take() gathers rows at a third of what fancy indexing costs on arrays this small
            raw = float(paths.values.take(rows).sum())
            summed = np.asarray(
                np.bincount(
                    paths.features.take(rows, axis=0).ravel(),
                    weights=paths.steps.take(rows, axis=0).ravel(),
                    minlength=width + 1,
                ),
                dtype=np.float64,
            )
        contributions = summed[:width]
        probability = self.calibrator_.predict_one(raw, row[self._context_index])
        return Scored(probability=probability, raw=raw, contributions=contributions)
