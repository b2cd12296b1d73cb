"""Store data held in memory for the hot path, reloaded every few seconds.

A decision costs about half a millisecond, less than one read of the operational store, so what
the engine consults on every event (block lists, stored limits, live snoozes, current mandates) is
read whole into memory and read again at most every ``ttl`` seconds. ``refresh()`` reloads at
once, after a change through the API in this process; other processes see the change at their
next reload.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from tenure.core.clock import Clock

__all__ = ["DEFAULT_TTL_SECONDS", "Reloading"]

DEFAULT_TTL_SECONDS = 5.0
T = TypeVar("T")


class Reloading(Generic[T]):
    """What ``load(now)`` returned, loaded again once it is ``ttl`` seconds old; thread-safe (a
    reload swaps the snapshot whole, so a reader sees the old one or the new one)."""

    def __init__(
        self, load: Callable[[datetime], T], *, clock: Clock, ttl: float = DEFAULT_TTL_SECONDS
    ) -> None:
        self._load = load
        self._clock = clock
        self._ttl = timedelta(seconds=ttl)
        self._snapshot: tuple[datetime, T] | None = None

    def refresh(self) -> None:
        """Load now."""
        now = self._clock.now()
        self._snapshot = (now, self._load(now))

    def current(self) -> T:
        """The latest snapshot, reloaded first when there is none or it is ``ttl`` old."""
        snapshot = self._snapshot
        if snapshot is None or self._clock.now() - snapshot[0] >= self._ttl:
            self.refresh()
            snapshot = self._snapshot
            assert snapshot is not None
        return snapshot[1]
