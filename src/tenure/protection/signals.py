"""Event features from keyed state: one definition for training and for the live engine.

For an event, :func:`queries_for` names the entities to read (the customer, and the account,
device, IP and payee when the event has them), :func:`compute_signals` turns the event and those
views into a flat mapping of named features, and :func:`observations_for` says what the event adds
to the state afterwards. Training replays the warehouse history through exactly these three
functions and a fresh in-memory state, so the model learns on the features it is later served.

Spending (what customer limits are checked against) is kept apart, under ``spend:<customer_id>``:
a money event counts there only once decided, and only if it was not declined, so a refused
attempt never uses up a daily limit. The customer's own entity, which the model reads, counts
every event as before, and training (which passes no outcome) never writes spending at all.

Names follow the rule language's convention: ``<entity>.<stream>.<count|sum>_<window>`` for window
aggregates and dotted names for the rest (``event.amount_minor``, ``device.is_new_for_customer``).
:data:`MODEL_FEATURES` lists the numeric ones the model reads, in its column order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

import numpy as np

from tenure.core.outcome import Outcome
from tenure.core.rules import WINDOW_FEATURES
from tenure.protection.events import MONEY_KINDS, Event, EventKind
from tenure.protection.state.geo import km_between
from tenure.protection.state.model import EntityView, Observation, Query, Window

__all__ = [
    "CHANNELS",
    "EVENT_KINDS",
    "KNOWN_FIELDS",
    "MODEL_FEATURES",
    "SPENT_24H",
    "STREAMS",
    "Signals",
    "compute_signals",
    "entity_keys",
    "model_vector",
    "observations_for",
    "queries_for",
    "stream_of",
    "window_needs",
]

STREAMS = ("login", "login_failed", "transfer", "card_payment", "payee_add", "profile_change")
_MONEY_STREAMS = ("transfer", "card_payment")
_WINDOWS = tuple(w.value for w in Window)
_KINDS = tuple(EventKind)
EVENT_KINDS = _KINDS  # ``event.kind_code`` is the position of the event's kind here
# the customer's window aggregates, named once: (stream, names in Window order)
_COUNT_NAMES = tuple(
    (stream, tuple(f"customer.{stream}.count_{window}" for window in _WINDOWS))
    for stream in STREAMS
)
_SUM_NAMES = tuple(
    (stream, tuple(f"customer.{stream}.sum_{window}" for window in _WINDOWS))
    for stream in _MONEY_STREAMS
)
_NO_WINDOWS = (0,) * len(_WINDOWS)
_CHANNELS = ("mobile", "web", "branch", "atm", "pos", "phone", "api", "batch")
CHANNELS = _CHANNELS  # ``event.channel_code`` is the position of the channel here (-1: other)
# profile fields a fraudster changes to take an account over (contact points, devices, payees)
_TAKEOVER_FIELDS = frozenset({"phone", "email", "device_binding", "payee_details", "password"})
_LOCAL = timedelta(hours=8)  # the bank's local time (China Standard Time) for night and hour
_DAY = 86_400.0
# Money that went through (not declined) in the event's own stream over the state's rolling 24 h
# window (hour buckets: an amount drops out between 23 and 24 hours after it), before this event.
# None for an event that moves no money, so every rule test on it is false (see docs/rules.md).
SPENT_24H = "customer.spent_24h"
_SPEND = "spend"

# streams each role's signals read (the state counts only these unless rules ask for more)
_ROLE_STREAMS: Mapping[str, frozenset[str]] = {
    "customer": frozenset(STREAMS),
    "account": frozenset({"transfer"}),
    "device": frozenset({"login", "login_failed"}),
    "ip": frozenset({"login_failed"}),
    "payee": frozenset({"transfer"}),
}

_CUSTOMER_WINDOWS = tuple(f"customer.{s}.count_{w}" for s in STREAMS for w in _WINDOWS) + tuple(
    f"customer.{s}.sum_{w}" for s in _MONEY_STREAMS for w in _WINDOWS
)

MODEL_FEATURES: tuple[str, ...] = (
    "event.kind_code",
    "event.channel_code",
    "event.amount_minor",
    "event.log_amount",
    "event.hour_local",
    "event.is_night",
    "event.login_failed",
    "event.takeover_field",
    "event.has_place",
    "customer.is_new",
    "customer.age_days",
    "customer.seconds_since_last",
    *_CUSTOMER_WINDOWS,
    "customer.distinct_devices_30d",
    "customer.distinct_ips_30d",
    "customer.distinct_payees_30d",
    "customer.amount_zscore",
    "customer.amount_ratio",
    "customer.hour_share",
    "customer.km_from_last",
    "customer.speed_kmh",
    "device.is_new_for_customer",
    "device.days_with_customer",
    "device.distinct_customers_30d",
    "device.login_failed.count_1h",
    "device.login.count_24h",
    "ip.is_new_for_customer",
    "ip.distinct_customers_30d",
    "ip.login_failed.count_1h",
    "payee.is_new_for_customer",
    "payee.days_with_customer",
    "payee.distinct_customers_30d",
    "payee.transfer.count_24h",
    "payee.transfer.sum_24h",
    "payee.transfer.count_30d",
    "account.transfer.count_1h",
    "account.transfer.sum_24h",
)

Signals = dict[str, float | str | bool | None]

# Every name a rule may read: the model's features, the event's own text fields, the model's
# outputs and any window aggregate (computed on demand, see ``window_needs``).
KNOWN_FIELDS: frozenset[str] = frozenset(
    {*MODEL_FEATURES, *WINDOW_FEATURES, SPENT_24H, "model.risk", "model.anomaly", "event.kind",
     "event.channel", "event.customer_id", "event.device_id", "event.ip", "event.payee_id",
     "event.merchant_category", "event.counterparty_bank", "event.changed_field"}
)  # fmt: skip


def stream_of(event: Event) -> str:
    """The state stream an event counts in (a failed login counts apart)."""
    if event.kind is EventKind.LOGIN and event.success is False:
        return "login_failed"
    return event.kind.value


def _others(event: Event) -> dict[str, str]:
    links = {"device": event.device_id, "ip": event.ip, "payee": event.payee_id}
    return {kind: value for kind, value in links.items() if value}


def _entities(event: Event) -> list[tuple[str, str, dict[str, str]]]:
    """(role, entity key, links) of every entity the event touches, the customer first."""
    found = [("customer", f"customer:{event.customer_id}", _others(event))]
    for role, value in (
        ("account", event.account_id),
        ("device", event.device_id),
        ("ip", event.ip),
        ("payee", event.payee_id),
    ):
        if value:
            links = {"payee": event.payee_id} if role == "account" and event.payee_id else {}
            found.append((role, f"{role}:{value}", links or {"customer": event.customer_id}))
    return found


def entity_keys(event: Event) -> tuple[str, ...]:
    """The keys of the entities the event touches (``customer:C1``, ``payee:P9``), customer first:
    the state's keys, and the names snoozes and lists give entities."""
    return tuple(key for _, key, _ in _entities(event))


