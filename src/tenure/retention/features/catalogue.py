"""The feature catalogue: every point-in-time customer feature, grouped by source.

Each feature is defined once (in the module of its subject) and compiled for DuckDB or Spark by
:mod:`tenure.retention.features.compiler`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tenure.retention.features.definitions import FeatureDefinition, Source
from tenure.retention.features.engagement import ENGAGEMENT_FEATURES, ENGAGEMENT_SOURCES
from tenure.retention.features.friction import FRICTION_FEATURES, FRICTION_SOURCES
from tenure.retention.features.money import MONEY_FEATURES, MONEY_SOURCES
from tenure.retention.features.relationship import RELATIONSHIP_FEATURES, RELATIONSHIP_SOURCES
from tenure.retention.features.service import SERVICE_FEATURES, SERVICE_SOURCES

__all__ = ["FEATURES", "SOURCES", "SPINE", "feature", "features_by_source"]

SPINE = "customers"
"""The source whose rows are the customers a snapshot describes."""

SOURCES: Mapping[str, Source] = MappingProxyType(
    {
        s.name: s
        for s in (
            *RELATIONSHIP_SOURCES,
            *MONEY_SOURCES,
            *ENGAGEMENT_SOURCES,
            *SERVICE_SOURCES,
            *FRICTION_SOURCES,
        )
    }
)

_ALL = (
    *RELATIONSHIP_FEATURES,
    *MONEY_FEATURES,
    *ENGAGEMENT_FEATURES,
    *SERVICE_FEATURES,
    *FRICTION_FEATURES,
)
# Column order: non-derived features by source, then derived ones, each in declaration order.
FEATURES: tuple[FeatureDefinition, ...] = tuple(
    [f for name in SOURCES for f in _ALL if f.source == name and f.kind != "derived"]
    + [f for f in _ALL if f.kind == "derived"]
)

_BY_NAME = {f.name: f for f in FEATURES}


def feature(name: str) -> FeatureDefinition:
    """The definition of the feature called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no feature called {name!r}") from None


def features_by_source() -> dict[str, tuple[FeatureDefinition, ...]]:
    """Non-derived features grouped by source name, in catalogue order."""
    return {name: tuple(f for f in FEATURES if f.source == name and f.kind != "derived")
            for name in SOURCES}  # fmt: skip
