"""What evaluating a rule set yields, and what it needs to look values up in named lists.

The combined score treats rule scores as independent chances of fraud: ``1 - prod(1 - score)``,
so it never exceeds 1, and a further hit can only raise it.

>>> a = RuleHit("new_device", "first login from this device", 0.5, None)
>>> b = RuleHit("sanctioned_country", "payee in a sanctioned country", 0.5, Outcome.HOLD)
>>> both = combine([a, b])
>>> both.score, both.outcome, both.rule_ids
(0.75, <Outcome.HOLD: 'hold'>, ('new_device', 'sanctioned_country'))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tenure.core.outcome import Outcome

__all__ = ["NO_LISTS", "Evaluation", "ListLookup", "RuleHit", "combine"]


class ListLookup(Protocol):
    """Named block/allow lists, as of a moment (expired entries do not match)."""

    def contains(self, list_name: str, value: str, at: datetime) -> bool: ...


class _NoLists:
    """A lookup in which every list is empty, for rule sets (and tests) that use none."""

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        return False

    def __repr__(self) -> str:
        return "NO_LISTS"


NO_LISTS: ListLookup = _NoLists()


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired: its id, what it means, its score and the outcome it asks for at least."""

    rule_id: str
    description: str
    score: float
    outcome: Outcome | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The rules that fired, in rule order; their combined score; the strongest minimum outcome."""

    hits: tuple[RuleHit, ...]
    score: float
    outcome: Outcome

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The ids of the rules that fired, in rule order."""
        return tuple(hit.rule_id for hit in self.hits)


def combine(hits: Iterable[RuleHit]) -> Evaluation:
    """The evaluation made of ``hits`` (used after some are dropped, e.g. by a snooze)."""
    kept = tuple(hits)
    keep = 1.0
    top = Outcome.ALLOW
    for hit in kept:
        keep *= 1.0 - hit.score
        if hit.outcome is not None and hit.outcome > top:
            top = hit.outcome
    return Evaluation(kept, 1.0 - keep, top)
