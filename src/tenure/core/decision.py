"""The expected-cost choice between protective actions (ARCHITECTURE.md, value-aware protection).

For an event with fraud probability ``p`` and ``amount`` at stake, every allowed action costs::

    cost(action) = p * amount * miss(action)                 # fraud that still gets through
                 + (1 - p) * friction(action, customer)      # what it does to a good customer
                 + handling(action)                          # review time, SMS, call
    friction     = direct(action) + delta_churn(action, customer) * clv(customer)

and the cheapest action wins; ties go to the action with less friction. ``delta_churn`` grows with
the customer's current churn risk (a customer already half out of the door is pushed further by a
needless one-time password than a contented one)::

    delta_churn = churn_uplift(action) * (1 + churn_sensitivity * p_churn)

All amounts are integer minor units in, float minor units out (expected values are fractional).

>>> params = CostParameters.default()
>>> low = choose_action(p=0.001, amount_minor=50_000, customer=CustomerValue(2_000_000, 0.05),
...                     params=params)
>>> low.action
<Outcome.ALLOW: 'allow'>
>>> high = choose_action(p=0.6, amount_minor=5_000_000, customer=CustomerValue(2_000_000, 0.05),
...                      params=params)
>>> high.action > Outcome.ALLOW
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome

__all__ = [
    "ActionCost",
    "Choice",
    "CostParameters",
    "CustomerValue",
    "action_cost",
    "choose_action",
]


@dataclass(frozen=True, slots=True)
class CustomerValue:
    """What retention knows of a customer: 12-month value (minor units) and P(churn)."""

    clv_minor: int
    p_churn: float
    known: bool = True


@dataclass(frozen=True, slots=True)
class CostParameters:
    """Every number of the cost model; a bank sets its own in configuration."""

    miss: Mapping[Outcome, float]
    direct_minor: Mapping[Outcome, float]
    churn_uplift: Mapping[Outcome, float]
    handling_minor: Mapping[Outcome, float]
    churn_sensitivity: float = 1.0
    default_customer: CustomerValue = field(default=CustomerValue(300_000, 0.1, known=False))

    def __post_init__(self) -> None:
        for name in ("miss", "direct_minor", "churn_uplift", "handling_minor"):
            table: Mapping[Outcome, float] = getattr(self, name)
            missing = [o.value for o in Outcome if o not in table]
            if missing:
                raise ValidationError(f"{name} has no value for {', '.join(missing)}", field=name)
            if any(v < 0 for v in table.values()):
                raise ValidationError(f"{name} values must not be negative", field=name)
        if any(v > 1 for v in self.miss.values()):
            raise ValidationError("miss rates must lie in [0, 1]", field="miss")
        if self.churn_sensitivity < 0:
            raise ValidationError("must not be negative", field="churn_sensitivity")

    @classmethod
    def default(cls) -> CostParameters:
        """Defaults: the fraud that gets past each action, its cost to a good customer and to us.

        ``churn_uplift`` is the rise in P(churn) after one friction incident; 0.009 is the monthly
        hazard one incident adds in the simulator, which a bank would replace by its own estimate.
        """

        def column(i: int) -> dict[Outcome, float]:
            return {outcome: row[i] for outcome, row in _DEFAULTS.items()}

        return cls(
            miss=column(0), direct_minor=column(1), churn_uplift=column(2), handling_minor=column(3)
        )


# outcome: (miss rate, direct friction, churn uplift, handling); money in minor units (fen)
_DEFAULTS: dict[Outcome, tuple[float, float, float, float]] = {
    Outcome.ALLOW: (1.0, 0.0, 0.0, 0.0),
    Outcome.STEP_UP: (0.12, 50.0, 0.009, 10.0),
    Outcome.CONFIRM: (0.3, 100.0, 0.009, 30.0),
    Outcome.DUAL_APPROVAL: (0.05, 200.0, 0.002, 0.0),
    Outcome.HOLD: (0.03, 1_500.0, 0.02, 2_500.0),
    Outcome.DECLINE: (0.0, 3_000.0, 0.03, 200.0),
}


@dataclass(frozen=True, slots=True)
class ActionCost:
    """One action's expected cost and its three parts (float minor units)."""

    action: Outcome
    fraud_minor: float
    friction_minor: float
    handling_minor: float

    @property
    def total_minor(self) -> float:
        """The sum of the three parts."""
        return self.fraud_minor + self.friction_minor + self.handling_minor


@dataclass(frozen=True, slots=True)
class Choice:
    """The cheapest action and the cost of every action considered, cheapest first."""

    action: Outcome
    costs: tuple[ActionCost, ...]


def action_cost(
    action: Outcome, *, p: float, amount_minor: int, customer: CustomerValue, params: CostParameters
) -> ActionCost:
    """The expected cost of taking ``action``."""
    uplift = params.churn_uplift[action] * (1.0 + params.churn_sensitivity * customer.p_churn)
    friction = params.direct_minor[action] + min(uplift, 1.0) * max(customer.clv_minor, 0)
    return ActionCost(
        action=action,
        fraud_minor=p * max(amount_minor, 0) * params.miss[action],
        friction_minor=(1.0 - p) * friction,
        handling_minor=params.handling_minor[action],
    )


def choose_action(
    *,
    p: float,
    amount_minor: int,
    customer: CustomerValue,
    params: CostParameters,
    allowed: Iterable[Outcome] = (Outcome.ALLOW, Outcome.STEP_UP, Outcome.HOLD, Outcome.DECLINE),
    at_least: Outcome = Outcome.ALLOW,
) -> Choice:
    """The cheapest of ``allowed`` actions no weaker than ``at_least`` (a hard rule's floor)."""
    if not 0.0 <= p <= 1.0:
        raise ValidationError("fraud probability must lie in [0, 1]", field="p")
    candidates = sorted({a for a in allowed if a >= at_least} or {at_least})
    costs = [
        action_cost(a, p=p, amount_minor=amount_minor, customer=customer, params=params)
        for a in candidates
    ]
    ranked = sorted(costs, key=lambda c: (c.total_minor, c.action.rank))
    return Choice(action=ranked[0].action, costs=tuple(ranked))
