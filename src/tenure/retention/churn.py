"""Churn early warning: train a calibrated model on past snapshots, score customers with reasons.

Training (``train_churn_model``): features at several snapshots (month starts by default), each
row labelled 1 when the customer churns within ``horizon_days`` after the snapshot. The split is
by time: the last one or two snapshots validate, the earlier ones train. A training snapshot
whose label window ``[snapshot, snapshot + horizon)`` reaches past ``validation_from`` is
dropped, because its labels would be made of events from the validation period; so is any
snapshot whose label window runs past the end of the data (its labels would be incomplete).
Customers who had already churned before a snapshot are left out of that snapshot's rows.
Probabilities are calibrated (Platt) on the training rows' inner split; the calibration error
is reported on validation.

Scoring lives in :mod:`tenure.retention.scoring` (the batch run: churn scores with reasons and
drift, tiers, segments, value, survival and forecasts) and :mod:`tenure.retention.churn_scoring`
(its churn part).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from tenure.core.errors import ValidationError
from tenure.retention.classifier import ChurnClassifier
from tenure.retention.drift import bins_to_json, learn_bins
from tenure.retention.features import FEATURES, FeatureWarehouse, compute_features
from tenure.retention.labels import (
    CHURN_DEFINITIONS,
    churn_events,
    data_window,
    label_snapshot,
    month_bounds,
    prior_churners,
)
from tenure.retention.metrics import validation_metrics
from tenure.retention.registry import ModelManifest, ModelRegistry, catalogue_hash

__all__ = [
    "DEFAULT_MODEL",
    "RISK_BANDS",
    "Progress",
    "TrainedModel",
    "default_snapshots",
    "feature_names",
    "risk_band",
    "split_snapshots",
    "train_churn_model",
]

DEFAULT_MODEL = "churn"
RISK_BANDS: tuple[tuple[float, str], ...] = ((0.30, "high"), (0.10, "medium"), (0.0, "low"))
Progress = Callable[[str, int, int], None]


def _silent(step: str, done: int, total: int) -> None:
    return None


def feature_names() -> list[str]:
    """The current catalogue's feature names, in order (the model's columns)."""
    return [f.name for f in FEATURES]


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A trained, registered model: its manifest (with metrics) and the estimator."""

    manifest: ModelManifest
    model: ChurnClassifier

    @property
    def metrics(self) -> dict[str, float]:
        """Validation metrics."""
        return self.manifest.metrics


def default_snapshots(warehouse: FeatureWarehouse, horizon_days: int) -> list[datetime]:
    """Month starts after the first month of data whose horizon ends within the data."""
    window = data_window(warehouse)
    horizon = timedelta(days=horizon_days)
    return [b for b in month_bounds(window)[1:] if b + horizon <= window.end]


def split_snapshots(
    snapshots: Sequence[datetime], horizon_days: int, validation_from: datetime | None
) -> tuple[list[datetime], list[datetime], list[datetime]]:
    """(training, validation, dropped): leakage-free time split of the snapshots."""
    ordered = sorted(snapshots)
    if len(ordered) < 2:
        raise ValidationError(
            "need at least two snapshots to train and validate", field="snapshots"
        )
    if validation_from is None:
        validation_from = ordered[-2] if len(ordered) >= 5 else ordered[-1]
    horizon = timedelta(days=horizon_days)
    validation = [s for s in ordered if s >= validation_from]
    training = [s for s in ordered if s < validation_from and s + horizon <= validation_from]
    dropped = [s for s in ordered if s < validation_from and s + horizon > validation_from]
    if not training or not validation:
        raise ValidationError(
            f"no snapshot is left to {'train' if not training else 'validate'} on: training "
            f"snapshots need their {horizon_days}-day label window to end by "
            f"{validation_from:%Y-%m-%d}",
            field="validation_from",
        )
    return training, validation, dropped


