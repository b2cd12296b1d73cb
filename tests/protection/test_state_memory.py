"""The in-memory keyed state: lazy expiry keeps memory to the active population."""

from __future__ import annotations

from tenure.protection.state import DEFAULT_IDLE_SECONDS, MemoryKeyedState, Observation, Query

T0 = 1_740_960_000.0
DAY = 86_400.0


def test_writes_sweep_out_entities_idle_past_the_expiry() -> None:
    state = MemoryKeyedState()
    state.write([Observation(f"ip:{i}", T0, "login") for i in range(3)])
    later = T0 + DEFAULT_IDLE_SECONDS + 1
    for i in range(2):
        state.write([Observation("customer:C1", later + i, "login")])
    assert len(state) == 1
    assert state.read([Query("ip:0")], later)[0].is_new


def test_recently_written_entities_survive_the_sweep() -> None:
    state = MemoryKeyedState()
    state.write([Observation("ip:old", T0, "login")])
    state.write([Observation("ip:old", T0 + 40 * DAY, "login")])
    state.write([Observation("ip:new", T0 + 50 * DAY, "login")])
    assert len(state) == 2


def test_without_expiry_entities_are_kept() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    state.write([Observation("ip:1", T0, "login")])
    state.write([Observation("ip:2", T0 + 400 * DAY, "login")])
    assert not state.read([Query("ip:1")], T0 + 400 * DAY)[0].is_new
    assert len(state) == 2


def test_views_are_snapshots_that_later_writes_do_not_change() -> None:
    state = MemoryKeyedState()
    state.write([Observation("ip:1", T0, "login", links={"customer": "C1"})])
    view = state.read([Query("ip:1")], T0)[0]
    state.write([Observation("ip:1", T0 + 1, "login", links={"customer": "C2"})])
    assert view.count("login", "1h") == 1
    assert view.distinct("customer") == 1
    assert view.last_seen == T0


def test_a_rewritten_entity_moves_behind_the_others_in_the_sweep() -> None:
    state = MemoryKeyedState()
    state.write([Observation("ip:a", T0, "login")])
    state.write([Observation("ip:b", T0, "login")])
    state.write([Observation("ip:a", T0 + 40 * DAY, "login")])  # a is now the most recent
    later = T0 + DEFAULT_IDLE_SECONDS + DAY
    state.write([Observation("ip:c", later, "login")])
    # the sweep starts from the least recently written: b (idle) goes, then a (not idle) stops it
    assert len(state) == 2
    assert state.read([Query("ip:b")], later)[0].is_new
    assert not state.read([Query("ip:a")], later)[0].is_new
