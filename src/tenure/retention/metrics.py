"""Validation figures of a churn model: ranking, probability quality and the top-decile lift.

>>> import numpy as np
>>> figures = validation_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
>>> figures["roc_auc"]
1.0
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = ["METRIC_LABELS", "expected_calibration_error", "top_decile_lift", "validation_metrics"]

METRIC_LABELS: dict[str, str] = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "brier": "Brier score",
    "calibration_error": "expected calibration error (10 equal-size bins)",
    "lift_top_decile": "lift in the top decile",
    "base_rate": "churn rate",
    "mean_p": "mean predicted probability",
}


def expected_calibration_error(y: ArrayLike, p: ArrayLike, *, bins: int = 10) -> float:
    """Size-weighted mean |mean predicted - observed rate| over equal-size bins of p."""
    labels = np.asarray(y, dtype=np.float64)
    probabilities = np.asarray(p, dtype=np.float64)
    if len(labels) == 0:
        return float("nan")
    order = np.argsort(probabilities, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(order))):
        gap = abs(float(probabilities[chunk].mean()) - float(labels[chunk].mean()))
        total += gap * len(chunk)
    return total / len(labels)


def top_decile_lift(y: ArrayLike, p: ArrayLike) -> float:
    """Churn rate among the 10 % highest-scored over the overall churn rate."""
    labels = np.asarray(y, dtype=np.float64)
    probabilities = np.asarray(p, dtype=np.float64)
    base = float(labels.mean()) if len(labels) else 0.0
    if base == 0.0:
        return float("nan")
    top = np.argsort(-probabilities, kind="stable")[: max(1, len(labels) // 10)]
    return float(labels[top].mean()) / base


def validation_metrics(y: ArrayLike, p: ArrayLike) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier, calibration error, top-decile lift, base rate and mean p."""
    labels = np.asarray(y, dtype=np.int64)
    probabilities = np.asarray(p, dtype=np.float64)
    both = len(np.unique(labels)) == 2
    return {
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both else float("nan"),
        "pr_auc": float(average_precision_score(labels, probabilities)) if both else float("nan"),
        "brier": float(np.mean((probabilities - labels) ** 2)) if len(labels) else float("nan"),
        "calibration_error": expected_calibration_error(labels, probabilities),
        "lift_top_decile": top_decile_lift(labels, probabilities),
        "base_rate": float(labels.mean()) if len(labels) else float("nan"),
        "mean_p": float(probabilities.mean()) if len(labels) else float("nan"),
    }
