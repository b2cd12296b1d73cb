"""Rule sets in the engine: the active set acts and raises risk, shadow sets are only logged,
and a rule may read window aggregates the model never asked the state for."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from bank import START, FixedScorer, SetLists, make_engine, make_event

from tenure.core.outcome import Outcome
from tenure.core.rules import CompiledRuleSet, compile_ruleset
from tenure.protection.decision import Reason, ShadowResult
from tenure.protection.engine import RuleBook
from tenure.protection.events import EventKind
from tenure.protection.signals import MODEL_FEATURES, compute_signals, queries_for, window_needs
from tenure.protection.state.memory import MemoryKeyedState

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "examples" / "rules" / "default.yaml"


def _ruleset(name: str, *rules: dict[str, Any]) -> CompiledRuleSet:
    return compile_ruleset({"name": name, "rules": list(rules)})


LARGE_TRANSFER = {
    "id": "large_transfer",
    "description": "A transfer of 5,000 or more.",
    "events": ["transfer"],
    "when": {"field": "event.amount_minor", "op": "gte", "value": 500_000},
    "score": 0.5,
    "outcome": "step_up",
}
DECLINE_EVERYTHING = {
    "id": "decline_everything",
    "description": "A candidate rule that declines every event.",
    "when": {"field": "event.amount_minor", "op": "gte", "value": 0},
    "score": 1.0,
    "outcome": "decline",
}
BUSY_DEVICE = {
    "id": "busy_device",
    "description": "Three or more transfers from this device in 24 hours.",
    "events": ["transfer"],
    "when": {"field": "device.transfer.count_24h", "op": "gte", "value": 3},
    "score": 0.4,
    "outcome": "confirm",
}


def test_active_rule_hit_is_a_rule_reason_and_raises_risk() -> None:
    book = RuleBook(active=_ruleset("live", LARGE_TRANSFER), active_version=2)
    engine = make_engine(scorer=FixedScorer(0.1), rules=book)

    decision = engine.decide(make_event(amount_minor=600_000))

    assert Reason("rule", "large_transfer", "A transfer of 5,000 or more.") in decision.reasons
    assert decision.rule_score == 0.5
    assert decision.risk == pytest.approx(1 - (1 - 0.1) * (1 - 0.5))
    assert decision.risk > decision.model_risk  # type: ignore[operator]
    assert decision.ruleset == "live@2"
    assert decision.outcome >= Outcome.STEP_UP


def test_active_rule_that_misses_adds_no_reason_and_no_risk() -> None:
    book = RuleBook(active=_ruleset("live", LARGE_TRANSFER), active_version=2)
    engine = make_engine(scorer=FixedScorer(0.1), rules=book)

    decision = engine.decide(make_event(amount_minor=400_000))

    assert not any(reason.source == "rule" for reason in decision.reasons)
    assert decision.rule_score == 0.0
    assert decision.risk == pytest.approx(0.1)


def test_rule_for_other_event_kinds_does_not_fire() -> None:
    book = RuleBook(active=_ruleset("live", LARGE_TRANSFER), active_version=1)
    decision = make_engine(scorer=FixedScorer(0.0), rules=book).decide(
        make_event(EventKind.CARD_PAYMENT, amount_minor=900_000)
    )

    assert decision.rule_score == 0.0
    assert decision.outcome is Outcome.ALLOW


def test_shadow_rule_set_is_logged_but_does_not_change_the_outcome() -> None:
    event = make_event(amount_minor=600_000)
    shadow = _ruleset("candidate", DECLINE_EVERYTHING)
    plain = make_engine(scorer=FixedScorer(0.01)).decide(event)
    shadowed = make_engine(scorer=FixedScorer(0.01), rules=RuleBook(shadows=((shadow, 5),))).decide(
        event
    )

    assert shadowed.shadow == (
        ShadowResult("candidate", 5, Outcome.DECLINE, ("decline_everything",)),
    )
    assert shadowed.outcome is plain.outcome is Outcome.ALLOW
    assert shadowed.risk == plain.risk
    assert shadowed.rule_score == 0.0
    assert shadowed.reasons == plain.reasons
    assert shadowed.ruleset is None


def test_shadow_beside_an_active_set_reports_its_own_hits_only() -> None:
    active = _ruleset("live", LARGE_TRANSFER)
    shadow = _ruleset("candidate", DECLINE_EVERYTHING)
    event = make_event(amount_minor=600_000, payee_id="P-unlisted")
    alone = make_engine(scorer=FixedScorer(0.01), rules=RuleBook(active, 3)).decide(event)
    book = RuleBook(active=active, active_version=3, shadows=((shadow, 4),))

    decision = make_engine(scorer=FixedScorer(0.01), rules=book).decide(event)

    assert decision.outcome is alone.outcome
    assert decision.risk == alone.risk
    assert [r.code for r in decision.reasons if r.source == "rule"] == ["large_transfer"]
    assert decision.shadow == (
        ShadowResult("candidate", 4, Outcome.DECLINE, ("decline_everything",)),
    )


def test_window_needs_names_the_streams_a_rule_reads_per_entity() -> None:
    needs = window_needs(["device.transfer.count_24h", "ip.login.sum_1h", "event.amount_minor"])

    assert needs == {"device": frozenset({"transfer"}), "ip": frozenset({"login"})}


def _device_transfers(engine_rules: RuleBook, customers: int) -> list[Any]:
    """Transfers by ``customers`` different customers from one device, a minute apart."""
    engine = make_engine(scorer=FixedScorer(0.01), rules=engine_rules, values={})
    return [
        engine.decide(
            make_event(
                event_id=f"T{n}",
                customer_id=f"C{n}",
                payee_id=f"P{n}",
                account_id=f"A{n}",
                device_id="D-shared",
                at=START + timedelta(minutes=n),
            )
        )
        for n in range(customers)
    ]


def test_rule_reads_a_device_window_aggregate_the_model_does_not() -> None:
    assert "device.transfer.count_24h" not in MODEL_FEATURES
    book = RuleBook(active=_ruleset("live", BUSY_DEVICE), active_version=1)

    decisions = _device_transfers(book, 5)

    hits = [[r.code for r in d.reasons if r.source == "rule"] for d in decisions]
    assert hits == [[], [], [], ["busy_device"], ["busy_device"]]
    assert decisions[3].outcome >= Outcome.CONFIRM


def test_shadow_rule_reads_window_aggregates_too() -> None:
    book = RuleBook(shadows=((_ruleset("candidate", BUSY_DEVICE), 1),))

    decisions = _device_transfers(book, 4)

    assert [d.shadow[0].rule_ids for d in decisions] == [(), (), (), ("busy_device",)]
    assert all(d.outcome is Outcome.ALLOW for d in decisions)


def test_extra_window_field_sees_the_exact_count_from_state() -> None:
    state = MemoryKeyedState(idle_seconds=None)
    book = RuleBook(active=_ruleset("live", BUSY_DEVICE), active_version=1)
    engine = make_engine(state=state, rules=book, values={})
    for n in range(3):
        engine.decide(make_event(event_id=f"T{n}", at=START + timedelta(minutes=n)))
    probe = make_event(event_id="probe", at=START + timedelta(hours=2))

    views = state.read(queries_for(probe, book.needs), probe.at)
    signals = compute_signals(probe, views, book.fields)

    assert signals["device.transfer.count_24h"] == 3.0
    assert "device.transfer.count_1h" not in signals


def test_blocked_payee_rule_of_the_default_set_fires_through_the_engine() -> None:
    document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    book = RuleBook(active=compile_ruleset(document), active_version=1)
    lists = SetLists(frozenset({("blocked_payees", "P-mule")}))

    decision = make_engine(scorer=FixedScorer(0.0), rules=book, lists=lists).decide(
        make_event(payee_id="P-mule", amount_minor=10_000)
    )

    assert "blocked_payee" in [r.code for r in decision.reasons if r.source == "rule"]
    assert decision.outcome is Outcome.DECLINE


def test_default_new_device_rule_fires_on_a_large_transfer_from_a_new_device() -> None:
    document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    book = RuleBook(active=compile_ruleset(document), active_version=1)
    engine = make_engine(scorer=FixedScorer(0.0), rules=book)
    engine.decide(make_event(EventKind.LOGIN, event_id="L0", device_id="D-home"))

    decision = engine.decide(
        make_event(device_id="D-unseen", amount_minor=900_000, at=START + timedelta(minutes=5))
    )

    assert "new_device_large_transfer" in [r.code for r in decision.reasons]


def test_default_rule_set_reads_only_features_the_engine_computes() -> None:
    document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    fields = compile_ruleset(document).fields
    computed: set[str] = {"model.risk", "model.anomaly"}
    for kind in EventKind:
        event = make_event(kind)
        views = MemoryKeyedState().read(queries_for(event, window_needs(fields)), event.at)
        computed |= set(compute_signals(event, views, fields))

    assert sorted(fields - computed) == []
