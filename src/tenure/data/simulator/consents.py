"""Consent history: what each customer agreed to per purpose and channel, and withdrew."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.population import Population
from tenure.data.simulator.rng import stream
from tenure.data.simulator.vocabulary import codes

__all__ = ["Consents", "draw_consents"]

PURPOSE = codes("consents", "purpose")
CHANNEL = codes("consents", "channel")
GRANT_RATES = np.array([0.72, 0.82, 0.3])
WITHDRAW_RATE = 0.04
DND = 3


@dataclass(frozen=True, slots=True)
class Consents:
    """Consent records as columns, and the marketing permission per customer and channel."""

    customer: np.ndarray
    purpose: np.ndarray
    channel: np.ndarray
    withdrawn: np.ndarray
    recorded_at: np.ndarray
    marketing_until: np.ndarray

    def allows_marketing(self, customers: np.ndarray, channel: int, moment: int) -> np.ndarray:
        """Whether marketing on ``channel`` was permitted for each customer at ``moment``."""
        return np.asarray(self.marketing_until[customers, channel] > moment)


def draw_consents(config: SimulationConfig, chunk: int, people: Population) -> Consents:
    """Grants at onboarding for each purpose x channel, and withdrawals during the window."""
    rng = stream(config.seed, chunk, "consents")
    n = people.size
    shape = (n, len(PURPOSE.values), len(CHANNEL.values))
    given = rng.random(shape) < GRANT_RATES[None, :, None] * rng.uniform(0.8, 1.1, (n, 1, 1))
    start, end = config.start_second, config.month_bounds()[-1]
    begin = np.maximum(people.opened_at, start)
    rate = np.where(people.uplift == DND, 4 * WITHDRAW_RATE, WITHDRAW_RATE)
    withdraws = given & (rng.random(shape) < rate[:, None, None])
    when = (
        begin[:, None, None]
        + 3_600
        + (rng.random(shape) * (end - begin)[:, None, None]).astype(np.int64)
    )
    withdraws &= when < end
    customer, purpose, channel = np.nonzero(given)
    granted_at = people.opened_at[customer] + rng.integers(60, 1_800, len(customer))
    wc, wp, wch = np.nonzero(withdraws)
    order = np.lexsort((np.r_[np.zeros(len(customer)), np.ones(len(wc))], np.r_[customer, wc]))
    marketing = np.where(given[:, PURPOSE["marketing"], :], np.iinfo(np.int64).max, -1)
    marketing = np.where(
        withdraws[:, PURPOSE["marketing"], :], when[:, PURPOSE["marketing"], :], marketing
    )
    return Consents(
        customer=np.r_[customer, wc][order],
        purpose=np.r_[purpose, wp][order],
        channel=np.r_[channel, wch][order],
        withdrawn=np.r_[np.zeros(len(customer), bool), np.ones(len(wc), bool)][order],
        recorded_at=np.r_[granted_at, when[withdraws]][order],
        marketing_until=marketing,
    )
