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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numba
import numpy as np

__all__ = ["FlatTrees", "flatten", "jit", "mahalanobis", "walk", "warm_up"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int32]]

_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |value| <= this is zero for a zero-as-missing split


@dataclass(frozen=True, slots=True)
class FlatTrees:
    """Every internal node of every tree, and every leaf's value and path, in a few arrays.

    ``nodes`` holds one row per internal node: the split's feature, its left and right child and
    its missing-value rule (bit 0: missing goes left; bits 1-2: 0 none, 1 zero, 2 NaN), beside
    ``threshold``. A non-negative child is another node, a negative one ``~row`` of the leaf it
    reaches (``row = tree * leaves_per_tree + leaf``, the rows of the model's leaf table); ``roots``
    is each tree's first node (or ``~row`` of a one-leaf tree). A leaf's path is
    ``path_feature[starts[row]:starts[row + 1]]`` with the value steps in ``path_step``.
    """

    nodes: IntArray
    threshold: FloatArray
    roots: IntArray
    values: FloatArray
    starts: IntArray
    path_feature: IntArray
    path_step: FloatArray


def flatten(
    booster: lgb.Booster,
    leaves_per_tree: int,
    *,
    values: FloatArray,
    path_features: np.ndarray[Any, np.dtype[np.int64]],
    path_steps: FloatArray,
    padding: int,
) -> FlatTrees | None:
    """The booster and its leaf table as :class:`FlatTrees`; None if a split is not numerical.

    ``values``, ``path_features`` and ``path_steps`` are the leaf table (one row per leaf, paths
    padded to one length with the feature number ``padding``, which is left out here).
    """
    nodes: list[tuple[int, int, int, int]] = []
    threshold: list[float] = []
    roots: list[int] = []
    for index, tree in enumerate(booster.dump_model()["tree_info"]):
        offset = index * leaves_per_tree

        def child(node: dict[str, Any], offset: int = offset) -> int:
            if "split_feature" not in node:
                return ~(offset + int(node.get("leaf_index", 0)))
            slot = len(nodes)
            nodes.append((0, 0, 0, 0))
            threshold.append(float(node["threshold"]))
            rule = (1 if node["default_left"] else 0) | _MISSING[str(node["missing_type"])] << 1
            left, right = child(node["left_child"]), child(node["right_child"])
            nodes[slot] = (int(node["split_feature"]), left, right, rule)
            return slot

        if _has_other_splits(tree["tree_structure"]):
            return None
        roots.append(child(tree["tree_structure"]))
    kept = path_features != padding
    return FlatTrees(
        nodes=np.asarray(nodes, dtype=np.int32).reshape(-1, 4),
        threshold=np.asarray(threshold, dtype=np.float64),
        roots=np.asarray(roots, dtype=np.int32),
        values=np.ascontiguousarray(values, dtype=np.float64),
        starts=np.concatenate([[0], np.cumsum(kept.sum(axis=1))]).astype(np.int32),
        path_feature=path_features[kept].astype(np.int32),
        path_step=np.ascontiguousarray(path_steps[kept], dtype=np.float64),
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


def jit(function: Callable[..., float]) -> Any:
    """``function`` compiled by Numba, cached on disk where a cache can be written (beside this
    file, in ``NUMBA_CACHE_DIR`` or in the user's cache directory); where none can (a read-only
    install run by an account without a home), compiled afresh by each process instead, about a
    second when the model loads, rather than failing to import."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # Numba found no writable place for its cache
        return numba.njit(cache=False, nogil=True)(function)


@jit
def _walk(
    row: Any,
    nodes: Any,
    threshold: Any,
    roots: Any,
    values: Any,
    starts: Any,
    path_feature: Any,
    path_step: Any,
    contributions: Any,
) -> float:  # pragma: no cover - compiled; tested through walk()
    raw = 0.0
    for tree in range(roots.shape[0]):
        node = roots[tree]
        while node >= 0:
            value = row[nodes[node, 0]]
            rule = nodes[node, 3]
            missing = rule >> 1
            if math.isnan(value) and missing != 2:
                value = 0.0
            if (missing == 1 and -_ZERO <= value <= _ZERO) or (missing == 2 and math.isnan(value)):
                node = nodes[node, 1] if rule & 1 else nodes[node, 2]
            elif value <= threshold[node]:
                node = nodes[node, 1]
            else:
                node = nodes[node, 2]
        leaf = ~node
        raw += values[leaf]
        for at in range(starts[leaf], starts[leaf + 1]):
            contributions[path_feature[at]] += path_step[at]
    return raw


def walk(trees: FlatTrees, row: FloatArray) -> tuple[float, FloatArray]:
    """The raw score of ``row`` and each feature's contribution to it."""
    contributions = np.zeros(len(row), dtype=np.float64)
    raw = _walk(
        row, trees.nodes, trees.threshold, trees.roots, trees.values, trees.starts,
        trees.path_feature, trees.path_step, contributions,
    )  # fmt: skip
    return float(raw), contributions


@jit
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
    none = np.zeros(0, dtype=np.int32)
    one_leaf = np.full(1, -1, dtype=np.int32)  # a one-leaf tree: leaf row 0, an empty path
    starts = np.zeros(2, dtype=np.int32)
    nodes = np.zeros((0, 4), dtype=np.int32)
    walk(
        FlatTrees(nodes, np.zeros(0), one_leaf, np.zeros(1), starts, none, np.zeros(0)), np.zeros(1)
    )
    mahalanobis(np.zeros(1), np.ones(1), np.zeros(1), np.eye(1))
