"""Everyday money movements of one month: salaries, card spending, bills, transfers, cash."""

from __future__ import annotations

import numpy as np

from tenure.data.simulator.geography import DOMESTIC_COUNT, city_arrays
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.products import PRODUCT, Accounts, Payees
from tenure.data.simulator.streams import (
    DAY,
    KIND,
    TX_CHANNEL,
    TX_STATUS,
    TxBatch,
    local_day_times,
    spread_counts,
)
from tenure.data.simulator.vocabulary import BILLERS, CATEGORIES, COMPETITOR_BANKS, counterparties

__all__ = ["competitor_bank", "everyday_month", "large_purchases", "origin"]

CATEGORY_P = np.array([c.weight for c in CATEGORIES]) / sum(c.weight for c in CATEGORIES)
CATEGORY_MEDIAN = np.array([c.median_yuan * 100 for c in CATEGORIES])
CATEGORY_SIGMA = np.array([c.sigma for c in CATEGORIES])
CATEGORY_ONLINE = np.array([c.online for c in CATEGORIES])
BILL_MEDIAN = np.array([15_000, 5_000, 8_000, 10_000, 8_000, 30_000, 50_000])
FALSE_DECLINE_RATE = 0.004
ABROAD_DECLINE_RATE = 0.2
CARRIER_BLOCK = 0x7000


def origin(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    owner: np.ndarray,
    times: np.ndarray,
    channel: np.ndarray,
) -> dict[str, np.ndarray]:
    """Device, IP and city a customer's own transaction came from (travel moves the place)."""
    n = len(owner)
    digital = (channel == TX_CHANNEL["mobile"]) | (channel == TX_CHANNEL["web"])
    present = digital | (channel == TX_CHANNEL["pos"]) | (channel == TX_CHANNEL["atm"])
    present |= channel == TX_CHANNEL["branch"]
    travelling = month.on_trip(owner, times)
    city = np.where(travelling, month.trip_city[owner], people.city[owner])
    second = people.second_device[owner]
    device = np.where((second >= 0) & (rng.random(n) < 0.2), second, people.device[owner])
    carrier = (CARRIER_BLOCK << 16) + rng.integers(0, 1 << 20, size=n)
    ip = np.where(rng.random(n) < 0.65, people.home_ip[owner], carrier)
    ip = np.where(travelling, (city_arrays().ip_block[city] << 16) + rng.integers(1, 65_535, n), ip)
    return {
        "device": np.where(digital, device, -1),
        "ip": np.where(digital, ip, -1),
        "city": np.where(present, city, -1),
    }


