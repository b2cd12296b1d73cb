"""The model's input row and the entity reads of an event: what training and serving share."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from bank import START, make_event, observe
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.core.outcome import Outcome
from tenure.protection.events import EventKind
from tenure.protection.signals import (
    KNOWN_FIELDS,
    MODEL_FEATURES,
    SPENT_24H,
    compute_signals,
    model_vector,
    observations_for,
    queries_for,
)
from tenure.protection.state.memory import MemoryKeyedState

HOUR = timedelta(hours=1)


def test_model_features_are_unique_names() -> None:
    assert len(set(MODEL_FEATURES)) == len(MODEL_FEATURES)


def test_model_vector_of_nothing_is_all_nan_in_feature_order() -> None:
    row = model_vector({})

    assert row.shape == (len(MODEL_FEATURES),)
    assert row.dtype == np.float64
    assert np.isnan(row).all()


def test_model_vector_places_values_by_name_and_missing_as_nan() -> None:
    row = model_vector({"event.amount_minor": 5, "device.is_new_for_customer": True, "x": 3.0})

    amount = MODEL_FEATURES.index("event.amount_minor")
    device = MODEL_FEATURES.index("device.is_new_for_customer")
    assert row[amount] == 5.0
    assert row[device] == 1.0
    assert np.isnan(np.delete(row, [amount, device])).all()


def test_model_vector_reads_none_as_nan() -> None:
    row = model_vector({"customer.speed_kmh": None})

    assert np.isnan(row[MODEL_FEATURES.index("customer.speed_kmh")])


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(list(EventKind)))
def test_every_model_feature_is_computed_for_every_event_kind(kind: EventKind) -> None:
    event = make_event(kind)
    signals = compute_signals(event, MemoryKeyedState().read(queries_for(event), event.at))

    assert set(MODEL_FEATURES) <= set(signals)
    row = model_vector(signals)
    assert len(row) == len(MODEL_FEATURES)
    assert not np.isnan(row[MODEL_FEATURES.index("event.kind_code")])


def test_login_without_payee_or_account_has_nan_for_their_features() -> None:
    row = model_vector(observe(MemoryKeyedState(), make_event(EventKind.LOGIN)))

    for name in (
        "payee.is_new_for_customer",
        "payee.transfer.count_24h",
        "account.transfer.count_1h",
    ):
        assert math.isnan(row[MODEL_FEATURES.index(name)])
    assert row[MODEL_FEATURES.index("device.is_new_for_customer")] == 1.0


def test_queries_read_the_customer_first_then_each_entity_of_the_event() -> None:
    transfer = make_event(EventKind.TRANSFER)
    login = make_event(EventKind.LOGIN)

    assert [q.entity for q in queries_for(transfer)] == [
        "customer:C1",
        "account:A1",
        "device:D1",
        "ip:10.0.0.1",
        "payee:P1",
        "spend:C1",
    ]
    assert [q.entity for q in queries_for(login)] == ["customer:C1", "device:D1", "ip:10.0.0.1"]


def test_a_money_event_reads_the_customers_spending_in_its_own_stream_only() -> None:
    card = queries_for(make_event(EventKind.CARD_PAYMENT))
    payee = queries_for(make_event(EventKind.PAYEE_ADD))

    assert (card[-1].entity, set(card[-1].streams or ())) == ("spend:C1", {"card_payment"})
    assert not any(q.entity.startswith("spend:") for q in payee)


def test_extra_streams_are_added_to_the_role_that_needs_them() -> None:
    event = make_event(EventKind.TRANSFER)

    plain = {q.entity: set(q.streams or ()) for q in queries_for(event)}
    extra = {
        q.entity: set(q.streams or ())
        for q in queries_for(event, {"device": frozenset({"transfer"})})
    }

    assert "transfer" not in plain["device:D1"]
    assert extra["device:D1"] == plain["device:D1"] | {"transfer"}
    assert extra["customer:C1"] == plain["customer:C1"]


def test_observations_count_the_event_for_every_entity_with_the_place_on_the_customer() -> None:
    event = make_event(EventKind.TRANSFER, lat=39.9, lon=116.4, amount_minor=70_000)

    observed = observations_for(event)

    assert [o.entity for o in observed] == [q.entity for q in queries_for(event)][:-1]
    assert {o.stream for o in observed} == {"transfer"}
    assert {o.amount_minor for o in observed} == {70_000}
    assert [o.place for o in observed] == [(39.9, 116.4), None, None, None, None]


@pytest.mark.parametrize("outcome", [o for o in Outcome if o is not Outcome.DECLINE])
def test_a_money_event_that_went_through_counts_as_spent(outcome: Outcome) -> None:
    event = make_event(EventKind.TRANSFER, amount_minor=70_000)

    observed = observations_for(event, outcome)

    assert observed[:-1] == observations_for(event)
    spent = observed[-1]
    assert (spent.entity, spent.stream, spent.amount_minor) == ("spend:C1", "transfer", 70_000)
    assert (spent.links, spent.place) == ({}, None)


def test_a_declined_or_moneyless_event_spends_nothing() -> None:
    transfer = make_event(EventKind.TRANSFER)
    login = make_event(EventKind.LOGIN)

    assert observations_for(transfer, Outcome.DECLINE) == observations_for(transfer)
    assert observations_for(login, Outcome.ALLOW) == observations_for(login)


def test_spent_in_24_hours_counts_what_went_through_in_the_events_own_kind() -> None:
    state = MemoryKeyedState()
    for n, (kind, amount, outcome, hours) in enumerate(
        [
            (EventKind.TRANSFER, 100_000, Outcome.ALLOW, 30),  # older than the window
            (EventKind.TRANSFER, 200_000, Outcome.STEP_UP, 5),
            (EventKind.TRANSFER, 400_000, Outcome.DECLINE, 4),  # refused: not spent
            (EventKind.CARD_PAYMENT, 800_000, Outcome.ALLOW, 3),  # another kind
            (EventKind.TRANSFER, 1_600_000, Outcome.HOLD, 2),
        ]
    ):
        event = make_event(kind, event_id=f"E{n}", amount_minor=amount, at=START - hours * HOUR)
        state.write(observations_for(event, outcome))
    transfer = make_event(EventKind.TRANSFER, event_id="now")
    login = make_event(EventKind.LOGIN, event_id="login")

    spent = compute_signals(transfer, state.read(queries_for(transfer), transfer.at))
    moneyless = compute_signals(login, state.read(queries_for(login), login.at))

    assert spent[SPENT_24H] == 1_800_000.0
    assert spent["customer.transfer.sum_24h"] == 2_200_000.0  # the model's window: every attempt
    assert moneyless[SPENT_24H] is None
    assert SPENT_24H in KNOWN_FIELDS
    assert SPENT_24H not in MODEL_FEATURES
