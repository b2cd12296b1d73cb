"""How a probability of fraud becomes an action: by expected cost, or by fixed thresholds.

Both policies answer the same question with the same inputs, so the engine, the replay and
``tenure protection policy-compare`` can swap one for the other. The expected-cost policy is the
one ARCHITECTURE.md describes; the fixed-threshold policy is what most banks run today and the
yardstick it is measured against.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from tenure.core.decision import (
    ActionCost,
    Choice,
    CostParameters,
    CustomerValue,
    action_cost,
    choose_action,
)
from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.events import EventKind

__all__ = [
    "ALLOWED_ACTIONS",
    "DEFAULT_EXPOSURE_MINOR",
    "ON_REQUEST_ACTIONS",
    "ExpectedCostPolicy",
    "FixedThresholdPolicy",
    "Policy",
]

# Which answers make sense for each kind of event (a login cannot be held for review).
ALLOWED_ACTIONS: Mapping[EventKind, tuple[Outcome, ...]] = {
    EventKind.LOGIN: (Outcome.ALLOW, Outcome.STEP_UP, Outcome.DECLINE),
    EventKind.TRANSFER: (
        Outcome.ALLOW,
        Outcome.STEP_UP,
        Outcome.CONFIRM,
        Outcome.HOLD,
        Outcome.DECLINE,
    ),
    EventKind.CARD_PAYMENT: (Outcome.ALLOW, Outcome.STEP_UP, Outcome.DECLINE),
    EventKind.PAYEE_ADD: (Outcome.ALLOW, Outcome.STEP_UP, Outcome.HOLD, Outcome.DECLINE),
    EventKind.PROFILE_CHANGE: (Outcome.ALLOW, Outcome.STEP_UP, Outcome.HOLD, Outcome.DECLINE),
}

# Answers a policy never picks by itself, only when a hard rule's floor is exactly that answer:
# only a corporate customer has the approvers a dual approval waits for, so its mandate offers it
# (a rule asking for dual_approval gets a stronger allowed answer: a hold or a decline).
ON_REQUEST_ACTIONS: Mapping[EventKind, frozenset[Outcome]] = {
    EventKind.TRANSFER: frozenset({Outcome.DUAL_APPROVAL}),
}

# What a fraudster can take after an event that moves no money itself (a login, a new payee).
DEFAULT_EXPOSURE_MINOR: Mapping[EventKind, int] = {
    EventKind.LOGIN: 200_000,
    EventKind.PAYEE_ADD: 500_000,
    EventKind.PROFILE_CHANGE: 500_000,
}


class Policy(Protocol):
    """Chooses an action for one event."""

    @property
    def name(self) -> str:
        """A short name for logs and reports."""
        ...

    def choose(
        self,
        *,
        kind: EventKind,
        p: float,
        amount_minor: int,
        customer: CustomerValue,
        at_least: Outcome,
        offered: Collection[Outcome] = (),
    ) -> Choice:
        """An action no weaker than ``at_least``; ``offered`` are the hard rules' floors, which
        may make an answer of ``ON_REQUEST_ACTIONS`` possible for this event."""
        ...


def _at_stake(kind: EventKind, amount_minor: int, exposure: Mapping[EventKind, int]) -> int:
    return amount_minor if amount_minor > 0 else exposure.get(kind, 0)


@dataclass(frozen=True, slots=True)
class ExpectedCostPolicy:
    """The cheapest action by expected cost (fraud + friction to this customer + handling)."""

    params: CostParameters = field(default_factory=CostParameters.default)
    exposure_minor: Mapping[EventKind, int] = field(default_factory=lambda: DEFAULT_EXPOSURE_MINOR)
    name: str = "expected_cost"

    def choose(
        self,
        *,
        kind: EventKind,
        p: float,
        amount_minor: int,
        customer: CustomerValue,
        at_least: Outcome,
        offered: Collection[Outcome] = (),
    ) -> Choice:
        """The cheapest allowed action no weaker than ``at_least`` (a hard rule's on-request
        floor, such as a mandate's dual approval of a transfer, counts as allowed)."""
        allowed = ALLOWED_ACTIONS[kind]
        if offered:
            on_request = ON_REQUEST_ACTIONS.get(kind, frozenset())
            allowed = (*allowed, *(action for action in offered if action in on_request))
        return choose_action(
            p=p,
            amount_minor=_at_stake(kind, amount_minor, self.exposure_minor),
            customer=customer,
            params=self.params,
            allowed=allowed,
            at_least=at_least,
        )


@dataclass(frozen=True, slots=True)
class FixedThresholdPolicy:
    """Step up at ``step_up_at`` or more, decline at ``decline_at`` or more; else allow.

    Costs are still worked out with ``params`` so that both policies report comparable figures.
    """

    step_up_at: float
    decline_at: float
    params: CostParameters = field(default_factory=CostParameters.default)
    exposure_minor: Mapping[EventKind, int] = field(default_factory=lambda: DEFAULT_EXPOSURE_MINOR)
    name: str = "fixed_threshold"

    def __post_init__(self) -> None:
        if not 0.0 <= self.step_up_at <= self.decline_at <= 1.0:
            raise ValidationError(
                "thresholds must satisfy 0 <= step_up_at <= decline_at <= 1", field="step_up_at"
            )

    def choose(
        self,
        *,
        kind: EventKind,
        p: float,
        amount_minor: int,
        customer: CustomerValue,
        at_least: Outcome,
        offered: Collection[Outcome] = (),
    ) -> Choice:
        """The threshold's action, raised to ``at_least`` when a hard rule demands more."""
        wanted = Outcome.ALLOW
        if p >= self.decline_at:
            wanted = Outcome.DECLINE
        elif p >= self.step_up_at:
            wanted = Outcome.STEP_UP
        action = max(wanted, at_least)
        stake = _at_stake(kind, amount_minor, self.exposure_minor)
        costs = _costs((action,), p=p, stake=stake, customer=customer, params=self.params)
        return Choice(action=action, costs=costs)


def _costs(
    actions: Iterable[Outcome],
    *,
    p: float,
    stake: int,
    customer: CustomerValue,
    params: CostParameters,
) -> tuple[ActionCost, ...]:
    return tuple(
        action_cost(a, p=p, amount_minor=stake, customer=customer, params=params) for a in actions
    )
