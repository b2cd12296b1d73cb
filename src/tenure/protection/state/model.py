"""Values the keyed state takes in and hands out: observations, queries and entity views.

Times are epoch seconds (UTC) as ``float``: the scoring path handles thousands of events a second
and converts to ``datetime`` only at its edges. Amounts are integer minor units; the amount
profile's mean and deviation are statistics, not money, and so are floats.

Window semantics (shared by every backend)
------------------------------------------
Each window ``W`` is kept as ``n`` buckets of ``g`` seconds (``WINDOW_BUCKETS``); bucket ``b``
holds the observations with ``b * g <= at < (b + 1) * g``. A read at time ``at`` sums the buckets
``B - n + 1 .. B`` where ``B = floor(at / g)``: the bucket holding ``at`` and the ``n - 1`` before
it. The window therefore starts between ``at - W`` (exclusive) and ``at - W + g`` (inclusive): it
is never longer than ``W`` and never shorter than ``W - g``, so a velocity rule never counts an
event older than ``W``. For observations at or before ``at``::

    exact(at - W + g <= t <= at)  <=  count(W)  <=  exact(at - W < t <= at)

Observations that arrived already but lie after ``at`` count only if they fall in bucket ``B``.

Arrival order does not matter while the read is at or after the newest observation of that stream. A
read *earlier* than the newest observation (a late event scored at its own time) sees only the
buckets still kept, so it may miss up to ``floor(newest / g) - B`` of the oldest buckets; with the
few seconds of disorder the engine sees, that is at most one bucket of the smallest window.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tenure.protection.state.geo import speed_kmh

__all__ = [
    "WINDOW_BUCKETS",
    "AmountProfile",
    "EntityView",
    "Observation",
    "Query",
    "Window",
]


class Window(StrEnum):
    """A sliding window ending at the read time."""

    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"


# (bucket width in seconds, number of buckets) per window, in ``Window`` order.
WINDOW_BUCKETS: Mapping[Window, tuple[int, int]] = {
    Window.HOUR: (60, 60),
    Window.DAY: (3_600, 24),
    Window.WEEK: (21_600, 28),
    Window.MONTH: (86_400, 30),
}
_POSITION: Mapping[str, int] = {window: position for position, window in enumerate(WINDOW_BUCKETS)}


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing that happened to one entity, e.g. a transfer by ``customer:C000001``.

    ``links`` names the other entities seen with this one (``{"device": "d-9", "ip": "10.1.2.3"}``);
    ``place`` is ``(lat, lon)`` in degrees. The state does not deduplicate: writing the same
    observation twice counts it twice (idempotency is the engine's job).
    """

    entity: str
    at: float
    stream: str
    amount_minor: int = 0
    links: Mapping[str, str] = field(default_factory=dict)
    place: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """An entity to read, the link values (kind -> value) to look up, and the streams to count.

    ``streams=None`` reads every stream the entity has; naming the few a rule set uses keeps a
    read of a busy entity cheap.
    """

    entity: str
    links: Mapping[str, str] = field(default_factory=dict)
    streams: Collection[str] | None = None


@dataclass(frozen=True, slots=True)
class AmountProfile:
    """All-time count, mean and sample standard deviation of a stream's non-zero amounts."""

    count: int = 0
    mean: float = 0.0
    std: float = 0.0

    def z_score(self, amount_minor: int) -> float | None:
        """How many deviations ``amount_minor`` lies from the mean; None without a spread yet.

        >>> AmountProfile(count=10, mean=100.0, std=20.0).z_score(160)
        3.0
        """
        if self.count < 2 or self.std <= 0.0:
            return None
        return (amount_minor - self.mean) / self.std


_NO_AMOUNTS = AmountProfile()


