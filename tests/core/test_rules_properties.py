"""Properties of rule evaluation that must hold for every rule and every event."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.core.rules import compile_ruleset, normalized, parse_ruleset

AT = datetime(2025, 3, 1, tzinfo=UTC)
FIELDS = ["event.amount_minor", "customer.amount_p99_minor", "event.country", "model.risk"]
LISTS = {"blocked": {"1", "KP"}, "trusted": {"2", "FR"}}
ORDERED = ["gt", "gte", "lt", "lte"]
_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class FixedLists:
    def contains(self, list_name: str, value: str, at: datetime) -> bool:
        return value in LISTS.get(list_name, set())


small_ints = st.integers(min_value=-3, max_value=3)
scalars = st.one_of(small_ints, st.sampled_from(["KP", "FR"]))
field_names = st.sampled_from(FIELDS)


def _leaf(op: list[str], **operands: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"field": field_names, "op": st.sampled_from(op), **operands})


leaves = st.one_of(
    _leaf(ORDERED, value=small_ints),
    _leaf(["eq", "ne"], value=scalars),
    _leaf(ORDERED, ref=field_names),
    _leaf(ORDERED, ref=field_names, times=st.sampled_from([0.5, 2.0, 3.0])),
    _leaf(["in", "not_in"], value=st.lists(scalars, min_size=1, max_size=3)),
    _leaf(["in_list", "not_in_list"], list=st.sampled_from(sorted(LISTS))),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda c: {"not": c}, inner),
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=4)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=4)),
    ),
    max_leaves=12,
)
features = st.dictionaries(field_names, st.one_of(st.none(), scalars, st.booleans()))


def _holds(cond: dict[str, Any], found: dict[str, object]) -> bool:
    """A deliberately naive reference interpreter of the documented semantics."""
    if "all" in cond:
        return all(_holds(c, found) for c in cond["all"])
    if "any" in cond:
        return any(_holds(c, found) for c in cond["any"])
    if "not" in cond:
        return not _holds(cond["not"], found)
    value = found.get(cond["field"])
    if value is None:
        return False
    op = cond["op"]
    if op in ("in", "not_in"):
        return (value in cond["value"]) is (op == "in")
    if op in ("in_list", "not_in_list"):
        return (str(value) in LISTS[cond["list"]]) is (op == "in_list")
    other = cond["value"] if "value" in cond else found.get(cond["ref"])
    if other is None:
        return False
    try:
        if "times" in cond:
            other = other * cond["times"]  # type: ignore[operator]
        return bool(_COMPARE[op](value, other))
    except TypeError:
        return False


def _rule(rule_id: str, when: dict[str, Any], score: float = 0.5) -> dict[str, Any]:
    return {"id": rule_id, "description": "generated", "when": when, "score": score}


def _fires(when: dict[str, Any], found: dict[str, object]) -> bool:
    compiled = compile_ruleset({"name": "p", "rules": [_rule("r", when)]})
    return bool(compiled.evaluate(found, event_kind="login", lists=FixedLists(), at=AT).hits)


def _reversed(cond: dict[str, Any]) -> dict[str, Any]:
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        return {key: [_reversed(c) for c in reversed(cond[key])]}
    if "not" in cond:
        return {"not": _reversed(cond["not"])}
    return cond


@given(conditions, features)
def test_agrees_with_a_naive_interpreter(when: dict[str, Any], found: dict[str, object]) -> None:
    assert _fires(when, found) is _holds(when, found)


@given(conditions, features)
def test_evaluation_is_deterministic_and_leaves_its_input_alone(
    when: dict[str, Any], found: dict[str, object]
) -> None:
    before = copy.deepcopy(found)
    compiled = compile_ruleset({"name": "p", "rules": [_rule("r", when)]})
    first = compiled.evaluate(found, event_kind="login", lists=FixedLists(), at=AT)
    second = compiled.evaluate(found, event_kind="login", lists=FixedLists(), at=AT)
    assert first == second
    assert found == before


@given(conditions, features)
def test_not_inverts(when: dict[str, Any], found: dict[str, object]) -> None:
    assert _fires({"not": when}, found) is not _fires(when, found)


@given(conditions, features)
def test_reordering_children_never_changes_the_result(
    when: dict[str, Any], found: dict[str, object]
) -> None:
    assert _fires(_reversed(when), found) is _fires(when, found)


@settings(max_examples=50)
@given(
    st.lists(st.tuples(conditions, st.floats(0, 1)), min_size=1, max_size=6),
    conditions,
    st.floats(0, 1),
    features,
)
def test_adding_a_rule_never_lowers_the_combined_score(
    rules: list[tuple[dict[str, Any], float]],
    extra: dict[str, Any],
    extra_score: float,
    found: dict[str, object],
) -> None:
    docs = [_rule(f"r{i}", when, score) for i, (when, score) in enumerate(rules)]
    before = compile_ruleset({"name": "p", "rules": docs})
    after = compile_ruleset({"name": "p", "rules": [*docs, _rule("extra", extra, extra_score)]})
    lists = FixedLists()
    low = before.evaluate(found, event_kind="login", lists=lists, at=AT)
    high = after.evaluate(found, event_kind="login", lists=lists, at=AT)
    assert 0.0 <= low.score <= high.score <= 1.0
    assert high.outcome >= low.outcome
    # 1 - (1 - s) can round one ulp below s, hence the tolerance.
    assert all(high.score >= hit.score - 1e-12 for hit in high.hits)


@given(conditions)
def test_the_normalized_document_means_and_hashes_the_same(when: dict[str, Any]) -> None:
    tree = parse_ruleset({"name": "p", "rules": [_rule("r", when)]})
    again = parse_ruleset(normalized(tree))
    assert again == tree
    doc = normalized(tree)
    assert compile_ruleset(doc).content_hash == compile_ruleset(normalized(again)).content_hash
