"""Everyday profile changes (new phones, e-mails, passwords, moves, limits, payee details)."""

from __future__ import annotations

import numpy as np

from tenure.data.simulator.events import (
    AUTH,
    CHANGE_CHANNEL,
    EVENT_CHANNEL,
    FIELD,
    INITIATOR,
    ChangeBatch,
    EventBatch,
)
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.products import Payees

__all__ = ["profile_month"]

RATES = (
    ("phone", 0.003),
    ("email", 0.003),
    ("password", 0.01),
    ("address", 0.002),
    ("device_binding", 0.008),
    ("transfer_limit", 0.004),
)


def _changes(
    rng: np.random.Generator, month: Month, people: Population, life_event: np.ndarray
) -> ChangeBatch:
    n = people.size
    rates = np.array([rate for _, rate in RATES])
    hits = (rng.random((n, len(RATES))) < rates[None, :]) & month.alive[:, None]
    hits[:, 3] |= life_event & month.alive
    customer, which = np.nonzero(hits)
    field = np.array([FIELD[name] for name, _ in RATES])[which]
    k = len(customer)
    span = np.maximum(month.until[customer] - month.start - 1, 1)
    times = month.start + (rng.random(k) * span).astype(np.int64)
    channel = rng.choice(
        [
            CHANGE_CHANNEL["mobile"],
            CHANGE_CHANNEL["web"],
            CHANGE_CHANNEL["branch"],
            CHANGE_CHANNEL["phone"],
        ],
        k,
        p=[0.6, 0.2, 0.15, 0.05],
    )
    digital = (channel == CHANGE_CHANNEL["mobile"]) | (channel == CHANGE_CHANNEL["web"])
    staff = ~digital & (rng.random(k) < 0.8)
    initiator = np.where(staff, INITIATOR["staff"], INITIATOR["customer"])
    initiator = np.where(
        (field == FIELD["password"]) & (rng.random(k) < 0.1), INITIATOR["system"], initiator
    )
    new_device = rng.integers(1 << 40, 1 << 47, k)
    device = np.where(field == FIELD["device_binding"], new_device, people.device[customer])
    return ChangeBatch.build(
        customer=customer,
        time=times,
        field=field,
        channel=channel,
        device=np.where(digital, device, -1),
        ip=np.where(digital, people.home_ip[customer], -1),
        initiator=initiator,
    )


def _payee_edits(
    rng: np.random.Generator, month: Month, people: Population, payees: Payees
) -> ChangeBatch:
    who = np.flatnonzero(
        people.corporate & month.alive & (payees.count > 0) & (rng.random(people.size) < 0.01)
    )
    k = len(who)
    payee = payees.start[who] + (rng.random(k) * payees.count[who]).astype(np.int64)
    times = month.start + (
        rng.random(k) * np.maximum(month.until[who] - month.start - 1, 1)
    ).astype(np.int64)
    return ChangeBatch.build(
        customer=who,
        time=times,
        field=FIELD["payee_details"],
        channel=CHANGE_CHANNEL["web"],
        payee=payee,
        device=people.device[who],
        ip=people.home_ip[who],
    )


def profile_month(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    payees: Payees,
    life_event: np.ndarray,
) -> tuple[ChangeBatch, EventBatch]:
    """Benign profile changes, and the first login from each newly bound phone."""
    changes = ChangeBatch.concat(
        [_changes(rng, month, people, life_event), _payee_edits(rng, month, people, payees)]
    )
    bound = np.flatnonzero((changes.field == FIELD["device_binding"]) & (changes.device >= 0))
    who = changes.customer[bound]
    login = EventBatch.build(
        customer=who,
        time=changes.time[bound] - rng.integers(30, 600, len(bound)),
        channel=EVENT_CHANNEL["mobile"],
        device=changes.device[bound],
        ip=changes.ip[bound],
        city=people.city[who],
        auth=AUTH["sms_otp"],
        genuine=rng.random(len(bound)) < 0.3,
    )
    login.time = np.maximum(login.time, month.start)
    return changes, login
