"""Cross-validated benchmark of the churn model family on any tabular churn CSV.

``benchmark_csv`` reads the file, turns the target into 0/1 (the ``positive`` value is churn),
and runs stratified k-fold cross-validation of ``ChurnClassifier``; every piece of preprocessing
(numeric detection, category vocabularies, number of rounds, calibration) is fitted inside each
training fold, never on the validation fold. Reported per fold and as mean and standard deviation:

- ``roc_auc`` and ``pr_auc`` (average precision): threshold-free ranking quality;
- ``f1`` and ``accuracy`` at the threshold that maximises F1 on that fold's own predictions, as the
  benchmark's brief asks; choosing the threshold on the fold it is scored on flatters both a
  little, so ``accuracy_at_half`` (threshold 0.5) is reported as well.

The folds fit many small models, so each uses one thread by default (``n_jobs=1``): on a busy
two-core machine LightGBM's second thread made a 1,500-row fit 5 to 20 times slower, and with
``deterministic=True`` the scores do not depend on the thread count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from tenure.core.errors import ValidationError
from tenure.retention.classifier import ChurnClassifier

__all__ = [
    "METRICS",
    "BenchmarkResult",
    "FoldMetrics",
    "benchmark_csv",
    "benchmark_frame",
    "encode_target",
    "identifier_warnings",
    "read_churn_csv",
]

METRICS = ("roc_auc", "pr_auc", "f1", "accuracy", "accuracy_at_half")
FoldProgress = Callable[[int, int], None]
_MAX_VALUES_SHOWN = 20


@dataclass(frozen=True)
class FoldMetrics:
    """The scores of one validation fold."""

    fold: int
    rows_train: int
    rows_valid: int
    roc_auc: float
    pr_auc: float
    f1: float
    threshold: float
    accuracy: float
    accuracy_at_half: float


@dataclass(frozen=True)
class BenchmarkResult:
    """Per-fold and summary metrics of one cross-validated benchmark run."""

    target: str
    positive_label: str
    rows: int
    positives: int
    dropped_missing_target: int
    features: tuple[str, ...]
    per_fold: tuple[FoldMetrics, ...]
    warnings: tuple[str, ...]
    seed: int
    elapsed_s: float

    @property
    def positive_rate(self) -> float:
        """Share of rows that are churners (the PR-AUC of a random ranking)."""
        return self.positives / self.rows if self.rows else 0.0

    def mean(self, metric: str) -> float:
        """Mean of a metric over the folds."""
        return float(np.mean([getattr(fold, metric) for fold in self.per_fold]))

    def std(self, metric: str) -> float:
        """Population standard deviation of a metric over the folds."""
        return float(np.std([getattr(fold, metric) for fold in self.per_fold]))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: the metric means at the top level, details beside them."""
        summary: dict[str, Any] = {name: self.mean(name) for name in METRICS}
        summary.update(
            std={name: self.std(name) for name in METRICS},
            folds=[vars(fold) for fold in self.per_fold],
            n_folds=len(self.per_fold),
            rows=self.rows,
            positives=self.positives,
            positive_rate=self.positive_rate,
            positive_label=self.positive_label,
            target=self.target,
            dropped_missing_target=self.dropped_missing_target,
            features=list(self.features),
            warnings=list(self.warnings),
            seed=self.seed,
            elapsed_s=self.elapsed_s,
        )
        return summary


def read_churn_csv(path: Path | str) -> pd.DataFrame:
    """Read a CSV (BOM, ``;``/tab delimiters, padded headers, blank cells) into a typed frame."""
    source = Path(path)
    if not source.is_file():
        raise ValidationError(f"no such file: {source}", field="csv")
    try:
        frame = pd.read_csv(source, encoding="utf-8-sig", low_memory=False)
        if frame.shape[1] == 1:
            frame = pd.read_csv(source, encoding="utf-8-sig", sep=None, engine="python")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValidationError(f"cannot read {source.name} as CSV: {exc}", field="csv") from exc
    frame.columns = [str(name).strip() for name in frame.columns]
    return pd.DataFrame({name: _tidy_column(frame[name]) for name in frame.columns})


