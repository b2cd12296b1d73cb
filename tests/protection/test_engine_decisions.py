"""Engine.decide outcomes: defaults for unknown customers, block lists and hard floors that no
cost undercuts, a policy that never weakens with more risk, and the decision's JSON form."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from bank import (
    START,
    FixedScorer,
    SetLists,
    make_engine,
    make_event,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.core.decision import CustomerValue
from tenure.core.outcome import Outcome
from tenure.core.rules import compile_ruleset
from tenure.protection.decision import (
    Decision,
    Reason,
    decision_from_json,
    event_from_json,
    event_to_json,
)
from tenure.protection.engine import UNKNOWN_CUSTOMER, Floor, RuleBook
from tenure.protection.events import Event, EventKind
from tenure.protection.policy import ALLOWED_ACTIONS
from tenure.protection.signals import Signals

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
kinds = st.sampled_from(list(EventKind))
amounts = st.integers(min_value=1, max_value=50_000_000)


def _event_of(kind: EventKind, amount: int) -> Event:
    money = kind in (EventKind.TRANSFER, EventKind.CARD_PAYMENT)
    return make_event(kind, amount_minor=amount if money else 0)


class HoldAtLeast:
    """A hard rule (a corporate mandate, say) that asks for at least a hold on every event."""

    def floor(self, event: Event, signals: Signals, at: datetime) -> Floor | None:
        return Floor(Outcome.HOLD, (Reason("mandate", "needs_second_signer", "second signer"),))


class NoOpinion:
    def floor(self, event: Event, signals: Signals, at: datetime) -> Floor | None:
        return None


def test_unknown_customer_is_decided_on_defaults_and_flagged() -> None:
    event = make_event(customer_id="C-new", amount_minor=800_000)
    unknown = make_engine(scorer=FixedScorer(0.05), values={}).decide(event)
    as_default = make_engine(scorer=FixedScorer(0.05), values={"C-new": UNKNOWN_CUSTOMER}).decide(
        event
    )

    assert "unknown_customer" in unknown.flags
    assert "unknown_customer" not in as_default.flags
    assert unknown.outcome == as_default.outcome
    assert unknown.costs == as_default.costs


def test_known_customer_is_not_flagged_and_value_changes_the_costs() -> None:
    event = make_event(amount_minor=800_000)
    known = make_engine(scorer=FixedScorer(0.05)).decide(event)
    unknown = make_engine(scorer=FixedScorer(0.05), values={}).decide(event)

    assert known.flags == frozenset()
    assert known.costs != unknown.costs


def test_without_scorer_decision_is_flagged_no_model_and_uses_rules_only() -> None:
    decision = make_engine(scorer=None, values={}).decide(make_event())

    assert decision.flags == {"unknown_customer", "no_model"}
    assert decision.model_risk is None
    assert decision.model_version is None
    assert 0.0 < decision.risk < 0.05
    assert not any(reason.source == "model" for reason in decision.reasons)


def test_scorer_probability_and_version_reach_the_decision() -> None:
    decision = make_engine(scorer=FixedScorer(0.2, version="v0007")).decide(make_event())

    assert decision.model_risk == 0.2
    assert decision.risk == pytest.approx(0.2)
    assert decision.model_version == "v0007"
    assert "no_model" not in decision.flags
    assert Reason("model", "event.amount_minor", "a large amount") in decision.reasons


@settings(max_examples=60, deadline=None)
@given(p=probabilities, kind=st.sampled_from([EventKind.TRANSFER, EventKind.PAYEE_ADD]))
def test_blocked_payee_is_declined_whatever_the_risk(p: float, kind: EventKind) -> None:
    lists = SetLists(frozenset({("blocked_payees", "P-mule")}))
    engine = make_engine(scorer=FixedScorer(p), lists=lists)

    decision = engine.decide(make_event(kind, payee_id="P-mule"))

    assert decision.outcome is Outcome.DECLINE
    assert Reason("list", "blocked_payees", "payee_id is on blocked_payees") in decision.reasons


def test_payee_on_another_list_or_unlisted_payee_is_not_declined_for_a_list() -> None:
    lists = SetLists(frozenset({("blocked_devices", "P-mule"), ("blocked_payees", "P-other")}))
    decision = make_engine(scorer=FixedScorer(0.0), lists=lists).decide(
        make_event(payee_id="P-mule")
    )

    assert decision.outcome is Outcome.ALLOW
    assert not any(reason.source == "list" for reason in decision.reasons)


def test_blocked_device_declines_a_login() -> None:
    lists = SetLists(frozenset({("blocked_devices", "D-bad")}))
    decision = make_engine(scorer=FixedScorer(0.0), lists=lists).decide(
        make_event(EventKind.LOGIN, device_id="D-bad")
    )

    assert decision.outcome is Outcome.DECLINE
    assert [r.code for r in decision.reasons if r.source == "list"] == ["blocked_devices"]


@settings(max_examples=80, deadline=None)
@given(p=probabilities, kind=kinds, amount=amounts)
def test_hard_rule_floor_of_hold_is_never_undercut(p: float, kind: EventKind, amount: int) -> None:
    engine = make_engine(scorer=FixedScorer(p), hard_rules=(NoOpinion(), HoldAtLeast()))

    decision = engine.decide(_event_of(kind, amount))

    assert decision.outcome >= Outcome.HOLD
    assert decision.outcome in ALLOWED_ACTIONS[kind]
    assert Reason("mandate", "needs_second_signer", "second signer") in decision.reasons


def test_without_floor_a_tiny_risk_is_allowed() -> None:
    decision = make_engine(scorer=FixedScorer(0.0), hard_rules=(NoOpinion(),)).decide(make_event())

    assert decision.outcome is Outcome.ALLOW
    assert decision.reasons == (Reason("model", "event.amount_minor", "a large amount"),)


@settings(max_examples=150, deadline=None)
@given(
    low=probabilities,
    high=probabilities,
    kind=kinds,
    amount=amounts,
    clv=st.integers(min_value=0, max_value=100_000_000),
    p_churn=st.floats(min_value=0.0, max_value=1.0),
)
def test_higher_model_probability_never_yields_a_weaker_outcome(
    low: float, high: float, kind: EventKind, amount: int, clv: int, p_churn: float
) -> None:
    low, high = min(low, high), max(low, high)
    values = {"C1": CustomerValue(clv, p_churn)}
    event = _event_of(kind, amount)

    calm = make_engine(scorer=FixedScorer(low), values=values).decide(event)
    alarmed = make_engine(scorer=FixedScorer(high), values=values).decide(event)

    assert alarmed.outcome >= calm.outcome
    assert alarmed.risk >= calm.risk


def _rich_decision(p: float, amount: int, lat: float, lon: float) -> Decision:
    active = compile_ruleset(
        {
            "name": "live",
            "rules": [
                {
                    "id": "large_transfer",
                    "description": "A transfer of 5,000 or more.",
                    "events": ["transfer"],
                    "when": {"field": "event.amount_minor", "op": "gte", "value": 500_000},
                    "score": 0.3,
                    "outcome": "step_up",
                }
            ],
        }
    )
    shadow = compile_ruleset(
        {
            "name": "candidate",
            "rules": [
                {
                    "id": "any_transfer",
                    "description": "Every transfer.",
                    "when": {"field": "event.amount_minor", "op": "gt", "value": 0},
                    "score": 0.9,
                    "outcome": "hold",
                }
            ],
        }
    )
    engine = make_engine(
        scorer=FixedScorer(p),
        values={},
        rules=RuleBook(active=active, active_version=3, shadows=((shadow, 4),)),
        hard_rules=(HoldAtLeast(),),
    )
    event = make_event(
        amount_minor=amount,
        lat=lat,
        lon=lon,
        auth_method="otp",
        at=START + timedelta(seconds=1.5),
    )
    return engine.decide(event)


def _without_totals(payload: dict[str, Any]) -> dict[str, Any]:
    costs = [{k: v for k, v in c.items() if k != "total_minor"} for c in payload["costs"]]
    return {**payload, "costs": costs}


def _log_round_trip(decision: Decision) -> tuple[dict[str, Any], Decision]:
    """The payload as the log stores it, and the decision the log rebuilds from it."""
    payload = json.loads(json.dumps(decision.to_json()))
    event = event_from_json(json.loads(json.dumps(event_to_json(decision.event))))
    return payload, decision_from_json(payload, event)


@settings(max_examples=60, deadline=None)
@given(
    p=probabilities,
    amount=amounts,
    lat=st.floats(min_value=-90, max_value=90),
    lon=st.floats(min_value=-180, max_value=180),
)
def test_decision_json_round_trips_through_the_log_payload(
    p: float, amount: int, lat: float, lon: float
) -> None:
    decision = _rich_decision(p, amount, lat, lon)

    payload, restored = _log_round_trip(decision)

    assert restored.event == decision.event
    assert _without_totals(restored.to_json()) == _without_totals(payload)
    assert restored.decision_id == decision.decision_id
    assert restored.idempotency_key == decision.idempotency_key
    assert restored.outcome is decision.outcome
    assert restored.reasons == decision.reasons
    assert restored.flags == decision.flags
    assert restored.shadow == decision.shadow
    assert restored.decided_at == decision.decided_at
    assert restored.ruleset == decision.ruleset
    assert restored.model_version == decision.model_version
    assert math.isclose(restored.risk, decision.risk, abs_tol=1e-6)
    for kept, first in zip(restored.costs, decision.costs, strict=True):
        assert kept.action is first.action
        assert math.isclose(kept.total_minor, first.total_minor, abs_tol=0.02)


def test_retry_answered_from_the_log_gets_byte_for_byte_the_first_answer() -> None:
    decision = _rich_decision(0.5, 1, 0.0, 0.0)

    payload, restored = _log_round_trip(decision)

    assert restored.to_json() == payload


def test_decision_json_names_every_part_a_client_reads() -> None:
    payload = _rich_decision(0.25, 600_000, 39.9, 116.4).to_json()

    assert payload["event_kind"] == "transfer"
    assert payload["customer_id"] == "C1"
    assert Outcome(payload["outcome"]) >= Outcome.HOLD
    assert payload["ruleset"] == "live@3"
    assert payload["model_version"] == "fixed-1"
    assert payload["flags"] == ["unknown_customer"]
    assert payload["shadow"] == [
        {"ruleset": "candidate", "version": 4, "outcome": "hold", "rule_ids": ["any_transfer"]}
    ]
    assert [r["source"] for r in payload["reasons"]] == ["mandate", "rule", "model"]
    assert payload["decided_at"] == START.isoformat()
