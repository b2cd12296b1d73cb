"""Tenure's churn model family: LightGBM with its own fitted preprocessing and optional calibration.

``ChurnClassifier`` takes any tabular frame (numbers, strings, missing values) and learns, in
``fit`` and only from the rows it is given, everything it needs: which columns are numeric, the
category vocabulary of each text column (unseen values become missing at predict time), the number
of boosting rounds (early stopping on an inner stratified split of the training rows) and, when
asked, a calibration map fitted on that inner split. Nothing is learned at predict time, so the
estimator can sit inside cross-validation without leaking the validation fold.

>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [30, 60] * 50, "plan": ["basic", "gold"] * 50})
>>> model = ChurnClassifier(n_estimators=20).fit(frame, [0, 1] * 50)
>>> model.predict_proba(frame).shape
(100, 2)
>>> list(model.contributions(frame.head(1)).columns)
['age', 'plan', '(bias)']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import train_test_split

from tenure.core.errors import ValidationError

__all__ = ["BIAS_COLUMN", "Calibration", "ChurnClassifier", "FrameEncoding", "learn_encoding"]

BIAS_COLUMN = "(bias)"
Calibration = Literal["none", "sigmoid", "isotonic"]
FloatArray = NDArray[np.float64]

# Below these sizes an inner split is too small to stop early or calibrate on.
_MIN_INNER_ROWS = 100
_MIN_INNER_POSITIVES = 10
_FALLBACK_ROUNDS = 200


@dataclass(frozen=True)
class FrameEncoding:
    """What ``fit`` learned about the columns: their order, kinds and category vocabularies."""

    columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A new frame LightGBM can read, columns renamed ``f0..fn``; the input is not touched."""
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise ValidationError(f"missing feature column(s): {', '.join(missing)}", field="X")
        encoded: dict[str, Any] = {}
        for position, name in enumerate(self.columns):
            column = frame[name]
            vocabulary = self.categories.get(name)
            if vocabulary is None:
                values = _numeric_values(column)
            else:
                values = pd.Categorical(_text_values(column), categories=list(vocabulary))
            encoded[f"f{position}"] = values
        return pd.DataFrame(encoded, index=frame.index)


def learn_encoding(frame: pd.DataFrame, *, max_categories: int) -> FrameEncoding:
    """Decide each column's kind and learn the vocabularies of the text ones from ``frame``."""
    categories: dict[str, tuple[str, ...]] = {}
    for name in frame.columns:
        column = frame[name]
        if _is_numeric(column):
            continue
        counts = _text_values(column).value_counts(dropna=True)
        ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
        categories[str(name)] = tuple(str(value) for value, _ in ranked[:max_categories])
    return FrameEncoding(columns=tuple(str(c) for c in frame.columns), categories=categories)


