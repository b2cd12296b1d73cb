"""Transactions and events as columns of small codes, plus the random timing they share."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tenure.data.simulator.vocabulary import codes

__all__ = ["KIND", "TX_CHANNEL", "TX_STATUS", "TxBatch", "local_day_times", "spread_counts"]

KIND = codes("transactions", "kind")
TX_CHANNEL = codes("transactions", "channel")
TX_STATUS = codes("transactions", "status")
FRAUD_TYPE = codes("fraud_labels", "fraud_type")
DAY = 86_400
BEIJING_OFFSET = 8 * 3_600
HOUR_WEIGHTS = np.array(
    [
        0.6,
        0.3,
        0.2,
        0.1,
        0.1,
        0.2,
        0.8,
        2.0,
        3.5,
        4.5,
        5.0,
        5.5,
        7.0,
        6.0,
        5.0,
        5.0,
        5.0,
        5.5,
        6.5,
        7.0,
        6.5,
        5.0,
        3.0,
        1.5,
    ]
)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()


@dataclass(slots=True)
class TxBatch:
    """Transactions as columns; ``account`` is chunk-local, codes index the declared enums."""

    account: np.ndarray
    time: np.ndarray
    amount: np.ndarray
    credit: np.ndarray
    kind: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    counterparty: np.ndarray
    bank: np.ndarray
    payee: np.ndarray
    device: np.ndarray
    ip: np.ndarray
    city: np.ndarray
    status: np.ndarray
    fraud: np.ndarray
    genuine: np.ndarray
    leg: np.ndarray

    @classmethod
    def build(
        cls,
        account: np.ndarray,
        time: np.ndarray | int,
        amount: np.ndarray | int,
        *,
        credit: bool | np.ndarray,
        kind: int | np.ndarray,
        channel: int | np.ndarray,
        **optional: np.ndarray | int | bool,
    ) -> TxBatch:
        """A batch with defaults (no category, counterparty, payee, device, place; posted)."""
        n = len(account)
        defaults: dict[str, np.ndarray | int | bool] = {
            "category": -1,
            "counterparty": -1,
            "bank": -1,
            "payee": -1,
            "device": -1,
            "ip": -1,
            "city": -1,
            "status": TX_STATUS["posted"],
            "fraud": -1,
            "genuine": False,
            "leg": -1,
        }
        defaults.update(optional)
        columns: dict[str, np.ndarray] = {}
        given: dict[str, np.ndarray | int | bool] = {
            "credit": credit,
            "kind": kind,
            "channel": channel,
            **defaults,
        }
        for name, value in given.items():
            dtype = np.bool_ if name in ("credit", "genuine") else np.int64
            columns[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        amounts = np.broadcast_to(np.asarray(amount, dtype=np.int64), (n,))
        return cls(
            account=np.asarray(account, dtype=np.int64),
            time=np.broadcast_to(np.asarray(time, dtype=np.int64), (n,)).copy(),
            amount=np.maximum(amounts, 1),
            **columns,
        )

    def __len__(self) -> int:
        return len(self.account)

    def take(self, index: np.ndarray) -> TxBatch:
        """The rows at ``index`` (an integer or boolean array)."""
        return TxBatch(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(batches: list[TxBatch]) -> TxBatch:
        """All rows of ``batches`` in order."""
        names = [f.name for f in fields(TxBatch)]
        return TxBatch(*(np.concatenate([getattr(b, name) for b in batches]) for name in names))


def local_day_times(
    rng: np.random.Generator, n: int, start: int, end: int, hours: np.ndarray = HOUR_P
) -> np.ndarray:
    """Random UTC moments in ``[start, end)`` whose Beijing hour of day follows ``hours``."""
    days = max((end - start) // DAY, 1)
    day = rng.integers(0, days, size=n)
    hour = rng.choice(24, size=n, p=hours)
    offset = day * DAY + hour * 3_600 + rng.integers(0, 3_600, size=n) - BEIJING_OFFSET
    moments = start + np.mod(offset, days * DAY)
    return np.asarray(np.minimum(moments, end - 1))


def spread_counts(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    """Owner index repeated by a Poisson count drawn from each owner's rate."""
    counts = rng.poisson(np.maximum(rates, 0.0))
    return np.repeat(np.arange(len(rates)), counts)
