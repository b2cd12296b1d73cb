"""Movements the accounts make on their own: fees, interest, loan and card repayments,
disbursements, investments, term-deposit maturities, payroll and opening deposits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.products import PRODUCT, Accounts
from tenure.data.simulator.streams import DAY, KIND, TX_CHANNEL, TxBatch, local_day_times
from tenure.data.simulator.vocabulary import counterparties

__all__ = ["Maturities", "scheduled_month"]

LOW_BALANCE = 30_000
BATCH = TX_CHANNEL["batch"]


def _day(month: Month, day: int, hour: int = 2) -> int:
    return month.start + (min(day, month.days) - 1) * DAY + ((hour - 8) % 24) * 3_600


def _fees(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    n = people.size
    current = accounts.of_product[:, PRODUCT["current"]]
    sms = (people.device % 97 < 15) & month.alive
    low = month.alive & (accounts.headroom[current] < LOW_BALANCE) & (rng.random(n) < 0.3)
    corp = month.alive & people.corporate
    card = accounts.of_product[:, PRODUCT["card"]]
    annual = month.alive & (card >= 0) & (rng.random(n) < 1 / 12)
    parts = [
        TxBatch.build(
            current[sms],
            np.full(int(sms.sum()), _day(month, 25, 3)),
            200,
            credit=False,
            kind=KIND["fee"],
            channel=BATCH,
        ),
        TxBatch.build(
            current[low],
            np.full(int(low.sum()), _day(month, 21, 3)),
            1_000,
            credit=False,
            kind=KIND["fee"],
            channel=BATCH,
        ),
        TxBatch.build(
            current[corp],
            np.full(int(corp.sum()), _day(month, 21, 4)),
            5_000,
            credit=False,
            kind=KIND["fee"],
            channel=BATCH,
        ),
        TxBatch.build(
            card[annual],
            _day(month, 1) + rng.integers(0, month.days * DAY, int(annual.sum())),
            rng.choice([10_000, 20_000, 30_000], int(annual.sum())),
            credit=False,
            kind=KIND["fee"],
            channel=BATCH,
        ),
    ]
    return TxBatch.concat(parts)


def _interest(month: Month, accounts: Accounts) -> TxBatch:
    if month.calendar_month not in (3, 6, 9, 12):
        return TxBatch.build(
            np.zeros(0, dtype=np.int64), 0, 0, credit=True, kind=KIND["interest"], channel=BATCH
        )
    demand = (accounts.product == PRODUCT["savings"]) | (accounts.product == PRODUCT["current"])
    due = np.flatnonzero(demand & (accounts.headroom > 0))
    amount = np.floor(accounts.headroom[due] * accounts.rate[due] * 3 / 12).astype(np.int64)
    due, amount = due[amount >= 1], amount[amount >= 1]
    return TxBatch.build(
        due,
        np.full(len(due), _day(month, 21, 1)),
        amount,
        credit=True,
        kind=KIND["interest"],
        channel=BATCH,
    )


def _loans(month: Month, people: Population, accounts: Accounts) -> TxBatch:
    loan = np.flatnonzero(
        (accounts.product == PRODUCT["loan"]) & (accounts.opened_at < month.start)
    )
    owed = accounts.limit[loan] - accounts.headroom[loan]
    amount = np.minimum(accounts.payment[loan], owed)
    loan, amount = loan[amount > 0], amount[amount > 0]
    owner = accounts.customer[loan]
    day = (accounts.opened_at[loan] // DAY) % 28 + 1
    times = month.start + (day - 1) * DAY + 3_600
    repay = TxBatch.build(
        accounts.of_product[owner, PRODUCT["current"]],
        times,
        amount,
        credit=False,
        kind=KIND["loan_repayment"],
        channel=BATCH,
        counterparty=counterparties().fixed("本行贷款"),
        bank=0,
        leg=loan,
    )
    new = np.flatnonzero(
        (accounts.product == PRODUCT["loan"])
        & (accounts.opened_at >= month.start)
        & (accounts.opened_at < month.end)
    )
    principal = accounts.payment[new] * np.maximum(accounts.term_months[new], 1) * 100 // 112
    current = accounts.of_product[accounts.customer[new], PRODUCT["current"]]
    disburse = TxBatch.build(
        new,
        accounts.opened_at[new] + 600,
        principal,
        credit=False,
        kind=KIND["loan_disbursement"],
        channel=TX_CHANNEL["branch"],
        leg=current,
    )
    return TxBatch.concat([repay, disburse])


def _card_repayments(rng: np.random.Generator, month: Month, accounts: Accounts) -> TxBatch:
    card = np.flatnonzero(
        (accounts.product == PRODUCT["card"]) & (accounts.opened_at < month.start)
    )
    owed = accounts.limit[card] - accounts.headroom[card]
    share = np.where(rng.random(len(card)) < 0.8, 1.0, rng.uniform(0.1, 0.5, len(card)))
    amount = np.round(owed * share).astype(np.int64)
    card, amount = card[amount > 0], amount[amount > 0]
    current = accounts.of_product[accounts.customer[card], PRODUCT["current"]]
    return TxBatch.build(
        current,
        np.full(len(card), _day(month, 20, 9)),
        amount,
        credit=False,
        kind=KIND["bill_payment"],
        channel=BATCH,
        counterparty=counterparties().fixed("信用卡还款"),
        bank=0,
        leg=card,
    )


def _investments(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    wealth = np.flatnonzero(
        (accounts.product == PRODUCT["wealth"]) & (accounts.opened_at < month.start)
    )
    owner = accounts.customer[wealth]
    current = accounts.of_product[owner, PRODUCT["current"]]
    engaged = month.engagement[owner] * month.alive[owner]
    buy = rng.random(len(wealth)) < 0.18 * engaged
    sell = ~buy & (rng.random(len(wealth)) < 0.06 * engaged)
    times = local_day_times(rng, len(wealth), month.start, month.end)
    size = np.round(people.income[owner] * rng.uniform(0.2, 1.5, len(wealth)), -4)
    sold = np.minimum(size, accounts.headroom[wealth] // 2)
    pool = counterparties().fixed("理财产品")
    return TxBatch.concat(
        [
            TxBatch.build(
                current[buy],
                times[buy],
                size[buy],
                credit=False,
                kind=KIND["investment"],
                channel=TX_CHANNEL["mobile"],
                counterparty=pool,
                bank=0,
                leg=wealth[buy],
            ),
            TxBatch.build(
                wealth[sell & (sold > 0)],
                times[sell & (sold > 0)],
                sold[sell & (sold > 0)],
                credit=False,
                kind=KIND["investment"],
                channel=TX_CHANNEL["mobile"],
                leg=current[sell & (sold > 0)],
            ),
        ]
    )


@dataclass(frozen=True, slots=True)
class Maturities:
    """Term deposits that matured this month and whether each was paid out."""

    accounts: np.ndarray
    paid_out: np.ndarray
    at: np.ndarray


def maturities(
    rng: np.random.Generator, month: Month, accounts: Accounts, leaving: np.ndarray
) -> Maturities:
    """Term deposits maturing this month; leavers rarely roll over."""
    due = np.flatnonzero(
        (accounts.product == PRODUCT["term_deposit"])
        & (accounts.maturity >= month.start)
        & (accounts.maturity < month.end)
        & (accounts.closed_at < 0)
    )
    rollover = rng.random(len(due)) < np.where(leaving[accounts.customer[due]], 0.1, 0.6)
    return Maturities(due, ~rollover, accounts.maturity[due])


def _maturity_rows(matured: Maturities, accounts: Accounts) -> TxBatch:
    due = matured.accounts
    interest = np.floor(
        accounts.headroom[due] * accounts.rate[due] * accounts.term_months[due] / 12
    ).astype(np.int64)
    pay = matured.paid_out
    current = accounts.of_product[accounts.customer[due], PRODUCT["current"]]
    label = counterparties().fixed("定期存款到期")
    return TxBatch.concat(
        [
            TxBatch.build(
                due, matured.at, interest, credit=True, kind=KIND["interest"], channel=BATCH
            ),
            TxBatch.build(
                due[pay],
                matured.at[pay] + 1,
                accounts.headroom[due[pay]] + interest[pay],
                credit=False,
                kind=KIND["deposit_maturity"],
                channel=BATCH,
                counterparty=label,
                bank=0,
                leg=current[pay],
            ),
        ]
    )


def _payroll_and_openings(
    rng: np.random.Generator, month: Month, people: Population, accounts: Accounts
) -> TxBatch:
    payer = np.flatnonzero(people.corporate & month.alive & (month.engagement > 0.3))
    current = accounts.of_product[:, PRODUCT["current"]]
    payroll = TxBatch.build(
        current[payer],
        np.full(len(payer), _day(month, 10, 10)),
        np.round(people.income[payer] * 0.3, -2),
        credit=False,
        kind=KIND["transfer_out"],
        channel=BATCH,
        counterparty=counterparties().fixed("代发工资"),
        bank=0,
    )
    new = np.flatnonzero((people.opened_at >= month.start) & (people.opened_at < month.end))
    opening = TxBatch.build(
        current[new],
        people.opened_at[new] + 600,
        np.round(people.income[new] * rng.uniform(0.5, 2, len(new)), -2),
        credit=True,
        kind=KIND["cash_deposit"],
        channel=TX_CHANNEL["branch"],
        city=people.city[new],
    )
    return TxBatch.concat([payroll, opening])


def scheduled_month(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    accounts: Accounts,
    matured: Maturities,
) -> TxBatch:
    """Account-driven movements of one month (fees, interest, repayments, maturities...)."""
    return TxBatch.concat(
        [
            _fees(rng, month, people, accounts),
            _interest(month, accounts),
            _loans(month, people, accounts),
            _card_repayments(rng, month, accounts),
            _investments(rng, month, people, accounts),
            _maturity_rows(matured, accounts),
            _payroll_and_openings(rng, month, people, accounts),
        ]
    )
