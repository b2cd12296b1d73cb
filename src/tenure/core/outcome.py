"""Protective outcomes, ordered from least to most friction.

The order is the one rules, mandates and limits use to say "at least this": a minimum outcome of
``step_up`` lifts an ``allow`` to a ``step_up`` and leaves a ``hold`` alone. The names are also the
``action`` values of the ``protection_decisions`` table that retention reads friction from.

>>> Outcome.STEP_UP < Outcome.HOLD
True
>>> strongest([Outcome.ALLOW, Outcome.CONFIRM, Outcome.STEP_UP])
<Outcome.CONFIRM: 'confirm'>
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["MONEY_HELD", "Outcome", "strongest"]


class Outcome(StrEnum):
    """What the bank does with an event, least friction first."""

    ALLOW = "allow"
    STEP_UP = "step_up"
    CONFIRM = "confirm"
    DUAL_APPROVAL = "dual_approval"
    HOLD = "hold"
    DECLINE = "decline"

    @property
    def rank(self) -> int:
        """Position in the friction order (0 = allow)."""
        # a plain dict on the value: the engine compares outcomes on every decision
        return _RANKS[self._value_]

    # str's own comparisons would order outcomes alphabetically, so all four are replaced.
    def __lt__(self, other: object) -> bool:
        return self.rank < _rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank(other)

    # the hash of the value, as a plain str has it (equal outcomes and strings hash alike)
    __hash__ = str.__hash__


_ORDER: tuple[Outcome, ...] = tuple(Outcome)
_RANKS: dict[str, int] = {outcome.value: rank for rank, outcome in enumerate(_ORDER)}


def _rank(other: object) -> int:
    if not isinstance(other, Outcome):
        raise TypeError(f"cannot order an Outcome against {type(other).__name__}")
    return other.rank


# Outcomes that stop money moving until someone (the customer, an approver, an analyst) acts.
MONEY_HELD = frozenset({Outcome.STEP_UP, Outcome.CONFIRM, Outcome.DUAL_APPROVAL, Outcome.HOLD})


def strongest(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome with the most friction among ``outcomes`` (``allow`` if there are none)."""
    return max(outcomes, default=Outcome.ALLOW)