def _is_numeric(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return True
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    text = _text_values(column)
    parsed = pd.to_numeric(text, errors="coerce")
    return bool(text.notna().any()) and int(parsed.notna().sum()) == int(text.notna().sum())


def _text_values(column: pd.Series) -> pd.Series:
    """Values as stripped strings; missing and blank values become missing."""
    text = column.astype(object).map(lambda v: None if _is_missing(v) else str(v).strip())
    return text.where(text.notna() & (text != ""), None)


def _numeric_values(column: pd.Series) -> FloatArray:
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.to_datetime(column)
        seconds = (stamps - pd.Timestamp(0, tz=stamps.dt.tz)).dt.total_seconds()
        return np.asarray(seconds, dtype=np.float64)
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return np.asarray(column.astype("float64"), dtype=np.float64)
    parsed = pd.to_numeric(_text_values(column), errors="coerce")
    return np.asarray(parsed.astype("float64"), dtype=np.float64)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


class ChurnClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Gradient-boosted churn model with leakage-free preprocessing, for any tabular frame."""

    def __init__(
        self,
        *,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        min_child_samples: int = 30,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        n_estimators: int | None = None,
        max_estimators: int = 2000,
        early_stopping_rounds: int = 100,
        validation_fraction: float = 0.15,
        max_categories: int = 255,
        calibration: Calibration = "none",
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.n_estimators = n_estimators
        self.max_estimators = max_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.max_categories = max_categories
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> ChurnClassifier:  # noqa: N803
        """Learn the encoding, the number of rounds, the model and the calibration from X, y."""
        frame = _as_frame(X)
        labels = np.asarray(y)
        if labels.shape[0] != frame.shape[0]:
            raise ValidationError("X and y have different numbers of rows", field="y")
        classes = np.unique(labels)
        if classes.shape[0] != 2:
            raise ValidationError(f"y needs exactly two classes, got {classes.shape[0]}", field="y")
        target = (labels == classes[1]).astype(np.int64)
        self.encoding_ = learn_encoding(frame, max_categories=self.max_categories)
        matrix = self.encoding_.apply(frame)
        rounds, holdout = self._choose_rounds(matrix, target)
        self.n_estimators_ = rounds
        self.model_ = self._booster(rounds).fit(matrix, target)
        self.calibrator_ = self._fit_calibrator(holdout)
        self.classes_ = classes
        self.feature_names_in_ = np.asarray(self.encoding_.columns, dtype=object)
        self.n_features_in_ = len(self.encoding_.columns)
        return self

    def decision_function(self, X: Any) -> FloatArray:  # noqa: N803
        """Raw log-odds of churn from the boosted trees, before any calibration."""
        matrix = self._encode(X)
        return np.asarray(self.model_.predict(matrix, raw_score=True), dtype=np.float64)

    def predict_proba(self, X: Any) -> FloatArray:  # noqa: N803
        """Probabilities of ``classes_[0]`` and ``classes_[1]`` (churn), calibrated if asked."""
        churn = self._calibrated(self.decision_function(X))
        return np.column_stack([1.0 - churn, churn])

    def predict(self, X: Any) -> NDArray[Any]:  # noqa: N803
        """The more probable class of each row."""
        churn = self.predict_proba(X)[:, 1]
        return np.asarray(self.classes_[(churn >= 0.5).astype(np.int64)])

    def contributions(self, X: Any) -> pd.DataFrame:  # noqa: N803
        """Per-row, per-feature log-odds contributions plus ``(bias)``, summing to the raw score."""
        matrix = self._encode(X)
        values = np.asarray(self.model_.predict(matrix, pred_contrib=True), dtype=np.float64)
        columns = [*self.encoding_.columns, BIAS_COLUMN]
        return pd.DataFrame(values, columns=columns, index=matrix.index)

    def _encode(self, X: Any) -> pd.DataFrame:  # noqa: N803
        if not hasattr(self, "model_"):
            raise ValidationError("ChurnClassifier is not fitted; call fit first", field="model")
        return self.encoding_.apply(_as_frame(X))

    def _booster(self, rounds: int) -> lgb.LGBMClassifier:
        return lgb.LGBMClassifier(
            objective="binary",
            n_estimators=rounds,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_col_wise=True,
            verbose=-1,
        )

    def _choose_rounds(
        self, matrix: pd.DataFrame, target: NDArray[np.int64]
    ) -> tuple[int, tuple[FloatArray, NDArray[np.int64]] | None]:
        """Rounds for the final model, and inner-holdout scores for calibration when available."""
        fixed = self.n_estimators
        if fixed is not None and self.calibration == "none":
            return fixed, None
        holdout_rows = len(target) * self.validation_fraction
        minority = min(int(target.sum()), int(len(target) - target.sum()))
        if (
            holdout_rows < _MIN_INNER_ROWS
            or minority * self.validation_fraction < _MIN_INNER_POSITIVES
        ):
            return (fixed if fixed is not None else _FALLBACK_ROUNDS), None
        inner_x, held_x, inner_y, held_y = train_test_split(
            matrix,
            target,
            test_size=self.validation_fraction,
            stratify=target,
            random_state=self.random_state,
        )
        inner = self._booster(fixed if fixed is not None else self.max_estimators)
        callbacks = [] if fixed is not None else [self._stopper()]
        inner.fit(inner_x, inner_y, eval_X=(held_x,), eval_y=(held_y,), callbacks=callbacks)
        scores = np.asarray(inner.predict(held_x, raw_score=True), dtype=np.float64)
        if fixed is not None:
            return fixed, (scores, np.asarray(held_y, dtype=np.int64))
        best = int(inner.best_iteration_ or self.max_estimators)
        # The final model sees all rows, so it earns proportionally more rounds.
        rounds = max(10, round(best / (1.0 - self.validation_fraction)))
        return min(rounds, self.max_estimators), (scores, np.asarray(held_y, dtype=np.int64))

    def _stopper(self) -> Any:
        return lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)

    def _fit_calibrator(
        self, holdout: tuple[FloatArray, NDArray[np.int64]] | None
    ) -> IsotonicRegression | tuple[float, float] | None:
        if self.calibration == "none" or holdout is None:
            return None
        scores, target = holdout
        if self.calibration == "isotonic":
            isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            return isotonic.fit(scores, target.astype(np.float64))
        if self.calibration == "sigmoid":
            return _platt(scores, target)
        raise ValidationError(f"unknown calibration {self.calibration!r}", field="calibration")

    def _calibrated(self, raw: FloatArray) -> FloatArray:
        calibrator = self.calibrator_
        if calibrator is None:
            return _sigmoid(raw)
        if isinstance(calibrator, tuple):
            slope, intercept = calibrator
            return _sigmoid(slope * raw + intercept)
        return np.asarray(calibrator.predict(raw), dtype=np.float64)


def _sigmoid(values: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-values)), dtype=np.float64)


def _platt(scores: FloatArray, target: NDArray[np.int64]) -> tuple[float, float]:
    """Platt scaling with a positive slope, so that calibration never reorders customers."""
    positives = float(target.sum())
    negatives = float(len(target) - positives)
    # Platt's smoothed targets keep the fit finite on separable holdouts.
    smoothed = np.where(target == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(params: FloatArray) -> float:
        z = params[0] * scores + params[1]
        return float(np.mean(np.logaddexp(0.0, z) - smoothed * z))

    found = minimize(
        loss, x0=np.array([1.0, 0.0]), method="L-BFGS-B", bounds=[(1e-3, None), (None, None)]
    )
    return float(found.x[0]), float(found.x[1])


def _as_frame(X: Any) -> pd.DataFrame:  # noqa: N803
    if isinstance(X, pd.DataFrame):
        names = [str(name) for name in X.columns]
        if len(set(names)) != len(names):
            raise ValidationError("feature column names must be unique", field="X")
        return X if list(X.columns) == names else X.set_axis(names, axis=1)
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValidationError("X must be a 2-D table of features", field="X")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
