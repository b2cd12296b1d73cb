"""Train the retention models together: churn, segments and time to churn, linked in the registry.

:func:`train_retention_models` trains and registers the churn model
(:func:`~tenure.retention.churn.train_churn_model`), then fits on the latest training snapshot and
registers, each as its own model with the churn version recorded in its manifest
(``extra["churn_version"]``):

- ``segments``: a :class:`~tenure.retention.segments.CustomerSegmenter` on that snapshot's
  features of every open customer, with the segment names of its profile;
- ``survival``: a :class:`~tenure.retention.survival.TimeToChurnModel` on the survival frame of
  that snapshot (churn events of the same definition, followed to the end of the data; the
  snapshot's label window is complete by construction), fitted on a seeded sample of at most
  ``survival_sample`` customers of which a fifth is held out for the reported concordance.

:func:`load_companions` finds the segments and survival versions linked to a churn version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from tenure.core.errors import ConfigurationError
from tenure.retention.churn import (
    DEFAULT_MODEL,
    Progress,
    TrainedModel,
    train_churn_model,
)
from tenure.retention.features import FeatureWarehouse, compute_features
from tenure.retention.labels import churn_events, data_window
from tenure.retention.registry import ModelManifest, ModelRegistry, catalogue_hash
from tenure.retention.segments import CustomerSegmenter
from tenure.retention.survival import TimeToChurnModel, survival_frame

__all__ = [
    "SEGMENTS_MODEL",
    "SURVIVAL_MODEL",
    "SURVIVAL_SAMPLE",
    "Companions",
    "RetentionModels",
    "load_companions",
    "train_retention_models",
]

SEGMENTS_MODEL = "segments"
SURVIVAL_MODEL = "survival"
SURVIVAL_SAMPLE = 50_000
_HOLDOUT_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class RetentionModels:
    """The registered churn model and the manifests of its linked segments and survival models."""

    churn: TrainedModel
    segments: ModelManifest
    survival: ModelManifest

    @property
    def segment_count(self) -> int:
        """Number of segments chosen by silhouette."""
        return int(self.segments.metrics["segments"])

    @property
    def silhouette(self) -> float:
        """Silhouette of the chosen segmentation (on the fit sample)."""
        return float(self.segments.metrics["silhouette"])

    @property
    def concordance(self) -> float:
        """Survival model's concordance on its held-out customers."""
        return float(self.survival.metrics["concordance_holdout"])


@dataclass(frozen=True, slots=True)
class Companions:
    """The models scored alongside a churn version."""

    segmenter: CustomerSegmenter
    segment_names: dict[int, str]
    survival: TimeToChurnModel
    segments_version: str
    survival_version: str


def _manifest(
    name: str, churn: ModelManifest, features: tuple[str, ...], **record: Any
) -> ModelManifest:
    return ModelManifest(
        name=name,
        version="",
        created_at="",
        features=features,
        catalogue_hash=catalogue_hash(),
        definition=churn.definition,
        horizon_days=churn.horizon_days,
        training=record["training"],
        metrics=record["metrics"],
        distributions={},
        extra={"churn_model": churn.name, "churn_version": churn.version, **record["extra"]},
    )


def _fit_segments(
    features: pd.DataFrame, churn: ModelManifest, registry: ModelRegistry, seed: int
) -> ModelManifest:
    segmenter = CustomerSegmenter(random_state=seed, threads=1).fit(features)
    names = {str(p.segment): p.name for p in segmenter.profile(features)}
    manifest = _manifest(
        SEGMENTS_MODEL,
        churn,
        tuple(segmenter.features),
        training={"snapshot": churn.training["last_snapshot"], "rows": len(features), "seed": seed},
        metrics={
            "segments": float(segmenter.k_),
            "silhouette": segmenter.scores_[segmenter.k_],
            "stability": segmenter.stability_,
        },
        extra={"segment_names": names},
    )
    return registry.save(model=segmenter, manifest=manifest)


def _split(frame: pd.DataFrame, sample: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ordered = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(ordered))[: min(sample, len(ordered))]
    cut = len(order) - max(1, int(len(order) * _HOLDOUT_SHARE))
    return ordered.iloc[order[:cut]], ordered.iloc[order[cut:]]


def _fit_survival(
    frame: pd.DataFrame,
    churn: ModelManifest,
    registry: ModelRegistry,
    sample: int,
    seed: int,
) -> ModelManifest:
    names = list(churn.features)
    fitting, holdout = _split(frame, sample, seed)
    model = TimeToChurnModel().fit(fitting[names], fitting["duration_days"], fitting["event"])
    concordance = model.concordance(holdout[names], holdout["duration_days"], holdout["event"])
    manifest = _manifest(
        SURVIVAL_MODEL,
        churn,
        tuple(model.columns_),
        training={
            "snapshot": churn.training["last_snapshot"],
            "rows_fit": len(fitting),
            "events_fit": int(fitting["event"].sum()),
            "rows_holdout": len(holdout),
            "seed": seed,
        },
        metrics={"concordance_holdout": concordance, "penalizer": model.penalizer_},
        extra={"family": model.family},
    )
    return registry.save(model=model, manifest=manifest)


def train_retention_models(
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
    survival_sample: int = SURVIVAL_SAMPLE,
    progress: Progress | None = None,
) -> RetentionModels:
    """Train and register the churn model, then its linked segments and survival models."""
    report = progress or (lambda step, done, total: None)
    churn = train_churn_model(
        warehouse=warehouse, registry=registry, definition=definition,
        horizon_days=horizon_days, snapshots=snapshots, validation_from=validation_from,
        seed=seed, name=name, n_jobs=n_jobs, progress=progress,
    )  # fmt: skip
    manifest = churn.manifest
    latest = datetime.fromisoformat(manifest.training["last_snapshot"])
    features = compute_features(warehouse=warehouse, as_of=latest)
    report("segments", 0, 1)
    segments = _fit_segments(features, manifest, registry, seed)
    report("segments", 1, 1)
    events = churn_events(warehouse=warehouse, definition=definition)
    frame = survival_frame(
        features, events, as_of=latest, observation_end=data_window(warehouse).end
    )
    report("survival", 0, 1)
    survival = _fit_survival(frame, manifest, registry, survival_sample, seed)
    report("survival", 1, 1)
    return RetentionModels(churn, segments, survival)


def _linked(registry: ModelRegistry, name: str, churn: ModelManifest) -> Any:
    for version in reversed(registry.list_versions(name)):
        manifest = registry.manifest(name, version)
        link = (manifest.extra.get("churn_model"), manifest.extra.get("churn_version"))
        if link == (churn.name, churn.version):
            return registry.load(name, version)
    raise ConfigurationError(
        f"{churn.name} {churn.version} has no linked {name} model; retrain with "
        "`tenure retention train`"
    )


def load_companions(registry: ModelRegistry, churn: ModelManifest) -> Companions:
    """The segments and survival models registered with this churn version."""
    segments = _linked(registry, SEGMENTS_MODEL, churn)
    survival = _linked(registry, SURVIVAL_MODEL, churn)
    names = {int(k): str(v) for k, v in segments.manifest.extra["segment_names"].items()}
    return Companions(
        segments.model, names, survival.model, segments.manifest.version, survival.manifest.version
    )