def _tidy_column(column: pd.Series) -> pd.Series:
    """Blank text becomes missing; a text column whose every value is a number becomes numeric."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column
    text = column.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.where(text.notna() & (text != ""), None)
    present = int(text.notna().sum())
    numbers = pd.to_numeric(text, errors="coerce")
    if present and int(numbers.notna().sum()) == present:
        return numbers.astype("float64")
    return text


def benchmark_csv(
    *,
    path: Path | str,
    target: str,
    positive: str | None = None,
    drop: Sequence[str] = (),
    folds: int = 5,
    seed: int = 0,
    n_jobs: int = 1,
    progress: FoldProgress | None = None,
) -> BenchmarkResult:
    """Cross-validate ``ChurnClassifier`` on a CSV file; ``positive`` names the churn value."""
    return benchmark_frame(
        frame=read_churn_csv(path),
        target=target,
        positive=positive,
        drop=drop,
        folds=folds,
        seed=seed,
        n_jobs=n_jobs,
        progress=progress,
    )


def benchmark_frame(
    *,
    frame: pd.DataFrame,
    target: str,
    positive: str | None = None,
    drop: Sequence[str] = (),
    folds: int = 5,
    seed: int = 0,
    n_jobs: int = 1,
    progress: FoldProgress | None = None,
) -> BenchmarkResult:
    """Cross-validate ``ChurnClassifier`` on a frame already in memory (not modified)."""
    started = time.perf_counter()
    features = _feature_frame(frame, target=target, drop=drop)
    labels, positive_label, kept = encode_target(frame[target], positive=positive)
    features = features.loc[kept]
    _check_folds(labels, folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: list[FoldMetrics] = []
    for number, (train, valid) in enumerate(splitter.split(features, labels), start=1):
        model = ChurnClassifier(random_state=seed, n_jobs=n_jobs).fit(
            features.iloc[train], labels[train]
        )
        churn = model.predict_proba(features.iloc[valid])[:, 1]
        scores.append(_fold_metrics(number, len(train), labels[valid], churn))
        if progress is not None:
            progress(number, folds)
    return BenchmarkResult(
        target=target,
        positive_label=positive_label,
        rows=len(labels),
        positives=int(labels.sum()),
        dropped_missing_target=int((~kept).sum()),
        features=tuple(str(name) for name in features.columns),
        per_fold=tuple(scores),
        warnings=tuple(identifier_warnings(features)),
        seed=seed,
        elapsed_s=time.perf_counter() - started,
    )


def _feature_frame(frame: pd.DataFrame, *, target: str, drop: Sequence[str]) -> pd.DataFrame:
    available = ", ".join(str(name) for name in frame.columns)
    if target not in frame.columns:
        raise ValidationError(
            f"target column {target!r} is not in the file; columns: {available}", field="target"
        )
    unknown = [name for name in drop if name not in frame.columns]
    if unknown:
        raise ValidationError(
            f"--drop column(s) {', '.join(repr(n) for n in unknown)} not in the file; "
            f"columns: {available}",
            field="drop",
        )
    if target in drop:
        raise ValidationError(f"cannot drop the target column {target!r}", field="drop")
    features = frame.drop(columns=[target, *drop])
    if features.shape[1] == 0:
        raise ValidationError("no feature columns left after dropping", field="drop")
    return features


def encode_target(
    column: pd.Series, *, positive: str | None
) -> tuple[NDArray[np.int64], str, NDArray[np.bool_]]:
    """Churn labels as 0/1, the positive value used, and which rows had a target at all."""
    names = _label_names(column)
    kept = np.asarray(names.notna(), dtype=np.bool_)
    present = names[kept]
    seen = sorted(set(present))
    chosen = _positive_label(seen, positive, present)
    labels = np.asarray(present == chosen, dtype=np.int64)
    return labels, chosen, kept


def _positive_label(seen: list[str], positive: str | None, present: pd.Series) -> str:
    if positive is not None:
        wanted = positive.strip()
        if wanted in seen:
            return wanted
        folded = [value for value in seen if value.casefold() == wanted.casefold()]
        if len(folded) == 1:
            return folded[0]
        raise ValidationError(
            f"--positive {wanted!r} is not a value of the target; values seen: {_shown(present)}",
            field="positive",
        )
    if set(seen) <= {"0", "1"} and seen:
        return "1"
    if seen and {value.casefold() for value in seen} <= {"true", "false"}:
        return next(value for value in seen if value.casefold() == "true")
    raise ValidationError(
        "the target is not 0/1 or True/False: pass --positive VALUE to name the churn value; "
        f"values seen: {_shown(present)}",
        field="positive",
    )


def _label_names(column: pd.Series) -> pd.Series:
    """Target values as comparable text: 1.0 reads as "1", padding goes, blanks are missing."""

    def name(value: object) -> str | None:
        if value is None or value is pd.NA:
            return None
        if isinstance(value, bool | np.bool_):
            return str(bool(value))
        if isinstance(value, float | np.floating):
            if math.isnan(value):
                return None
            return str(int(value)) if float(value).is_integer() else repr(float(value))
        text = str(value).strip()
        return text or None

    return column.astype(object).map(name)


def _shown(values: pd.Series) -> str:
    counts = values.value_counts()
    shown = [f"{value!r} ({count:,})" for value, count in counts.head(_MAX_VALUES_SHOWN).items()]
    more = len(counts) - _MAX_VALUES_SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _check_folds(labels: NDArray[np.int64], folds: int) -> None:
    if folds < 2:
        raise ValidationError("--folds must be at least 2", field="folds")
    smallest = min(int(labels.sum()), int(len(labels) - labels.sum()))
    if smallest < folds:
        raise ValidationError(
            f"each class needs at least {folds} rows for {folds}-fold validation; "
            f"the smaller class has {smallest}",
            field="target",
        )


def identifier_warnings(features: pd.DataFrame) -> list[str]:
    """A warning per column that looks like an identifier: non-float and unique on every row."""
    warnings: list[str] = []
    rows = len(features)
    for name in features.columns:
        column = features[name]
        if rows < 20 or pd.api.types.is_float_dtype(column) or column.isna().any():
            continue
        if column.nunique() == rows:
            warnings.append(
                f"column {name!r} has a different value on every row and looks like an "
                f"identifier; consider --drop {name}"
            )
    return warnings


def _fold_metrics(
    number: int, rows_train: int, truth: NDArray[np.int64], churn: NDArray[np.float64]
) -> FoldMetrics:
    precision, recall, thresholds = precision_recall_curve(truth, churn)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    threshold = float(thresholds[best]) if len(thresholds) else 0.5
    return FoldMetrics(
        fold=number,
        rows_train=rows_train,
        rows_valid=len(truth),
        roc_auc=float(roc_auc_score(truth, churn)),
        pr_auc=float(average_precision_score(truth, churn)),
        f1=float(f1[best]),
        threshold=threshold,
        accuracy=float(np.mean((churn >= threshold) == truth)),
        accuracy_at_half=float(np.mean((churn >= 0.5) == truth)),
    )
