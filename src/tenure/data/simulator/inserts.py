"""Movements whose size depends on the balance at that moment (drains, takeovers, mule sends)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.data.simulator.ledger import Posting
from tenure.data.simulator.streams import TxBatch

__all__ = ["BalanceShare", "resolve_shares"]

MINIMUM_MINOR = 100


@dataclass(frozen=True, slots=True)
class BalanceShare:
    """Debits of ``fraction`` of the headroom at their moment, at most ``batch.amount`` each."""

    batch: TxBatch
    fraction: np.ndarray

    @staticmethod
    def concat(shares: list[BalanceShare]) -> BalanceShare:
        """All requests in order."""
        return BalanceShare(
            TxBatch.concat([s.batch for s in shares]), np.concatenate([s.fraction for s in shares])
        )


def resolve_shares(shares: BalanceShare, posting: Posting) -> TxBatch:
    """Size each request from the posted headroom; drop those that would move almost nothing."""
    batch = shares.batch
    headroom = posting.headroom_at(batch.account, batch.time)
    amount = np.minimum(batch.amount, np.floor(shares.fraction * np.maximum(headroom, 0)))
    sized = batch.take(amount >= MINIMUM_MINOR)
    sized.amount = amount[amount >= MINIMUM_MINOR].astype(np.int64)
    return sized
