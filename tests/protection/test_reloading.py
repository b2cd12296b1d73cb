"""The in-memory snapshot the hot path reads: loaded on first use, again once ``ttl`` old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenure.core.clock import FixedClock
from tenure.protection.reloading import Reloading

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_loads_on_first_use_keeps_the_snapshot_for_ttl_then_loads_again() -> None:
    clock = FixedClock(START)
    loads: list[datetime] = []

    def load(now: datetime) -> int:
        loads.append(now)
        return len(loads)

    cache = Reloading(load, clock=clock, ttl=5.0)
    assert loads == []  # nothing is read before it is needed
    assert cache.current() == 1
    clock.advance(timedelta(seconds=4.9))
    assert cache.current() == 1
    clock.advance(timedelta(seconds=0.1))
    assert cache.current() == 2
    assert loads == [START, START + timedelta(seconds=5)]


def test_refresh_loads_at_once_and_restarts_the_clock() -> None:
    clock = FixedClock(START)
    values = iter(["old", "new", "newer"])
    cache = Reloading(lambda now: next(values), clock=clock, ttl=5.0)
    assert cache.current() == "old"
    clock.advance(timedelta(seconds=3))
    cache.refresh()
    assert cache.current() == "new"
    clock.advance(timedelta(seconds=4))  # 7 s after the first load, 4 s after the refresh
    assert cache.current() == "new"
