"""Replaying warehouse history through the live state and signals, for training and evaluation.

:func:`replay_signals` walks every scoreable event oldest first through a fresh in-memory keyed
state, exactly as the engine does live (read, compute signals, write), and keeps one row of model
features per event with its label. Because it calls the engine's own ``queries_for``,
``compute_signals`` and ``observations_for``, the model is trained on the features it is served
(a test checks the two paths agree event by event).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenure.protection.history import HistoryWarehouse, LabelledEvent, history_events
from tenure.protection.signals import (
    MODEL_FEATURES,
    Signals,
    compute_signals,
    model_vector,
    observations_for,
    queries_for,
    window_needs,
)
from tenure.protection.state.memory import MemoryKeyedState

__all__ = ["EVENT_COLUMNS", "ReplayFrame", "Visitor", "replay_events", "replay_signals"]

EVENT_COLUMNS = (
    "event_id", "kind", "customer_id", "occurred_at", "amount_minor", "is_fraud", "fraud_type",
)  # fmt: skip

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


Visitor = Callable[[LabelledEvent, Signals], None]


def replay_events(
    warehouse: HistoryWarehouse,
    visit: Visitor,
    *,
    customer_sample: float | None = None,
    extra_fields: Collection[str] = (),
    progress: Progress | None = None,
) -> None:
    """Walk history through fresh in-memory state, calling ``visit`` with each event's signals.

    ``extra_fields`` are window aggregates a rule set reads beyond the model's features.
    """
    state = MemoryKeyedState()  # the engine's own expiry, so training sees what serving sees
    needs = window_needs(extra_fields)
    events = history_events(warehouse, customer_sample=customer_sample)
    for seen, labelled in enumerate(events, start=1):
        event = labelled.event
        views = state.read(queries_for(event, needs), event.at)
        visit(labelled, compute_signals(event, views, extra_fields))
        state.write(observations_for(event))
        if progress is not None and seen % 10_000 == 0:
            progress(10_000)


def replay_signals(
    warehouse: HistoryWarehouse,
    *,
    customer_sample: float | None = None,
    progress: Progress | None = None,
) -> ReplayFrame:
    """Model features of every event, each from the state just before it, with its label."""
    rows: list[np.ndarray] = []
    meta: list[tuple[object, ...]] = []

    def keep(labelled: LabelledEvent, signals: Signals) -> None:
        event = labelled.event
        rows.append(model_vector(signals))
        meta.append(
            (event.event_id, event.kind.value, event.customer_id, event.occurred_at,
             event.amount_minor, labelled.is_fraud, labelled.fraud_type)
        )  # fmt: skip

    replay_events(warehouse, keep, customer_sample=customer_sample, progress=progress)
    matrix = np.vstack(rows) if rows else np.empty((0, len(MODEL_FEATURES)))
    return ReplayFrame(
        features=pd.DataFrame(matrix, columns=list(MODEL_FEATURES)),
        events=pd.DataFrame.from_records(meta, columns=list(EVENT_COLUMNS)),
    )