def _salaries(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    paid = np.flatnonzero((people.salary_day >= 0) & month.salary_on & month.alive)
    day = np.clip(
        people.salary_day[paid] - 1 + np.rint(rng.normal(0, 0.8, len(paid))), 0, month.days - 1
    )
    times = (
        month.start
        + day.astype(np.int64) * DAY
        - 8 * 3_600
        + rng.integers(3_600, 5 * 3_600, len(paid))
    )
    amount = people.income[paid] * rng.normal(1.0, 0.02, len(paid))
    if month.calendar_month == 1:
        amount *= np.where(rng.random(len(paid)) < 0.3, rng.uniform(2, 4, len(paid)), 1.0)
    return TxBatch.build(
        accounts.of_product[paid, PRODUCT["current"]],
        np.maximum(times, month.start),
        np.round(amount, -2),
        credit=True,
        kind=KIND["salary"],
        channel=TX_CHANNEL["batch"],
        counterparty=people.employer[paid],
        bank=people.employer_bank[paid],
    )


def _card_spending(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    owner = spread_counts(rng, people.card_rate * month.engagement * month.alive)
    n = len(owner)
    times = local_day_times(rng, n, month.start, month.end)
    category = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_P)
    amount = rng.lognormal(np.log(CATEGORY_MEDIAN[category]), CATEGORY_SIGMA[category])
    card = accounts.of_product[owner, PRODUCT["card"]]
    account = np.where(
        (card >= 0) & (rng.random(n) < 0.65), card, accounts.of_product[owner, PRODUCT["current"]]
    )
    online = rng.random(n) < CATEGORY_ONLINE[category]
    channel = np.where(
        online,
        np.where(rng.random(n) < 0.8, TX_CHANNEL["mobile"], TX_CHANNEL["web"]),
        TX_CHANNEL["pos"],
    )
    pool = counterparties()
    merchant = (
        pool.merchant_start[category] + rng.integers(0, 1 << 30, n) % pool.merchant_count[category]
    )
    where = origin(rng, month, people, owner, times, channel)
    abroad = month.on_trip(owner, times) & (month.trip_city[owner] >= DOMESTIC_COUNT)
    declined = rng.random(n) < np.where(abroad, ABROAD_DECLINE_RATE, FALSE_DECLINE_RATE)
    confirmed = month.on_trip(owner, times) & (rng.random(n) < np.where(declined, 0.6, 0.12))
    spend = TxBatch.build(
        account,
        times,
        np.round(amount),
        credit=False,
        kind=KIND["card_purchase"],
        channel=channel,
        category=category,
        counterparty=merchant,
        genuine=confirmed,
        status=np.where(declined, TX_STATUS["declined"], TX_STATUS["posted"]),
        **where,
    )
    refunded = np.flatnonzero((rng.random(n) < 0.015) & ~declined)
    refund = spend.take(refunded)
    refund.credit[:] = True
    refund.kind[:] = KIND["refund"]
    refund.genuine[:] = False
    refund.status[:] = TX_STATUS["posted"]
    refund.amount = np.maximum(refund.amount * rng.uniform(0.3, 1.0, len(refunded)), 1).astype(
        np.int64
    )
    refund.time = refund.time + rng.integers(2 * DAY, 10 * DAY, len(refunded))
    return TxBatch.concat([spend, refund.take(refund.time < month.end)])


def _bills(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    engaged = np.maximum(month.engagement, 0.3) * month.alive
    owner = spread_counts(rng, people.bill_rate * engaged)
    n = len(owner)
    biller = rng.integers(0, len(BILLERS), n)
    auto = (rng.random(n) < 0.5) | (month.engagement[owner] < 0.2)
    channel = np.where(
        auto,
        TX_CHANNEL["batch"],
        np.where(rng.random(n) < 0.85, TX_CHANNEL["mobile"], TX_CHANNEL["web"]),
    )
    times = local_day_times(rng, n, month.start, month.end)
    amount = rng.lognormal(np.log(BILL_MEDIAN[biller]), 0.5) * np.where(
        people.corporate[owner], 8, 1
    )
    return TxBatch.build(
        accounts.of_product[owner, PRODUCT["current"]],
        times,
        np.round(amount),
        credit=False,
        kind=KIND["bill_payment"],
        channel=channel,
        counterparty=counterparties().biller_start + biller,
        bank=0,
        **origin(rng, month, people, owner, times, channel),
    )


def _transfers_out(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts, payees: Payees
) -> tuple[TxBatch, TxBatch]:
    owner = spread_counts(rng, people.transfer_rate * month.engagement * month.alive)
    n = len(owner)
    times = local_day_times(rng, n, month.start, month.end)
    has = payees.count[owner] > 0
    pick = payees.start[owner] + (rng.random(n) * np.maximum(payees.count[owner], 1)).astype(
        np.int64
    )
    pick = np.where(has, np.minimum(pick, len(payees.customer) - 1), -1)
    known = has & (payees.added_at[np.maximum(pick, 0)] <= times)
    pool = counterparties()
    stranger = pool.person_start + rng.integers(0, pool.person_count, n)
    corporate = people.corporate[owner]
    channel = np.where(
        corporate,
        rng.choice([TX_CHANNEL["web"], TX_CHANNEL["api"]], n),
        rng.choice(
            [TX_CHANNEL["mobile"], TX_CHANNEL["web"], TX_CHANNEL["branch"]], n, p=[0.75, 0.15, 0.1]
        ),
    )
    bank = np.where(known, payees.bank[np.maximum(pick, 0)], rng.integers(0, 13, n))
    amount = (
        people.income[owner] * rng.lognormal(np.log(0.12), 0.9, n) * np.where(corporate, 0.4, 1.0)
    )
    current = accounts.of_product[owner, PRODUCT["current"]]
    sent = TxBatch.build(
        current,
        times,
        np.round(amount, -2),
        credit=False,
        kind=KIND["transfer_out"],
        channel=channel,
        counterparty=np.where(known, payees.name[np.maximum(pick, 0)], stranger),
        bank=bank,
        payee=np.where(known, pick, -1),
        **origin(rng, month, people, owner, times, channel),
        status=np.where(
            rng.random(n) < FALSE_DECLINE_RATE, TX_STATUS["declined"], TX_STATUS["posted"]
        ),
    )
    charged = np.flatnonzero(
        (bank != 0) & (channel == TX_CHANNEL["branch"]) | corporate & (channel == TX_CHANNEL["web"])
    )
    fee_amount = np.clip(sent.amount[charged] // 200, 200, 5_000)
    fees = TxBatch.build(
        current[charged],
        times[charged] + 1,
        fee_amount,
        credit=False,
        kind=KIND["fee"],
        channel=TX_CHANNEL["batch"],
    )
    return sent, fees


def _transfers_in(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    corporate = people.corporate
    rate = np.where(corporate, 5.0 * np.sqrt(people.value / 30), 0.2) * np.maximum(
        month.engagement, 0.2
    )
    owner = spread_counts(rng, rate * month.alive)
    n = len(owner)
    pool = counterparties()
    from_company = corporate[owner]
    sender = np.where(
        from_company,
        pool.employer_start + rng.integers(0, pool.employer_count, n),
        pool.person_start + rng.integers(0, pool.person_count, n),
    )
    amount = (
        people.income[owner] * rng.lognormal(np.log(0.1), 1.0, n) * np.where(from_company, 0.5, 1.0)
    )
    return TxBatch.build(
        accounts.of_product[owner, PRODUCT["current"]],
        local_day_times(rng, n, month.start, month.end),
        np.round(amount, -2),
        credit=True,
        kind=KIND["transfer_in"],
        channel=np.where(from_company, TX_CHANNEL["api"], TX_CHANNEL["batch"]),
        counterparty=sender,
        bank=rng.integers(0, 13, n),
    )


def _cash(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    older = np.where(people.birth_year < 1970, 0.5, 0.18)
    owner = spread_counts(
        rng, np.where(people.corporate, 0.1, older) * month.engagement * month.alive
    )
    n = len(owner)
    deposit = rng.random(n) < 0.2
    channel = np.where(deposit & (rng.random(n) < 0.6), TX_CHANNEL["branch"], TX_CHANNEL["atm"])
    times = local_day_times(rng, n, month.start, month.end)
    amount = (
        rng.choice(
            [100, 200, 300, 500, 1_000, 2_000, 3_000], n, p=[0.2, 0.15, 0.1, 0.25, 0.15, 0.1, 0.05]
        )
        * 100
    )
    return TxBatch.build(
        accounts.of_product[owner, PRODUCT["current"]],
        times,
        amount,
        credit=deposit,
        kind=np.where(deposit, KIND["cash_deposit"], KIND["cash_withdrawal"]),
        channel=channel,
        **origin(rng, month, people, owner, times, channel),
    )


def everyday_month(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts, payees: Payees
) -> TxBatch:
    """Customer-driven movements of one month, before accounts' own schedules are added."""
    sent, transfer_fees = _transfers_out(rng, month, people, accounts, payees)
    return TxBatch.concat(
        [
            _salaries(rng, month, people, accounts),
            _card_spending(rng, month, people, accounts),
            _bills(rng, month, people, accounts),
            sent,
            transfer_fees,
            _transfers_in(rng, month, people, accounts),
            _cash(rng, month, people, accounts),
        ]
    )


def competitor_bank(rng: np.random.Generator, n: int) -> np.ndarray:
    """Banks that win customers leaving this one."""
    return np.asarray(COMPETITOR_BANKS)[rng.integers(0, len(COMPETITOR_BANKS), n)]


def large_purchases(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    """Rare big-ticket buys by genuine customers (half of them later confirmed genuine)."""
    owner = np.flatnonzero(
        month.alive & ~people.corporate & (rng.random(people.size) < 0.005 * month.engagement)
    )
    n = len(owner)
    category = rng.choice([10, 11, 12], n, p=[0.4, 0.4, 0.2])
    times = local_day_times(rng, n, month.start, month.end)
    card = accounts.of_product[owner, PRODUCT["card"]]
    account = np.where(card >= 0, card, accounts.of_product[owner, PRODUCT["current"]])
    channel = np.where(rng.random(n) < 0.5, TX_CHANNEL["pos"], TX_CHANNEL["mobile"])
    pool = counterparties()
    return TxBatch.build(
        account,
        times,
        rng.integers(800_000, 6_000_000, n),
        credit=False,
        kind=KIND["card_purchase"],
        channel=channel,
        category=category,
        counterparty=pool.merchant_start[category]
        + rng.integers(0, 3, n) % pool.merchant_count[category],
        genuine=rng.random(n) < 0.5,
        **origin(rng, month, people, owner, times, channel),
    )
