"""Corporate mandates in the engine: a corporate customer's transfer gets at least what its mandate
requires (dual approval above a tier, a decline to a payee off the allow list, a hold after hours)
with one ``mandate`` reason; other customers and other events meet no mandate; the mandates come
from a cache that a refresh brings up to date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from bank import KNOWN_CUSTOMER, START, FixedScorer, make_engine, make_event

from tenure.core.clock import FixedClock
from tenure.core.outcome import Outcome
from tenure.core.rules import compile_ruleset
from tenure.protection.corporate import (
    Actor,
    ApprovalTier,
    InMemoryAuditSink,
    InMemoryCorporateUnitOfWork,
    publish_mandate,
)
from tenure.protection.corporate.rule import CachedMandates, MandateRule
from tenure.protection.decision import Decision, Reason
from tenure.protection.engine import Engine, RuleBook
from tenure.protection.events import EventKind
from tenure.protection.policy import ExpectedCostPolicy

AFTER_HOURS = START + timedelta(hours=13)  # Monday 22:00 in Shanghai; START is 09:00
# 10,000 CNY and more need two approvers; above 50,000 CNY only P1 may be paid; after hours,
# payments over 20,000 CNY wait for the next opening
TERMS: dict[str, Any] = {
    "tiers": [ApprovalTier(1_000_000, 2)],
    "allow_listed_payees_above_minor": 5_000_000,
    "allowed_payee_ids": ["P1"],
    "after_hours": "hold",
    "after_hours_above_minor": 2_000_000,
}
TIER = "payments over 10,000 CNY need 2 approvers"


@dataclass
class Corporate:
    """An engine with the mandate rule, the corporate store behind the engine's cache."""

    uow: InMemoryCorporateUnitOfWork = field(default_factory=InMemoryCorporateUnitOfWork)
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    probability: float = 0.0001
    sent: int = 0

    def __post_init__(self) -> None:
        self.mandates = CachedMandates(lambda: self.uow, clock=self.clock)
        self.engine = self.build()

    def build(self, **changes: Any) -> Engine:
        values = {"K1": KNOWN_CUSTOMER, "K2": KNOWN_CUSTOMER, "C1": KNOWN_CUSTOMER}
        return make_engine(
            scorer=FixedScorer(self.probability),
            values=values,
            hard_rules=(MandateRule(self.mandates),),
            **changes,
        )

    def publish(self, customer_id: str = "K1", **terms: Any) -> None:
        publish_mandate(
            uow=self.uow,
            audit=InMemoryAuditSink(),
            actor=Actor.staff("ana"),
            customer_id=customer_id,
            clock=self.clock,
            **(TERMS | terms),
        )

    def transfer(
        self, amount_minor: int, *, engine: Engine | None = None, **fields: Any
    ) -> Decision:
        self.sent += 1
        fields = {"customer_id": "K1", **fields}
        event = make_event(event_id=f"E{self.sent}", amount_minor=amount_minor, **fields)
        return (engine or self.engine).decide(event)


@pytest.fixture
def corporate() -> Corporate:
    bank = Corporate()
    bank.publish()
    return bank


def mandate_reasons(decision: Decision) -> list[Reason]:
    return [reason for reason in decision.reasons if reason.source == "mandate"]


def test_a_transfer_above_the_approval_tier_needs_dual_approval(corporate: Corporate) -> None:
    decision = corporate.transfer(2_000_000)

    assert decision.outcome is Outcome.DUAL_APPROVAL
    assert mandate_reasons(decision) == [
        Reason("mandate", "dual_approval", f"{TIER} (mandate version 1)")
    ]
    assert decision.reasons[0].source == "mandate"  # hard floors come first


def test_a_transfer_the_mandate_allows_as_it_is_gets_no_mandate_reason(
    corporate: Corporate,
) -> None:
    decision = corporate.transfer(500_000)

    assert mandate_reasons(decision) == []
    assert decision.outcome is Outcome.ALLOW


def test_a_large_transfer_to_a_payee_off_the_allow_list_is_declined(corporate: Corporate) -> None:
    listed = corporate.transfer(6_000_000)
    unlisted = corporate.transfer(6_000_000, payee_id="P2")

    assert listed.outcome is Outcome.DUAL_APPROVAL
    assert unlisted.outcome is Outcome.DECLINE
    assert mandate_reasons(unlisted) == [
        Reason(
            "mandate",
            "decline",
            "payments over 50,000 CNY may go only to allow-listed payees; this payee is not "
            "(mandate version 1)",
        )
    ]


def test_a_one_off_beneficiary_is_off_the_allow_list(corporate: Corporate) -> None:
    large = corporate.transfer(6_000_000, payee_id=None)
    smaller = corporate.transfer(2_000_000, payee_id=None)

    assert large.outcome is Outcome.DECLINE
    assert [reason.code for reason in mandate_reasons(large)] == ["decline"]
    assert smaller.outcome is Outcome.DUAL_APPROVAL  # below the allow-list threshold


def test_a_transfer_in_a_currency_the_mandate_does_not_cover_is_declined(
    corporate: Corporate,
) -> None:
    decision = corporate.transfer(500_000, currency="USD")

    assert decision.outcome is Outcome.DECLINE
    assert mandate_reasons(decision) == [
        Reason("mandate", "decline", "this mandate covers CNY payments only (mandate version 1)")
    ]


