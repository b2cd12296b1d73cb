"""What the scoring engine needs from keyed state; the memory and Redis backends implement it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tenure.protection.state.model import EntityView, Observation, Query

__all__ = ["KeyedState"]


class KeyedState(Protocol):
    """Per-entity streaming state: one ``read`` and one ``write`` per decision.

    ``read`` returns one view per query, in query order, as of ``at``; entities never seen (or idle
    past the expiry) read as empty views. ``write`` folds the observations in, all or nothing per
    call. Neither deduplicates: the engine makes decisions idempotent.
    """

    def read(self, queries: Sequence[Query], at: float) -> list[EntityView]: ...

    def write(self, observations: Sequence[Observation]) -> None: ...

    def clear(self) -> None: ...
