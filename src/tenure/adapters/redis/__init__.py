"""The Redis adapter: keyed streaming state shared by many scoring workers."""

from __future__ import annotations

from tenure.adapters.redis.state import DEFAULT_PREFIX, DEFAULT_TTL_SECONDS, RedisKeyedState

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TTL_SECONDS", "RedisKeyedState"]
