"""Campaigns with random holdouts, their offers, and the true (heterogeneous) effect of contact.

Assignment to treatment or holdout is random with the campaign's holdout share. A treated
customer's churn hazard is multiplied for 90 days by the effect of their latent uplift class:
persuadables stay, do-not-disturbs are pushed out, sure things and lost causes do not move.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.consents import Consents
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.rng import global_stream
from tenure.data.simulator.vocabulary import codes

__all__ = ["Campaign", "ContactBatch", "assign_contacts", "draw_campaigns"]

OBJECTIVE = codes("campaigns", "objective")
CONTACT_CHANNEL = codes("campaigns", "channel")
OFFER_KIND = codes("offers", "kind")
OUTCOME = codes("contacts", "outcome")
ARM = codes("contacts", "arm")
CLASS_EFFECT = np.array([0.3, 1.0, 1.0, 1.9])
ACCEPT = np.array([0.32, 0.22, 0.04, 0.02])
DECLINE = np.array([0.08, 0.06, 0.1, 0.3])
EFFECT_DAYS = 90
DAY = 86_400
PLAN = (
    ("retention", "春季客户关怀", "Spring loyalty care", ("fee_waiver", "rate_bonus")),
    ("cross_sell", "理财节", "Wealth festival", ("rate_bonus", "gift")),
    ("retention", "年中挽留计划", "Mid-year retention", ("cashback", "rm_call", "fee_waiver")),
    ("activation", "手机银行激活", "Mobile activation", ("cashback",)),
    ("winback", "老客户回归礼", "Welcome back", ("cashback", "gift")),
    ("retention", "年末感恩回馈", "Year-end thanks", ("fee_waiver", "rm_call")),
)
COSTS = {
    "fee_waiver": 3_000,
    "rate_bonus": 20_000,
    "cashback": 5_000,
    "rm_call": 8_000,
    "gift": 6_000,
}


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign and its offers (offer numbers are global)."""

    number: int
    name: str
    objective: int
    channel: int
    month: int
    starts_at: int
    ends_at: int
    holdout_share: float
    offer_numbers: tuple[int, ...]
    offer_names: tuple[str, ...]
    offer_kinds: tuple[int, ...]
    offer_costs: tuple[int, ...]


def draw_campaigns(config: SimulationConfig) -> tuple[Campaign, ...]:
    """A few campaigns a year, spread over the window (the same for every chunk)."""
    rng = global_stream(config.seed, "campaigns")
    bounds = config.month_bounds()
    campaigns: list[Campaign] = []
    offer = 0
    for number, month in enumerate(range(1, config.months, 2), start=1):
        objective, zh, en, kinds = PLAN[(number - 1) % len(PLAN)]
        starts = bounds[month] + int(rng.integers(0, 5)) * DAY + 2 * 3_600
        numbers = tuple(range(offer + 1, offer + len(kinds) + 1))
        offer += len(kinds)
        campaigns.append(
            Campaign(
                number=number,
                name=f"{config.start.year + (config.start.month + month - 1) // 12}{zh} / {en}",
                objective=OBJECTIVE[objective],
                channel=int(rng.integers(0, len(CONTACT_CHANNEL.values))),
                month=month,
                starts_at=starts,
                ends_at=starts + 30 * DAY,
                holdout_share=float(rng.choice([0.1, 0.2, 0.3, 0.5])),
                offer_numbers=numbers,
                offer_names=tuple(f"{zh}-{k}" for k in kinds),
                offer_kinds=tuple(OFFER_KIND[k] for k in kinds),
                offer_costs=tuple(int(COSTS[k] * rng.uniform(0.8, 1.5)) for k in kinds),
            )
        )
    return tuple(campaigns)


@dataclass(slots=True)
class ContactBatch:
    """Contacts as columns, with the true churn probabilities under both arms."""

    campaign: np.ndarray
    customer: np.ndarray
    offer: np.ndarray
    arm: np.ndarray
    assigned_at: np.ndarray
    sent_at: np.ndarray
    channel: np.ndarray
    outcome: np.ndarray
    p_treated: np.ndarray
    p_control: np.ndarray

    @staticmethod
    def concat(batches: list[ContactBatch]) -> ContactBatch:
        """All contacts in order (an empty batch when there are none)."""
        names = [f.name for f in fields(ContactBatch)]
        if not batches:
            empty = np.zeros(0, dtype=np.int64)
            return ContactBatch(**dict.fromkeys(names, empty))
        return ContactBatch(**{n: np.concatenate([getattr(b, n) for b in batches]) for n in names})


def _targets(
    rng: np.random.Generator,
    campaign: Campaign,
    month: Month,
    people: Population,
    leaving: np.ndarray,
) -> np.ndarray:
    live = month.alive & (month.until > campaign.starts_at + 5 * DAY)
    objective = OBJECTIVE.values[campaign.objective]
    chance = {
        "retention": 0.25 + 0.15 * (people.value > 1.5),
        "cross_sell": 0.3 * (people.value > 0.8),
        "activation": 0.5 * (people.login_rate < 1.5),
        "winback": 0.15 + 0.5 * leaving,
    }[objective]
    return np.flatnonzero(live & (rng.random(people.size) < chance))


def assign_contacts(
    rng: np.random.Generator,
    campaign: Campaign,
    month: Month,
    people: Population,
    consents: Consents,
    hazard: np.ndarray,
    leaving: np.ndarray,
) -> ContactBatch:
    """Randomly split the campaign's targets into treatment and holdout; draw what happened."""
    who = _targets(rng, campaign, month, people, leaving)
    assigned = campaign.starts_at + rng.integers(0, 2 * DAY, len(who))
    keep = consents.allows_marketing(who, campaign.channel, campaign.starts_at) & (
        assigned < month.until[who]
    )
    who, assigned = who[keep], assigned[keep]
    n = len(who)
    treated = rng.random(n) >= campaign.holdout_share
    sent = np.where(treated, assigned + rng.integers(3_600, 2 * DAY, n), -1)
    offers = np.array(campaign.offer_numbers)
    offer = np.where(treated, offers[rng.integers(0, len(offers), n)], -1)
    klass = people.uplift[who]
    draw = rng.random(n)
    outcome = np.select(
        [
            draw < ACCEPT[klass],
            draw < ACCEPT[klass] + DECLINE[klass],
            draw < ACCEPT[klass] + DECLINE[klass] + 0.3,
        ],
        [OUTCOME["accepted"], OUTCOME["declined"], OUTCOME["opened"]],
        OUTCOME["no_response"],
    )
    rate = -np.log1p(-np.minimum(hazard[who], 0.999))
    months = EFFECT_DAYS / 30
    return ContactBatch(
        campaign=np.full(n, campaign.number),
        customer=who,
        offer=offer,
        arm=np.where(treated, ARM["treatment"], ARM["holdout"]),
        assigned_at=assigned,
        sent_at=sent,
        channel=np.full(n, campaign.channel),
        outcome=np.where(treated, outcome, OUTCOME["no_response"]),
        p_treated=1 - np.exp(-months * rate * CLASS_EFFECT[klass]),
        p_control=1 - np.exp(-months * rate),
    )
