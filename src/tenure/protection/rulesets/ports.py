"""What rule set governance needs from a store; a SQL adapter implements these.

Rows are never deleted except list entries and snoozes that someone removes; a version, once
written, changes only through ``RuleSetRepository.replace`` with the status it is expected to
have, which is how two people acting on the same version at once are told apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tenure.protection.rulesets.model import ListEntry, RuleSetStatus, RuleSetVersion, Snooze

__all__ = ["ListRepository", "RuleSetRepository", "SnoozeRepository"]


class RuleSetRepository(Protocol):
    """Every version of every rule set, keyed by ``(name, version)``."""

    def add(self, version: RuleSetVersion) -> None:
        """Store a new version; ``Conflict`` if ``(name, version)`` exists."""
        ...

    def get(self, name: str, version: int) -> RuleSetVersion | None: ...

    def replace(self, version: RuleSetVersion, *, expected: RuleSetStatus) -> None:
        """Overwrite a stored version; ``NotFound`` if absent, ``Conflict`` if its status moved."""
        ...

    def versions(self, name: str) -> list[RuleSetVersion]:
        """Every version of ``name``, oldest first (empty if the name is unknown)."""
        ...

    def names(self) -> list[str]:
        """Every rule set name, sorted."""
        ...


class ListRepository(Protocol):
    """Named block/allow lists; also a ``tenure.core.rules.ListLookup``."""

    def add(self, entry: ListEntry) -> None:
        """Store ``entry``, replacing any entry with the same ``(list_name, value)``."""
        ...

    def remove(self, list_name: str, value: str) -> bool:
        """Drop an entry; whether there was one."""
        ...

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        """Whether ``value`` is on ``list_name`` at ``at`` (expired entries do not match)."""
        ...

    def entries(self, list_name: str, at: datetime) -> list[ListEntry]:
        """The entries of ``list_name`` not expired at ``at``, sorted by value."""
        ...


class SnoozeRepository(Protocol):
    """Per-entity snoozes of single rules, keyed by ``(rule_id, entity)``."""

    def add(self, snooze: Snooze) -> None:
        """Store ``snooze``, replacing any with the same ``(rule_id, entity)``."""
        ...

    def remove(self, rule_id: str, entity: str) -> bool:
        """Lift a snooze; whether there was one."""
        ...

    def is_snoozed(self, rule_id: str, entity: str, at: datetime) -> bool:
        """Whether ``rule_id`` is silenced for ``entity`` at ``at``."""
        ...

    def snoozes(self, entity: str, at: datetime) -> list[Snooze]:
        """The snoozes of ``entity`` still live at ``at``, sorted by rule id."""
        ...

    def live_snoozes(self, at: datetime) -> list[Snooze]:
        """Every snooze still live at ``at``, sorted by rule id, then entity (the engine's cache
        loads them all)."""
        ...
