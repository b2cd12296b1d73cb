"""In-process keyed state: the default for one scoring worker.

An ordered dict of ``EntityState`` by last write, guarded by one lock. ``read`` and ``write`` never
await, so in one asyncio worker they run whole; the lock also makes them safe from executor threads.
Entities idle (by observation time) longer than ``idle_seconds`` read as new and are dropped: when
touched, and by a small sweep of the least recently written entities at every write, so memory
follows the active population.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from tenure.protection.state.entity import EntityState, empty_view
from tenure.protection.state.model import EntityView, Observation, Query

__all__ = ["DEFAULT_IDLE_SECONDS", "MemoryKeyedState"]

DEFAULT_IDLE_SECONDS = 45 * 86_400.0
# How many of the least recently written entities each write inspects for expiry.
_SWEEP_PER_WRITE = 2


class MemoryKeyedState:
    """Keyed state in a dict; ``idle_seconds=None`` keeps entities forever."""

    def __init__(self, *, idle_seconds: float | None = DEFAULT_IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        # OrderedDict, not dict: moving an entity to the end and finding the oldest are O(1) here,
        # where a dict's delete-and-reinsert leaves holes that the search for its first key
        # walks (tens of microseconds a write once it holds tens of thousands of entities) and
        # that force a full resize every few thousand writes
        self._states: OrderedDict[str, EntityState] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._states)

    def read(self, queries: Sequence[Query], at: float) -> list[EntityView]:
        """One view per query, in order, as of ``at``."""
        views = []
        with self._lock:
            for query in queries:
                state = self._live(query.entity, at)
                if state is None:
                    views.append(empty_view(query.entity, at, query.links))
                else:
                    views.append(state.view(query.entity, at, query.links, query.streams))
        return views

    def write(self, observations: Sequence[Observation]) -> None:
        """Fold the observations in, in order."""
        states = self._states
        with self._lock:
            for obs in observations:
                state = self._live(obs.entity, obs.at)
                if state is None:
                    state = states[obs.entity] = EntityState()
                else:
                    states.move_to_end(obs.entity)  # the dict stays ordered by last write
                state.observe(obs)
            if observations:
                self._sweep(observations[-1].at)

    def clear(self) -> None:
        """Forget every entity."""
        with self._lock:
            self._states.clear()

    def _live(self, entity: str, at: float) -> EntityState | None:
        state = self._states.get(entity)
        if state is not None and self._idle(state, at):
            del self._states[entity]
            return None
        return state

    def _idle(self, state: EntityState, at: float) -> bool:
        last = state.last_seen
        return self.idle_seconds is not None and last is not None and at - last > self.idle_seconds

    def _sweep(self, at: float) -> None:
        states = self._states
        for _ in range(min(_SWEEP_PER_WRITE, len(states))):
            oldest, state = next(iter(states.items()))
            if not self._idle(state, at):
                return
            del states[oldest]
