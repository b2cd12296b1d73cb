"""The trained scorer the engine holds: anomaly score, fraud model and the plain words for both.

``EventScorer.score`` takes the signals of one event (from ``signals.compute_signals``), adds the
anomaly score as ``model.anomaly``, and returns the calibrated fraud probability with the features
that pushed it up most, each said in words a fraud analyst or a customer-service agent can read.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tenure.protection.model import AnomalyScorer, FraudModel
from tenure.protection.signals import CHANNELS, EVENT_KINDS, MODEL_FEATURES, model_vector

__all__ = [
    "ANOMALY_COLUMNS",
    "ANOMALY_FEATURE",
    "SCORER_FEATURES",
    "Contribution",
    "EventScorer",
    "ModelScore",
    "describe",
]

ANOMALY_FEATURE = "model.anomaly"
SCORER_FEATURES = (*MODEL_FEATURES, ANOMALY_FEATURE)
# behaviour a newcomer shows too: amount, hour, travel, velocity and novelty
ANOMALY_COLUMNS = (
    "event.log_amount",
    "event.hour_local",
    "customer.km_from_last",
    "customer.transfer.count_24h",
    "customer.payee_add.count_24h",
    "customer.login_failed.count_24h",
    "customer.distinct_devices_30d",
    "device.distinct_customers_30d",
    "payee.distinct_customers_30d",
)
_TOP = 3


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's push on the fraud score (log-odds) and what it means in words."""

    feature: str
    weight: float
    text: str


@dataclass(frozen=True, slots=True)
class ModelScore:
    """The model's calibrated probability and its strongest reasons (pushing towards fraud)."""

    probability: float
    anomaly: float
    contributions: tuple[Contribution, ...]


def _money(minor: float) -> str:
    return f"{minor / 100:,.0f} CNY"


def _number(value: object) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


_TEMPLATES: dict[str, str] = {
    "event.amount_minor": "amount of {money}",
    "event.log_amount": "amount of {money_amount}",
    "event.hour_local": "at {value:.0f}:00 local time",
    "event.is_night": "in the middle of the night",
    "event.login_failed": "a failed login",
    "event.takeover_field": "a change of contact details, device or payee",
    "customer.is_new": "a customer with no history yet",
    "customer.age_days": "first seen {value:.0f} days ago",
    "customer.seconds_since_last": "{value:.0f} s since the previous activity",
    "customer.distinct_devices_30d": "{value:.0f} devices in 30 days",
    "customer.distinct_ips_30d": "{value:.0f} IP addresses in 30 days",
    "customer.distinct_payees_30d": "{value:.0f} payees in 30 days",
    "customer.amount_zscore": "amount {value:.1f} deviations from this customer's usual",
    "customer.amount_ratio": "amount {value:.1f}x this customer's usual",
    "customer.hour_share": "an hour this customer is rarely active ({percent:.0f} % of activity)",
    "customer.km_from_last": "{value:,.0f} km from the last known place",
    "customer.speed_kmh": "travel at {value:,.0f} km/h since the last known place",
    "device.is_new_for_customer": "a device new to this customer",
    "device.days_with_customer": "device first used by this customer {value:.0f} days ago",
    "device.distinct_customers_30d": "device used by {value:.0f} customers in 30 days",
    "ip.is_new_for_customer": "an IP address new to this customer",
    "ip.distinct_customers_30d": "IP address used by {value:.0f} customers in 30 days",
    "payee.is_new_for_customer": "a payee new to this customer",
    "payee.days_with_customer": "payee added {value:.0f} days ago",
    "payee.distinct_customers_30d": "payee paid by {value:.0f} customers in 30 days",
    ANOMALY_FEATURE: "unusual for the bank's customers overall (anomaly {value:.1f})",
}
_KIND_WORDS = {
    "login": "a login",
    "transfer": "a transfer",
    "payee_add": "a new payee",
    "profile_change": "a profile change",
    "card_payment": "a card payment",
}
_WINDOW_WORDS = {"1h": "the last hour", "24h": "24 hours", "7d": "7 days", "30d": "30 days"}

# A feature with no value (NaN) still sways the model, and its reason must say why it has none.
# Absent: per feature, else per entity role, the signal saying whether the event carried that
# part at all (None: the feature is missing only when it did not) and the words when it did not.
_ABSENT: dict[str, tuple[str | None, str]] = {
    "device": ("event.device_id", "no device on this event"),
    "ip": ("event.ip", "no IP address on this event"),
    "payee": ("event.payee_id", "no payee on this event"),
    "account": (None, "no account on this event"),
    "customer.km_from_last": ("event.has_place", "no place on this event"),
    "customer.speed_kmh": ("event.has_place", "no place on this event"),
}
# ... and when the event carried it, what the missing value means
_NO_HISTORY: dict[str, str] = {
    "customer.age_days": "a customer with no history yet",
    "customer.seconds_since_last": "no earlier activity by this customer",
    "customer.amount_zscore": "no usual amount for this customer yet",
    "customer.amount_ratio": "no usual amount for this customer yet",
    "customer.km_from_last": "no earlier place of this customer to compare with",
    "customer.speed_kmh": "no earlier place of this customer to compare with",
    "device.days_with_customer": "a device this customer has not used before",
    "payee.days_with_customer": "a payee this customer has not paid before",
}


