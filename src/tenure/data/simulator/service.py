"""Service contacts and surveys: complaints follow fees, friction and fraud; scores follow mood."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.streams import spread_counts
from tenure.data.simulator.text import COMMENTS, MESSAGES, fill_templates
from tenure.data.simulator.vocabulary import codes

__all__ = ["TOPICS", "ComplaintBook", "Interactions", "Surveys", "service_month"]

TOPICS = ("fees", "card", "app", "transfer", "fraud", "service", "loan", "general")
KIND = codes("interactions", "kind")
CHANNEL = codes("interactions", "channel")
HOUR = 3_600


@dataclass(slots=True)
class Interactions:
    """Service contacts as columns plus their text."""

    customer: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    kind: np.ndarray
    topic: np.ndarray
    english: np.ndarray
    resolved_at: np.ndarray
    text: pa.Array


@dataclass(slots=True)
class Surveys:
    """Survey answers as columns plus optional comments."""

    customer: np.ndarray
    time: np.ndarray
    nps: np.ndarray
    score: np.ndarray
    english: np.ndarray
    comment: pa.Array


@dataclass(slots=True)
class ComplaintBook:
    """Every complaint so far, to count those still open at a moment."""

    customer: np.ndarray
    resolved_at: np.ndarray

    def open_at(self, moment: int, customers: int) -> np.ndarray:
        """Complaints per customer made before ``moment`` and not resolved by then."""
        still = (self.resolved_at < 0) | (self.resolved_at > moment)
        return np.bincount(self.customer[still], minlength=customers)


def _topic_for_complaints(
    rng: np.random.Generator, fees: np.ndarray, friction: np.ndarray
) -> np.ndarray:
    n = len(fees)
    weights = np.column_stack(
        [
            0.5 + 2.0 * (fees > 1),
            1.0 + friction,
            1.0 + friction,
            0.8 + friction,
            np.zeros(n),
            np.full(n, 1.0),
            np.full(n, 0.3),
        ]
    )
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return np.asarray(np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), 6))


def _texts(
    rng: np.random.Generator,
    kind: np.ndarray,
    topic: np.ndarray,
    english: np.ndarray,
    times: np.ndarray,
) -> pa.Array:
    out = pa.nulls(len(kind), pa.string())

    for (language, kind_name, topic_name), templates in MESSAGES.items():
        wanted = (english == (language == "en")) & (kind == KIND[kind_name])
        if kind_name == "complaint":
            wanted &= topic == TOPICS.index(topic_name)
        rows = np.flatnonzero(wanted)
        if len(rows):
            filled = fill_templates(rng, language, templates, times[rows])
            out = pc.replace_with_mask(out, pa.array(wanted), filled)
    return out


def _contacts(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    fees: np.ndarray,
    friction: np.ndarray,
    victims: np.ndarray,
    victim_times: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    live = month.alive & (month.until > month.start + HOUR)
    complain = (0.006 + 0.03 * np.minimum(fees, 4) + 0.05 * np.minimum(friction, 4)) * np.exp(
        -0.4 * people.satisfaction
    )
    rates = (
        np.column_stack(
            [0.03 * np.ones(people.size), complain, 0.008 * np.exp(0.5 * people.satisfaction)]
        )
        * live[:, None]
    )
    owners: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    for column, code in enumerate((KIND["inquiry"], KIND["complaint"], KIND["praise"])):
        drawn = spread_counts(rng, rates[:, column])
        owners.append(drawn)
        kinds.append(np.full(len(drawn), code))
    owner, kind = np.concatenate(owners), np.concatenate(kinds)
    span = np.maximum(month.until[owner] - month.start - HOUR, 1)
    times = month.start + (rng.random(len(owner)) * span).astype(np.int64)
    after = np.minimum(
        victim_times + rng.integers(HOUR, 72 * HOUR, len(victims)), month.until[victims] - 1
    )
    owner = np.concatenate([owner, victims])
    kind = np.concatenate([kind, np.full(len(victims), KIND["complaint"])])
    times = np.concatenate([times, np.maximum(after, month.start)])
    topic = np.where(
        kind == KIND["complaint"],
        _topic_for_complaints(rng, fees[owner], friction[owner]),
        np.where(kind == KIND["praise"], TOPICS.index("service"), TOPICS.index("general")),
    )
    topic[len(topic) - len(victims) :] = TOPICS.index("fraud")
    return owner, kind, topic, times


def service_month(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    fees: np.ndarray,
    friction: np.ndarray,
    victims: np.ndarray,
    victim_times: np.ndarray,
    window_end: int,
) -> Interactions:
    """This month's service contacts, with resolution times and text."""
    owner, kind, topic, times = _contacts(rng, month, people, fees, friction, victims, victim_times)
    n = len(owner)
    english = people.english[owner]
    median = np.where(kind == KIND["complaint"], 30 * HOUR, 0.5 * HOUR)
    resolved = times + (rng.lognormal(np.log(median), 1.2)).astype(np.int64) + 60
    solved = rng.random(n) < np.where(
        kind == KIND["complaint"], np.where(topic == TOPICS.index("fraud"), 0.9, 0.75), 0.97
    )
    resolved = np.where(
        kind == KIND["praise"], times, np.where(solved & (resolved < window_end), resolved, -1)
    )
    channel = np.where(
        english & (rng.random(n) < 0.4),
        CHANNEL["email"],
        rng.choice(
            [
                CHANNEL["phone"],
                CHANNEL["app_chat"],
                CHANNEL["branch"],
                CHANNEL["wechat"],
                CHANNEL["email"],
            ],
            n,
            p=[0.4, 0.3, 0.1, 0.15, 0.05],
        ),
    )
    return Interactions(
        owner,
        times,
        channel,
        kind,
        topic,
        english,
        resolved,
        _texts(rng, kind, topic, english, times),
    )