def queries_for(event: Event, extra: Mapping[str, frozenset[str]] | None = None) -> list[Query]:
    """The entities to read before deciding, the customer first, with the streams to count.

    ``extra`` adds streams per entity role (``device``: ``{"transfer"}``) for rules that read
    window aggregates the model does not (see :func:`window_needs`). A money event also reads the
    customer's spending (``spend:<customer_id>``, its own stream only) last.
    """
    queries = [
        Query(entity, links, _ROLE_STREAMS[role] | (extra or {}).get(role, frozenset()))
        for role, entity, links in _entities(event)
    ]
    if event.kind in MONEY_KINDS:
        queries.append(Query(_spend_entity(event), {}, (event.kind.value,)))
    return queries


def _spend_entity(event: Event) -> str:
    return f"{_SPEND}:{event.customer_id}"


def window_needs(fields: Iterable[str]) -> dict[str, frozenset[str]]:
    """Streams per entity role that window-aggregate ``fields`` (rule features) read."""
    needs: dict[str, set[str]] = {}
    for name in fields:
        parsed = _window_field(name)
        if parsed is not None:
            needs.setdefault(parsed[0], set()).add(parsed[1])
    return {role: frozenset(streams) for role, streams in needs.items()}


def _window_field(name: str) -> tuple[str, str, str, str] | None:
    """(role, stream, aggregate, window) of ``<role>.<stream>.<count|sum>_<window>``, else None."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] not in _ROLE_STREAMS:
        return None
    aggregate, _, window = parts[2].partition("_")
    if aggregate not in ("count", "sum") or window not in _WINDOWS:
        return None
    return parts[0], parts[1], aggregate, window


def observations_for(event: Event, outcome: Outcome | None = None) -> list[Observation]:
    """What the event adds to each entity's state once decided.

    Given the decision's ``outcome``, a money event that was not declined also counts as spent
    (``spend:<customer_id>``); without one (training, replays of history) nothing is spent.
    """
    stream, at, place = stream_of(event), event.at, event.place
    observed = [
        Observation(
            entity, at, stream, event.amount_minor, links, place if role == "customer" else None
        )
        for role, entity, links in _entities(event)
    ]
    if outcome is not None and outcome is not Outcome.DECLINE and event.kind in MONEY_KINDS:
        observed.append(Observation(_spend_entity(event), at, stream, event.amount_minor))
    return observed


def _age_days(first: float | None, at: float) -> float:
    return math.nan if first is None else max(at - first, 0.0) / _DAY


def _event_part(event: Event, out: Signals) -> None:
    local = event.occurred_at + _LOCAL
    amount = event.amount_minor
    out["event.kind"] = event.kind.value
    out["event.kind_code"] = float(_KINDS.index(event.kind))
    channel = event.channel or ""
    out["event.channel"] = channel
    out["event.channel_code"] = float(_CHANNELS.index(channel)) if channel in _CHANNELS else -1.0
    out["event.amount_minor"] = float(amount)
    out["event.log_amount"] = math.log1p(amount)
    out["event.hour_local"] = float(local.hour)
    out["event.is_night"] = float(local.hour < 6)
    out["event.login_failed"] = float(stream_of(event) == "login_failed")
    out["event.takeover_field"] = float(event.changed_field in _TAKEOVER_FIELDS)
    out["event.has_place"] = float(event.place is not None)
    for name, value in (
        ("customer_id", event.customer_id),
        ("device_id", event.device_id),
        ("ip", event.ip),
        ("payee_id", event.payee_id),
        ("merchant_category", event.merchant_category),
        ("counterparty_bank", event.counterparty_bank),
        ("changed_field", event.changed_field),
    ):
        out[f"event.{name}"] = value


def _customer_part(event: Event, view: EntityView, out: Signals) -> None:
    at = event.at
    out["customer.is_new"] = float(view.is_new)
    out["customer.age_days"] = _age_days(view.first_seen, at)
    out["customer.seconds_since_last"] = (
        math.nan if view.last_seen is None else max(at - view.last_seen, 0.0)
    )
    # the views hold each stream's four windows in ``Window`` order, as the names below are
    counts, sums = view.counts, view.sums
    for stream, names in _COUNT_NAMES:
        for name, count in zip(names, counts.get(stream, _NO_WINDOWS), strict=True):
            out[name] = float(count)
    for stream, names in _SUM_NAMES:
        for name, total in zip(names, sums.get(stream, _NO_WINDOWS), strict=True):
            out[name] = float(total)
    for kind, name in (("device", "devices"), ("ip", "ips"), ("payee", "payees")):
        out[f"customer.distinct_{name}_30d"] = float(view.distinct(kind))
    profile = view.amount(stream_of(event))
    z = profile.z_score(event.amount_minor) if event.amount_minor else None
    out["customer.amount_zscore"] = math.nan if z is None else z
    ratio = event.amount_minor / profile.mean if profile.count and profile.mean > 0 else math.nan
    out["customer.amount_ratio"] = ratio if event.amount_minor else math.nan
    out["customer.hour_share"] = view.hour_share(event.occurred_at.hour)
    place = event.place
    speed = view.speed_kmh_to(place, at) if place is not None else None
    out["customer.speed_kmh"] = math.nan if speed is None else speed
    out["customer.km_from_last"] = _km_from_last(view, place)
    for kind, value in (("device", event.device_id), ("ip", event.ip), ("payee", event.payee_id)):
        first = view.first_seen_with(kind, value) if value else None
        out[f"{kind}.is_new_for_customer"] = float(first is None) if value else math.nan
        if kind != "ip":
            out[f"{kind}.days_with_customer"] = _age_days(first, at) if value else math.nan


def _km_from_last(view: EntityView, place: tuple[float, float] | None) -> float:
    if place is None or view.last_place is None:
        return math.nan
    return km_between(view.last_place, place)


def _linked_part(role: str, view: EntityView | None, out: Signals) -> None:
    def count(stream: str, window: str) -> float:
        return math.nan if view is None else float(view.count(stream, window))

    def total(stream: str, window: str) -> float:
        return math.nan if view is None else float(view.sum(stream, window))

    distinct = math.nan if view is None else float(view.distinct("customer"))
    if role == "device":
        out["device.distinct_customers_30d"] = distinct
        out["device.login_failed.count_1h"] = count("login_failed", "1h")
        out["device.login.count_24h"] = count("login", "24h")
    elif role == "ip":
        out["ip.distinct_customers_30d"] = distinct
        out["ip.login_failed.count_1h"] = count("login_failed", "1h")
    elif role == "payee":
        out["payee.distinct_customers_30d"] = distinct
        out["payee.transfer.count_24h"] = count("transfer", "24h")
        out["payee.transfer.sum_24h"] = total("transfer", "24h")
        out["payee.transfer.count_30d"] = count("transfer", "30d")
    elif role == "account":
        out["account.transfer.count_1h"] = count("transfer", "1h")
        out["account.transfer.sum_24h"] = total("transfer", "24h")


def compute_signals(
    event: Event, views: Sequence[EntityView], extra_fields: Iterable[str] = ()
) -> Signals:
    """Every named feature of ``event`` from the views read for :func:`queries_for` (same order).

    ``extra_fields`` are further window aggregates a rule set reads (``device.transfer.sum_7d``).
    """
    out: Signals = {}
    _event_part(event, out)
    # each view's entity key is "<role>:<id>" (see _entities)
    by_role = {view.entity.partition(":")[0]: view for view in views}
    _customer_part(event, by_role["customer"], out)
    for role in ("device", "ip", "payee", "account"):
        _linked_part(role, by_role.get(role), out)
    spend = by_role.get(_SPEND)
    out[SPENT_24H] = None if spend is None else float(spend.sum(event.kind.value, Window.DAY))
    for name in extra_fields:
        parsed = _window_field(name)
        if parsed is None or name in out:
            continue
        role, stream, aggregate, window = parsed
        found = by_role.get(role)
        if found is None:
            out[name] = None
        elif aggregate == "count":
            out[name] = float(found.count(stream, window))
        else:
            out[name] = float(found.sum(stream, window))
    return out


def model_vector(signals: Mapping[str, object], *, spare: int = 0) -> np.ndarray:
    """The numeric features in :data:`MODEL_FEATURES` order (missing as NaN), followed by
    ``spare`` zeros for the caller to fill (cheaper than appending to the array later)."""
    values = [
        math.nan if (value := signals.get(name)) is None else float(value)  # type: ignore[arg-type]
        for name in MODEL_FEATURES
    ]
    if spare:
        values += [0.0] * spare
    return np.array(values, dtype=np.float64)