def test_a_large_transfer_after_hours_is_held_when_the_mandate_says_so(
    corporate: Corporate,
) -> None:
    night = corporate.build(clock=FixedClock(AFTER_HOURS))

    held = corporate.transfer(3_000_000, engine=night, at=AFTER_HOURS)
    smaller = corporate.transfer(1_500_000, engine=night, at=AFTER_HOURS)

    assert held.outcome is Outcome.HOLD
    assert mandate_reasons(held) == [
        Reason(
            "mandate",
            "hold",
            f"{TIER}; outside business hours (08:00-20:00 Asia/Shanghai, Mon-Fri) payments over "
            "20,000 CNY wait until business hours to be released (mandate version 1)",
        )
    ]
    assert smaller.outcome is Outcome.DUAL_APPROVAL  # below the after-hours threshold


def test_a_customer_without_a_mandate_is_decided_as_before(corporate: Corporate) -> None:
    plain = make_engine(scorer=FixedScorer(corporate.probability))

    retail = corporate.transfer(6_000_000, customer_id="C1", payee_id="P2")
    without_rule = corporate.transfer(6_000_000, engine=plain, customer_id="C1", payee_id="P2")

    assert mandate_reasons(retail) == []
    assert retail.outcome is without_rule.outcome is Outcome.ALLOW


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (EventKind.LOGIN, {}),
        (EventKind.PAYEE_ADD, {"payee_id": "P2"}),
        (EventKind.PROFILE_CHANGE, {}),
        (EventKind.CARD_PAYMENT, {"amount_minor": 6_000_000}),
    ],
)
def test_events_other_than_transfers_meet_no_mandate(
    corporate: Corporate, kind: EventKind, fields: dict[str, Any]
) -> None:
    decision = corporate.engine.decide(make_event(kind, customer_id="K1", **fields))

    assert mandate_reasons(decision) == []
    assert decision.outcome is not Outcome.DUAL_APPROVAL


def test_the_mandate_is_a_floor_a_likely_fraud_is_declined_all_the_same() -> None:
    corporate = Corporate(probability=0.9)
    corporate.publish()

    decision = corporate.transfer(2_000_000)

    assert decision.outcome is Outcome.DECLINE
    assert [reason.code for reason in mandate_reasons(decision)] == ["dual_approval"]


def test_only_a_hard_rule_offers_dual_approval_a_rule_asking_for_it_gets_more() -> None:
    rule = {
        "id": "second_signer",
        "description": "A rule that asks for dual approval.",
        "when": {"field": "event.amount_minor", "op": "gte", "value": 0},
        "score": 0.0,
        "outcome": "dual_approval",
    }
    book = RuleBook(active=compile_ruleset({"name": "live", "rules": [rule]}), active_version=1)
    corporate = Corporate()
    corporate.publish()
    ruled = corporate.build(rules=book)

    retail = corporate.transfer(2_000_000, engine=ruled, customer_id="C1")
    mandated = corporate.transfer(2_000_000, engine=ruled)

    assert retail.outcome > Outcome.DUAL_APPROVAL  # a retail customer has no second approver
    assert mandated.outcome is Outcome.DUAL_APPROVAL


def test_the_policy_gives_an_on_request_answer_only_when_a_hard_rule_asks_for_it() -> None:
    policy = ExpectedCostPolicy()

    def choose(kind: EventKind, floor: Outcome, offered: tuple[Outcome, ...]) -> Outcome:
        return policy.choose(
            kind=kind,
            p=0.0001,
            amount_minor=2_000_000,
            customer=KNOWN_CUSTOMER,
            at_least=floor,
            offered=offered,
        ).action

    dual = Outcome.DUAL_APPROVAL
    assert choose(EventKind.TRANSFER, dual, (dual,)) is dual
    assert choose(EventKind.TRANSFER, dual, ()) is Outcome.HOLD
    assert choose(EventKind.CARD_PAYMENT, dual, (dual,)) is Outcome.DECLINE
    assert choose(EventKind.LOGIN, Outcome.HOLD, (Outcome.HOLD,)) is Outcome.DECLINE


def test_a_newly_published_mandate_acts_after_a_refresh_or_once_the_cache_expires() -> None:
    corporate = Corporate()
    before = corporate.transfer(2_000_000, customer_id="K2")  # loads the cache: no mandates
    corporate.publish("K2")

    cached = corporate.transfer(2_000_000, customer_id="K2")
    corporate.mandates.refresh()
    refreshed = corporate.transfer(2_000_000, customer_id="K2")
    corporate.publish("K2", tiers=[ApprovalTier(5_000_000, 2)])  # version 2: a higher tier
    still = corporate.transfer(2_000_000, customer_id="K2")
    corporate.clock.advance(timedelta(seconds=5))
    expired = corporate.transfer(2_000_000, customer_id="K2")

    assert mandate_reasons(before) == mandate_reasons(cached) == []
    assert refreshed.outcome is still.outcome is Outcome.DUAL_APPROVAL
    assert mandate_reasons(still)[0].text.endswith("(mandate version 1)")
    assert mandate_reasons(expired) == []
    assert expired.outcome is Outcome.ALLOW
