"""Snoozes in the engine: a rule snoozed for one of the event's entities loses its hit, the other
hits are combined again without it, shadow sets see the same snoozes, no snooze lifts a hard
floor, and the engine reads snoozes from a cache that a refresh brings up to date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from bank import KNOWN_CUSTOMER, START, FixedScorer, SetLists, make_engine, make_event

from tenure.core.clock import FixedClock
from tenure.core.outcome import Outcome
from tenure.core.rules import CompiledRuleSet, compile_ruleset
from tenure.protection.corporate import ApprovalTier, InMemoryCorporateUnitOfWork, Mandate
from tenure.protection.corporate.rule import CachedMandates, MandateRule
from tenure.protection.decision import Decision, ShadowResult
from tenure.protection.engine import Engine, RuleBook
from tenure.protection.events import EventKind
from tenure.protection.limits.memory import InMemoryLimitUnitOfWork
from tenure.protection.limits.rule import CachedLimits, LimitRule
from tenure.protection.rulesets import InMemorySnoozeRepository, Snooze
from tenure.protection.rulesets.snoozes import CachedSnoozes

LARGE = {
    "id": "large_transfer",
    "description": "A transfer of 2,000 or more.",
    "events": ["transfer"],
    "when": {"field": "event.amount_minor", "op": "gte", "value": 200_000},
    "score": 0.5,
    "outcome": "hold",
}
PAYEE_P1 = {
    "id": "payee_p1",
    "description": "Money to payee P1.",
    "events": ["transfer"],
    "when": {"field": "event.payee_id", "op": "eq", "value": "P1"},
    "score": 0.2,
    "outcome": "step_up",
}
BOTH = ("large_transfer", "payee_p1")


def _ruleset(name: str = "live") -> CompiledRuleSet:
    return compile_ruleset({"name": name, "rules": [LARGE, PAYEE_P1]})


def snooze(rule_id: str, entity: str, *, until: datetime = START + timedelta(days=7)) -> Snooze:
    added_at = START - timedelta(days=1)
    return Snooze(rule_id, entity, until, "a known pattern", "analyst:ana", added_at)


def rule_ids(decision: Decision) -> tuple[str, ...]:
    return tuple(reason.code for reason in decision.reasons if reason.source == "rule")


@dataclass
class Desk:
    """An engine with both rules active, its snoozes in a store behind the engine's cache."""

    repo: InMemorySnoozeRepository = field(default_factory=InMemorySnoozeRepository)
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    book: RuleBook = field(default_factory=lambda: RuleBook(active=_ruleset(), active_version=1))
    sent: int = 0

    def __post_init__(self) -> None:
        self.snoozes = CachedSnoozes(self.repo, clock=self.clock)
        self.engine = self.build()

    def build(self, **changes: Any) -> Engine:
        return make_engine(
            scorer=FixedScorer(0.0001), rules=self.book, snoozes=self.snoozes, **changes
        )

    def snooze(self, *snoozes: Snooze) -> None:
        for one in snoozes:
            self.repo.add(one)
        self.snoozes.refresh()

    def transfer(self, engine: Engine | None = None, **fields: Any) -> Decision:
        self.sent += 1
        event = make_event(event_id=f"E{self.sent}", **fields)
        return (engine or self.engine).decide(event)


def test_without_snoozes_both_rules_hit_and_hold_the_transfer() -> None:
    decision = Desk().transfer()

    assert rule_ids(decision) == BOTH
    assert decision.rule_score == pytest.approx(1 - 0.5 * 0.8)
    assert decision.outcome is Outcome.HOLD


@pytest.mark.parametrize(
    "entity", ["customer:C1", "payee:P1", "account:A1", "device:D1", "ip:10.0.0.1"]
)
def test_a_rule_snoozed_for_one_of_the_events_entities_loses_its_hit(entity: str) -> None:
    desk = Desk()
    desk.snooze(snooze("large_transfer", entity))

    decision = desk.transfer()

    assert rule_ids(decision) == ("payee_p1",)
    assert decision.rule_score == pytest.approx(0.2)  # the snoozed score no longer counts
    assert decision.risk == pytest.approx(1 - (1 - 0.0001) * (1 - 0.2))
    assert decision.outcome is Outcome.STEP_UP  # the hold was the snoozed rule's


def test_a_snooze_for_the_payee_leaves_the_customers_other_payees_alone() -> None:
    desk = Desk()
    desk.snooze(snooze("large_transfer", "payee:P1"))

    to_p1 = desk.transfer()
    to_p2 = desk.transfer(payee_id="P2")

    assert rule_ids(to_p1) == ("payee_p1",)
    assert rule_ids(to_p2) == ("large_transfer",)
    assert to_p2.outcome is Outcome.HOLD


def test_snoozing_every_hit_leaves_no_rule_score_and_no_rule_minimum() -> None:
    desk = Desk()
    desk.snooze(snooze("large_transfer", "customer:C1"), snooze("payee_p1", "payee:P1"))

    decision = desk.transfer()

    assert rule_ids(decision) == ()
    assert decision.rule_score == 0.0
    assert decision.outcome is Outcome.ALLOW


