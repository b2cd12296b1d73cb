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

Scoring (``score_customers``): features of every customer open at ``as_of`` (only data before
it), the feature list checked against the model's, p(churn), three reasons from the model's own
contributions, PSI drift against the training distributions, and the rows written to
``churn_scores`` plus one ``scoring_runs`` summary row, replacing an earlier run of the same
``as_of`` and model version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import ConfigurationError, ValidationError
from tenure.retention.classifier import ChurnClassifier
from tenure.retention.drift import bins_from_json, bins_to_json, learn_bins, psi_table
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
from tenure.retention.reasons import reasons_frame
from tenure.retention.registry import ModelManifest, ModelRegistry, catalogue_hash, check_features
from tenure.retention.score_store import ensure_tables, write_runs_row, write_scores

__all__ = [
    "DEFAULT_MODEL",
    "RISK_BANDS",
    "Progress",
    "ScoringRun",
    "TrainedModel",
    "default_snapshots",
    "risk_band",
    "score_customers",
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


@dataclass(frozen=True, slots=True)
class ScoringRun:
    """What one scoring run did: rows written, bands, reasons, drift."""

    as_of: datetime
    model_name: str
    model_version: str
    customers: int
    bands: dict[str, int]
    top_reasons: list[tuple[str, int]]
    drift: pd.DataFrame
    table: str = "churn_scores"

    @property
    def drifting(self) -> list[str]:
        """Features whose PSI is at the drift level."""
        return [str(f) for f in self.drift.loc[self.drift["status"] == "drift", "feature"]]


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


def _check_catalogue(manifest: ModelManifest) -> None:
    check_features(manifest, feature_names())
    if manifest.catalogue_hash != catalogue_hash():
        raise ConfigurationError(
            f"model {manifest.name} {manifest.version} was trained on other feature definitions "
            "(same names, changed SQL); retrain it with `tenure retention train`"
        )


def score_customers(
    *,
    warehouse: FeatureWarehouse,
    registry: ModelRegistry,
    as_of: datetime,
    model: str = DEFAULT_MODEL,
    version: str = "latest",
    clock: Clock | None = None,
    progress: Progress | None = None,
) -> ScoringRun:
    """Score every customer open at ``as_of`` with reasons and drift; write to the warehouse."""
    report = progress or _silent
    loaded = registry.load(model, version)
    manifest = loaded.manifest
    _check_catalogue(manifest)
    report("features", 0, 1)
    features = compute_features(warehouse=warehouse, as_of=as_of)
    report("features", 1, 1)
    X = features[list(manifest.features)]  # noqa: N806
    p = loaded.model.predict_proba(X)[:, 1] if len(X) else np.zeros(0)
    reasons = reasons_frame(loaded.model.contributions(X), X) if len(X) else _no_reasons()
    report("reasons", 1, 1)
    drift = psi_table(bins_from_json(manifest.distributions), X)
    scored_at = (clock or SystemClock()).now()
    frame = _scores_frame(as_of, features, p, reasons, manifest, scored_at)
    ensure_tables(warehouse)
    with warehouse.transaction():
        write_scores(warehouse=warehouse, frame=frame)
        write_runs_row(warehouse=warehouse, row=_run_row(frame, drift, manifest, as_of, scored_at))
    report("write", 1, 1)
    return ScoringRun(
        as_of=as_of,
        model_name=manifest.name,
        model_version=manifest.version,
        customers=len(frame),
        bands={label: int((frame["risk_band"] == label).sum()) for _, label in RISK_BANDS},
        top_reasons=_reason_counts(frame),
        drift=drift,
    )


def _no_reasons() -> pd.DataFrame:
    columns = [f"reason_{s}{tail}" for s in (1, 2, 3) for tail in ("", "_feature", "_contribution")]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _scores_frame(
    as_of: datetime,
    features: pd.DataFrame,
    p: np.ndarray,
    reasons: pd.DataFrame,
    manifest: ModelManifest,
    scored_at: datetime,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "as_of": [as_of.astimezone(UTC)] * len(features),
            "customer_id": features["customer_id"].tolist(),
            "model_name": manifest.name,
            "model_version": manifest.version,
            "p_churn": p.astype(float),
            "risk_band": [risk_band(float(v)) for v in p],
        }
    )
    frame = pd.concat([frame, reasons.reset_index(drop=True)], axis=1)
    frame["scored_at"] = scored_at
    return frame


def _reason_counts(frame: pd.DataFrame) -> list[tuple[str, int]]:
    column = frame["reason_1_feature"].dropna()
    counts = column.value_counts()
    return [(str(name), int(n)) for name, n in counts.head(10).items()]


def _run_row(
    frame: pd.DataFrame,
    drift: pd.DataFrame,
    manifest: ModelManifest,
    as_of: datetime,
    scored_at: datetime,
) -> dict[str, object]:
    flagged = drift[drift["status"].isin(["watch", "drift"])]
    return {
        "as_of": as_of,
        "model_name": manifest.name,
        "model_version": manifest.version,
        "scored_at": scored_at,
        "customers": len(frame),
        "mean_p_churn": float(frame["p_churn"].mean()) if len(frame) else None,
        "features_watch": int((drift["status"] == "watch").sum()),
        "features_drift": int((drift["status"] == "drift").sum()),
        "max_psi": float(drift["psi"].max()) if len(drift) else None,
        "drift_features": ",".join(drift.loc[drift["status"] == "drift", "feature"].astype(str)),
        "drift_json": json.dumps(
            {str(r.feature): round(float(r.psi), 4) for r in flagged.itertuples()}
        ),
    }
