"""``tenure protection train``: the fraud scorer from labelled history, registered with metrics.

The anomaly scorer is fitted first (unsupervised, on every event), its score becomes the last
model feature, and the LightGBM model is fitted on events in time order with the latest quarter
held out for calibration and validation. The scorer is registered as ``fraud`` in the model
registry with its feature list, training window, validation metrics and a content hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from tenure.protection.events import MONEY_KINDS
from tenure.protection.model import AnomalyScorer, FraudModel
from tenure.protection.replay import ReplayFrame
from tenure.protection.scorer import ANOMALY_COLUMNS, ANOMALY_FEATURE, SCORER_FEATURES, EventScorer
from tenure.retention.registry import ModelManifest, ModelRegistry

__all__ = [
    "FRAUD_MODEL",
    "TrainedScorer",
    "fit_scorer",
    "loss_caps",
    "register_scorer",
    "scorer_frame",
]

FRAUD_MODEL = "fraud"


@dataclass(frozen=True, slots=True)
class TrainedScorer:
    """A fitted scorer and its manifest once registered."""

    scorer: EventScorer
    manifest: ModelManifest


def scorer_frame(replay: ReplayFrame, anomaly: AnomalyScorer) -> pd.DataFrame:
    """The replayed features with the anomaly score appended (the model's input columns)."""
    frame = replay.features.copy()
    frame[ANOMALY_FEATURE] = anomaly.score(frame)
    return frame[list(SCORER_FEATURES)]


def fit_scorer(replay: ReplayFrame, *, seed: int = 0, threads: int = 1) -> EventScorer:
    """Fit the anomaly scorer and the fraud model on replayed history (oldest first)."""
    anomaly = AnomalyScorer(ANOMALY_COLUMNS, random_state=seed).fit(replay.features)
    model = FraudModel(random_state=seed, threads=threads)
    model.fit(scorer_frame(replay, anomaly), replay.labels)
    return EventScorer(anomaly=anomaly, model=model, loss_cap_minor=loss_caps(replay))


def loss_caps(replay: ReplayFrame) -> dict[str, int]:
    """Per money-moving kind, the largest amount a labelled fraud took (kinds without one: none)."""
    events = replay.events
    fraud = events[np.asarray(replay.labels, dtype=bool)]
    money = fraud[fraud["kind"].isin([k.value for k in MONEY_KINDS])]
    largest = money.groupby("kind")["amount_minor"].max()
    return {str(kind): int(amount) for kind, amount in largest.items() if amount > 0}


def _window(replay: ReplayFrame) -> dict[str, str]:
    moments = pd.to_datetime(replay.events["occurred_at"], utc=True)
    if moments.empty:
        return {"start": "", "end": ""}
    return {"start": moments.min().isoformat(), "end": moments.max().isoformat()}


def register_scorer(
    *, registry: ModelRegistry, scorer: EventScorer, replay: ReplayFrame, seed: int
) -> TrainedScorer:
    """Store ``scorer`` as the next version of ``fraud`` with its metrics and training window."""
    metrics = {k: float(v) for k, v in scorer.model.validation_.items()}
    labels = replay.labels
    manifest = ModelManifest(
        name=FRAUD_MODEL,
        version="",
        created_at=datetime.now(UTC).isoformat(),
        features=SCORER_FEATURES,
        catalogue_hash="",
        definition="fraud_labels",
        horizon_days=0,
        training={
            **_window(replay),
            "events": len(labels),
            "fraud_events": int(np.sum(labels)),
            "seed": seed,
            "calibration_share": scorer.model.calibration_share,
        },
        metrics=metrics,
        distributions={},
    )
    saved = registry.save(model=scorer, manifest=manifest)
    scorer.version = saved.version
    return TrainedScorer(scorer, saved)
