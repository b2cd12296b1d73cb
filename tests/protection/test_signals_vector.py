"""The model's input row and the entity reads of an event: what training and serving share."""

from __future__ import annotations

import math

import numpy as np
from bank import make_event, observe
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.protection.events import EventKind
from tenure.protection.signals import (
    MODEL_FEATURES,
    compute_signals,
    model_vector,
    observations_for,
    queries_for,
)
from tenure.protection.state.memory import MemoryKeyedState


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
    ]
    assert [q.entity for q in queries_for(login)] == ["customer:C1", "device:D1", "ip:10.0.0.1"]


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

    assert [o.entity for o in observed] == [q.entity for q in queries_for(event)]
    assert {o.stream for o in observed} == {"transfer"}
    assert {o.amount_minor for o in observed} == {70_000}
    assert [o.place for o in observed] == [(39.9, 116.4), None, None, None, None]
