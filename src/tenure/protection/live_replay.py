"""History through the live engine: warm the state on the past, then decide event by event.

Used by ``tenure protection replay``: the same :class:`~tenure.protection.engine.Engine` the API
runs, with in-memory state and log, decides every event from ``cut`` on, one at a time, with the
clock set to each event's time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from tenure.core.decision import CustomerValue
from tenure.protection.configuration import ProtectionConfig
from tenure.protection.engine import Engine
from tenure.protection.history import HistoryWarehouse, history_events
from tenure.protection.memory import InMemoryDecisionLog, MappingCustomerValues
from tenure.protection.scorer import EventScorer
from tenure.protection.signals import observations_for
from tenure.protection.state.memory import MemoryKeyedState

__all__ = ["EventClock", "run_live"]

DEFAULT_P_CHURN = 0.1


class EventClock:
    """A clock the replay moves to each event's time."""

    def __init__(self) -> None:
        self.moment = datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The time of the event being decided."""
        return self.moment


def run_live(
    warehouse: HistoryWarehouse,
    *,
    scorer: EventScorer,
    cut: datetime,
    values_minor: pd.Series,
    config: ProtectionConfig | None = None,
) -> pd.DataFrame:
    """Decisions on every event from ``cut`` on (earlier events only warm the state), by the
    expected-cost policy on ``config``'s costs and exposures (the built-in ones by default)."""
    config = config or ProtectionConfig()
    values = {str(c): CustomerValue(int(v), DEFAULT_P_CHURN) for c, v in values_minor.items()}
    clock = EventClock()
    state = MemoryKeyedState()  # the engine's own expiry, so training sees what serving sees
    engine = Engine(
        state=state,
        log=InMemoryDecisionLog(keep=False),
        values=MappingCustomerValues(values),
        scorer=scorer,
        policy=config.policy(),
        clock=clock,
        default_customer=config.costs.default_customer,
    )
    rows: list[tuple[object, ...]] = []
    for labelled in history_events(warehouse):
        event = labelled.event
        if event.occurred_at < cut:
            state.write(observations_for(event))
            continue
        clock.moment = event.occurred_at
        decision = engine.decide(event)
        rows.append(
            (event.event_id, event.kind.value, event.customer_id, event.amount_minor,
             labelled.is_fraud, decision.risk, decision.outcome)
        )  # fmt: skip
    columns = ["event_id", "kind", "customer_id", "amount_minor", "is_fraud", "risk", "outcome"]
    return pd.DataFrame.from_records(rows, columns=columns)
