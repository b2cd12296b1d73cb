"""Signals from keyed state: novelty flags, window counts, failed logins and impossible travel,
each computed from the state just before the event (read, compute, write: the engine's order)."""

from __future__ import annotations

import math
from datetime import timedelta

from bank import START, make_event, observe
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.protection.events import EventKind
from tenure.protection.signals import stream_of
from tenure.protection.state.memory import MemoryKeyedState

BEIJING = (39.9042, 116.4074)
SHANGHAI = (31.2304, 121.4737)  # about 1,067 km from Beijing
S = timedelta(seconds=1)


def _state() -> MemoryKeyedState:
    return MemoryKeyedState(idle_seconds=None)


def test_device_is_new_for_customer_only_on_first_use() -> None:
    state = _state()
    logins = [
        make_event(EventKind.LOGIN, event_id=f"L{n}", device_id=d, at=START + timedelta(hours=n))
        for n, d in enumerate(["D1", "D1", "D2", "D1"])
    ]

    flags = [observe(state, login)["device.is_new_for_customer"] for login in logins]

    assert flags == [1.0, 0.0, 1.0, 0.0]


def test_device_known_to_one_customer_is_new_to_another() -> None:
    state = _state()
    observe(state, make_event(EventKind.LOGIN, customer_id="C1", device_id="D1"))

    other = observe(
        state,
        make_event(EventKind.LOGIN, customer_id="C2", device_id="D1", at=START + timedelta(1)),
    )

    assert other["device.is_new_for_customer"] == 1.0
    assert other["device.distinct_customers_30d"] == 1.0
    assert other["customer.is_new"] == 1.0


def test_payee_is_new_for_customer_until_first_paid_and_days_with_customer_grow() -> None:
    state = _state()
    first = observe(state, make_event(event_id="T1", payee_id="P9"))
    second = observe(state, make_event(event_id="T2", payee_id="P9", at=START + timedelta(days=3)))

    assert first["payee.is_new_for_customer"] == 1.0
    assert math.isnan(first["payee.days_with_customer"])  # type: ignore[arg-type]
    assert second["payee.is_new_for_customer"] == 0.0
    assert second["payee.days_with_customer"] == 3.0


def test_payee_added_then_paid_is_not_new_at_the_transfer() -> None:
    state = _state()
    added = observe(state, make_event(EventKind.PAYEE_ADD, event_id="P9", payee_id="P9"))
    paid = observe(state, make_event(payee_id="P9", at=START + timedelta(minutes=30)))

    assert added["payee.is_new_for_customer"] == 1.0
    assert paid["payee.is_new_for_customer"] == 0.0


def test_event_without_payee_has_no_payee_signals() -> None:
    signals = observe(_state(), make_event(EventKind.LOGIN))

    assert math.isnan(signals["payee.is_new_for_customer"])  # type: ignore[arg-type]
    assert math.isnan(signals["payee.transfer.count_24h"])  # type: ignore[arg-type]
    assert signals["event.payee_id"] is None


def test_transfer_counts_and_sums_per_window() -> None:
    state = _state()
    amounts = [100_000, 200_000, 300_000]
    for n, amount in enumerate(amounts):
        observe(state, make_event(event_id=f"T{n}", amount_minor=amount, at=START + n * 600 * S))

    soon = observe(state, make_event(event_id="soon", at=START + timedelta(minutes=40)))
    later = observe(state, make_event(event_id="later", at=START + timedelta(hours=3)))
    month = observe(state, make_event(event_id="month", at=START + timedelta(days=31)))

    assert soon["customer.transfer.count_1h"] == 3.0
    assert soon["customer.transfer.sum_1h"] == 600_000.0
    assert soon["account.transfer.count_1h"] == 3.0
    assert soon["payee.transfer.count_24h"] == 3.0
    assert later["customer.transfer.count_1h"] == 0.0
    assert later["customer.transfer.count_24h"] == 4.0
    assert later["customer.transfer.sum_24h"] == 600_000.0 + 250_000.0
    assert month["customer.transfer.count_30d"] == 0.0
    assert month["customer.card_payment.count_30d"] == 0.0


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=12))
def test_count_24h_lies_between_the_exact_counts_of_23_and_24_hours(gaps: list[int]) -> None:
    state = _state()
    moments = [START]
    for gap in gaps:
        moments.append(moments[-1] + gap * S)
    last = moments.pop()
    for n, moment in enumerate(moments):
        observe(state, make_event(event_id=f"T{n}", at=moment))

    signals = observe(state, make_event(event_id="now", at=last))

    # the window is 24 one-hour buckets: never longer than 24 h, never shorter than 23 h
    surely = sum(1 for m in moments if last - m <= timedelta(hours=23))
    at_most = sum(1 for m in moments if last - m < timedelta(hours=24))
    assert surely <= signals["customer.transfer.count_24h"] <= at_most  # type: ignore[operator]
    assert signals["customer.transfer.count_7d"] == float(len(moments))


