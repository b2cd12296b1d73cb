"""The Redis keyed state: round trips, conflicts, TTL, prefix and error translation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tenure.adapters.redis import DEFAULT_TTL_SECONDS, RedisKeyedState
from tenure.core.errors import Conflict, StoreUnavailable
from tenure.protection.state import Observation, Query

T0 = 1_740_960_000.0
ENTITIES = ["customer:C1", "account:A1", "device:d-9", "ip:10.1.2.3", "payee:P7"]
LINKS = {"device": "d-9", "ip": "10.1.2.3", "payee": "P7"}


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends; without pipelines each is one round trip."""

    round_trips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        return super().execute_command(*args, **options)


@pytest.fixture
def client(redis_url: str) -> Iterator[CountingRedis]:
    client = CountingRedis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def state(client: CountingRedis) -> RedisKeyedState:
    return RedisKeyedState(client)


def decide(state: RedisKeyedState, at: float) -> None:
    """What the engine does per event: one read of every entity, one write of every observation."""
    state.read([Query(entity, LINKS) for entity in ENTITIES], at)
    state.write([Observation(e, at, "transfer", 1_000, LINKS, (39.9, 116.4)) for e in ENTITIES])


@pytest.mark.redis
def test_a_decision_costs_two_round_trips(state: RedisKeyedState, client: CountingRedis) -> None:
    decide(state, T0)  # the first write also loads the script
    client.round_trips = 0
    decide(state, T0 + 1)
    assert client.round_trips == 2
    assert state.read([Query("ip:10.1.2.3")], T0 + 2)[0].count("transfer", "1h") == 2


@pytest.mark.redis
def test_a_concurrent_write_costs_one_more_round_trip(
    state: RedisKeyedState, client: CountingRedis, redis_url: str
) -> None:
    decide(state, T0)
    other = RedisKeyedState.from_url(redis_url)
    state.read([Query(entity) for entity in ENTITIES], T0 + 1)
    other.write([Observation("device:d-9", T0 + 1, "login")])
    other.close()
    client.round_trips = 0
    state.write([Observation(entity, T0 + 1, "transfer", 5) for entity in ENTITIES])
    assert client.round_trips == 2
    view = state.read([Query("device:d-9")], T0 + 2)[0]
    assert (view.count("transfer", "1h"), view.count("login", "1h")) == (2, 1)


@pytest.mark.redis
def test_write_without_a_read_keeps_the_stored_state(
    state: RedisKeyedState, client: CountingRedis
) -> None:
    state.write([Observation("device:d-9", T0, "login")])
    fresh = RedisKeyedState(client)
    fresh.write([Observation("device:d-9", T0 + 1, "login")])
    assert fresh.read([Query("device:d-9")], T0 + 2)[0].count("login", "1h") == 2


@pytest.mark.redis
def test_gives_up_with_conflict_when_contention_persists(
    client: CountingRedis, redis_url: str
) -> None:
    state = RedisKeyedState(client, max_attempts=1)
    state.write([Observation("device:d-9", T0, "login")])
    state.read([Query("device:d-9")], T0)
    other = RedisKeyedState.from_url(redis_url)
    other.write([Observation("device:d-9", T0, "login")])
    other.close()
    with pytest.raises(Conflict):
        state.write([Observation("device:d-9", T0, "login")])
    assert state.read([Query("device:d-9")], T0)[0].count("login", "1h") == 2


@pytest.mark.redis
def test_keys_carry_prefix_and_45_day_ttl(client: CountingRedis) -> None:
    RedisKeyedState(client, prefix="bank-a:").write([Observation("ip:1", T0, "login")])
    RedisKeyedState(client).write([Observation("ip:1", T0, "login")])
    assert sorted(client.keys("*")) == [b"bank-a:ip:1", b"tenure:state:ip:1"]
    assert DEFAULT_TTL_SECONDS - 5 <= client.ttl("bank-a:ip:1") <= DEFAULT_TTL_SECONDS
    value = client.get("tenure:state:ip:1")
    assert isinstance(value, bytes)
    assert value.startswith(b"1:")


@pytest.mark.redis
def test_clear_deletes_only_its_prefix(client: CountingRedis) -> None:
    client.set("unrelated", b"keep")
    mine = RedisKeyedState(client, prefix="t[1]:")
    mine.write([Observation(f"ip:{i}", T0, "login") for i in range(2_500)])
    RedisKeyedState(client, prefix="t1:").write([Observation("ip:1", T0, "login")])
    mine.clear()
    assert sorted(client.keys("*")) == [b"t1:ip:1", b"unrelated"]


def test_unreachable_redis_raises_store_unavailable() -> None:
    state = RedisKeyedState.from_url("redis://127.0.0.1:1/15", timeout_seconds=0.2)
    with pytest.raises(StoreUnavailable) as raised:
        state.read([Query("customer:C1")], T0)
    assert isinstance(raised.value.__cause__, redis.exceptions.ConnectionError)
    assert "customer" not in str(raised.value)
    with pytest.raises(StoreUnavailable):
        state.write([Observation("customer:C1", T0, "login")])
    state.close()
