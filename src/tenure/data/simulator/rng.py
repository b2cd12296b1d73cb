"""Independent random streams per chunk and purpose, so results never depend on timing."""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "global_stream", "stream"]

STREAMS: dict[str, int] = {
    "population": 1,
    "identity": 2,
    "accounts": 3,
    "payees": 4,
    "consents": 5,
    "campaigns": 6,
    "labels": 7,
    "tables": 8,
    "truth": 9,
}
MONTHLY_BASE = 1_000
MONTHLY_STRIDE = 100
MONTHLY_STREAMS: dict[str, int] = {
    "churn": 1,
    "behaviour": 2,
    "fraud": 3,
    "digital": 4,
    "service": 5,
    "campaigns": 6,
    "unusual": 7,
    "inserts": 8,
    "profile": 9,
    "surveys": 10,
}


def stream(seed: int, chunk: int, name: str, month: int | None = None) -> np.random.Generator:
    """The generator for one purpose of one chunk (and month); never shared across chunks."""
    if month is None:
        return np.random.default_rng([seed, chunk, STREAMS[name]])
    key = MONTHLY_BASE + month * MONTHLY_STRIDE + MONTHLY_STREAMS[name]
    return np.random.default_rng([seed, chunk, key])


GLOBAL_CHUNK = 999_999_999


def global_stream(seed: int, name: str) -> np.random.Generator:
    """The generator for run-wide items (campaigns, offers) that belong to no chunk."""
    return np.random.default_rng([seed, GLOBAL_CHUNK, STREAMS[name]])