def _comments(
    rng: np.random.Generator, band: np.ndarray, english: np.ndarray, has: np.ndarray
) -> pa.Array:

    out = pa.nulls(len(band), pa.string())
    for (language, level), texts in COMMENTS.items():
        wanted = (
            has & (english == (language == "en")) & (band == ("low", "mid", "high").index(level))
        )
        if wanted.any():
            filled = fill_templates(
                rng, language, texts, np.zeros(int(wanted.sum()), dtype=np.int64)
            )
            out = pc.replace_with_mask(out, pa.array(wanted), filled)
    return out


def surveys_month(
    rng: np.random.Generator,
    month: Month,
    people: Population,
    contacts: Interactions,
    unresolved: np.ndarray,
    leaving: np.ndarray,
) -> Surveys:
    """CSAT after resolved contacts and a relationship NPS sample; the aggrieved score low."""
    after = np.flatnonzero(
        (contacts.resolved_at >= 0) & (rng.random(len(contacts.customer)) < 0.35)
    )
    who_csat = contacts.customer[after]
    csat_time = contacts.resolved_at[after] + rng.integers(HOUR, 48 * HOUR, len(after))
    complaint = contacts.kind[after] == KIND["complaint"]
    csat = np.clip(
        np.rint(
            3.9
            + 0.6 * people.satisfaction[who_csat]
            - 1.3 * complaint
            + rng.normal(0, 0.7, len(after))
        ),
        1,
        5,
    )
    who_nps = np.flatnonzero(
        month.alive & (rng.random(people.size) < 0.04) & (month.until > month.start + 2 * 86_400)
    )
    nps_time = month.start + (
        rng.random(len(who_nps)) * (month.until[who_nps] - month.start - HOUR)
    ).astype(np.int64)
    mood = (
        7.6
        + 1.6 * people.satisfaction[who_nps]
        - 1.5 * np.minimum(unresolved[who_nps], 2)
        - 2.5 * leaving[who_nps]
    )
    nps = np.clip(np.rint(mood + rng.normal(0, 1.2, len(who_nps))), 0, 10)
    customer = np.concatenate([who_csat, who_nps])
    time = np.minimum(np.concatenate([csat_time, nps_time]), month.until[customer] - 1)
    is_nps = np.r_[np.zeros(len(after), bool), np.ones(len(who_nps), bool)]
    score = np.concatenate([csat, nps]).astype(np.int64)
    band = np.where(is_nps, np.digitize(score, [7, 9]), np.digitize(score, [3, 5]))
    english = people.english[customer]
    has = rng.random(len(customer)) < 0.45
    keep = time >= month.start
    comments = _comments(rng, band, english, has)
    return Surveys(
        customer[keep],
        time[keep],
        is_nps[keep],
        score[keep],
        english[keep],
        comments.filter(pa.array(keep)),
    )
