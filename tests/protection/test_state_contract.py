"""Behaviour every keyed state backend must show (run in memory and on Redis)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator

import pytest

from tenure.adapters.redis import RedisKeyedState
from tenure.protection.state import (
    KeyedState,
    MemoryKeyedState,
    Observation,
    Query,
    Window,
    km_between,
)

# 2025-03-03 00:00:00 UTC: a whole number of days, so every bucket boundary falls on it.
T0 = 1_740_960_000.0
HOUR = 3_600.0
DAY = 86_400.0
C = "customer:C000001"

Handles = Callable[[], KeyedState]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def handles(request: pytest.FixtureRequest) -> Iterator[Handles]:
    """A factory of handles on one store: two handles stand for two workers."""
    if request.param == "memory":
        shared = MemoryKeyedState()
        yield lambda: shared
        return
    url = str(request.getfixturevalue("redis_url"))
    opened: list[RedisKeyedState] = []

    def open_handle() -> KeyedState:
        opened.append(RedisKeyedState.from_url(url))
        return opened[-1]

    yield open_handle
    for handle in opened:
        handle.close()


@pytest.fixture
def state(handles: Handles) -> KeyedState:
    return handles()


def obs(at: float, stream: str = "login", amount: int = 0, **links: str) -> Observation:
    return Observation(entity=C, at=at, stream=stream, amount_minor=amount, links=links)


def test_unknown_entity_reads_as_new(state: KeyedState) -> None:
    view = state.read([Query(C, {"device": "d-9"})], T0)[0]
    assert view.is_new
    assert view.first_seen is None
    assert view.count("login", Window.HOUR) == 0
    assert view.first_seen_with("device", "d-9") is None
    assert view.distinct("device") == 0
    assert view.hour_share(3) == 0.0


def test_counts_and_sums_each_window(state: KeyedState) -> None:
    ages = [30.0, 20 * 60.0, 5 * HOUR, 3 * DAY, 20 * DAY, 40 * DAY]
    state.write([obs(T0 - age, "transfer", 100 * (i + 1)) for i, age in enumerate(ages)])
    view = state.read([Query(C)], T0)[0]
    assert [view.count("transfer", w) for w in Window] == [2, 3, 4, 5]
    assert [view.sum("transfer", w) for w in Window] == [300, 600, 1000, 1500]
    assert view.count("login", Window.DAY) == 0


def test_hour_window_keeps_its_first_minute_until_the_hour_is_up(state: KeyedState) -> None:
    state.write([obs(T0)])
    assert state.read([Query(C)], T0 + HOUR - 1)[0].count("login", "1h") == 1
    assert state.read([Query(C)], T0 + HOUR)[0].count("login", "1h") == 0


def test_window_start_rounds_up_to_the_next_bucket(state: KeyedState) -> None:
    # The event is 59m31s old, inside an exact hour, but its minute bucket starts 60m29s back.
    state.write([obs(T0 + 30)])
    assert state.read([Query(C)], T0 + HOUR + 1)[0].count("login", "1h") == 0


@pytest.mark.parametrize(
    ("window", "width", "span"),
    [(Window.DAY, HOUR, DAY), (Window.WEEK, 6 * HOUR, 7 * DAY), (Window.MONTH, DAY, 30 * DAY)],
)
def test_longer_windows_end_exactly_one_span_after_their_bucket(
    state: KeyedState, window: Window, width: float, span: float
) -> None:
    state.write([obs(T0)])
    assert state.read([Query(C)], T0 + span - 1)[0].count("login", window) == 1
    assert state.read([Query(C)], T0 + span)[0].count("login", window) == 0
    assert state.read([Query(C)], T0 + span - width)[0].count("login", window) == 1


def test_late_observations_still_count(state: KeyedState) -> None:
    state.write([obs(T0 + 5)])
    state.write([obs(T0)])
    state.write([obs(T0 + 3)])
    view = state.read([Query(C)], T0 + 6)[0]
    assert view.count("login", "1h") == 3
    assert (view.first_seen, view.last_seen) == (T0, T0 + 5)


def test_first_seen_of_links_and_new_values(state: KeyedState) -> None:
    state.write([obs(T0, device="d-1"), obs(T0 + 60, device="d-1", ip="10.1.2.3")])
    view = state.read([Query(C, {"device": "d-1", "ip": "10.9.9.9"})], T0 + 120)[0]
    assert view.first_seen_with("device", "d-1") == T0
    assert view.first_seen_with("ip", "10.9.9.9") is None
    assert view.link_first_seen == {("device", "d-1"): T0, ("ip", "10.9.9.9"): None}


def test_distinct_links_cover_the_last_30_days(state: KeyedState) -> None:
    state.write([obs(T0 - 31 * DAY, ip="old")])
    state.write([obs(T0 - age * DAY, ip=f"ip-{age}") for age in (0, 1, 29)])
    view = state.read([Query(C)], T0)[0]
    assert view.distinct("ip") == 3
    assert view.distinct("device") == 0


def test_last_place_and_travel_speed(state: KeyedState) -> None:
    beijing, shanghai = (39.9042, 116.4074), (31.2304, 121.4737)
    state.write([Observation(C, T0, "login", place=beijing)])
    state.write([Observation(C, T0 - 600, "login", place=shanghai)])  # late: not the last place
    view = state.read([Query(C)], T0 + HOUR)[0]
    assert view.last_place == beijing
    assert view.last_place_at == T0
    speed = view.speed_kmh_to(shanghai, T0 + HOUR)
    assert speed == pytest.approx(km_between(beijing, shanghai), rel=1e-9)


def test_amount_profile_gives_mean_and_deviation(state: KeyedState) -> None:
    amounts = [1_000, 1_200, 900, 1_100, 5_000]
    state.write([obs(T0 + i, "transfer", amount) for i, amount in enumerate(amounts)])
    state.write([obs(T0 + 10, "transfer", 0)])  # no amount: not part of the profile
    profile = state.read([Query(C)], T0 + 20)[0].amount("transfer")
    assert profile.count == 5
    assert profile.mean == pytest.approx(statistics.mean(amounts))
    assert profile.std == pytest.approx(statistics.stdev(amounts))
    assert profile.z_score(1_840) == pytest.approx((1_840 - profile.mean) / profile.std)


def test_hour_profile_shares(state: KeyedState) -> None:
    state.write([obs(T0 + 9 * HOUR + i) for i in range(3)] + [obs(T0 + 22 * HOUR)])
    view = state.read([Query(C)], T0 + DAY)[0]
    assert view.hour_share(9) == pytest.approx(0.75)
    assert view.hour_share(22) == pytest.approx(0.25)
    assert view.hour_share(3) == 0.0


def test_reads_many_entities_in_query_order(state: KeyedState) -> None:
    state.write([obs(T0), Observation("device:d-9", T0, "login"), Observation("ip:1", T0, "x")])
    queries = [Query("device:d-9"), Query(C), Query("payee:new"), Query(C)]
    views = state.read(queries, T0 + 1)
    assert [v.entity for v in views] == ["device:d-9", C, "payee:new", C]
    assert [v.is_new for v in views] == [False, False, True, False]


def test_query_can_name_the_streams_it_needs(state: KeyedState) -> None:
    state.write([obs(T0, "login"), obs(T0, "transfer", 500)])
    view = state.read([Query(C, streams=("transfer", "decline"))], T0)[0]
    assert set(view.counts) == {"transfer"}
    assert view.count("transfer", "24h") == 1


def test_replayed_observation_counts_twice(state: KeyedState) -> None:
    same = obs(T0, "transfer", 700)
    state.write([same])
    state.write([same])
    assert state.read([Query(C)], T0)[0].sum("transfer", "1h") == 1_400


def test_entity_idle_past_45_days_starts_over(state: KeyedState) -> None:
    state.write([obs(T0, "transfer", 700, device="d-1")])
    later = T0 + 46 * DAY
    assert state.read([Query(C)], later)[0].is_new
    state.write([obs(later, device="d-2")])
    view = state.read([Query(C, {"device": "d-1"})], later)[0]
    assert view.first_seen == later
    assert view.first_seen_with("device", "d-1") is None
    assert view.amount("transfer").count == 0


def test_clear_forgets_everything(state: KeyedState) -> None:
    state.write([obs(T0), Observation("device:d-9", T0, "login")])
    state.clear()
    assert all(v.is_new for v in state.read([Query(C), Query("device:d-9")], T0))


def test_two_writers_on_one_entity_lose_no_update(handles: Handles) -> None:
    first, second = handles(), handles()
    first.write([obs(T0, "transfer", 100)])
    first.read([Query(C)], T0 + 1)
    second.read([Query(C)], T0 + 1)
    second.write([obs(T0 + 1, "transfer", 200, device="d-2")])
    first.write([obs(T0 + 1, "transfer", 300, device="d-1")])  # read before the second's write
    view = second.read([Query(C, {"device": "d-1"})], T0 + 2)[0]
    assert view.count("transfer", "1h") == 3
    assert view.sum("transfer", "1h") == 600
    assert view.first_seen_with("device", "d-1") == T0 + 1
    assert view.distinct("device") == 2
