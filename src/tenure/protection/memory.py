"""In-memory decision log and customer values: for tests, replays and the policy comparison."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import datetime

from tenure.core.decision import CustomerValue
from tenure.core.errors import Conflict
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision
from tenure.protection.events import Event

__all__ = ["InMemoryDecisionLog", "MappingCustomerValues"]


class InMemoryDecisionLog:
    """Decisions in a dict by idempotency key (a real log is durable; this one is not).

    ``keep=False`` (replays and benchmarks, millions of decisions) remembers only the keys, so a
    key is still refused twice, but no decision stays in memory and ``find`` knows none of them.
    """

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self._by_key: dict[str, Decision] = {}
        self._keys: set[str] = set()
        self._order: list[Decision] = []
        self._lock = threading.Lock()

    def append(self, decision: Decision) -> None:
        """Store ``decision``; ``Conflict`` if its key is stored already."""
        key = decision.idempotency_key
        with self._lock:
            if key in self._keys:
                raise Conflict("this idempotency key was decided already")
            self._keys.add(key)
            if self.keep:
                self._by_key[key] = decision
                self._order.append(decision)

    def find(self, idempotency_key: str) -> Decision | None:
        """The decision stored under ``idempotency_key``."""
        return self._by_key.get(idempotency_key)

    def decided_since(self, since: datetime) -> Iterator[tuple[Event, Outcome]]:
        """Logged events at or after ``since`` with their outcomes, by event time."""
        kept = [(d.event, d.outcome) for d in self._order if d.event.occurred_at >= since]
        yield from sorted(kept, key=lambda pair: pair[0].occurred_at)

    def decisions(self) -> list[Decision]:
        """Every kept decision, in the order they were made."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._keys)


class MappingCustomerValues:
    """Customer values from a mapping of customer id -> (12-month value, P(churn))."""

    def __init__(self, values: Mapping[str, CustomerValue]) -> None:
        self._values = values

    def get(self, customer_id: str) -> CustomerValue | None:
        """The customer's value and risk, or None if retention has not scored them."""
        return self._values.get(customer_id)
