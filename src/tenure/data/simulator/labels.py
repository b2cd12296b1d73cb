"""Churn labels under each definition, computed from the simulated data itself.

- ``closure``: the customer's relationship was closed in the window (``customers.closed_at``).
- ``dormancy_90d``: 90 days passed without a customer-initiated transaction (a posted
  ``transfer_out``, ``card_purchase``, ``cash_withdrawal``, ``cash_deposit``, ``bill_payment`` or
  ``investment`` on a channel other than ``batch``), counted from the later of the window start and
  the customer's opening; ``churned_at`` is the moment the 90 days ran out.
- ``balance_flight_80``: at a month end the customer's total deposit balance (current, savings, term
  deposit, wealth) is at most 20 % of the average of the three previous month ends (the window
  start counting as the first), with that average at least 1,000.00; ``churned_at`` is the last
  second of that month.
"""

from __future__ import annotations

import numpy as np

from tenure.data.simulator.streams import KIND, TX_CHANNEL, TX_STATUS, TxBatch

__all__ = ["INITIATED_KINDS", "balance_flight", "dormancy", "initiated"]

INITIATED_KINDS = (
    "transfer_out",
    "card_purchase",
    "cash_withdrawal",
    "cash_deposit",
    "bill_payment",
    "investment",
)
DORMANT_SECONDS = 90 * 86_400
FLIGHT_FLOOR = 100_000
FLIGHT_SHARE = 0.2


def initiated(tx: TxBatch) -> np.ndarray:
    """Whether each transaction was made by the customer (and posted)."""
    kinds = np.isin(tx.kind, [KIND[k] for k in INITIATED_KINDS])
    posted = (tx.channel != TX_CHANNEL["batch"]) & (tx.status == TX_STATUS["posted"])
    return np.asarray(kinds & posted)


def dormancy(
    owner: np.ndarray, times: np.ndarray, anchor: np.ndarray, window_end: int
) -> np.ndarray:
    """First moment each customer had gone 90 days without initiating anything (-1 if never)."""
    n = len(anchor)
    points = np.r_[anchor, times]
    who = np.r_[np.arange(n), owner]
    order = np.lexsort((points, who))
    points, who = points[order], who[order]
    following = np.r_[points[1:], window_end]
    following = np.where(np.r_[who[1:] != who[:-1], True], window_end, following)
    gap = following - points
    lapsed = gap >= DORMANT_SECONDS
    churned = np.full(n, -1, dtype=np.int64)
    hits = np.flatnonzero(lapsed)
    first = hits[np.r_[True, who[hits[1:]] != who[hits[:-1]]]] if len(hits) else hits
    churned[who[first]] = points[first] + DORMANT_SECONDS
    return np.where(churned <= window_end, churned, -1)


def balance_flight(deposits: np.ndarray, month_ends: np.ndarray) -> np.ndarray:
    """First month end where the deposit total fell >= 80 % below its 3-month average (-1 if never).

    ``deposits`` and ``month_ends`` have one entry per boundary: the window start, then each
    month end.
    """
    n, columns = deposits.shape
    churned = np.full(n, -1, dtype=np.int64)
    for column in range(3, columns):
        average = deposits[:, column - 3 : column].mean(axis=1)
        fell = (
            (average >= FLIGHT_FLOOR)
            & (deposits[:, column] <= FLIGHT_SHARE * average)
            & (churned < 0)
        )
        churned[fell] = month_ends[column] - 1
    return churned
