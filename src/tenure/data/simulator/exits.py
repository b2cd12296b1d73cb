"""The money side of leaving: balances drained to other banks before and at the exit."""

from __future__ import annotations

import numpy as np

from tenure.data.simulator.behaviour import competitor_bank, origin
from tenure.data.simulator.churn import ChurnState
from tenure.data.simulator.inserts import BalanceShare
from tenure.data.simulator.ledger import Posting
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.products import PRODUCT, Accounts
from tenure.data.simulator.streams import KIND, TX_CHANNEL, TxBatch
from tenure.data.simulator.vocabulary import counterparties

__all__ = ["card_settlements", "closing_drains", "partial_flights"]

UNCAPPED = 10**15
HOUR = 3_600


def _lead(available: np.ndarray, wanted: int) -> np.ndarray:
    """How long before the exit a step happens: ``wanted`` seconds, squeezed into the month."""
    return np.asarray(np.minimum(wanted, available * wanted // (5 * HOUR)))


def _to_other_bank(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    account: np.ndarray,
    owner: np.ndarray,
    times: np.ndarray,
) -> TxBatch:
    channel = np.full(len(owner), TX_CHANNEL["mobile"])
    own_name = len(counterparties().names) + owner
    return TxBatch.build(
        account,
        times,
        np.full(len(owner), UNCAPPED),
        credit=False,
        kind=KIND["transfer_out"],
        channel=channel,
        counterparty=own_name,
        bank=competitor_bank(rng, len(owner)),
        **origin(rng, month, people, owner, times, channel),
    )


def partial_flights(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    accounts: Accounts,
    churn: ChurnState,
) -> BalanceShare:
    """Leavers move part of their balances to another bank during the exit period."""
    closing = churn.closer & (churn.exit_at < month.end)
    leaving = (
        churn.leaving()
        & ~closing
        & (churn.exit_at > month.start)
        & (churn.decided_at < month.end - HOUR)
    )
    shares = []
    for product, chance in ((PRODUCT["current"], 0.6), (PRODUCT["savings"], 0.45)):
        account = accounts.of_product[:, product]
        who = np.flatnonzero(leaving & (account >= 0) & (rng.random(people.size) < chance))
        low = np.maximum(churn.decided_at[who], month.start)
        high = np.minimum(
            np.minimum(churn.exit_at[who], month.until[who]) - 4 * HOUR, month.end - 1
        )
        keep = high > low
        who, low, high = who[keep], low[keep], high[keep]
        times = low + (rng.random(len(who)) * (high - low)).astype(np.int64)
        batch = _to_other_bank(rng, month, people, account[who], who, times)
        shares.append(BalanceShare(batch, rng.uniform(0.3, 0.85, len(who))))
    return BalanceShare.concat(shares)


def closing_drains(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    accounts: Accounts,
    churn: ChurnState,
) -> BalanceShare:
    """Closers empty every deposit account in the hours before the exit."""
    closing = churn.closer & (churn.exit_at >= month.start) & (churn.exit_at < month.end)
    batches = []
    plan = (
        (PRODUCT["term_deposit"], 3, KIND["deposit_maturity"]),
        (PRODUCT["wealth"], 3, KIND["investment"]),
        (PRODUCT["savings"], 2, KIND["transfer_out"]),
        (PRODUCT["current"], 1, KIND["transfer_out"]),
    )
    for product, hours, kind in plan:
        account = accounts.of_product[:, product]
        who = np.flatnonzero(closing & (account >= 0))
        times = churn.exit_at[who] - _lead(churn.exit_at[who] - month.start, hours * HOUR)
        batch = _to_other_bank(rng, month, people, account[who], who, times)
        if kind != KIND["transfer_out"]:
            batch.kind[:] = kind
            batch.channel[:] = TX_CHANNEL["branch"]
        batches.append(batch)
    batch = TxBatch.concat(batches)
    return BalanceShare(batch, np.ones(len(batch)))


def card_settlements(
    month: Month, accounts: Accounts, churn: ChurnState, posting: Posting
) -> TxBatch:
    """Closers pay off their card just before the exit."""
    closing = churn.closer & (churn.exit_at >= month.start) & (churn.exit_at < month.end)
    card = accounts.of_product[:, PRODUCT["card"]]
    who = np.flatnonzero(closing & (card >= 0))
    times = churn.exit_at[who] - _lead(churn.exit_at[who] - month.start, 90 * 60)
    owed = accounts.limit[card[who]] - posting.headroom_at(card[who], times)
    keep = owed > 0
    return TxBatch.build(
        card[who][keep],
        times[keep],
        owed[keep],
        credit=True,
        kind=KIND["transfer_in"],
        channel=TX_CHANNEL["branch"],
        counterparty=counterparties().fixed("本人账户"),
        bank=0,
    )
