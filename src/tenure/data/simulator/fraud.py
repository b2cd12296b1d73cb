"""Fraud with ground truth: account takeover, card testing, mules, payee-change fraud."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.data.simulator.behaviour import origin
from tenure.data.simulator.events import (
    CHANGE_CHANNEL,
    EVENT_CHANNEL,
    FIELD,
    ChangeBatch,
    EventBatch,
    PayeeBatch,
)
from tenure.data.simulator.geography import CITIES, city_arrays
from tenure.data.simulator.inserts import BalanceShare
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.products import PAYEE_CHANNEL, PAYEE_TYPE, PRODUCT, Accounts, Payees
from tenure.data.simulator.streams import FRAUD_TYPE, KIND, TX_CHANNEL, TX_STATUS, TxBatch
from tenure.data.simulator.vocabulary import counterparties

__all__ = ["FraudPlan", "MuleRing", "plan_fraud", "settle_mules"]

ATO_RATE = 0.0006
CARD_TESTING_RATE = 0.0006
MULE_EPISODE_RATE = 0.35
PAYEE_FRAUD_RATE = 0.008
MINUTE = 60
HOUR = 3_600
UNCAPPED = 10**15


@dataclass(frozen=True, slots=True)
class MuleRing:
    """One month's mule episodes: which mule, and when the fan-in starts."""

    mule: np.ndarray
    senders: np.ndarray
    episode: np.ndarray


@dataclass(frozen=True, slots=True)
class FraudPlan:
    """Everything the fraudsters do this month, before balances size the transfers."""

    candidates: TxBatch
    shares: BalanceShare
    events: EventBatch
    changes: ChangeBatch
    payees: PayeeBatch
    rings: MuleRing
    victims: np.ndarray
    victim_times: np.ndarray


def _fraud_origin(
    rng: np.random.Generator, people: Population, who: np.ndarray
) -> dict[str, np.ndarray]:
    """A device never seen before, and an IP and city away from home."""
    n = len(who)
    city = rng.integers(0, len(CITIES), n)
    city = np.where(city == people.city[who], (city + 1) % len(CITIES), city)
    ip = (city_arrays().ip_block[city] << 16) + rng.integers(1, 65_535, n)
    return {"device": rng.integers(1 << 40, 1 << 47, n), "ip": ip, "city": city}


def _eligible(
    month: Month, people: Population, rate: float, rng: np.random.Generator, mask: np.ndarray
) -> np.ndarray:
    ok = mask & month.alive & (month.until - month.start > 2 * 86_400)
    return np.flatnonzero(ok & (rng.random(people.size) < rate))


def _takeovers(
    rng: np.random.Generator, month: Month, people: Population, next_payee: int
) -> tuple[BalanceShare, EventBatch, ChangeBatch, PayeeBatch, np.ndarray, np.ndarray]:
    who = _eligible(
        month, people, ATO_RATE, rng, ~people.corporate & ~people.mule & (people.login_rate > 0.5)
    )
    n = len(who)
    t0 = month.start + (rng.random(n) * (month.until[who] - month.start - 6 * HOUR)).astype(
        np.int64
    )
    place = _fraud_origin(rng, people, who)
    failures = rng.integers(0, 3, n)
    failed = np.repeat(np.arange(n), failures)
    login = EventBatch.build(
        customer=who,
        time=t0,
        channel=EVENT_CHANNEL["mobile"],
        fraud=FRAUD_TYPE["account_takeover"],
        **place,
    )
    tries = EventBatch.build(
        customer=who[failed],
        time=t0[failed] - rng.integers(MINUTE, 20 * MINUTE, len(failed)),
        channel=EVENT_CHANNEL["mobile"],
        success=False,
        fraud=FRAUD_TYPE["account_takeover"],
        device=place["device"][failed],
        ip=place["ip"][failed],
        city=place["city"][failed],
    )
    field = rng.choice(
        [FIELD["phone"], FIELD["password"], FIELD["device_binding"]], n, p=[0.5, 0.35, 0.15]
    )
    change = ChangeBatch.build(
        customer=who,
        time=t0 + rng.integers(2 * MINUTE, 10 * MINUTE, n),
        field=field,
        channel=CHANGE_CHANNEL["mobile"],
        device=place["device"],
        ip=place["ip"],
        fraud=FRAUD_TYPE["account_takeover"],
    )
    pool = counterparties()
    added = t0 + rng.integers(10 * MINUTE, 40 * MINUTE, n)
    payee = PayeeBatch.build(
        customer=who,
        name=pool.person_start + rng.integers(0, pool.person_count, n),
        number=rng.integers(10**16, 10**17, n),
        bank=rng.integers(1, 13, n),
        kind=PAYEE_TYPE["person"],
        added_at=added,
        channel=PAYEE_CHANNEL["mobile"],
        device=place["device"],
        fraud=FRAUD_TYPE["account_takeover"],
    )
    sent_at = added + rng.integers(20 * MINUTE, 150 * MINUTE, n)
    transfer = TxBatch.build(
        np.zeros(n),
        sent_at,
        np.full(n, UNCAPPED),
        credit=False,
        kind=KIND["transfer_out"],
        channel=TX_CHANNEL["mobile"],
        counterparty=payee.name,
        bank=payee.bank,
        payee=next_payee + np.arange(n),
        fraud=FRAUD_TYPE["account_takeover"],
        **place,
    )
    transfer.account = who.copy()  # replaced by the current account by the caller
    share = BalanceShare(transfer, rng.uniform(0.6, 0.95, n))
    return share, EventBatch.concat([tries, login]), change, payee, who, sent_at


