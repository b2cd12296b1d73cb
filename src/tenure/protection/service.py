"""The protection service: builds the engine from its stores and keeps it current.

The API, the CLI and the benchmark all decide through :class:`ProtectionService`, which holds the
engine and knows where its parts come from: the active and shadow versions of one named rule set
(``default`` unless configured), the block lists, the live snoozes, the customers' stored limits
and the corporate customers' current mandates (each cached in memory and checked again every few
seconds, because a store lookup per event would cost more than the whole decision; so a change
made through one worker process acts in every other within seconds), the registered fraud
scorer, and retention's customer values. After a restart it folds the last 90 days of logged
events back into in-memory state with their outcomes, so no history is lost and the spending
customer limits count is as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from tenure.core.clock import Clock
from tenure.core.decision import CustomerValue
from tenure.core.outcome import Outcome
from tenure.core.rules import compile_ruleset
from tenure.protection.corporate.rule import CachedMandates
from tenure.protection.decision import Decision
from tenure.protection.engine import Engine, RuleBook
from tenure.protection.events import Event
from tenure.protection.limits.rule import CachedLimits
from tenure.protection.reloading import DEFAULT_TTL_SECONDS, Reloading
from tenure.protection.rulesets import RuleSetRepository, live_versions
from tenure.protection.rulesets.model import ListEntry, RuleSetVersion
from tenure.protection.rulesets.snoozes import CachedSnoozes

__all__ = [
    "DEFAULT_RULESET",
    "CachedLists",
    "CachedRuleBook",
    "EventSource",
    "ListSource",
    "ProtectionService",
    "load_customer_values",
]

DEFAULT_RULESET = "default"
# How much of the log a restart folds back into in-memory state: every window (30 d) and the
# idle expiry (45 d) twice over; first-seen devices and payees older than this read as new after
# a restart (Redis state keeps them).
REBUILD_WINDOW = timedelta(days=90)


class ListSource(Protocol):
    """Where list entries live (the SQL list repository fits)."""

    def entries(self, list_name: str, at: datetime) -> list[ListEntry]: ...


class EventSource(Protocol):
    """The decision log's events with their outcomes, oldest first (the SQL decision log fits)."""

    def decided_since(self, since: datetime) -> Iterator[tuple[Event, Outcome]]: ...


class CachedLists:
    """Named lists held in memory, reloaded from ``source`` at most every ``ttl`` seconds."""

    def __init__(
        self,
        source: ListSource,
        names: Iterable[str],
        *,
        clock: Clock,
        ttl: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._source = source
        self._names = tuple(dict.fromkeys(names))
        self._entries = Reloading(self._load, clock=clock, ttl=ttl)

    def _load(self, now: datetime) -> dict[str, dict[str, datetime | None]]:
        return {
            name: {e.value: e.expires_at for e in self._source.entries(name, now)}
            for name in self._names
        }

    def refresh(self) -> None:
        """Reload every list now (after an edit through the API)."""
        self._entries.refresh()

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        """Whether ``value`` is on ``list_name`` at ``at`` (expired entries do not match)."""
        if list_name not in self._names:  # a rule names a list first seen now
            self._names = (*self._names, list_name)
            self._entries.refresh()
        entries = self._entries.current().get(list_name)
        if not entries or value not in entries:
            return False
        expires = entries[value]
        return expires is None or at < expires


def _compiled(current: RuleSetVersion | None, shadows: Sequence[RuleSetVersion]) -> RuleBook:
    compiled = tuple((compile_ruleset(v.document), v.version) for v in shadows)
    if current is None:
        return RuleBook(shadows=compiled)
    return RuleBook(compile_ruleset(current.document), current.version, compiled)


class CachedRuleBook:
    """The compiled rule book of rule set ``name``, checked against the store at most every
    ``ttl`` seconds and recompiled only when its active or shadow versions changed.

    Versions never change content (a new content is a new version), so the version numbers say
    whether the compiled book is current. Each worker process keeps its own, so an activation
    made through one worker acts in every other within ``ttl`` seconds.
    """

    def __init__(
        self,
        repo: RuleSetRepository,
        name: str = DEFAULT_RULESET,
        *,
        clock: Clock,
        ttl: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._repo = repo
        self._name = name
        self._key: tuple[int | None, tuple[int, ...]] | None = None
        self._book = RuleBook()
        self._books = Reloading(self._load, clock=clock, ttl=ttl)

    def _load(self, now: datetime) -> RuleBook:
        current, shadows = live_versions(self._repo, self._name)
        key = (None if current is None else current.version, tuple(v.version for v in shadows))
        if key != self._key:
            self._book, self._key = _compiled(current, shadows), key
        return self._book

    def current(self) -> RuleBook:
        """The book as of at most ``ttl`` seconds ago."""
        return self._books.current()

    def refresh(self) -> RuleBook:
        """Check the store now (after a lifecycle change through this process)."""
        self._books.refresh()
        return self._books.current()


class ValueWarehouse(Protocol):
    """The warehouse call customer values need (``DuckDBWarehouse`` has it)."""

    def fetch_frame(self, sql: str, params: tuple[object, ...] = ()) -> pd.DataFrame: ...

    def fetch_all(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]: ...


def load_customer_values(warehouse: ValueWarehouse) -> dict[str, CustomerValue]:
    """12-month value and P(churn) of every customer in retention's latest scoring run."""
    tables = {str(r[0]).lower() for r in warehouse.fetch_all(
        "SELECT table_name FROM information_schema.tables"
    )}  # fmt: skip
    if "customer_retention" not in tables:
        return {}
    frame = warehouse.fetch_frame(
        "SELECT customer_id, value_12m_minor, p_churn FROM customer_retention "
        "WHERE as_of = (SELECT max(as_of) FROM customer_retention)"
    )
    return {
        str(c): CustomerValue(int(v) if pd.notna(v) else 0, float(p) if pd.notna(p) else 0.1)
        for c, v, p in zip(frame["customer_id"], frame["value_12m_minor"], frame["p_churn"],
                           strict=True)
    }  # fmt: skip


@dataclass(slots=True)
class ProtectionService:
    """The engine and the stores it is rebuilt from."""

    engine: Engine
    rulesets: RuleSetRepository
    lists: CachedLists
    snoozes: CachedSnoozes
    limits: CachedLimits
    mandates: CachedMandates
    rulebook: CachedRuleBook
    events: EventSource
    clock: Clock
    ruleset_name: str = DEFAULT_RULESET
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def decide(self, event: Event, *, idempotency_key: str | None = None) -> Decision:
        """Decide one event (see :meth:`Engine.decide`) under the current rule book."""
        self.engine.rules = self.rulebook.current()
        return self.engine.decide(event, idempotency_key=idempotency_key)

    def close(self) -> None:
        """Release what the engine holds open (the decision log's connection)."""
        close = getattr(self.engine.log, "close", None)
        if callable(close):
            close()

    def reload_rules(self) -> RuleBook:
        """Recompile the active and shadow rule sets after a lifecycle change."""
        with self._lock:
            book = self.engine.rules = self.rulebook.refresh()
        return book

    def rebuild_state(self) -> int:
        """Fold the last 90 days of logged events (and, by their outcomes, the spending limits
        count) back into the keyed state; returns how many."""
        since = self.clock.now() - REBUILD_WINDOW
        return self.engine.rebuild(self.events.decided_since(since))