def test_other_customers_activity_does_not_count_for_this_customer() -> None:
    state = _state()
    observe(state, make_event(event_id="T0", customer_id="C2", account_id="A2", payee_id="P2"))

    mine = observe(state, make_event(event_id="T1", at=START + timedelta(minutes=1)))

    assert mine["customer.transfer.count_1h"] == 0.0
    assert mine["customer.is_new"] == 1.0
    assert mine["device.distinct_customers_30d"] == 1.0


def test_failed_login_counts_in_login_failed_not_in_login() -> None:
    state = _state()
    failed = make_event(EventKind.LOGIN, event_id="L1", success=False)
    assert stream_of(failed) == "login_failed"

    at_failure = observe(state, failed)
    after = observe(state, make_event(EventKind.LOGIN, event_id="L2", at=START + 120 * S))

    assert at_failure["event.login_failed"] == 1.0
    assert after["event.login_failed"] == 0.0
    assert after["customer.login_failed.count_1h"] == 1.0
    assert after["customer.login.count_1h"] == 0.0
    assert after["device.login_failed.count_1h"] == 1.0
    assert after["ip.login_failed.count_1h"] == 1.0


def test_impossible_travel_gives_a_huge_speed() -> None:
    state = _state()
    observe(state, make_event(EventKind.LOGIN, event_id="L1", lat=BEIJING[0], lon=BEIJING[1]))

    jump = observe(
        state,
        make_event(
            EventKind.LOGIN,
            event_id="L2",
            lat=SHANGHAI[0],
            lon=SHANGHAI[1],
            at=START + timedelta(minutes=10),
        ),
    )

    assert jump["customer.km_from_last"] > 1_000.0  # type: ignore[operator]
    assert jump["customer.speed_kmh"] > 5_000.0  # type: ignore[operator]


def test_staying_in_town_gives_a_walking_speed() -> None:
    state = _state()
    first = observe(state, make_event(EventKind.LOGIN, event_id="L1", lat=39.90, lon=116.40))
    second = observe(
        state,
        make_event(
            EventKind.LOGIN, event_id="L2", lat=39.91, lon=116.40, at=START + timedelta(hours=1)
        ),
    )

    assert math.isnan(first["customer.speed_kmh"])  # type: ignore[arg-type]
    assert math.isnan(first["customer.km_from_last"])  # type: ignore[arg-type]
    assert second["customer.speed_kmh"] < 5.0  # type: ignore[operator]


def test_event_without_place_has_no_travel_signals() -> None:
    state = _state()
    observe(state, make_event(EventKind.LOGIN, event_id="L1", lat=BEIJING[0], lon=BEIJING[1]))

    blind = observe(state, make_event(EventKind.LOGIN, event_id="L2", at=START + 60 * S))

    assert blind["event.has_place"] == 0.0
    assert math.isnan(blind["customer.speed_kmh"])  # type: ignore[arg-type]


def test_customer_age_and_seconds_since_last_follow_the_clock_of_events() -> None:
    state = _state()
    observe(state, make_event(EventKind.LOGIN, event_id="L1"))

    later = observe(state, make_event(EventKind.LOGIN, event_id="L2", at=START + timedelta(2)))

    assert later["customer.is_new"] == 0.0
    assert later["customer.age_days"] == 2.0
    assert later["customer.seconds_since_last"] == 2 * 86_400.0
