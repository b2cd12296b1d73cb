"""Keyed streaming state for real-time scoring: per-entity windows, links, places and profiles.

The engine reads every entity of an event once (``KeyedState.read``) and writes the observations
once after deciding (``KeyedState.write``). ``MemoryKeyedState`` is the default; the Redis adapter
shares state between workers. ``model`` documents the exact window semantics.
"""

from __future__ import annotations

from tenure.protection.state.entity import MAX_LINK_VALUES, MAX_STREAMS, EntityState
from tenure.protection.state.geo import km_between, speed_kmh
from tenure.protection.state.memory import DEFAULT_IDLE_SECONDS, MemoryKeyedState
from tenure.protection.state.model import (
    WINDOW_BUCKETS,
    AmountProfile,
    EntityView,
    Observation,
    Query,
    Window,
)
from tenure.protection.state.port import KeyedState

__all__ = [
    "DEFAULT_IDLE_SECONDS",
    "MAX_LINK_VALUES",
    "MAX_STREAMS",
    "WINDOW_BUCKETS",
    "AmountProfile",
    "EntityState",
    "EntityView",
    "KeyedState",
    "MemoryKeyedState",
    "Observation",
    "Query",
    "Window",
    "km_between",
    "speed_kmh",
]
