"""Why and when customers leave: a hidden monthly hazard, the decision, the slow exit.

Each month a customer who has not decided yet leaves with probability
``1 - exp(-(baseline + complaints + fees + friction + competitor + life event) * treatment)``.
After deciding, engagement fades for 30-90 days (fewer logins and purchases, salary redirected,
balances moved to other banks) until the exit: closure for most, silent dormancy for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.data.simulator.population import Population
from tenure.data.simulator.products import PRODUCT, Accounts

__all__ = ["CAUSES", "ChurnState", "Drivers"]

CAUSES = ("complaints", "fees", "friction", "competitor_offer", "life_event", "baseline")
DAY = 86_400
WEIGHT_COMPLAINT = 0.035
WEIGHT_FEE = 0.004
WEIGHT_FRICTION = 0.009
WEIGHT_COMPETITOR = 0.07
WEIGHT_LIFE = 0.06
COMPETITOR_RATE = 0.015
LIFE_RATE = 0.008
CLOSER_SHARE = 0.85


@dataclass(slots=True)
class Drivers:
    """Last month's observable strain on each customer, as counts."""

    fees: np.ndarray
    friction: np.ndarray
    unresolved: np.ndarray
    treatment: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Drivers:
        """No strain yet."""
        zeros = np.zeros(n, dtype=np.int64)
        return cls(zeros.copy(), zeros.copy(), zeros.copy(), np.ones(n))


@dataclass(slots=True)
class ChurnState:
    """Each customer's decision, exit and the hazard history (chunk-local arrays)."""

    decided_at: np.ndarray
    exit_at: np.ndarray
    closer: np.ndarray
    cause: np.ndarray
    salary_stop_at: np.ndarray
    hazard_total: np.ndarray
    hazard_months: np.ndarray
    hazard_now: np.ndarray
    life_event: np.ndarray

    @classmethod
    def start(cls, n: int) -> ChurnState:
        """Nobody has decided yet."""
        never = np.full(n, -1, dtype=np.int64)
        return cls(
            never.copy(),
            never.copy(),
            np.zeros(n, bool),
            never.copy(),
            never.copy(),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n, bool),
        )

    def decide(
        self,
        rng: np.random.Generator,
        bounds: tuple[int, int],
        people: Population,
        accounts: Accounts,
        drivers: Drivers,
    ) -> None:
        """Draw this month's leavers from the hazard and schedule their exits."""
        start, end = bounds
        n = people.size
        at_risk = (self.decided_at < 0) & (people.opened_at < start)
        competitor = rng.random(n) < COMPETITOR_RATE
        self.life_event = rng.random(n) < LIFE_RATE
        parts = np.column_stack(
            [
                WEIGHT_COMPLAINT * np.minimum(drivers.unresolved, 3),
                WEIGHT_FEE * np.minimum(drivers.fees, 5),
                WEIGHT_FRICTION * np.minimum(drivers.friction, 5),
                WEIGHT_COMPETITOR * competitor,
                WEIGHT_LIFE * self.life_event,
                people.base_hazard,
            ]
        )
        hazard = 1.0 - np.exp(-parts.sum(axis=1) * drivers.treatment)
        self.hazard_now = np.where(at_risk, hazard, 0.0)
        self.hazard_total += np.where(at_risk, hazard, 0.0)
        self.hazard_months += at_risk
        leaves = at_risk & (rng.random(n) < hazard)
        idx = np.flatnonzero(leaves)
        self.decided_at[idx] = start + (rng.random(len(idx)) * (end - start)).astype(np.int64)
        self.exit_at[idx] = self.decided_at[idx] + rng.integers(30 * DAY, 90 * DAY, len(idx))
        no_loan = accounts.of_product[idx, PRODUCT["loan"]] < 0
        self.closer[idx] = no_loan & (rng.random(len(idx)) < CLOSER_SHARE)
        self.cause[idx] = np.argmax(parts[idx] * rng.lognormal(0, 0.2, parts[idx].shape), axis=1)
        redirect = rng.random(len(idx)) < 0.75
        stop = self.decided_at[idx] + rng.integers(0, 45 * DAY, len(idx))
        self.salary_stop_at[idx] = np.where(redirect, stop, -1)

    def engagement(self, rng: np.random.Generator, start: int, end: int) -> np.ndarray:
        """How much of their usual activity each customer still shows (fades after deciding)."""
        middle = (start + end) // 2
        decided = self.decided_at >= 0
        span = np.maximum(self.exit_at - self.decided_at, 1)
        progress = np.clip((middle - self.decided_at) / span, 0.0, 1.0)
        fading = np.where(decided & (middle >= self.decided_at), 1.0 - 0.9 * progress, 1.0)
        gone = decided & (middle >= self.exit_at)
        noise = rng.lognormal(0.0, 0.25, len(fading))
        return np.where(gone, 0.0, np.clip(fading * noise, 0.0, 2.0))

    def salary_on(self, start: int) -> np.ndarray:
        """Whether salary still arrives here this month."""
        return (self.salary_stop_at < 0) | (self.salary_stop_at > start)

    def until(self, end: int) -> np.ndarray:
        """Last moment (exclusive) any account of the customer is still open this month."""
        closes = self.closer & (self.exit_at >= 0) & (self.exit_at < end)
        return np.where(closes, self.exit_at, end)

    def leaving(self) -> np.ndarray:
        """Whether the customer has decided to leave."""
        return self.decided_at >= 0
