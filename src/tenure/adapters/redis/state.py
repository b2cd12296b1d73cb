"""Keyed state in Redis, shared by many scoring workers: at most two round trips per decision.

Each entity is one string key ``{prefix}{entity}`` holding ``b"<version>:" + orjson(state)``, kept
for ``ttl_seconds`` (45 days, wall clock) after its last write. Like the memory backend, an entity
idle longer than ``idle_seconds`` by observation time reads as new, so replays of old data agree.

* ``read`` is one ``MGET`` of every queried entity. The decoded states and their versions are
  remembered for the ``write`` that follows, so the write needs no fetch of its own.
* ``write`` folds the observations into those states and stores every touched key in one Lua call
  that first compares each key's version with the one read (0 = the key must not exist) and writes
  nothing unless all match. On a conflict, another worker wrote in between: the script returns the
  current values of the conflicting keys, the observations are applied to them again and the call is
  retried (rare; one more round trip each time, up to ``max_attempts``).
* An entity written without a read first is assumed new; if it is not, the first attempt conflicts
  and the retry carries the real state.

The first write after Redis lost its script cache costs two extra round trips (``SCRIPT LOAD``).
Driver errors become ``StoreUnavailable``; messages never name an entity.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tenure.core.errors import Conflict, StoreUnavailable
from tenure.protection.state.entity import EntityState, empty_view
from tenure.protection.state.memory import DEFAULT_IDLE_SECONDS
from tenure.protection.state.model import EntityView, Observation, Query

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TTL_SECONDS", "RedisKeyedState"]

DEFAULT_PREFIX = "tenure:state:"
DEFAULT_TTL_SECONDS = 45 * 86_400
# States read but never written (a decision that raised) are forgotten past this many.
_REMEMBER_AT_MOST = 4_096

# KEYS: entity keys. ARGV: ttl, the n versions read, the n new states.
# Returns {} when written, else {position, current value or false, ...} and writes nothing.
_COMPARE_AND_SET = """
local n = #KEYS
local conflicts = {}
for i = 1, n do
  local current = redis.call('GET', KEYS[i])
  local version = 0
  if current then version = tonumber(string.match(current, '^(%d+):')) end
  if version ~= tonumber(ARGV[1 + i]) then
    conflicts[#conflicts + 1] = i
    conflicts[#conflicts + 1] = current
  end
end
if #conflicts > 0 then return conflicts end
for i = 1, n do
  local version = tonumber(ARGV[1 + i]) + 1
  redis.call('SET', KEYS[i], version .. ':' .. ARGV[1 + n + i], 'EX', ARGV[1])
end
return conflicts
"""

_Versioned = tuple[int, EntityState | None]


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise StoreUnavailable("the keyed state store could not be reached") from exc
    except RedisError as exc:
        raise StoreUnavailable("the keyed state store rejected the operation") from exc


def _decode(blob: Any) -> _Versioned:
    if blob is None:
        return 0, None
    head, _, body = bytes(blob).partition(b":")
    return int(head), EntityState.from_primitive(orjson.loads(body))


class RedisKeyedState:
    """``KeyedState`` on a sync ``redis.Redis`` client that returns bytes (the default)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        idle_seconds: float | None = DEFAULT_IDLE_SECONDS,
        max_attempts: int = 8,
    ) -> None:
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.idle_seconds = idle_seconds
        self.max_attempts = max_attempts
        self._client = client
        self._compare_and_set = client.register_script(_COMPARE_AND_SET)
        self._read: dict[str, _Versioned] = {}

    @classmethod
    def from_url(cls, url: str, *, timeout_seconds: float = 1.0, **options: Any) -> RedisKeyedState:
        """Connect lazily to ``url`` (``redis://host:port/db``); no IO until the first call."""
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_seconds, socket_timeout=timeout_seconds
        )
        return cls(client, **options)

    def read(self, queries: Sequence[Query], at: float) -> list[EntityView]:
        """One view per query, in order, as of ``at``: one ``MGET``."""
        if not queries:
            return []
        entities = list(dict.fromkeys(query.entity for query in queries))
        with _translated():
            blobs = self._client.mget([self.prefix + entity for entity in entities])
        if len(self._read) > _REMEMBER_AT_MOST:
            self._read.clear()
        states: dict[str, EntityState | None] = {}
        for entity, blob in zip(entities, blobs, strict=True):
            version, state = _decode(blob)
            self._read[entity] = (version, state)
            states[entity] = state if state is None or not self._idle(state, at) else None
        return [self._view(states[query.entity], query, at) for query in queries]

    def write(self, observations: Sequence[Observation]) -> None:
        """Fold the observations in: one compare-and-set call, retried only on a conflict."""
        grouped: dict[str, list[Observation]] = {}
        for obs in observations:
            grouped.setdefault(obs.entity, []).append(obs)
        if not grouped:
            return
        entities = list(grouped)
        bases = [self._read.pop(entity, (0, None)) for entity in entities]
        blobs = [
            self._applied(state, grouped[entity])
            for entity, (_, state) in zip(entities, bases, strict=True)
        ]
        keys = [self.prefix + entity for entity in entities]
        for _ in range(self.max_attempts):
            versions = [version for version, _ in bases]
            with _translated():
                conflicts = self._compare_and_set(
                    keys=keys, args=[self.ttl_seconds, *versions, *blobs]
                )
            if not conflicts:
                return
            for at in range(0, len(conflicts), 2):
                position = int(conflicts[at]) - 1
                bases[position] = _decode(conflicts[at + 1])
                blobs[position] = self._applied(bases[position][1], grouped[entities[position]])
        raise Conflict("the keyed state stayed contended; the observations were not written")

    def clear(self) -> None:
        """Delete every key under the prefix (SCAN + UNLINK, not atomic: for rebuilds and tests)."""
        self._read.clear()
        pattern = _glob_escaped(self.prefix) + "*"
        with _translated():
            batch: list[bytes] = []
            for key in self._client.scan_iter(match=pattern, count=1_000):
                batch.append(key)
                if len(batch) >= 1_000:
                    self._client.unlink(*batch)
                    batch.clear()
            if batch:
                self._client.unlink(*batch)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def _view(self, state: EntityState | None, query: Query, at: float) -> EntityView:
        if state is None:
            return empty_view(query.entity, at, query.links)
        return state.view(query.entity, at, query.links, query.streams)

    def _applied(self, state: EntityState | None, observations: list[Observation]) -> bytes:
        """The state with ``observations`` folded in, encoded; ``state`` itself may change."""
        if state is None or self._idle(state, observations[0].at):
            state = EntityState()
        for obs in observations:
            state.observe(obs)
        return orjson.dumps(state.to_primitive())

    def _idle(self, state: EntityState, at: float) -> bool:
        last = state.last_seen
        return self.idle_seconds is not None and last is not None and at - last > self.idle_seconds


def _glob_escaped(text: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)
