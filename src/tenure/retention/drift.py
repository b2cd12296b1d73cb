"""Population stability (PSI) of each feature at scoring time against the training data.

Bins are learned from training: up to ten quantile bins of the non-missing values (edges
deduplicated, so a flag gets two bins) plus one bin for missing values. PSI sums
``(actual - expected) * ln(actual / expected)`` over the bins, with every proportion floored at
``EPSILON`` so that an empty bin does not make it infinite. Status: ``ok`` below 0.1, ``watch``
below 0.25, ``drift`` from 0.25.

>>> import pandas as pd
>>> train = pd.DataFrame({"x": range(1000)})
>>> bins = learn_bins(train)
>>> float(round(psi_table(bins, train)["psi"].iloc[0], 6))
0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DRIFT",
    "EPSILON",
    "WATCH",
    "FeatureBins",
    "bins_from_json",
    "bins_to_json",
    "learn_bins",
    "psi_table",
]

EPSILON = 1e-4
WATCH = 0.1
DRIFT = 0.25
QUANTILES = 10


@dataclass(frozen=True, slots=True)
class FeatureBins:
    """Training distribution of one feature: inner bin edges, bin shares, missing share."""

    edges: tuple[float, ...]
    proportions: tuple[float, ...]
    missing: float

    def shares(self, values: pd.Series) -> tuple[np.ndarray, float]:
        """Shares of ``values`` in each bin and in the missing bin."""
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        present = numbers[~np.isnan(numbers)]
        total = max(len(numbers), 1)
        slots = np.searchsorted(np.asarray(self.edges), present, side="right")
        counts = np.bincount(slots, minlength=len(self.edges) + 1)
        return counts / total, float(len(numbers) - len(present)) / total


def _learn(values: pd.Series) -> FeatureBins:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    present = numbers[~np.isnan(numbers)]
    if len(present):
        cuts = np.quantile(present, np.linspace(0, 1, QUANTILES + 1)[1:-1])
        # An edge at the minimum would leave the first bin empty forever.
        edges = tuple(float(e) for e in np.unique(cuts) if e > present.min())
    else:
        edges = ()
    bins = FeatureBins(edges, (), 0.0)
    shares, missing = bins.shares(values)
    return FeatureBins(edges, tuple(float(s) for s in shares), missing)


def learn_bins(frame: pd.DataFrame) -> dict[str, FeatureBins]:
    """Per-column bins and proportions learned from the training frame."""
    return {str(name): _learn(frame[name]) for name in frame.columns}


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected, EPSILON)
    a = np.maximum(actual, EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _status(psi: float) -> str:
    if math.isnan(psi):
        return "missing"
    return "ok" if psi < WATCH else "watch" if psi < DRIFT else "drift"


def psi_table(bins: dict[str, FeatureBins], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: psi, status, and the missing shares in training and now."""
    rows = []
    for name, learned in bins.items():
        if name not in frame.columns:
            rows.append((name, math.nan, "missing", learned.missing, math.nan))
            continue
        shares, missing = learned.shares(frame[name])
        expected = np.r_[np.asarray(learned.proportions), learned.missing]
        psi = _psi(expected, np.r_[shares, missing])
        rows.append((name, psi, _status(psi), learned.missing, missing))
    columns = ["feature", "psi", "status", "missing_train", "missing_now"]
    table = pd.DataFrame.from_records(rows, columns=columns)
    return table.sort_values("psi", ascending=False, ignore_index=True)


def bins_to_json(bins: dict[str, FeatureBins]) -> dict[str, dict[str, object]]:
    """Bins as plain JSON values, for the model manifest."""
    return {
        name: {"edges": list(b.edges), "proportions": list(b.proportions), "missing": b.missing}
        for name, b in bins.items()
    }


def bins_from_json(data: dict[str, dict[str, object]]) -> dict[str, FeatureBins]:
    """Bins read back from a manifest."""
    out: dict[str, FeatureBins] = {}
    for name, item in data.items():
        edges = item["edges"]
        proportions = item["proportions"]
        missing = item["missing"]
        if not isinstance(edges, list) or not isinstance(proportions, list):
            raise ValueError(f"bins of {name} are malformed")
        if not isinstance(missing, int | float):
            raise ValueError(f"missing share of {name} is malformed")
        out[name] = FeatureBins(
            tuple(float(e) for e in edges), tuple(float(p) for p in proportions), float(missing)
        )
    return out
