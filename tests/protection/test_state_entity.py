"""The per-entity state on its own: window properties, order independence, bounds, encoding."""

from __future__ import annotations

import dataclasses
import doctest
import gc
import inspect
import math
from random import Random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.protection.state import (
    MAX_LINK_VALUES,
    MAX_STREAMS,
    WINDOW_BUCKETS,
    AmountProfile,
    EntityState,
    EntityView,
    Observation,
    Window,
    geo,
    model,
)
from tenure.protection.state.entity import HOUR_COUNT_CAP
from tenure.protection.state.series import BucketSeries

T0 = 1_740_960_000.0
DAY = 86_400.0
E = "ip:10.1.2.3"

offsets = st.floats(min_value=0.0, max_value=40 * DAY, allow_nan=False, allow_infinity=False)
events = st.lists(st.tuples(offsets, st.integers(0, 10**6)), min_size=1, max_size=60)


def fold(observations: list[Observation]) -> EntityState:
    state = EntityState()
    for obs in observations:
        state.observe(obs)
    return state


def as_observations(pairs: list[tuple[float, int]]) -> list[Observation]:
    return [
        Observation(E, T0 + offset, "login", amount, {"device": f"d{amount % 5}"})
        for offset, amount in pairs
    ]


@settings(max_examples=300)
@given(events, st.floats(min_value=0.0, max_value=2 * DAY), st.randoms(use_true_random=False))
def test_windows_match_brute_force_within_one_bucket(
    pairs: list[tuple[float, int]], extra: float, rng: Random
) -> None:
    observations = as_observations(pairs)
    at = max(obs.at for obs in observations) + extra
    arrival = list(observations)
    rng.shuffle(arrival)
    view = fold(arrival).view(E, at, {})
    times = [obs.at for obs in observations]
    for window, (width, size) in WINDOW_BUCKETS.items():
        span, last = width * size, int(at // width)
        in_buckets = [o for o in observations if last - size < int(o.at // width) <= last]
        assert view.count("login", window) == len(in_buckets)
        assert view.sum("login", window) == sum(o.amount_minor for o in in_buckets)
        shortest = sum(1 for t in times if at - span + width <= t <= at)
        longest = sum(1 for t in times if at - span < t <= at)
        assert shortest <= view.count("login", window) <= longest


@given(events, st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_the_view(
    pairs: list[tuple[float, int]], rng: Random
) -> None:
    observations = as_observations(pairs)
    shuffled = list(observations)
    rng.shuffle(shuffled)
    at = T0 + 41 * DAY
    links = {"device": "d1"}
    ordered, mixed = fold(observations).view(E, at, links), fold(shuffled).view(E, at, links)
    assert mixed.counts == ordered.counts
    assert mixed.sums == ordered.sums
    assert (mixed.first_seen, mixed.last_seen) == (ordered.first_seen, ordered.last_seen)
    assert mixed.link_first_seen == ordered.link_first_seen
    assert mixed.distinct_links == ordered.distinct_links
    assert mixed.hours == ordered.hours
    assert mixed.amount("login").mean == pytest.approx(ordered.amount("login").mean)


@given(events)
def test_encoding_round_trips_exactly(pairs: list[tuple[float, int]]) -> None:
    state = fold(as_observations(pairs))
    state.observe(Observation(E, T0, "transfer", 5, {"payee": "P1"}, (39.9, 116.4)))
    decoded = EntityState.from_primitive(orjson.loads(orjson.dumps(state.to_primitive())))
    at = T0 + 39 * DAY
    assert decoded.view(E, at, {"device": "d1"}) == state.view(E, at, {"device": "d1"})
    assert decoded.to_primitive() == state.to_primitive()


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=300))
def test_series_keeps_at_most_its_size_in_buckets(indexes: list[int]) -> None:
    series = BucketSeries(30)
    for index in indexes:
        series.add(index, 1)
        assert len(series.buckets) <= 30
        assert all(series.head - 30 < kept <= series.head for kept in series.buckets)
    assert series.read(series.head) == (series.count, series.total)


def test_busy_state_leaves_the_cycle_collector_nothing_to_walk_but_its_entities() -> None:
    # buckets and link times are plain numbers in untracked containers: a long-running worker
    # holds millions of them, and a collector walking them all stalls some decision for tens of ms
    state = fold([
        Observation(E, T0 + minute * 60, "transfer", 100 + minute, {"payee": f"P{minute % 5}"})
        for minute in range(600)
    ])  # fmt: skip
    gc.collect()
    series = state.streams["transfer"].series
    assert all(len(s.buckets) > 0 for s in series)
    assert not any(gc.is_tracked(s.buckets) or gc.is_tracked(s.sums) for s in series)
    assert len(state.link_last["payee"]) == 5
    assert not gc.is_tracked(state.link_first["payee"])
    assert not gc.is_tracked(state.link_last["payee"])


def test_read_a_little_in_the_past_drops_only_later_buckets() -> None:
    state = fold([Observation(E, T0 + 30, "login"), Observation(E, T0 + 125, "login")])
    view = state.view(E, T0 + 61, {})  # a late event scored at its own time
    assert view.count("login", Window.HOUR) == 1
    assert view.count("login", Window.DAY) == 2  # same hour bucket: the later one counts too


def test_link_values_beyond_the_bound_evict_the_least_recent() -> None:
    state = fold([Observation(E, T0 + i, "login", links={"customer": f"C{i}"}) for i in range(70)])
    state.observe(Observation(E, T0 + 100, "login", links={"customer": "C3"}))
    view = state.view(E, T0 + 200, {"customer": "C3"})
    assert view.distinct("customer") == MAX_LINK_VALUES
    assert view.first_seen_with("customer", "C3") == T0 + 100  # evicted, then seen again
    for value, first_seen in [("C69", T0 + 69), ("C7", T0 + 7), ("C6", None), ("C0", None)]:
        found = state.view(E, T0, {"customer": value}).first_seen_with("customer", value)
        assert found == first_seen


def test_streams_beyond_the_bound_evict_the_quietest() -> None:
    state = fold([Observation(E, T0 + i, f"s{i}") for i in range(MAX_STREAMS + 1)])
    view = state.view(E, T0 + 100, {})
    assert len(view.counts) == MAX_STREAMS
    assert view.count("s0", "1h") == 0
    assert view.count(f"s{MAX_STREAMS}", "1h") == 1


def test_hour_profile_halves_at_its_cap() -> None:
    state = fold([Observation(E, T0 + 3_600 * 9, "login") for _ in range(HOUR_COUNT_CAP)])
    assert state.hours[9] == HOUR_COUNT_CAP // 2
    assert state.view(E, T0, {}).hour_share(9) == 1.0


def test_amount_profile_needs_a_spread_for_a_z_score() -> None:
    assert AmountProfile(count=1, mean=5.0, std=0.0).z_score(10) is None
    assert AmountProfile(count=3, mean=5.0, std=0.0).z_score(10) is None
    assert AmountProfile(count=3, mean=5.0, std=2.0).z_score(1) == -2.0


def test_fast_snapshot_is_the_same_frozen_view() -> None:
    fields = {field.name for field in dataclasses.fields(EntityView)}
    assert set(inspect.signature(EntityView.snapshot).parameters) == fields
    state = fold(as_observations([(10.0, 5), (20.0, 7)]))
    view = state.view(E, T0 + 60, {"device": "d0"})
    assert view == EntityView(**{name: getattr(view, name) for name in fields})
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.at = 0.0  # type: ignore[misc]


def test_travel_speed_needs_a_known_place() -> None:
    assert EntityView(entity=E, at=T0).speed_kmh_to((0.0, 0.0), T0) is None


@given(
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
)
def test_distance_is_symmetric_and_bounded(a: tuple[float, float], b: tuple[float, float]) -> None:
    assert geo.km_between(a, b) == pytest.approx(geo.km_between(b, a), abs=1e-6)
    assert 0.0 <= geo.km_between(a, b) <= math.pi * geo.EARTH_RADIUS_KM + 1e-6


def test_speed_counts_short_gaps_as_a_minute() -> None:
    one_degree = geo.km_between((0.0, 0.0), (0.0, 1.0))
    assert one_degree == pytest.approx(111.2, abs=0.1)
    assert geo.speed_kmh((0.0, 0.0), T0, (0.0, 1.0), T0 + 1) == pytest.approx(one_degree * 60)
    assert geo.speed_kmh((0.0, 0.0), T0 + 7_200, (0.0, 1.0), T0) == pytest.approx(one_degree / 2)


@pytest.mark.parametrize("module", [geo, model])
def test_docstring_examples_hold(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]