# what each template fills in, so describe() formats only those (money strings cost the most)
_FIELDS: dict[str, frozenset[str]] = {
    feature: frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
    for feature, template in _TEMPLATES.items()
}


def describe(feature: str, value: object, signals: Mapping[str, object] | None = None) -> str:
    """A feature and its value in plain words (window aggregates included).

    A missing value (None or NaN) is said as what it means: with the event's ``signals``, that
    the event carried no device (or payee, IP, place); otherwise that there is no history yet.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _missing(feature, signals)
    number = _number(value)
    template = _TEMPLATES.get(feature)
    if template is not None:
        fields = _FIELDS[feature]
        words: dict[str, object] = {"value": number}
        if "money" in fields:
            words["money"] = _money(number)
        if "money_amount" in fields:  # the amount a log-amount feature stands for
            amount = math.expm1(number) if feature == "event.log_amount" else number
            words["money_amount"] = _money(amount)
        if "percent" in fields:
            words["percent"] = number * 100
        return template.format(**words)
    coded = _coded(feature, number)
    if coded is not None:
        return coded
    parts = feature.split(".")
    if len(parts) == 3 and "_" in parts[2]:
        entity, stream, tail = parts
        aggregate, window = tail.split("_", 1)
        span = _WINDOW_WORDS.get(window, window)
        stream_words = stream.replace("_", " ")
        if aggregate == "sum":
            return f"{_money(number)} of {stream_words}s by this {entity} in {span}"
        return f"{number:.0f} {stream_words} events by this {entity} in {span}"
    return f"{feature} = {value}"


def _coded(feature: str, number: float) -> str | None:
    """Words for the features that are codes or flags rather than quantities."""
    if feature == "event.kind_code":
        index = int(number)
        if 0 <= index < len(EVENT_KINDS):
            return _KIND_WORDS[EVENT_KINDS[index].value]
        return "an event of a kind the model does not know"
    if feature == "event.channel_code":
        index = int(number)
        if 0 <= index < len(CHANNELS):
            return f"through the {CHANNELS[index]} channel"
        return "through a channel the model does not know"
    if feature == "event.has_place":
        return "a place on this event" if number else "no place on this event"
    return None


def _missing(feature: str, signals: Mapping[str, object] | None) -> str:
    absent = _ABSENT.get(feature) or _ABSENT.get(feature.partition(".")[0])
    if absent is not None:
        carried_by, words = absent
        if carried_by is None or (signals is not None and not signals.get(carried_by)):
            return words
    return _NO_HISTORY.get(feature, f"{feature} not known")


@dataclass(slots=True)
class EventScorer:
    """Anomaly score + fraud model, ready for one event at a time."""

    anomaly: AnomalyScorer
    model: FraudModel
    version: str = "unregistered"
    # per event kind: the largest amount one labelled fraud took in the training history
    loss_cap_minor: Mapping[str, int] = field(default_factory=dict)
    _anomaly_index: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._anomaly_index = [SCORER_FEATURES.index(c) for c in ANOMALY_COLUMNS]

    def at_stake(self, kind: str, amount_minor: int) -> int:
        """The amount a fraud on this event is expected to take, for the cost of letting it pass.

        The model's probabilities rest on the frauds it was trained on; past the largest amount
        any of them took, the history says nothing about fraud of that size, so the expected
        loss is counted up to that amount (hard rules and limits still see the whole amount).
        """
        cap = self.loss_cap_minor.get(kind)
        return amount_minor if cap is None else min(amount_minor, cap)

    def vector(self, signals: Mapping[str, object]) -> np.ndarray:
        """The model's input row, anomaly score included."""
        row = model_vector(signals, spare=1)
        row[-1] = self.anomaly.score_one(row.take(self._anomaly_index))
        return row

    def score(self, signals: Mapping[str, object]) -> ModelScore:
        """Probability of fraud and the top reasons pushing it up."""
        row = self.vector(signals)
        scored = self.model.score_one(row)
        # plain Python numbers from here: indexing numpy scalars one by one costs more
        weights = scored.contributions.tolist()
        top = np.argsort(-scored.contributions)[:_TOP].tolist()
        reasons = tuple(
            Contribution(
                feature=SCORER_FEATURES[i],
                weight=weights[i],
                text=describe(SCORER_FEATURES[i], float(row[i]), signals),
            )
            for i in top
            if weights[i] > 0
        )
        return ModelScore(scored.probability, float(row[-1]), reasons)
