"""Post a month of transactions per account in time order: decline what the money cannot cover.

Every account is tracked by its *headroom*: the balance for deposit accounts, the unused limit for
cards and loans. A debit lowers headroom, a credit raises it; a debit that would take headroom below
zero is declined. Declining the first such debit per account and re-running is exactly what posting
one by one would do; after a few rounds any remaining overdrafts are declined together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.data.simulator.streams import TX_STATUS, TxBatch

__all__ = ["Posting", "post"]

ROUNDS = 6
TIME_BITS = 33


@dataclass(frozen=True, slots=True)
class Posting:
    """Outcome of posting a batch: status and headroom after each row, headroom per account."""

    status: np.ndarray
    headroom_after: np.ndarray
    closing: np.ndarray
    sorted_keys: np.ndarray
    sorted_run: np.ndarray
    opening: np.ndarray

    def headroom_at(self, accounts: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Headroom of each account just after everything posted up to ``times`` (inclusive)."""
        keys = (accounts.astype(np.int64) << TIME_BITS) | times.astype(np.int64)
        at = np.searchsorted(self.sorted_keys, keys, side="right") - 1
        safe = np.maximum(at, 0)
        same = (at >= 0) & ((self.sorted_keys[safe] >> TIME_BITS) == accounts)
        return np.where(same, self.sorted_run[safe], self.opening[accounts])


def _running(
    acct: np.ndarray, delta: np.ndarray, first: np.ndarray, group: np.ndarray, opening: np.ndarray
) -> np.ndarray:
    total = np.cumsum(delta)
    base = (total - delta)[first][group]
    return np.asarray(opening[acct] + total - base)


def post(batch: TxBatch, opening: np.ndarray) -> Posting:
    """Post ``batch`` against ``opening`` headroom per account (``opening`` is not modified)."""
    n = len(batch)
    order = np.lexsort((np.arange(n), batch.time, batch.account))
    acct = batch.account[order]
    signed = np.where(batch.credit, batch.amount, -batch.amount)[order]
    active = (batch.status == TX_STATUS["posted"])[order]
    new_group = np.r_[True, acct[1:] != acct[:-1]] if n else np.zeros(0, dtype=bool)
    group = np.cumsum(new_group) - 1
    first = np.flatnonzero(new_group)
    run = opening[acct]
    for round_ in range(ROUNDS + 1):
        run = _running(acct, np.where(active, signed, 0), first, group, opening)
        bad = active & (signed < 0) & (run < 0)
        if not bad.any():
            break
        if round_ >= ROUNDS - 1:
            active &= ~bad
            continue
        hits = np.flatnonzero(bad)
        firsts = hits[np.r_[True, acct[hits[1:]] != acct[hits[:-1]]]]
        active[firsts] = False
    status = batch.status.copy()
    headroom_after = np.zeros(n, dtype=np.int64)
    declined_now = ~active & (batch.status[order] == TX_STATUS["posted"])
    status[order[declined_now]] = TX_STATUS["declined"]
    headroom_after[order] = run
    closing = opening.copy()
    if n:
        last = np.r_[first[1:] - 1, n - 1]
        closing[acct[last]] = run[last]
    keys = (acct << TIME_BITS) | batch.time[order]
    return Posting(status, headroom_after, closing, keys, run, opening)