def _labelled(
    warehouse: FeatureWarehouse,
    snapshots: Sequence[datetime],
    events: pd.DataFrame,
    horizon_days: int,
    progress: Progress,
) -> tuple[pd.DataFrame, pd.Series]:
    frames = []
    for done, moment in enumerate(snapshots):
        frames.append(compute_features(warehouse=warehouse, as_of=moment))
        progress("features", done + 1, len(snapshots))
    features = pd.concat(frames, ignore_index=True)
    keep = ~prior_churners(features, events)
    features = features.loc[keep].reset_index(drop=True)
    return features, label_snapshot(features, events, horizon_days)


def _check_window(warehouse: FeatureWarehouse, snapshots: Sequence[datetime], days: int) -> None:
    end = data_window(warehouse).end
    late = [s for s in snapshots if s + timedelta(days=days) > end]
    if late:
        raise ValidationError(
            f"snapshot {late[0]:%Y-%m-%d} has no complete {days}-day outcome window "
            f"(data ends {end:%Y-%m-%d})",
            field="snapshots",
        )


def train_churn_model(
    *,
    warehouse: FeatureWarehouse,
    registry: ModelRegistry,
    definition: str = "closure",
    horizon_days: int = 90,
    snapshots: list[datetime] | None = None,
    validation_from: datetime | None = None,
    seed: int = 0,
    name: str = DEFAULT_MODEL,
    n_jobs: int = 2,
    progress: Progress | None = None,
) -> TrainedModel:
    """Train, validate by time and register a calibrated churn model."""
    report = progress or _silent
    if definition not in CHURN_DEFINITIONS:
        churn_events(warehouse=warehouse, definition=definition)  # raises the clear error
    chosen = snapshots or default_snapshots(warehouse, horizon_days)
    _check_window(warehouse, chosen, horizon_days)
    training, validation, dropped = split_snapshots(chosen, horizon_days, validation_from)
    events = churn_events(warehouse=warehouse, definition=definition)
    features, y = _labelled(warehouse, training + validation, events, horizon_days, report)
    names = feature_names()
    is_train = features["snapshot_at"] < min(validation)
    if y[is_train].nunique() < 2:
        raise ValidationError("the training snapshots hold no churner (or only churners)")
    report("fit", 0, 1)
    model = ChurnClassifier(calibration="sigmoid", random_state=seed, n_jobs=n_jobs)
    model.fit(features.loc[is_train, names], y[is_train])
    report("fit", 1, 1)
    p = model.predict_proba(features.loc[~is_train, names])[:, 1]
    metrics = validation_metrics(y[~is_train].to_numpy(), p)
    manifest = ModelManifest(
        name=name,
        version="",
        created_at="",
        features=tuple(names),
        catalogue_hash=catalogue_hash(),
        definition=definition,
        horizon_days=horizon_days,
        training=_training_record(training, validation, dropped, y, is_train, seed),
        metrics=metrics,
        distributions=bins_to_json(learn_bins(features.loc[is_train, names])),
    )
    return TrainedModel(registry.save(model=model, manifest=manifest), model)


def _iso(moments: Sequence[datetime]) -> list[str]:
    return [m.isoformat() for m in moments]


def _training_record(
    training: list[datetime],
    validation: list[datetime],
    dropped: list[datetime],
    y: pd.Series,
    is_train: pd.Series,
    seed: int,
) -> dict[str, object]:
    return {
        "first_snapshot": training[0].isoformat(),
        "last_snapshot": training[-1].isoformat(),
        "training_snapshots": _iso(training),
        "validation_snapshots": _iso(validation),
        "dropped_snapshots": _iso(dropped),
        "rows_train": int(is_train.sum()),
        "churners_train": int(y[is_train].sum()),
        "rows_validation": int((~is_train).sum()),
        "churners_validation": int(y[~is_train].sum()),
        "seed": seed,
    }


def risk_band(p: float) -> str:
    """The band a churn probability falls in."""
    return next(label for floor, label in RISK_BANDS if p >= floor)
