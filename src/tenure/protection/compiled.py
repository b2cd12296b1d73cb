"""The per-event arithmetic of the scorer, compiled: tree walks and contributions, the anomaly
distance.

One decision scores one event. Done with LightGBM's single-row call and a handful of NumPy calls
on tiny arrays, that cost about 120 microseconds inside the live engine (measured with py-spy on
``tenure protection bench``'s loop): each call is cheap alone, but a decision runs between others
that push the trees' scattered nodes and NumPy's dispatch code out of the CPU caches. Here the
whole ensemble is flattened into a few contiguous arrays and walked by one function that Numba
compiles to machine code (cached on disk after the first use), which also sums the raw score and
the per-feature contributions on the way; the anomaly distance is a second such function.

The walk follows LightGBM's own rule for numerical splits (``Tree::NumericalDecision``): a NaN
counts as 0 unless the split treats NaN as missing; a missing value (NaN, or zero for a split whose
missing type is zero) goes the split's default way; otherwise ``value <= threshold`` goes left.
Thresholds are read from LightGBM's model dump, which prints them with 17 significant digits, so
they are the same doubles. A model with categorical splits is not flattened (:func:`flatten` says
so) and keeps LightGBM's own call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numba
import numpy as np

__all__ = ["FlatTrees", "flatten", "mahalanobis", "walk", "warm_up"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int32]]

_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |value| <= this is zero for a zero-as-missing split


@dataclass(frozen=True, slots=True)
class FlatTrees:
    """Every internal node of every tree, in one set of arrays.

    ``left`` / ``right`` hold a node's children: a non-negative number is another node, a negative
    one is ``~row`` of the leaf it reaches (``row = tree * leaves_per_tree + leaf``, the rows of
    the model's leaf table). ``roots`` is each tree's first node (or ``~row`` of a one-leaf tree).
    """

    feature: IntArray
    threshold: FloatArray
    left: IntArray
    right: IntArray
    default_left: np.ndarray[Any, np.dtype[np.uint8]]
    missing: np.ndarray[Any, np.dtype[np.uint8]]
    roots: IntArray


def flatten(booster: lgb.Booster, leaves_per_tree: int) -> FlatTrees | None:
    """The booster as :class:`FlatTrees`; None if a split is not numerical (``<=``)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    default_left: list[int] = []
    missing: list[int] = []
    roots: list[int] = []
    for index, tree in enumerate(booster.dump_model()["tree_info"]):
        offset = index * leaves_per_tree

        def child(node: dict[str, Any], offset: int = offset) -> int:
            if "split_feature" not in node:
                return ~(offset + int(node.get("leaf_index", 0)))
            slot = len(feature)
            feature.append(int(node["split_feature"]))
            threshold.append(float(node["threshold"]))
            default_left.append(1 if node["default_left"] else 0)
            missing.append(_MISSING[str(node["missing_type"])])
            left.append(0)
            right.append(0)
            left[slot] = child(node["left_child"])
            right[slot] = child(node["right_child"])
            return slot

        if _has_other_splits(tree["tree_structure"]):
            return None
        roots.append(child(tree["tree_structure"]))
    return FlatTrees(
        feature=np.asarray(feature, dtype=np.int32),
        threshold=np.asarray(threshold, dtype=np.float64),
        left=np.asarray(left, dtype=np.int32),
        right=np.asarray(right, dtype=np.int32),
        default_left=np.asarray(default_left, dtype=np.uint8),
        missing=np.asarray(missing, dtype=np.uint8),
        roots=np.asarray(roots, dtype=np.int32),
    )


def _has_other_splits(node: dict[str, Any]) -> bool:
    stack = [node]
    while stack:
        here = stack.pop()
        if "split_feature" in here:
            if here.get("decision_type") != "<=":
                return True
            stack += [here["left_child"], here["right_child"]]
    return False


@numba.njit(cache=True, nogil=True)
def _walk(
    row: Any,
    feature: Any,
    threshold: Any,
    left: Any,
    right: Any,
    default_left: Any,
    missing: Any,
    roots: Any,
    values: Any,
    path_features: Any,
    path_steps: Any,
    contributions: Any,
) -> float:  # pragma: no cover - compiled; tested through walk()
    raw = 0.0
    depth = path_features.shape[1]
    for tree in range(roots.shape[0]):
        node = roots[tree]
        while node >= 0:
            value = row[feature[node]]
            kind = missing[node]
            if math.isnan(value) and kind != 2:
                value = 0.0
            if (kind == 1 and -_ZERO <= value <= _ZERO) or (kind == 2 and math.isnan(value)):
                node = left[node] if default_left[node] else right[node]
            elif value <= threshold[node]:
                node = left[node]
            else:
                node = right[node]
        leaf = ~node
        raw += values[leaf]
        for step in range(depth):
            contributions[path_features[leaf, step]] += path_steps[leaf, step]
    return raw


def walk(
    trees: FlatTrees,
    row: FloatArray,
    values: FloatArray,
    path_features: np.ndarray[Any, np.dtype[np.int64]],
    path_steps: FloatArray,
) -> tuple[float, FloatArray]:
    """The raw score of ``row`` and each feature's contribution (one slot more than the row: the
    padding slot of the leaf table's paths, which the caller drops)."""
    contributions = np.zeros(len(row) + 1, dtype=np.float64)
    raw = _walk(
        row, trees.feature, trees.threshold, trees.left, trees.right, trees.default_left,
        trees.missing, trees.roots, values, path_features, path_steps, contributions,
    )  # fmt: skip
    return float(raw), contributions


@numba.njit(cache=True, nogil=True)
def _mahalanobis(
    values: Any, scale: Any, location: Any, precision: Any, centred: Any
) -> float:  # pragma: no cover - compiled; tested through mahalanobis()
    size = values.shape[0]
    for i in range(size):
        value = values[i]
        if math.isnan(value):
            value = 0.0
        centred[i] = value / scale[i] - location[i]
    total = 0.0
    for i in range(size):
        inner = 0.0
        for j in range(size):
            inner += precision[i, j] * centred[j]
        total += centred[i] * inner
    return math.sqrt(max(total, 0.0))


def mahalanobis(
    values: FloatArray, scale: FloatArray, location: FloatArray, precision: FloatArray
) -> float:
    """The distance of ``values`` (NaN counted as 0) from ``location`` in units of ``scale``."""
    centred = np.empty(len(values), dtype=np.float64)
    return float(_mahalanobis(values, scale, location, precision, centred))


def warm_up() -> None:
    """Load (or, the first time on a machine, compile) both functions now, so that the first
    decision after a model is loaded does not wait the third of a second it takes."""
    one = np.zeros(1, dtype=np.int32)
    leaf = np.full(1, -1, dtype=np.int32)  # a one-leaf tree: leaf row 0
    trees = FlatTrees(one, np.zeros(1), one, one, one.astype(np.uint8), one.astype(np.uint8), leaf)
    walk(trees, np.zeros(1), np.zeros(1), np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1)))
    mahalanobis(np.zeros(1), np.ones(1), np.zeros(1), np.eye(1))
