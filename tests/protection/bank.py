"""Builders for the protection engine tests: hand-made events, a fixed-probability scorer, an
engine on in-memory parts, and a small simulated bank ingested into a DuckDB file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.core.clock import Clock, FixedClock
from tenure.core.decision import CustomerValue
from tenure.core.rules import NO_LISTS, ListLookup
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.protection.engine import Engine, HardRule, RuleBook
from tenure.protection.events import Event, EventKind
from tenure.protection.memory import InMemoryDecisionLog, MappingCustomerValues
from tenure.protection.rulesets.snoozes import SnoozeLookup
from tenure.protection.scorer import Contribution, ModelScore
from tenure.protection.signals import (
    Signals,
    compute_signals,
    observations_for,
    queries_for,
    window_needs,
)
from tenure.protection.state.memory import MemoryKeyedState
from tenure.protection.state.port import KeyedState

__all__ = [
    "KNOWN_CUSTOMER",
    "START",
    "FixedScorer",
    "SetLists",
    "build_bank",
    "customer_signals",
    "make_engine",
    "make_event",
    "observe",
]

START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in the bank's local time
KNOWN_CUSTOMER = CustomerValue(2_000_000, 0.05)

_DEFAULTS: Mapping[EventKind, Mapping[str, Any]] = {
    EventKind.LOGIN: {"channel": "mobile", "device_id": "D1", "ip": "10.0.0.1", "success": True},
    EventKind.TRANSFER: {
        "channel": "mobile",
        "device_id": "D1",
        "ip": "10.0.0.1",
        "account_id": "A1",
        "amount_minor": 250_000,
        "payee_id": "P1",
        "counterparty_bank": "ICBC",
    },
    EventKind.CARD_PAYMENT: {
        "channel": "pos",
        "account_id": "A1",
        "amount_minor": 12_000,
        "merchant_category": "5411",
    },
    EventKind.PAYEE_ADD: {"channel": "mobile", "device_id": "D1", "payee_id": "P1"},
    EventKind.PROFILE_CHANGE: {
        "channel": "web",
        "device_id": "D1",
        "ip": "10.0.0.1",
        "changed_field": "email",
    },
}


def make_event(
    kind: EventKind = EventKind.TRANSFER,
    *,
    event_id: str = "E1",
    customer_id: str = "C1",
    at: datetime = START,
    **fields: Any,
) -> Event:
    """An event of ``kind`` with plausible channel data; ``fields`` override any of it."""
    values = {**_DEFAULTS[kind], **fields}
    return Event(kind=kind, event_id=event_id, customer_id=customer_id, occurred_at=at, **values)


@dataclass
class FixedScorer:
    """A scorer that always answers ``probability`` and keeps the signals it was shown."""

    probability: float = 0.01
    version: str = "fixed-1"
    seen: list[Signals] = field(default_factory=list)

    def score(self, signals: Mapping[str, object]) -> ModelScore:
        self.seen.append(dict(signals))  # type: ignore[arg-type]
        reason = Contribution("event.amount_minor", 0.5, "a large amount")
        return ModelScore(self.probability, 1.5, (reason,))

    def at_stake(self, kind: str, amount_minor: int) -> int:
        return amount_minor


@dataclass(frozen=True)
class SetLists:
    """Block and allow lists held as (list name, value) pairs, valid at every moment."""

    entries: frozenset[tuple[str, str]] = frozenset()

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        return (list_name, value) in self.entries


def make_engine(
    *,
    scorer: FixedScorer | None = None,
    values: Mapping[str, CustomerValue] | None = None,
    rules: RuleBook | None = None,
    lists: ListLookup = NO_LISTS,
    hard_rules: Sequence[HardRule] = (),
    state: KeyedState | None = None,
    log: Any = None,
    snoozes: SnoozeLookup | None = None,
    clock: Clock | None = None,
) -> Engine:
    """An engine on in-memory state and log, with the clock standing at :data:`START` unless
    ``clock`` says otherwise."""
    return Engine(
        state=state if state is not None else MemoryKeyedState(idle_seconds=None),
        log=log if log is not None else InMemoryDecisionLog(),
        values=MappingCustomerValues({"C1": KNOWN_CUSTOMER} if values is None else values),
        scorer=scorer,  # type: ignore[arg-type]
        rules=rules if rules is not None else RuleBook(),
        lists=lists,
        hard_rules=hard_rules,
        snoozes=snoozes,
        clock=clock if clock is not None else FixedClock(START),
    )


def customer_signals(state: KeyedState, event: Event) -> Signals:
    """What the state says about ``event``'s entities now, without writing anything."""
    return compute_signals(event, state.read(queries_for(event), event.at))


def observe(state: KeyedState, event: Event, extra_fields: Sequence[str] = ()) -> Signals:
    """The signals of ``event`` from the state, then the event folded in (as the engine does)."""
    views = state.read(queries_for(event, window_needs(extra_fields)), event.at)
    signals = compute_signals(event, views, extra_fields)
    state.write(observations_for(event))
    return signals


def build_bank(root: Path, *, customers: int, months: int, seed: int) -> Path:
    """Synthesize a bank under ``root`` and ingest it into ``root/warehouse.duckdb``."""
    synthesize(SimulationConfig(customers=customers, months=months, seed=seed), root / "bank")
    path = root / "warehouse.duckdb"
    with DuckDBWarehouse.open(path) as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    return path
