"""Snoozes: silence one rule for one entity for a while (a known-good customer, a payroll payee).

A snooze drops the rule's hit; it never changes what the other rules say. Entities are written
``<kind>:<id>``, the kinds being the feature entities (``customer:C1``, ``payee:P9``).

The engine drops snoozed hits through :func:`apply_snoozes`, asking a :class:`SnoozeLookup`:
:class:`CachedSnoozes`, every live snooze held in memory and reloaded at most every ``ttl``
seconds, because a store read on every decision would cost more than the whole decision. After a
change through the API, ``refresh()`` makes it act at once in this process; other processes see it
at their next reload.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

from tenure.core.clock import Clock
from tenure.core.errors import NotFound, ValidationError
from tenure.core.rules import ENTITIES, Evaluation, combine, is_snake_name
from tenure.protection.reloading import DEFAULT_TTL_SECONDS, Reloading
from tenure.protection.rulesets.model import Snooze
from tenure.protection.rulesets.ports import SnoozeRepository

__all__ = [
    "MAX_SNOOZE",
    "CachedSnoozes",
    "LiveSnoozes",
    "SnoozeLookup",
    "apply_snoozes",
    "lift_snooze",
    "snooze_rule",
]

# A snooze is a targeted exception, not a way to switch a rule off: that needs a new version.
MAX_SNOOZE = timedelta(days=90)


class SnoozeLookup(Protocol):
    """Whether a rule is silenced for an entity (a ``SnoozeRepository`` or ``CachedSnoozes``)."""

    def is_snoozed(self, rule_id: str, entity: str, at: datetime) -> bool: ...


class LiveSnoozes(Protocol):
    """Where the cache loads from (a ``SnoozeRepository`` fits)."""

    def live_snoozes(self, at: datetime) -> list[Snooze]: ...


def _entity(entity: str) -> str:
    kind, sep, ident = entity.strip().partition(":")
    if not sep or kind not in ENTITIES or not ident.strip():
        expected = ", ".join(ENTITIES)
        raise ValidationError(f"entity is <kind>:<id> with kind one of {expected}", field="entity")
    return f"{kind}:{ident.strip()}"


def snooze_rule(
    repo: SnoozeRepository,
    *,
    rule_id: str,
    entity: str,
    until: datetime,
    reason: str,
    added_by: str,
    clock: Clock,
) -> Snooze:
    """Silence ``rule_id`` for ``entity`` until ``until`` (at most ``MAX_SNOOZE`` ahead)."""
    if not is_snake_name(rule_id):
        raise ValidationError("rule_id is a lower_snake rule id", field="rule_id")
    now = clock.now()
    if until.tzinfo is None or not now < until <= now + MAX_SNOOZE:
        raise ValidationError(
            f"until must be a timezone-aware time in the next {MAX_SNOOZE.days} days",
            field="until",
        )
    if not reason.strip() or not added_by.strip():
        raise ValidationError("a snooze needs a reason and who added it", field="reason")
    snooze = Snooze(
        rule_id=rule_id,
        entity=_entity(entity),
        until=until,
        reason=reason.strip(),
        added_by=added_by.strip(),
        added_at=now,
    )
    repo.add(snooze)
    return snooze


def lift_snooze(repo: SnoozeRepository, *, rule_id: str, entity: str) -> None:
    """End a snooze early; ``NotFound`` if there was none."""
    if not repo.remove(rule_id, entity.strip()):
        raise NotFound(f"rule {rule_id!r} is not snoozed for that entity")


def apply_snoozes(
    evaluation: Evaluation,
    snoozes: SnoozeLookup,
    *,
    entities: Collection[str],
    at: datetime,
) -> Evaluation:
    """``evaluation`` without the hits snoozed for any of ``entities``, score and outcome redone.

    The one place a snoozed evaluation is combined again; ``snoozes`` is asked once per hit and
    entity, and not at all when nothing hit.
    """
    if not evaluation.hits or not entities:
        return evaluation
    kept = [
        hit
        for hit in evaluation.hits
        if not any(snoozes.is_snoozed(hit.rule_id, entity, at) for entity in entities)
    ]
    return evaluation if len(kept) == len(evaluation.hits) else combine(kept)


class CachedSnoozes:
    """Every live snooze in memory, reloaded from ``source`` at most every ``ttl`` seconds."""

    def __init__(
        self, source: LiveSnoozes, *, clock: Clock, ttl: float = DEFAULT_TTL_SECONDS
    ) -> None:
        self._source = source
        self._until = Reloading(self._load, clock=clock, ttl=ttl)

    def _load(self, now: datetime) -> dict[tuple[str, str], datetime]:
        return {(s.rule_id, s.entity): s.until for s in self._source.live_snoozes(now)}

    def refresh(self) -> None:
        """Reload every live snooze now (after a snooze is added or lifted through the API)."""
        self._until.refresh()

    def is_snoozed(self, rule_id: str, entity: str, at: datetime) -> bool:
        """Whether ``rule_id`` is silenced for ``entity`` at ``at``, as of the last reload."""
        until = self._until.current().get((rule_id, entity))
        return until is not None and at < until
