"""A rule set document is checked up front, and each problem names its path and reason."""

from __future__ import annotations

from typing import Any

import pytest

from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome
from tenure.core.rules import (
    WINDOW_FEATURES,
    AllOf,
    Compare,
    InList,
    Member,
    Not,
    compile_ruleset,
    parse_ruleset,
)

LARGE = {"field": "event.amount_minor", "op": "gte", "value": 500000}


def _rule(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "large", "description": "a large amount", "when": LARGE}
    base["score"] = 0.5
    return base | overrides


def _doc(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": "demo", "rules": list(rules) or [_rule()]}


def _problem(document: object, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_ruleset(document, **kwargs)
    return caught.value


def test_parses_every_node_kind_into_the_tree() -> None:
    when = {
        "all": [
            LARGE,
            {"field": "event.country", "op": "in", "value": ["KP", "IR"]},
            {"not": {"field": "event.payee_id", "op": "in_list", "list": "trusted_payees"}},
            {"field": "event.amount_minor", "op": "gt", "ref": "customer.amount_p99_minor"},
        ]
    }
    tree = parse_ruleset(_doc(_rule(when=when, events=["transfer"], outcome="hold")))
    rule = tree.rules[0]
    assert rule.events == frozenset({"transfer"})
    assert rule.outcome is Outcome.HOLD
    assert isinstance(rule.when, AllOf)
    compare, member, negated, ref = rule.when.children
    assert compare == Compare("event.amount_minor", "gte", value=500000)
    assert member == Member("event.country", "in", frozenset({"KP", "IR"}))
    assert negated == Not(InList("event.payee_id", "in_list", "trusted_payees"))
    assert ref == Compare("event.amount_minor", "gt", ref="customer.amount_p99_minor")


def test_window_sugar_is_the_same_as_the_named_feature() -> None:
    window = {"entity": "customer", "stream": "transfer", "agg": "sum", "over": "24h"}
    sugar = _rule(when={"window": window, "op": "gt", "value": 2000000})
    plain = _rule(when={"field": "customer.transfer.sum_24h", "op": "gt", "value": 2000000})
    assert parse_ruleset(_doc(sugar)) == parse_ruleset(_doc(plain))
    assert compile_ruleset(_doc(sugar)).content_hash == compile_ruleset(_doc(plain)).content_hash


WHEN_PROBLEMS = [
    ({"all": [LARGE, LARGE | {"op": "gte2"}]}, ".all[1].op", "unknown op"),
    (LARGE | {"value": "big"}, ".value", "must be a number"),
    (LARGE | {"value": True}, ".value", "must be a number"),
    (LARGE | {"value": None}, ".value", "must be a number"),
    ({"field": "event.c", "op": "eq", "value": [1]}, ".value", "text, number or boolean"),
    ({"all": []}, ".all", "non-empty list"),
    ({"all": [LARGE], "any": [LARGE]}, "", "only key"),
    ({"not": {"field": "event.x", "op": "eq"}}, ".not", "exactly one of value or ref"),
    (LARGE | {"list": "x"}, ".list", "does not go with op"),
    ({"field": "event.c", "op": "in", "value": []}, ".value", "non-empty list"),
    ({"field": "event.c", "op": "in", "value": ["a", 1.5]}, ".value[1]", "text or whole numbers"),
    ({"field": "event.c", "op": "in_list", "list": "Bad List"}, ".list", "lower_snake list name"),
    ({"field": "Amount", "op": "gt", "value": 1}, ".field", "dotted lower_snake"),
    ({"field": "customer.transfer.sum_25h", "op": "gt", "value": 1}, ".field", "must end in"),
    ({"field": "merchant.transfer.sum_1h", "op": "gt", "value": 1}, ".field", "window entity"),
    ({"field": "event.a", "op": "eq", "ref": "event.b", "times": 2}, ".times", "only with ref"),
    ({"field": "event.a", "op": "gt", "ref": "event.b", "times": 0}, ".times", "positive number"),
    ({"op": "gt", "value": 1}, "", "needs a field"),
    ("amount > 5", "", "must be a mapping"),
]


@pytest.mark.parametrize(("when", "path", "reason"), WHEN_PROBLEMS)
def test_names_the_path_and_reason_of_a_bad_condition(when: Any, path: str, reason: str) -> None:
    problem = _problem(_doc(_rule(when=when)))
    assert problem.field == f"rules[0].when{path}"
    assert reason in problem.message


@pytest.mark.parametrize(
    ("document", "path", "reason"),
    [
        (_doc(_rule(), _rule()), "rules[1].id", "duplicate rule id 'large' (also rules[0])"),
        (_doc(_rule(score=1.5)), "rules[0].score", "between 0 and 1"),
        (_doc(_rule(score="0.5")), "rules[0].score", "between 0 and 1"),
        (_doc(_rule(outcome="block")), "rules[0].outcome", "unknown outcome"),
        (_doc(_rule(events=["transfer", "wire"])), "rules[0].events[1]", "unknown event kind"),
        (_doc(_rule(events=[])), "rules[0].events", "non-empty"),
        (_doc(_rule(id="Large-Amount")), "rules[0].id", "lower_snake"),
        (_doc(_rule(description="")), "rules[0].description", "non-empty"),
        (_doc(_rule(colour="red")), "rules[0].colour", "unknown key"),
        (_doc({"id": "x", "description": "d", "score": 0.1}), "rules[0].when", "needs a when"),
        ({"name": "demo", "rules": "none"}, "rules", "must be a list"),
        ({"rules": []}, "name", "non-empty text"),
        ({"name": "demo", "rules": [], "owner": "x"}, "owner", "unknown key"),
    ],
)
def test_names_the_path_and_reason_of_a_bad_rule(document: object, path: str, reason: str) -> None:
    problem = _problem(document)
    assert problem.field == path
    assert reason in problem.message


@pytest.mark.parametrize(
    ("window", "path"),
    [
        ({"entity": "merchant", "stream": "transfer", "agg": "sum", "over": "24h"}, "entity"),
        ({"entity": "customer", "stream": "wire", "agg": "sum", "over": "24h"}, "stream"),
        ({"entity": "customer", "stream": "transfer", "agg": "avg", "over": "24h"}, "agg"),
        ({"entity": "customer", "stream": "transfer", "agg": "sum", "over": "2d"}, "over"),
        ({"entity": "customer", "stream": "transfer", "agg": "sum"}, "over"),
        ({"entity": "customer", "stream": "transfer", "agg": "sum", "over": "1h", "x": 1}, "x"),
    ],
)
def test_rejects_a_bad_window_at_its_part(window: dict[str, Any], path: str) -> None:
    problem = _problem(_doc(_rule(when={"window": window, "op": "gt", "value": 1})))
    assert problem.field == f"rules[0].when.window.{path}"


def test_rejects_both_field_and_window() -> None:
    window = {"entity": "customer", "stream": "transfer", "agg": "sum", "over": "1h"}
    problem = _problem(_doc(_rule(when=LARGE | {"window": window})))
    assert problem.field == "rules[0].when.window"


def test_unknown_field_is_refused_only_when_the_known_fields_are_given() -> None:
    when = {"field": "event.amount_minor", "op": "gt", "ref": "customer.amount_p99_minor"}
    document = _doc(_rule(when=when))
    parse_ruleset(document)
    problem = _problem(document, known_fields={"event.amount_minor"})
    assert problem.field == "rules[0].when.ref"
    assert "unknown field 'customer.amount_p99_minor'" in problem.message


def test_window_features_are_known_when_the_engine_lists_them() -> None:
    window = {"entity": "ip", "stream": "login", "agg": "count", "over": "1h"}
    document = _doc(_rule(when={"window": window, "op": "gt", "value": 20}))
    assert parse_ruleset(document, known_fields=WINDOW_FEATURES).rules[0].when == Compare(
        "ip.login.count_1h", "gt", value=20
    )


def test_refuses_nesting_deeper_than_the_limit() -> None:
    when: dict[str, Any] = LARGE
    for _ in range(40):
        when = {"not": when}
    problem = _problem(_doc(_rule(when=when)))
    assert problem.field is not None
    assert "nest deeper" in problem.message


def test_refuses_a_document_that_is_not_a_mapping() -> None:
    assert "must be a mapping" in _problem(["rules"]).message


def test_times_of_one_is_the_same_as_no_times() -> None:
    plain = {"field": "event.a", "op": "gt", "ref": "event.b"}
    assert parse_ruleset(_doc(_rule(when=plain | {"times": 1}))) == parse_ruleset(
        _doc(_rule(when=plain))
    )


def test_an_empty_rule_set_is_valid_and_never_fires() -> None:
    assert parse_ruleset({"name": "empty", "rules": []}).rules == ()