@dataclass(frozen=True)
class EntityView:
    """What the state knows about one entity at time ``at``; a snapshot, never updated.

    ``counts`` and ``sums`` map each read stream to its four windows in ``Window`` order (use
    ``count``/``sum``); ``amount_stats`` hold (count, mean, std) of the read streams that carried
    amounts (use ``amount``); ``link_first_seen`` has one entry per queried (kind, value), None when
    the value is new to this entity (or was evicted, see ``MAX_LINK_VALUES``); ``distinct_links``
    counts the values of each kind last seen with this entity in the 30 days up to ``at``;
    ``hours`` are counts per UTC hour of day.
    """

    entity: str
    at: float
    counts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    sums: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    first_seen: float | None = None
    last_seen: float | None = None
    link_first_seen: Mapping[tuple[str, str], float | None] = field(default_factory=dict)
    distinct_links: Mapping[str, int] = field(default_factory=dict)
    last_place: tuple[float, float] | None = None
    last_place_at: float | None = None
    amount_stats: Mapping[str, tuple[int, float, float]] = field(default_factory=dict)
    hours: tuple[int, ...] = (0,) * 24

    @property
    def is_new(self) -> bool:
        """True when the entity has never been observed (or expired)."""
        return self.last_seen is None

    def count(self, stream: str, window: Window | str) -> int:
        """Observations of ``stream`` in ``window``."""
        found = self.counts.get(stream)
        return found[_POSITION[window]] if found is not None else 0

    def sum(self, stream: str, window: Window | str) -> int:
        """Sum of ``amount_minor`` of ``stream`` in ``window``."""
        found = self.sums.get(stream)
        return found[_POSITION[window]] if found is not None else 0

    def first_seen_with(self, kind: str, value: str) -> float | None:
        """When ``value`` was first seen with this entity; None when new (or not queried)."""
        return self.link_first_seen.get((kind, value))

    def distinct(self, kind: str) -> int:
        """Distinct values of link ``kind`` seen with this entity in the last 30 days."""
        return self.distinct_links.get(kind, 0)

    def amount(self, stream: str) -> AmountProfile:
        """The amount profile of ``stream`` (empty when no amount was seen)."""
        stats = self.amount_stats.get(stream)
        if stats is None:
            return _NO_AMOUNTS
        return AmountProfile(count=stats[0], mean=stats[1], std=stats[2])

    def hour_share(self, hour: int) -> float:
        """Share of this entity's observations that fell in UTC ``hour`` (0.0 with no history)."""
        total = sum(self.hours)
        return self.hours[hour % 24] / total if total else 0.0

    def speed_kmh_to(self, place: tuple[float, float], at: float) -> float | None:
        """Travel speed from the last known place to ``place`` at ``at``; None without one."""
        if self.last_place is None or self.last_place_at is None:
            return None
        return speed_kmh(self.last_place, self.last_place_at, place, at)

    @classmethod
    def snapshot(
        cls,
        *,
        entity: str,
        at: float,
        counts: Mapping[str, tuple[int, ...]],
        sums: Mapping[str, tuple[int, ...]],
        first_seen: float | None,
        last_seen: float | None,
        link_first_seen: Mapping[tuple[str, str], float | None],
        distinct_links: Mapping[str, int],
        last_place: tuple[float, float] | None,
        last_place_at: float | None,
        amount_stats: Mapping[str, tuple[int, float, float]],
        hours: tuple[int, ...],
    ) -> EntityView:
        """The same view as the constructor, built about three times faster.

        The generated frozen ``__init__`` sets each of the twelve fields through
        ``object.__setattr__``; five views are built per decision, so the state fills the
        instance dict directly instead (hence no ``slots``). Every field must be given.
        """
        view = _new_object(cls)
        view.__dict__.update(
            entity=entity,
            at=at,
            counts=counts,
            sums=sums,
            first_seen=first_seen,
            last_seen=last_seen,
            link_first_seen=link_first_seen,
            distinct_links=distinct_links,
            last_place=last_place,
            last_place_at=last_place_at,
            amount_stats=amount_stats,
            hours=hours,
        )
        return view


_new_object = object.__new__
