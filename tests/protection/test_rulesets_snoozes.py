"""A snooze silences one rule for one entity for a while; the other hits keep their say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import NotFound, ValidationError
from tenure.core.outcome import Outcome
from tenure.core.rules import NO_LISTS, Evaluation, compile_ruleset
from tenure.protection.rulesets import (
    MAX_SNOOZE,
    InMemorySnoozeRepository,
    apply_snoozes,
    lift_snooze,
    snooze_rule,
)

START = datetime(2025, 3, 1, 9, tzinfo=UTC)
RULES = compile_ruleset(
    {
        "name": "snoozable",
        "rules": [
            {
                "id": "large_transfer",
                "description": "over 5,000",
                "when": {"field": "event.amount_minor", "op": "gt", "value": 500000},
                "score": 0.5,
                "outcome": "hold",
            },
            {
                "id": "new_device",
                "description": "first use of this device",
                "when": {"field": "device.is_new", "op": "eq", "value": True},
                "score": 0.2,
                "outcome": "step_up",
            },
        ],
    }
)


@pytest.fixture
def repo() -> InMemorySnoozeRepository:
    return InMemorySnoozeRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _evaluation() -> Evaluation:
    features = {"event.amount_minor": 900000, "device.is_new": True}
    return RULES.evaluate(features, event_kind="transfer", lists=NO_LISTS, at=START)


def _snooze(repo: InMemorySnoozeRepository, clock: FixedClock, **changes: Any) -> None:
    snooze: dict[str, Any] = {
        "rule_id": "large_transfer",
        "entity": "customer:C1",
        "until": START + timedelta(days=7),
        "reason": "pays rent in one large transfer",
        "added_by": "ana",
    }
    snooze_rule(repo, clock=clock, **(snooze | changes))


def test_a_snoozed_rule_does_not_hit_for_that_entity(
    repo: InMemorySnoozeRepository, clock: FixedClock
) -> None:
    _snooze(repo, clock)
    kept = apply_snoozes(_evaluation(), repo, entities=["customer:C1", "payee:P9"], at=START)
    assert kept.rule_ids == ("new_device",)
    assert kept.score == pytest.approx(0.2)
    assert kept.outcome is Outcome.STEP_UP


def test_other_entities_and_later_times_are_not_snoozed(
    repo: InMemorySnoozeRepository, clock: FixedClock
) -> None:
    _snooze(repo, clock)
    full = _evaluation()
    assert apply_snoozes(full, repo, entities=["customer:C2"], at=START) is full
    assert apply_snoozes(full, repo, entities=["customer:C1"], at=START + timedelta(days=7)) is full
    assert apply_snoozes(full, repo, entities=[], at=START) is full
    assert repo.is_snoozed("large_transfer", "customer:C1", START + timedelta(days=6))
    assert not repo.is_snoozed("large_transfer", "customer:C1", START + timedelta(days=7))


def test_snoozing_every_hit_leaves_an_allow_with_no_score(
    repo: InMemorySnoozeRepository, clock: FixedClock
) -> None:
    _snooze(repo, clock)
    _snooze(repo, clock, rule_id="new_device")
    kept = apply_snoozes(_evaluation(), repo, entities=["customer:C1"], at=START)
    assert (kept.hits, kept.score, kept.outcome) == ((), 0.0, Outcome.ALLOW)


def test_lists_and_lifts_snoozes(repo: InMemorySnoozeRepository, clock: FixedClock) -> None:
    _snooze(repo, clock, rule_id="new_device")
    _snooze(repo, clock, until=START + timedelta(hours=1))
    assert [s.rule_id for s in repo.snoozes("customer:C1", START)] == [
        "large_transfer",
        "new_device",
    ]
    assert [s.rule_id for s in repo.snoozes("customer:C1", START + timedelta(hours=2))] == [
        "new_device"
    ]
    lift_snooze(repo, rule_id="new_device", entity="customer:C1")
    assert not repo.is_snoozed("new_device", "customer:C1", START)
    with pytest.raises(NotFound):
        lift_snooze(repo, rule_id="new_device", entity="customer:C1")


def test_records_who_snoozed_and_when(repo: InMemorySnoozeRepository, clock: FixedClock) -> None:
    _snooze(repo, clock, entity=" customer:C1 ")
    (snooze,) = repo.snoozes("customer:C1", START)
    assert (snooze.added_by, snooze.added_at, snooze.entity) == ("ana", START, "customer:C1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rule_id": "Large Transfer"}, "rule_id"),
        ({"entity": "C1"}, "entity"),
        ({"entity": "merchant:M1"}, "entity"),
        ({"entity": "customer:"}, "entity"),
        ({"until": START}, "until"),
        ({"until": START + MAX_SNOOZE + timedelta(seconds=1)}, "until"),
        ({"until": datetime(2025, 3, 2)}, "until"),
        ({"reason": " "}, "reason"),
    ],
)
def test_refuses_a_bad_snooze(
    repo: InMemorySnoozeRepository, clock: FixedClock, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _snooze(repo, clock, **changes)
    assert caught.value.field == field
