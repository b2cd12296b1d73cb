"""The model's reasons in words: a feature with no value says why it has none, never "nan"."""

from __future__ import annotations

import math

import pytest

from tenure.protection.scorer import SCORER_FEATURES, describe

_CARRIED = {
    "event.device_id": "D1",
    "event.ip": "10.0.0.1",
    "event.payee_id": "P1",
    "event.has_place": 1.0,
}
_CARRIED_NOTHING = {"event.device_id": None, "event.ip": None, "event.payee_id": None,
                    "event.has_place": 0.0}  # fmt: skip


@pytest.mark.parametrize("feature", SCORER_FEATURES)
@pytest.mark.parametrize("signals", [_CARRIED, _CARRIED_NOTHING, None])
def test_no_feature_without_a_value_is_said_as_nan(
    feature: str, signals: dict[str, object] | None
) -> None:
    for missing in (math.nan, None):
        words = describe(feature, missing, signals)
        assert "nan" not in words.lower().split(), words
        assert "None" not in words, words


@pytest.mark.parametrize(
    ("feature", "signals", "words"),
    [
        ("device.days_with_customer", _CARRIED, "a device this customer has not used before"),
        ("device.days_with_customer", _CARRIED_NOTHING, "no device on this event"),
        ("payee.days_with_customer", _CARRIED, "a payee this customer has not paid before"),
        ("payee.transfer.count_30d", _CARRIED_NOTHING, "no payee on this event"),
        ("ip.is_new_for_customer", _CARRIED_NOTHING, "no IP address on this event"),
        ("account.transfer.sum_24h", _CARRIED, "no account on this event"),
        ("customer.speed_kmh", _CARRIED_NOTHING, "no place on this event"),
        ("customer.speed_kmh", _CARRIED, "no earlier place of this customer to compare with"),
        ("customer.amount_ratio", _CARRIED, "no usual amount for this customer yet"),
        ("customer.age_days", _CARRIED, "a customer with no history yet"),
    ],
)
def test_a_missing_value_says_what_is_missing(
    feature: str, signals: dict[str, object], words: str
) -> None:
    assert describe(feature, math.nan, signals) == words


def test_a_value_is_still_said_with_its_number() -> None:
    assert describe("device.days_with_customer", 12.0, _CARRIED) == (
        "device first used by this customer 12 days ago"
    )
    assert describe("payee.transfer.count_30d", 3.0) == "3 transfer events by this payee in 30 days"
    assert describe("customer.speed_kmh", 950.0) == "travel at 950 km/h since the last known place"


def test_a_feature_with_no_words_of_its_own_is_named() -> None:
    assert describe("customer.something_new", math.nan) == "customer.something_new not known"


@pytest.mark.parametrize("feature", SCORER_FEATURES)
@pytest.mark.parametrize("value", [0.0, 1.0, 2.0, 40.0])
def test_every_feature_is_said_in_words_not_by_its_name(feature: str, value: float) -> None:
    words = describe(feature, value, _CARRIED)
    assert feature not in words, words
    assert "=" not in words, words


@pytest.mark.parametrize(
    ("feature", "value", "words"),
    [
        ("event.kind_code", 0.0, "a login"),
        ("event.kind_code", 4.0, "a card payment"),
        ("event.kind_code", 9.0, "an event of a kind the model does not know"),
        ("event.channel_code", 0.0, "through the mobile channel"),
        ("event.channel_code", -1.0, "through a channel the model does not know"),
        ("event.has_place", 1.0, "a place on this event"),
        ("event.has_place", 0.0, "no place on this event"),
    ],
)
def test_codes_and_flags_are_said_as_what_they_stand_for(
    feature: str, value: float, words: str
) -> None:
    assert describe(feature, value, _CARRIED) == words
