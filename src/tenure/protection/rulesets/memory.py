"""In-memory repositories: the test doubles, and the store of a single-process demo."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tenure.core.errors import Conflict, NotFound
from tenure.protection.rulesets.model import ListEntry, RuleSetStatus, RuleSetVersion, Snooze

if TYPE_CHECKING:
    from tenure.core.rules import ListLookup
    from tenure.protection.rulesets.ports import ListRepository, RuleSetRepository, SnoozeRepository

__all__ = ["InMemoryListRepository", "InMemoryRuleSetRepository", "InMemorySnoozeRepository"]


class InMemoryRuleSetRepository:
    """Rule set versions in a dict."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, int], RuleSetVersion] = {}

    def add(self, version: RuleSetVersion) -> None:
        key = (version.name, version.version)
        if key in self._versions:
            raise Conflict(f"rule set {version.name!r} already has version {version.version}")
        self._versions[key] = version

    def get(self, name: str, version: int) -> RuleSetVersion | None:
        return self._versions.get((name, version))

    def replace(self, version: RuleSetVersion, *, expected: RuleSetStatus) -> None:
        key = (version.name, version.version)
        stored = self._versions.get(key)
        if stored is None:
            raise NotFound(f"rule set {version.name!r} has no version {version.version}")
        if stored.status is not expected:
            raise Conflict(
                f"rule set {version.name!r} version {version.version} is {stored.status}, "
                f"not {expected}"
            )
        self._versions[key] = version

    def versions(self, name: str) -> list[RuleSetVersion]:
        found = [v for (n, _), v in self._versions.items() if n == name]
        return sorted(found, key=lambda v: v.version)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._versions})


class InMemoryListRepository:
    """Block/allow lists in a dict of dicts; usable directly as a ``ListLookup``."""

    def __init__(self) -> None:
        self._lists: dict[str, dict[str, ListEntry]] = {}

    def add(self, entry: ListEntry) -> None:
        self._lists.setdefault(entry.list_name, {})[entry.value] = entry

    def remove(self, list_name: str, value: str) -> bool:
        return self._lists.get(list_name, {}).pop(value, None) is not None

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        entries = self._lists.get(list_name)
        if entries is None:
            return False
        entry = entries.get(value)
        return entry is not None and entry.live_at(at)

    def entries(self, list_name: str, at: datetime) -> list[ListEntry]:
        live = [e for e in self._lists.get(list_name, {}).values() if e.live_at(at)]
        return sorted(live, key=lambda e: e.value)


class InMemorySnoozeRepository:
    """Snoozes in a dict keyed by ``(rule_id, entity)``."""

    def __init__(self) -> None:
        self._snoozes: dict[tuple[str, str], Snooze] = {}

    def add(self, snooze: Snooze) -> None:
        self._snoozes[(snooze.rule_id, snooze.entity)] = snooze

    def remove(self, rule_id: str, entity: str) -> bool:
        return self._snoozes.pop((rule_id, entity), None) is not None

    def is_snoozed(self, rule_id: str, entity: str, at: datetime) -> bool:
        snooze = self._snoozes.get((rule_id, entity))
        return snooze is not None and snooze.live_at(at)

    def snoozes(self, entity: str, at: datetime) -> list[Snooze]:
        live = [s for s in self._snoozes.values() if s.entity == entity and s.live_at(at)]
        return sorted(live, key=lambda s: s.rule_id)

    def live_snoozes(self, at: datetime) -> list[Snooze]:
        live = [s for s in self._snoozes.values() if s.live_at(at)]
        return sorted(live, key=lambda s: (s.rule_id, s.entity))


if TYPE_CHECKING:
    # Checked by mypy, never run: each double keeps up with the Protocol it stands in for.
    _rulesets: RuleSetRepository = InMemoryRuleSetRepository()
    _lists: ListRepository = InMemoryListRepository()
    _lookup: ListLookup = InMemoryListRepository()
    _snoozes: SnoozeRepository = InMemorySnoozeRepository()
