"""The mutable state of one entity and its IO-free update (``observe``) and read (``view``).

Memory per entity is bounded: at most ``MAX_STREAMS`` streams (each four windows of at most 60, 24,
28 and 30 buckets and one amount profile), ``MAX_LINK_VALUES`` values per link kind, 24 hour counts
and one place. Stream names and link kinds come from the engine's small vocabulary, not from input.

Choices the engine relies on:

* Amount profile: all-time Welford count / mean / M2 over non-zero amounts. All-time keeps it exact
  under any arrival order; an entity idle for the expiry period starts over.
* Hour profile: counts per UTC hour over every observation; when they reach ``HOUR_COUNT_CAP`` all
  24 are halved, so the profile follows a changed routine and stays small.
* Links: per kind, the ``MAX_LINK_VALUES`` most recently seen values with their first and last time;
  an evicted value reads as new again. Recency is by arrival, so under late arrivals the evicted
  value is the least recently *touched*, not always the one with the oldest time.
* Place: the place with the latest time wins, whatever the arrival order.
* Duplicates: a replayed observation counts twice; idempotency belongs to the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tenure.protection.state.model import (
    WINDOW_BUCKETS,
    EntityView,
    Observation,
)
from tenure.protection.state.series import BucketSeries

__all__ = [
    "HOUR_COUNT_CAP",
    "MAX_LINK_VALUES",
    "MAX_STREAMS",
    "MONTH_SECONDS",
    "EntityState",
    "StreamState",
    "empty_view",
]

MAX_STREAMS = 32
MAX_LINK_VALUES = 64
HOUR_COUNT_CAP = 4_096
MONTH_SECONDS = 30 * 86_400
FORMAT = 1

_W0, _W1, _W2, _W3 = (width for width, _ in WINDOW_BUCKETS.values())
_SIZES = tuple(size for _, size in WINDOW_BUCKETS.values())
_S1, _S2, _S3 = _SIZES[1:]
_ZEROS = (0, 0, 0, 0)
_WINDOWS = tuple(WINDOW_BUCKETS)


def empty_view(entity: str, at: float, links: Mapping[str, str]) -> EntityView:
    """The view of an entity never seen: every queried link is new."""
    return EntityView(entity=entity, at=at, link_first_seen=dict.fromkeys(links.items()))


class StreamState:
    """Windows and amount profile of one stream of one entity."""

    __slots__ = ("last_at", "m2", "mean", "n", "series")

    def __init__(self) -> None:
        self.series = tuple(BucketSeries(size) for size in _SIZES)
        self.last_at = 0.0
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def observe(self, at: float, amount_minor: int) -> None:
        minute, hour, quarter, day = self.series
        minute.add(int(at // _W0), amount_minor)
        hour.add(int(at // _W1), amount_minor)
        quarter.add(int(at // _W2), amount_minor)
        day.add(int(at // _W3), amount_minor)
        if at > self.last_at:
            self.last_at = at
        if amount_minor:
            self.n += 1
            delta = amount_minor - self.mean
            self.mean += delta / self.n
            self.m2 += delta * (amount_minor - self.mean)

    def windows(self, at: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(counts, sums) of the four windows ending at ``at``, in ``Window`` order."""
        # Unrolled, longest window first: each window starts later than the one before, so once one
        # is empty (the usual case for a quiet stream) the shorter ones are too.
        minute, hour, quarter, day = self.series
        index = int(at // _W3)
        if index - day.head >= _S3:
            return _ZEROS, _ZEROS
        c3, s3 = (day.count, day.total) if day.head == index else day.read(index)
        index = int(at // _W2)
        if index - quarter.head >= _S2:
            return (0, 0, 0, c3), (0, 0, 0, s3)
        c2, s2 = (quarter.count, quarter.total) if quarter.head == index else quarter.read(index)
        index = int(at // _W1)
        if index - hour.head >= _S1:
            return (0, 0, c2, c3), (0, 0, s2, s3)
        c1, s1 = (hour.count, hour.total) if hour.head == index else hour.read(index)
        index = int(at // _W0)
        c0, s0 = (minute.count, minute.total) if minute.head == index else minute.read(index)
        return (c0, c1, c2, c3), (s0, s1, s2, s3)

    def stats(self) -> tuple[int, float, float]:
        """Amount count, mean and sample standard deviation."""
        std = (self.m2 / (self.n - 1)) ** 0.5 if self.n > 1 else 0.0
        return self.n, self.mean, std

    def to_primitive(self) -> list[Any]:
        return [self.last_at, self.n, self.mean, self.m2, *(s.to_primitive() for s in self.series)]

    @classmethod
    def from_primitive(cls, raw: list[Any]) -> StreamState:
        stream = cls()
        stream.last_at, stream.n, stream.mean, stream.m2 = raw[0], raw[1], raw[2], raw[3]
        stream.series = tuple(
            BucketSeries.from_primitive(size, flat)
            for size, flat in zip(_SIZES, raw[4:], strict=True)
        )
        return stream


class EntityState:
    """Everything kept about one entity; not thread-safe on its own (backends serialise access)."""

    __slots__ = (
        "first_seen", "hours", "last_seen", "link_first", "link_last", "place", "place_at",
        "streams",
    )  # fmt: skip

    def __init__(self) -> None:
        self.first_seen: float | None = None
        self.last_seen: float | None = None
        self.streams: dict[str, StreamState] = {}
        # kind -> value -> first seen, and kind -> value -> last seen ordered from least to most
        # recently touched: dicts of plain floats, which the cycle collector never walks
        self.link_first: dict[str, dict[str, float]] = {}
        self.link_last: dict[str, dict[str, float]] = {}
        self.place: tuple[float, float] | None = None
        self.place_at: float | None = None
        self.hours = [0] * 24

    def observe(self, obs: Observation) -> None:
        """Fold one observation in; any arrival order gives the same state (see ``model``)."""
        at = obs.at
        if self.first_seen is None or at < self.first_seen:
            self.first_seen = at
        if self.last_seen is None or at > self.last_seen:
            self.last_seen = at
        self._stream(obs.stream).observe(at, obs.amount_minor)
        for kind, value in obs.links.items():
            self._link(kind, value, at)
        if obs.place is not None and (self.place_at is None or at >= self.place_at):
            self.place, self.place_at = obs.place, at
        self._count_hour(at)

    def _stream(self, name: str) -> StreamState:
        stream = self.streams.get(name)
        if stream is None:
            if len(self.streams) >= MAX_STREAMS:
                quiet = min(self.streams, key=lambda key: self.streams[key].last_at)
                del self.streams[quiet]
            stream = self.streams[name] = StreamState()
        return stream

    def _link(self, kind: str, value: str, at: float) -> None:
        firsts = self.link_first.get(kind)
        if firsts is None:
            firsts = self.link_first[kind] = {}
            lasts = self.link_last[kind] = {}
        else:
            lasts = self.link_last[kind]
        first = firsts.get(value)
        if first is None:
            if len(lasts) >= MAX_LINK_VALUES:
                evicted = next(iter(lasts))
                del lasts[evicted], firsts[evicted]
            firsts[value] = lasts[value] = at
            return
        if at < first:
            firsts[value] = at
        # re-insert: the dict stays ordered by last touch, evicted from the front
        last = lasts.pop(value)
        lasts[value] = at if at > last else last

    def _count_hour(self, at: float) -> None:
        hours = self.hours
        hours[int(at // 3_600) % 24] += 1
        if sum(hours) >= HOUR_COUNT_CAP:
            self.hours = [count // 2 for count in hours]

    def view(
        self, entity: str, at: float, links: Mapping[str, str], streams: Iterable[str] | None = None
    ) -> EntityView:
        """A snapshot as seen at ``at``: the named streams (all when None) and the queried links."""
        counts: dict[str, tuple[int, ...]] = {}
        sums: dict[str, tuple[int, ...]] = {}
        amounts: dict[str, tuple[int, float, float]] = {}
        for name in self.streams if streams is None else streams:
            stream = self.streams.get(name)
            if stream is not None:
                counts[name], sums[name] = stream.windows(at)
                if stream.n:
                    amounts[name] = stream.stats()
        return EntityView.snapshot(
            entity=entity,
            at=at,
            counts=counts,
            sums=sums,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            link_first_seen=self._first_seen_with(links),
            distinct_links=self._distinct(at - MONTH_SECONDS),
            last_place=self.place,
            last_place_at=self.place_at,
            amount_stats=amounts,
            hours=tuple(self.hours),
        )

    def _first_seen_with(self, links: Mapping[str, str]) -> dict[tuple[str, str], float | None]:
        found: dict[tuple[str, str], float | None] = {}
        for kind, value in links.items():
            firsts = self.link_first.get(kind)
            found[kind, value] = None if firsts is None else firsts.get(value)
        return found

    def _distinct(self, cutoff: float) -> dict[str, int]:
        # A full scan (at most MAX_LINK_VALUES): late arrivals leave the recency order approximate.
        return {
            kind: len([last for last in lasts.values() if last > cutoff])
            for kind, lasts in self.link_last.items()
        }

    def to_primitive(self) -> list[Any]:
        """A JSON-ready list; ``from_primitive`` inverts it exactly."""
        return [
            FORMAT,
            self.first_seen,
            self.last_seen,
            {name: stream.to_primitive() for name, stream in self.streams.items()},
            {
                kind: [[value, self.link_first[kind][value], last] for value, last in lasts.items()]
                for kind, lasts in self.link_last.items()
            },
            list(self.place) if self.place is not None else None,
            self.place_at,
            self.hours,
        ]

    @classmethod
    def from_primitive(cls, raw: list[Any]) -> EntityState:
        if raw[0] != FORMAT:
            raise ValueError(f"unknown entity state format {raw[0]!r}")
        state = cls()
        state.first_seen, state.last_seen = raw[1], raw[2]
        state.streams = {name: StreamState.from_primitive(s) for name, s in raw[3].items()}
        for kind, seen in raw[4].items():
            state.link_first[kind] = {value: first for value, first, _ in seen}
            state.link_last[kind] = {value: last for value, _, last in seen}
        state.place = (raw[5][0], raw[5][1]) if raw[5] is not None else None
        state.place_at = raw[6]
        state.hours = list(raw[7])
        return state
