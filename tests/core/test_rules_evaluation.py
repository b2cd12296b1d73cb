"""Compiled rules decide each operator as documented, cheapest first, and combine their hits."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

import tenure.core.rules.compiled
import tenure.core.rules.evaluation
import tenure.core.rules.fields
from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome
from tenure.core.rules import NO_LISTS, CompiledRuleSet, combine, compile_ruleset

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)


class RecordingLists:
    """A ListLookup over fixed values that records every lookup."""

    def __init__(self, **lists: set[str]) -> None:
        self.lists = lists
        self.calls: list[tuple[str, str, datetime]] = []

    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        self.calls.append((list_name, value, at))
        return value in self.lists.get(list_name, set())


def _one(when: dict[str, Any], **rule: Any) -> CompiledRuleSet:
    body = {"id": "r", "description": "a rule", "when": when, "score": 0.5} | rule
    return compile_ruleset({"name": "t", "rules": [body]})


def _fires(when: dict[str, Any], features: dict[str, object], lists: Any = NO_LISTS) -> bool:
    found = _one(when).evaluate(features, event_kind="transfer", lists=lists, at=AT)
    return found.rule_ids == ("r",)


@pytest.mark.parametrize(
    "module", [tenure.core.rules.compiled, tenure.core.rules.evaluation, tenure.core.rules.fields]
)
def test_module_examples_hold(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("op", "value", "amount", "expected"),
    [
        ("eq", 100, 100, True),
        ("eq", 100, 101, False),
        ("ne", 100, 101, True),
        ("ne", 100, 100, False),
        ("gt", 100, 101, True),
        ("gt", 100, 100, False),
        ("gte", 100, 100, True),
        ("gte", 100, 99, False),
        ("lt", 100, 99, True),
        ("lt", 100, 100, False),
        ("lte", 100, 100, True),
        ("lte", 100, 101, False),
    ],
)
def test_compares_a_feature_with_a_value(op: str, value: int, amount: int, expected: bool) -> None:
    when = {"field": "event.amount_minor", "op": op, "value": value}
    assert _fires(when, {"event.amount_minor": amount}) is expected


def test_compares_text_and_booleans_for_equality() -> None:
    assert _fires({"field": "device.is_new", "op": "eq", "value": True}, {"device.is_new": True})
    assert not _fires(
        {"field": "device.is_new", "op": "eq", "value": True}, {"device.is_new": False}
    )
    assert _fires({"field": "event.channel", "op": "ne", "value": "app"}, {"event.channel": "web"})


def test_compares_against_a_multiple_of_another_feature() -> None:
    when = {
        "field": "event.amount_minor",
        "op": "gt",
        "ref": "customer.amount_p99_minor",
        "times": 3.0,
    }
    assert _fires(when, {"event.amount_minor": 301, "customer.amount_p99_minor": 100})
    assert not _fires(when, {"event.amount_minor": 300, "customer.amount_p99_minor": 100})
    assert not _fires(when, {"event.amount_minor": 301})


def test_compares_two_features_without_a_multiple() -> None:
    when = {"field": "event.country", "op": "ne", "ref": "customer.home_country"}
    assert _fires(when, {"event.country": "FR", "customer.home_country": "CN"})
    assert not _fires(when, {"event.country": "CN", "customer.home_country": "CN"})


def test_tests_membership_in_a_fixed_set() -> None:
    risky = {"field": "event.country", "op": "in", "value": ["KP", "IR"]}
    assert _fires(risky, {"event.country": "KP"})
    assert not _fires(risky, {"event.country": "FR"})
    assert _fires(risky | {"op": "not_in"}, {"event.country": "FR"})


@pytest.mark.parametrize(
    "when",
    [
        {"field": "event.amount_minor", "op": "eq", "value": 1},
        {"field": "event.amount_minor", "op": "ne", "value": 1},
        {"field": "event.amount_minor", "op": "lt", "value": 1},
        {"field": "event.amount_minor", "op": "gt", "ref": "customer.amount_p99_minor"},
        {"field": "customer.amount_p99_minor", "op": "lt", "ref": "event.amount_minor"},
        {"field": "event.amount_minor", "op": "in", "value": [1]},
        {"field": "event.amount_minor", "op": "not_in", "value": [1]},
        {"field": "event.amount_minor", "op": "in_list", "list": "l"},
        {"field": "event.amount_minor", "op": "not_in_list", "list": "l"},
    ],
)
def test_a_missing_feature_makes_any_test_false_and_its_negation_true(when: dict[str, Any]) -> None:
    for features in ({}, {"event.amount_minor": None}):
        assert not _fires(when, features)
        assert _fires({"not": when}, features)


def test_ordering_text_against_a_number_is_false_not_an_error() -> None:
    when = {"field": "event.amount_minor", "op": "gt", "value": 1}
    assert not _fires(when, {"event.amount_minor": "lots"})
    assert _fires({"not": when}, {"event.amount_minor": "lots"})


def test_looks_values_up_in_named_lists_at_the_given_time() -> None:
    lists = RecordingLists(blocked_payees={"P9", "42"})
    when = {"field": "event.payee_id", "op": "in_list", "list": "blocked_payees"}
    assert _fires(when, {"event.payee_id": "P9"}, lists)
    assert _fires(when, {"event.payee_id": 42}, lists)  # numbers are looked up as their text
    assert not _fires(when, {"event.payee_id": "P1"}, lists)
    assert _fires(when | {"op": "not_in_list"}, {"event.payee_id": "P1"}, lists)
    assert lists.calls[0] == ("blocked_payees", "P9", AT)


def test_runs_a_list_lookup_only_after_cheaper_tests_pass() -> None:
    lists = RecordingLists(blocked_payees={"P9"})
    listed = {"field": "event.payee_id", "op": "in_list", "list": "blocked_payees"}
    large = {"field": "event.amount_minor", "op": "gt", "value": 1000}
    when = {"all": [listed, large]}
    assert not _fires(when, {"event.payee_id": "P9", "event.amount_minor": 5}, lists)
    assert lists.calls == []
    assert _fires(
        {"any": [listed, large]}, {"event.payee_id": "P9", "event.amount_minor": 5000}, lists
    )
    assert lists.calls == []


def _two_rules() -> CompiledRuleSet:
    large = {"field": "event.amount_minor", "op": "gt", "value": 1000}
    new = {"field": "device.is_new", "op": "eq", "value": True}
    return compile_ruleset(
        {
            "name": "t",
            "rules": [
                {
                    "id": "large",
                    "description": "big",
                    "when": large,
                    "score": 0.5,
                    "outcome": "step_up",
                    "events": ["transfer"],
                },
                {
                    "id": "new_device",
                    "description": "new",
                    "when": new,
                    "score": 0.2,
                    "outcome": "hold",
                },
            ],
        }
    )


def test_returns_hits_in_rule_order_with_combined_score_and_strongest_outcome() -> None:
    found = _two_rules().evaluate(
        {"event.amount_minor": 5000, "device.is_new": True},
        event_kind="transfer",
        lists=NO_LISTS,
        at=AT,
    )
    assert found.rule_ids == ("large", "new_device")
    assert found.score == pytest.approx(1 - 0.5 * 0.8)
    assert found.outcome is Outcome.HOLD
    assert found.hits[0].description == "big"
    assert combine(found.hits) == found


def test_skips_rules_for_other_event_kinds() -> None:
    found = _two_rules().evaluate(
        {"event.amount_minor": 5000, "device.is_new": False},
        event_kind="login",
        lists=NO_LISTS,
        at=AT,
    )
    assert found.hits == ()
    assert found.score == 0.0
    assert found.outcome is Outcome.ALLOW


def test_refuses_an_unknown_event_kind() -> None:
    with pytest.raises(ValidationError, match="unknown event kind") as caught:
        _two_rules().evaluate({}, event_kind="wire", lists=NO_LISTS, at=AT)
    assert caught.value.field == "event_kind"


def test_a_rule_without_an_outcome_asks_for_none() -> None:
    found = _one({"field": "model.risk", "op": "gt", "value": 0.5}).evaluate(
        {"model.risk": 0.9}, event_kind="login", lists=NO_LISTS, at=AT
    )
    assert found.hits[0].outcome is None
    assert found.outcome is Outcome.ALLOW


def test_exposes_the_fields_and_lists_it_reads() -> None:
    rules = _one(
        {
            "all": [
                {"field": "event.amount_minor", "op": "gt", "ref": "customer.amount_p99_minor"},
                {
                    "window": {
                        "entity": "payee",
                        "stream": "transfer",
                        "agg": "count",
                        "over": "7d",
                    },
                    "op": "lt",
                    "value": 1,
                },
                {"field": "event.payee_id", "op": "not_in_list", "list": "trusted_payees"},
            ]
        },
        events=["transfer"],
    )
    assert rules.fields == {
        "event.amount_minor",
        "customer.amount_p99_minor",
        "payee.transfer.count_7d",
        "event.payee_id",
    }
    assert rules.lists == {"trusted_payees"}
    assert rules.fields_for("transfer") == rules.fields
    assert rules.fields_for("login") == frozenset()


def test_content_hash_ignores_layout_and_follows_meaning() -> None:
    when = {"field": "event.country", "op": "in", "value": ["KP", "IR"]}
    first = _one(when, events=["transfer", "login"])
    reordered = _one(
        {"value": ["IR", "KP"], "op": "in", "field": "event.country"}, events=["login", "transfer"]
    )
    changed = _one(when | {"value": ["KP"]}, events=["transfer", "login"])
    assert first.content_hash == reordered.content_hash
    assert first.content_hash != changed.content_hash
    assert len(first.content_hash) == 64
