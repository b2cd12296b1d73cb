"""Replaying warehouse history through the live state and signals, for training and evaluation.

:func:`replay_signals` walks every scoreable event oldest first through a fresh in-memory keyed
state, exactly as the engine does live (read, compute signals, write), and keeps one row of model
features per event with its label. Because it calls the engine's own ``queries_for``,
``compute_signals`` and ``observations_for``, the model is trained on the features it is served
(a test checks the two paths agree event by event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from tenure.protection.history import HistoryWarehouse, history_events
from tenure.protection.signals import (
    MODEL_FEATURES,
    compute_signals,
    model_vector,
    observations_for,
    queries_for,
)
from tenure.protection.state.memory import MemoryKeyedState

__all__ = ["ReplayFrame", "replay_signals"]

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ReplayFrame:
    """Model features (``MODEL_FEATURES`` columns) and, row for row, what each event was."""

    features: pd.DataFrame
    events: pd.DataFrame

    @property
    def labels(self) -> np.ndarray:
        """True for events labelled fraud."""
        return np.asarray(self.events["is_fraud"].to_numpy(dtype=bool), dtype=bool)


def replay_signals(
    warehouse: HistoryWarehouse,
    *,
    customer_sample: float | None = None,
    keep_from: datetime | None = None,
    progress: Progress | None = None,
) -> ReplayFrame:
    """Features of every event (those at or after ``keep_from`` kept), from the state before it."""
    state = MemoryKeyedState(idle_seconds=None)
    rows: list[np.ndarray] = []
    meta: list[tuple[object, ...]] = []
    events = history_events(warehouse, customer_sample=customer_sample)
    for seen, labelled in enumerate(events, start=1):
        event = labelled.event
        views = state.read(queries_for(event), event.at)
        if keep_from is None or event.occurred_at >= keep_from:
            rows.append(model_vector(compute_signals(event, views)))
            meta.append(
                (event.event_id, event.kind.value, event.customer_id, event.occurred_at,
                 event.amount_minor, labelled.is_fraud, labelled.fraud_type)
            )  # fmt: skip
        state.write(observations_for(event))
        if progress is not None and seen % 10_000 == 0:
            progress(10_000)
    matrix = np.vstack(rows) if rows else np.empty((0, len(MODEL_FEATURES)))
    columns = ["event_id", "kind", "customer_id", "occurred_at", "amount_minor", "is_fraud",
               "fraud_type"]  # fmt: skip
    return ReplayFrame(
        features=pd.DataFrame(matrix, columns=list(MODEL_FEATURES)),
        events=pd.DataFrame.from_records(meta, columns=columns),
    )