def _card_tests(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    who = _eligible(month, people, CARD_TESTING_RATE, rng, ~people.corporate)
    card = accounts.of_product[who, PRODUCT["card"]]
    account = np.where(card >= 0, card, accounts.of_product[who, PRODUCT["current"]])
    tests = rng.integers(4, 13, len(who))
    row = np.repeat(np.arange(len(who)), tests + 1)
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    is_big = rank == tests[row]
    t0 = month.start + (rng.random(len(who)) * (month.until[who] - month.start - 3 * HOUR)).astype(
        np.int64
    )
    times = (
        t0[row]
        + rank * rng.integers(20, 120, len(row))
        + np.where(is_big, rng.integers(5 * MINUTE, HOUR, len(row)), 0)
    )
    amount = np.where(
        is_big, rng.integers(200_000, 1_500_000, len(row)), rng.integers(100, 1_500, len(row))
    )
    category = np.where(rng.random(len(row)) < 0.6, 13, 5)
    place = _fraud_origin(rng, people, who)
    pool = counterparties()
    merchant = (
        pool.merchant_start[category] + rng.integers(0, 4, len(row)) % pool.merchant_count[category]
    )
    declined = ~is_big & (rng.random(len(row)) < 0.25)
    return TxBatch.build(
        account[row],
        times,
        amount,
        credit=False,
        kind=KIND["card_purchase"],
        channel=TX_CHANNEL["web"],
        category=category,
        counterparty=merchant,
        fraud=FRAUD_TYPE["card_testing"],
        status=np.where(declined, TX_STATUS["declined"], TX_STATUS["posted"]),
        device=place["device"][row],
        ip=place["ip"][row],
        city=place["city"][row],
    )


def _mule_sends(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> tuple[BalanceShare, MuleRing]:
    mules = _eligible(month, people, MULE_EPISODE_RATE, rng, people.mule)
    victims = np.flatnonzero(month.alive & ~people.corporate & ~people.mule)
    if len(mules) == 0 or len(victims) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return BalanceShare(
            TxBatch.build(empty, empty, empty, credit=False, kind=0, channel=0), np.zeros(0)
        ), MuleRing(empty, empty, empty)
    fan_in = rng.integers(4, 13, len(mules))
    episode = np.repeat(np.arange(len(mules)), fan_in)
    senders = victims[rng.integers(0, len(victims), len(episode))]
    t0 = month.start + (
        rng.random(len(mules)) * (month.until[mules] - month.start - 30 * HOUR)
    ).astype(np.int64)
    times = t0[episode] + rng.integers(0, 20 * HOUR, len(episode))
    channel = np.full(len(episode), TX_CHANNEL["mobile"])
    batch = TxBatch.build(
        accounts.of_product[senders, PRODUCT["current"]],
        times,
        rng.integers(200_000, 3_000_000, len(episode)),
        credit=False,
        kind=KIND["transfer_out"],
        channel=channel,
        counterparty=len(counterparties().names) + mules[episode],
        bank=0,
        fraud=FRAUD_TYPE["mule"],
        **origin(rng, month, people, senders, times, channel),
    )
    return BalanceShare(batch, np.full(len(episode), 0.8)), MuleRing(mules, senders, episode)


def _payee_fraud(
    rng: np.random.Generator, month: Month, people: Population, payees: Payees
) -> tuple[BalanceShare, ChangeBatch]:
    business = people.corporate & (payees.count > 0)
    who = _eligible(month, people, PAYEE_FRAUD_RATE, rng, business)
    n = len(who)
    payee = payees.start[who] + (rng.random(n) * payees.count[who]).astype(np.int64)
    t0 = month.start + (rng.random(n) * (month.until[who] - month.start - 4 * 86_400)).astype(
        np.int64
    )
    place = _fraud_origin(rng, people, who)
    change = ChangeBatch.build(
        customer=who,
        time=t0,
        field=FIELD["payee_details"],
        channel=CHANGE_CHANNEL["web"],
        payee=payee,
        device=place["device"],
        ip=place["ip"],
        fraud=FRAUD_TYPE["payee_change_fraud"],
    )
    paid_at = t0 + rng.integers(2 * HOUR, 3 * 86_400, n)
    transfer = TxBatch.build(
        who,
        paid_at,
        rng.integers(10_000_000, 200_000_000, n),
        credit=False,
        kind=KIND["transfer_out"],
        channel=TX_CHANNEL["web"],
        counterparty=payees.name[payee],
        bank=rng.integers(1, 13, n),
        payee=payee,
        fraud=FRAUD_TYPE["payee_change_fraud"],
        **place,
    )
    return BalanceShare(transfer, rng.uniform(0.3, 0.8, n)), change


def plan_fraud(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    accounts: Accounts,
    payees: Payees,
    next_payee: int,
) -> FraudPlan:
    """This month's fraud schemes, with every precursor in its own stream."""
    ato, logins, ato_changes, new_payees, victims, victim_times = _takeovers(
        rng, month, people, next_payee
    )
    payee_share, payee_changes = _payee_fraud(rng, month, people, payees)
    mule_share, rings = _mule_sends(rng, month, people, accounts)
    current = accounts.of_product[:, PRODUCT["current"]]
    for share in (ato, payee_share):
        share.batch.account[:] = current[share.batch.account]
    return FraudPlan(
        candidates=_card_tests(rng, month, people, accounts),
        shares=BalanceShare.concat([ato, payee_share, mule_share]),
        events=logins,
        changes=ChangeBatch.concat([ato_changes, payee_changes]),
        payees=new_payees,
        rings=rings,
        victims=victims,
        victim_times=victim_times,
    )


def settle_mules(
    rng: np.random.Generator,
    rings: MuleRing,
    posted_sends: TxBatch,
    people: Population,
    accounts: Accounts,
    month_end: int,
) -> TxBatch:
    """Credit posted fan-in to each mule and move ~95 % of it on to other banks within hours."""
    if len(rings.mule) == 0 or len(posted_sends) == 0:
        return posted_sends.take(np.zeros(0, dtype=np.int64))
    current = accounts.of_product[:, PRODUCT["current"]]
    owner = accounts.customer[posted_sends.account]
    mule = posted_sends.counterparty - len(counterparties().names)
    fan_in = TxBatch.build(
        current[mule],
        np.minimum(posted_sends.time + 5, month_end - 1),
        posted_sends.amount,
        credit=True,
        kind=KIND["transfer_in"],
        channel=TX_CHANNEL["mobile"],
        counterparty=len(counterparties().names) + owner,
        bank=0,
        fraud=FRAUD_TYPE["mule"],
    )
    order = np.argsort(mule, kind="stable")
    mules, first = np.unique(mule[order], return_index=True)
    total = np.add.reduceat(posted_sends.amount[order], first)
    last = np.maximum.reduceat(posted_sends.time[order], first)
    parts = rng.integers(2, 6, len(mules))
    row = np.repeat(np.arange(len(mules)), parts)
    weights = rng.random(len(row))
    share = weights / np.bincount(row, weights)[row]
    amount = np.floor(total[row] * 0.95 * share).astype(np.int64)
    pool = counterparties()
    times = np.minimum(last[row] + rng.integers(10 * MINUTE, 6 * HOUR, len(row)), month_end - 1)
    fan_out = TxBatch.build(
        current[mules[row]],
        times,
        amount,
        credit=False,
        kind=KIND["transfer_out"],
        channel=TX_CHANNEL["mobile"],
        counterparty=pool.person_start + rng.integers(0, pool.person_count, len(row)),
        bank=rng.integers(1, 13, len(row)),
        fraud=FRAUD_TYPE["mule"],
        device=people.device[mules[row]],
        ip=people.home_ip[mules[row]],
        city=people.city[mules[row]],
    )
    return TxBatch.concat([fan_in, fan_out.take(fan_out.amount > 0)])