def test_snoozes_of_other_entities_other_rules_or_that_ended_change_nothing() -> None:
    desk = Desk()
    desk.snooze(
        snooze("large_transfer", "customer:C2"),
        snooze("large_transfer", "payee:P2"),
        snooze("large_transfer", "device:D9"),
        snooze("night_login", "customer:C1"),
        snooze("large_transfer", "customer:C1", until=START),  # ended as this event is decided
    )

    decision = desk.transfer()

    assert rule_ids(decision) == BOTH
    assert decision.rule_score == pytest.approx(0.6)
    assert decision.outcome is Outcome.HOLD


def test_a_snooze_that_ends_between_two_reloads_stops_silencing_at_its_end() -> None:
    desk = Desk(clock=FixedClock(START - timedelta(seconds=2)))  # the cache loads 2 s early
    desk.snooze(snooze("large_transfer", "customer:C1", until=START - timedelta(seconds=1)))

    decision = desk.transfer()  # decided at START, before the cache reloads

    assert rule_ids(decision) == BOTH


def test_a_snooze_silences_the_same_rule_in_a_shadow_rule_set() -> None:
    book = RuleBook(shadows=((_ruleset("candidate"), 2),))
    desk = Desk(book=book)
    before = desk.transfer()
    desk.snooze(snooze("large_transfer", "customer:C1"))

    after = desk.transfer()

    assert before.shadow == (ShadowResult("candidate", 2, Outcome.HOLD, BOTH),)
    assert after.shadow == (ShadowResult("candidate", 2, Outcome.STEP_UP, ("payee_p1",)),)


def test_active_and_shadow_sets_lose_the_same_snoozed_hit() -> None:
    book = RuleBook(active=_ruleset(), active_version=1, shadows=((_ruleset("candidate"), 2),))
    desk = Desk(book=book)
    desk.snooze(snooze("payee_p1", "payee:P1"))

    decision = desk.transfer()

    assert rule_ids(decision) == ("large_transfer",)
    assert decision.shadow == (ShadowResult("candidate", 2, Outcome.HOLD, ("large_transfer",)),)


def test_a_snooze_never_lifts_a_block_list_limit_or_mandate_floor() -> None:
    desk = Desk()
    everything = [
        snooze(rule_id, entity)
        for rule_id in (*BOTH, "blocked_payees", "single_transfer", "dual_approval")
        for entity in ("customer:C1", "payee:P1")
    ]
    desk.snooze(*everything)
    corporate_uow = InMemoryCorporateUnitOfWork()
    corporate_uow.mandates.add(
        Mandate("C1", 1, "CNY", (ApprovalTier(100_000, 2),), START, "staff:ana")
    )
    corporate_uow.commit()
    mandates = CachedMandates(lambda: corporate_uow, clock=FixedClock(START))
    limits = CachedLimits(InMemoryLimitUnitOfWork, clock=FixedClock(START))
    blocked = desk.build(lists=SetLists(frozenset({("blocked_payees", "P1")})))
    over_limit = desk.build(hard_rules=(LimitRule(limits),))
    corporate = desk.build(hard_rules=(MandateRule(mandates),))

    on_list = desk.transfer(blocked)
    too_much = desk.transfer(over_limit, amount_minor=200_000_000)
    mandated = desk.transfer(corporate)

    assert on_list.outcome is Outcome.DECLINE
    assert ("list", "blocked_payees") in {(r.source, r.code) for r in on_list.reasons}
    assert too_much.outcome is Outcome.DECLINE
    assert "single_transfer" in {r.code for r in too_much.reasons if r.source == "limit"}
    assert mandated.outcome is Outcome.DUAL_APPROVAL
    assert [r.code for r in mandated.reasons if r.source == "mandate"] == ["dual_approval"]
    assert rule_ids(on_list) == rule_ids(too_much) == rule_ids(mandated) == ()


def test_a_new_snooze_acts_after_a_refresh_or_once_the_cache_expires() -> None:
    desk = Desk()
    assert rule_ids(desk.transfer()) == BOTH  # loads the cache: no snoozes yet
    desk.repo.add(snooze("large_transfer", "customer:C1"))

    cached = desk.transfer()
    desk.snoozes.refresh()
    refreshed = desk.transfer()
    desk.repo.remove("large_transfer", "customer:C1")
    still = desk.transfer()
    desk.clock.advance(timedelta(seconds=5))
    expired = desk.transfer()

    assert rule_ids(cached) == BOTH
    assert rule_ids(refreshed) == ("payee_p1",)
    assert rule_ids(still) == ("payee_p1",)  # the lifted snooze lasts until the next reload
    assert rule_ids(expired) == BOTH


@dataclass
class CountingSnoozes:
    """A snooze lookup that counts the questions it is asked."""

    asked: int = 0

    def is_snoozed(self, rule_id: str, entity: str, at: datetime) -> bool:
        self.asked += 1
        return False


def test_an_event_without_rule_hits_never_asks_about_snoozes() -> None:
    lookup = CountingSnoozes()
    book = RuleBook(active=_ruleset(), active_version=1)
    engine = make_engine(values={"C1": KNOWN_CUSTOMER}, rules=book, snoozes=lookup)

    engine.decide(make_event(EventKind.LOGIN))
    engine.decide(make_event(event_id="E2", amount_minor=100_000, payee_id="P2"))
    quiet = lookup.asked
    engine.decide(make_event(event_id="E3"))

    assert quiet == 0
    assert lookup.asked > 0
