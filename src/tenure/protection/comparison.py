"""``tenure protection policy-compare``: expected cost against the best fixed threshold, on truth.

Both policies see the same events with the same fraud probabilities (one model trained on the
months before the comparison window) and are charged by the same ledger, which knows what the
simulator knows:

- **fraud loss**: a fraudulent money event loses its amount times the action's miss rate; a
  fraudulent login, new payee or profile change loses the configured exposure times the miss rate;
- **friction**: every good customer stopped by anything but ``allow`` costs the action's direct
  cost, plus the churn it causes: the simulator raises a customer's monthly churn hazard by
  ``WEIGHT_FRICTION`` for each friction incident, so the ledger charges that probability times the
  customer's 12-month value (the expected value lost);
- **handling**: the action's handling cost, for every event.

The fixed-threshold policy is given every advantage: its two thresholds (step up, decline) are
searched on the comparison window itself and the cheapest pair is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tenure.core.decision import CostParameters, CustomerValue
from tenure.core.outcome import Outcome
from tenure.protection.events import MONEY_KINDS, EventKind
from tenure.protection.policy import (
    DEFAULT_EXPOSURE_MINOR,
    ExpectedCostPolicy,
    FixedThresholdPolicy,
    Policy,
)

__all__ = [
    "Ledger",
    "PolicyResult",
    "best_threshold",
    "charge",
    "codes_of",
    "decide_all",
    "expected_cost_result",
]


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the truth charges: the cost parameters and the true churn effect of friction."""

    params: CostParameters
    churn_per_incident: float
    exposure_minor: Mapping[EventKind, int] = field(default_factory=lambda: DEFAULT_EXPOSURE_MINOR)


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """Totals of one policy over the comparison window (money in minor units)."""

    name: str
    fraud_loss_minor: float
    friction_minor: float
    churn_caused_customers: float
    churn_caused_minor: float
    handling_minor: float
    good_disturbed: int
    fraud_stopped: int
    outcomes: dict[str, int]

    @property
    def total_minor(self) -> float:
        """Fraud loss + friction (direct and churn caused) + handling."""
        return (
            self.fraud_loss_minor + self.friction_minor + self.churn_caused_minor
            + self.handling_minor
        )  # fmt: skip


def _stakes(events: pd.DataFrame, exposure: Mapping[EventKind, int]) -> np.ndarray:
    amounts = events["amount_minor"].to_numpy(dtype=np.float64)
    kinds = events["kind"].to_numpy()
    fixed = np.array([float(exposure.get(EventKind(k), 0)) for k in kinds])
    money = np.isin(kinds, [k.value for k in MONEY_KINDS])
    return np.where(money, amounts, fixed)


def _table(values: Mapping[Outcome, float]) -> np.ndarray:
    return np.array([values[o] for o in Outcome], dtype=np.float64)


def codes_of(actions: Sequence[Outcome]) -> np.ndarray:
    """Actions as their friction ranks (0 = allow), the form :func:`charge` takes."""
    return np.array([a.rank for a in actions], dtype=np.int64)


def charge(
    name: str,
    codes: np.ndarray,
    events: pd.DataFrame,
    values_minor: np.ndarray,
    ledger: Ledger,
) -> PolicyResult:
    """The truth's bill for taking the actions ``codes`` (ranks, one per row of ``events``)."""
    p = ledger.params
    fraud = events["is_fraud"].to_numpy(dtype=bool)
    stopped = codes > 0
    disturbed = stopped & ~fraud
    churn = np.where(disturbed, ledger.churn_per_incident, 0.0)
    stakes = _stakes(events, ledger.exposure_minor)
    names = [o.value for o in Outcome]
    counts = np.bincount(codes, minlength=len(names))
    return PolicyResult(
        name=name,
        fraud_loss_minor=float(np.sum(np.where(fraud, stakes * _table(p.miss)[codes], 0.0))),
        friction_minor=float(np.sum(np.where(disturbed, _table(p.direct_minor)[codes], 0.0))),
        churn_caused_customers=float(churn.sum()),
        churn_caused_minor=float(np.sum(churn * values_minor)),
        handling_minor=float(_table(p.handling_minor)[codes].sum()),
        good_disturbed=int(disturbed.sum()),
        fraud_stopped=int((stopped & fraud).sum()),
        outcomes={names[i]: int(c) for i, c in enumerate(counts) if c},
    )


def decide_all(
    policy: Policy, events: pd.DataFrame, p: np.ndarray, customers: Sequence[CustomerValue]
) -> list[Outcome]:
    """The policy's action for every event, through the same ``choose`` the engine calls."""
    kinds = [EventKind(k) for k in events["kind"]]
    amounts = events["amount_minor"].to_numpy(dtype=np.int64)
    return [
        policy.choose(kind=kind, p=float(risk), amount_minor=int(amount), customer=customer,
                      at_least=Outcome.ALLOW).action
        for kind, risk, amount, customer in zip(kinds, p, amounts, customers, strict=True)
    ]  # fmt: skip


def _grid(p: np.ndarray) -> np.ndarray:
    quantiles = np.quantile(p, [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999])
    fixed = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99])
    return np.unique(np.clip(np.concatenate([quantiles, fixed, [1.0]]), 0.0, 1.0))


def best_threshold(
    events: pd.DataFrame, p: np.ndarray, values_minor: np.ndarray, ledger: Ledger
) -> tuple[FixedThresholdPolicy, PolicyResult]:
    """The (step-up, decline) pair with the lowest true total on these very events."""
    grid = _grid(p)
    best: tuple[float, FixedThresholdPolicy, PolicyResult] | None = None
    for low in grid:
        for high in grid[grid >= low]:
            policy = FixedThresholdPolicy(
                step_up_at=float(low),
                decline_at=float(high),
                params=ledger.params,
                exposure_minor=ledger.exposure_minor,
            )
            codes = np.where(
                p >= high,
                Outcome.DECLINE.rank,
                np.where(p >= low, Outcome.STEP_UP.rank, Outcome.ALLOW.rank),
            )
            result = charge(policy.name, codes, events, values_minor, ledger)
            if best is None or result.total_minor < best[0]:
                best = (result.total_minor, policy, result)
    if best is None:
        raise ValueError("no threshold to try")
    return best[1], best[2]


def expected_cost_result(
    events: pd.DataFrame,
    p: np.ndarray,
    customers: Sequence[CustomerValue],
    values_minor: np.ndarray,
    ledger: Ledger,
    params: CostParameters | None = None,
    weighed: pd.DataFrame | None = None,
) -> PolicyResult:
    """The expected-cost policy's bill on the same events.

    ``weighed`` is the events as the policy sees them (amounts at stake, see
    ``EventScorer.at_stake``), when they differ from what the ledger charges.
    """
    policy = ExpectedCostPolicy(
        params=params or ledger.params, exposure_minor=ledger.exposure_minor
    )
    actions = decide_all(policy, events if weighed is None else weighed, p, customers)
    return charge(policy.name, codes_of(actions), events, values_minor, ledger)
