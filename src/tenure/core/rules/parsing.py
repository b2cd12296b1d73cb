"""Read a rule set document (a plain dict, as loaded from YAML or JSON) into a checked tree.

Everything is checked up front, so that a rule set that compiles never fails for a reason its
author could have been told about. Each problem raises ``ValidationError`` whose ``field`` is a
path into the document, e.g. ``rules[2].when.all[1].op``, and whose message names the reason.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard, cast

from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome
from tenure.core.rules.fields import (
    AGGREGATES,
    ENTITIES,
    EVENT_KINDS,
    WINDOWS,
    is_feature_name,
    is_snake_name,
    window_feature,
    window_problem,
)
from tenure.core.rules.nodes import (
    AllOf,
    AnyOf,
    Compare,
    CompareOp,
    Condition,
    InList,
    ListOp,
    Member,
    MemberOp,
    Not,
    Rule,
    RuleSet,
)

__all__ = ["MAX_DEPTH", "parse_ruleset"]

# Deep enough for any rule a person writes; shallow enough that recursion can never overflow.
MAX_DEPTH = 32

_ORDERED_OPS = frozenset({"gt", "gte", "lt", "lte"})
_COMPARE_OPS = frozenset({"eq", "ne"}) | _ORDERED_OPS
_MEMBER_OPS = frozenset({"in", "not_in"})
_LIST_OPS = frozenset({"in_list", "not_in_list"})
_ALL_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "in_list", "not_in_list")
_DOC_KEYS = ("name", "description", "rules")
_RULE_KEYS = ("id", "description", "events", "when", "score", "outcome")
_WINDOW_KEYS = ("entity", "stream", "agg", "over")
_GROUP_KEYS = ("all", "any", "not")
_OPERAND_KEYS = {
    "compare": frozenset({"value", "ref", "times"}),
    "member": frozenset({"value"}),
    "list": frozenset({"list"}),
}


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _fail(message: str, path: str) -> ValidationError:
    return ValidationError(message, field=path or None)


def _mapping(obj: object, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
        raise _fail(f"{what} must be a mapping with text keys", path)
    return cast(Mapping[str, Any], obj)


def _only_keys(obj: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise _fail(f"unknown key {key!r}; expected one of {expected}", _at(path, key))


def _text(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{key} must be non-empty text", _at(path, key))
    return value.strip()


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _check_field(name: object, path: str, known: frozenset[str] | None) -> str:
    if not isinstance(name, str) or not is_feature_name(name):
        raise _fail("a feature name is dotted lower_snake text, e.g. event.amount_minor", path)
    problem = window_problem(name)
    if problem is not None:
        raise _fail(problem, path)
    if known is not None and name not in known:
        raise _fail(f"unknown field {name!r}: the engine does not compute it", path)
    return name


def _window_field(obj: object, path: str, known: frozenset[str] | None) -> str:
    window = _mapping(obj, path, "window")
    _only_keys(window, _WINDOW_KEYS, path)
    choices = {"entity": ENTITIES, "stream": EVENT_KINDS, "agg": AGGREGATES, "over": WINDOWS}
    parts: list[str] = []
    for key, allowed in choices.items():
        part = window.get(key)
        if part not in allowed:
            raise _fail(f"bad window: {key} must be one of {', '.join(allowed)}", _at(path, key))
        parts.append(cast(str, part))
    return _check_field(window_feature(*parts), path, known)


def _leaf_field(obj: Mapping[str, Any], path: str, known: frozenset[str] | None) -> str:
    if "field" in obj and "window" in obj:
        raise _fail("give either field or window, not both", _at(path, "window"))
    if "window" in obj:
        return _window_field(obj["window"], _at(path, "window"), known)
    if "field" not in obj:
        raise _fail("a comparison needs a field (or a window) and an op", path)
    return _check_field(obj["field"], _at(path, "field"), known)


def _compare(
    obj: Mapping[str, Any], field: str, op: str, path: str, known: frozenset[str] | None
) -> Compare:
    ordered = op in _ORDERED_OPS
    if ("value" in obj) == ("ref" in obj):
        raise _fail(f"op {op!r} needs exactly one of value or ref", path)
    if "times" in obj and not ("ref" in obj and ordered):
        raise _fail("times goes only with ref and one of gt, gte, lt, lte", _at(path, "times"))
    typed_op = cast(CompareOp, op)
    if "ref" in obj:
        ref = _check_field(obj["ref"], _at(path, "ref"), known)
        times = obj.get("times")
        if times is not None and not (_is_number(times) and times > 0):
            raise _fail("times must be a positive number", _at(path, "times"))
        factor = None if times is None or times == 1 else float(times)
        return Compare(field=field, op=typed_op, ref=ref, times=factor)
    value = obj["value"]
    if ordered and not _is_number(value):
        raise _fail(f"op {op!r} compares numbers; value must be a number", _at(path, "value"))
    if not _is_scalar(value):
        raise _fail(f"op {op!r} needs a text, number or boolean value", _at(path, "value"))
    return Compare(field=field, op=typed_op, value=value)


def _member(obj: Mapping[str, Any], field: str, op: str, path: str) -> Member:
    values = obj.get("value")
    where = _at(path, "value")
    if not isinstance(values, list) or not values:
        raise _fail(f"op {op!r} needs a non-empty list of values", where)
    for i, item in enumerate(values):
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise _fail(f"op {op!r} lists text or whole numbers", _at(where, i))
    return Member(field=field, op=cast(MemberOp, op), values=frozenset(values))


def _in_list(obj: Mapping[str, Any], field: str, op: str, path: str) -> InList:
    name = obj.get("list")
    if not isinstance(name, str) or not is_snake_name(name):
        raise _fail(f"op {op!r} needs list: a lower_snake list name", _at(path, "list"))
    return InList(field=field, op=cast(ListOp, op), list_name=name)


def _leaf(obj: Mapping[str, Any], path: str, known: frozenset[str] | None) -> Condition:
    op = obj.get("op")
    if op not in _ALL_OPS:
        raise _fail(f"unknown op {op!r}; expected one of {', '.join(_ALL_OPS)}", _at(path, "op"))
    kind = "compare" if op in _COMPARE_OPS else "member" if op in _MEMBER_OPS else "list"
    allowed = _OPERAND_KEYS[kind] | {"field", "window", "op"}
    for key in obj:
        if key not in allowed:
            raise _fail(f"{key!r} does not go with op {op!r}", _at(path, key))
    field = _leaf_field(obj, path, known)
    if kind == "compare":
        return _compare(obj, field, op, path, known)
    if kind == "member":
        return _member(obj, field, op, path)
    return _in_list(obj, field, op, path)


def _condition(obj: object, path: str, known: frozenset[str] | None, depth: int) -> Condition:
    if depth > MAX_DEPTH:
        raise _fail(f"conditions nest deeper than {MAX_DEPTH} levels", path)
    node = _mapping(obj, path, "a condition")
    groups = [key for key in _GROUP_KEYS if key in node]
    if not groups:
        return _leaf(node, path, known)
    if len(node) != 1:
        raise _fail(f"{groups[0]!r} must be the only key of its condition", path)
    key = groups[0]
    inner = _at(path, key)
    if key == "not":
        return Not(_condition(node[key], inner, known, depth + 1))
    items = node[key]
    if not isinstance(items, list) or not items:
        raise _fail(f"{key!r} needs a non-empty list of conditions", inner)
    children = tuple(
        _condition(item, _at(inner, i), known, depth + 1) for i, item in enumerate(items)
    )
    return AllOf(children) if key == "all" else AnyOf(children)


def _events(obj: Mapping[str, Any], path: str) -> frozenset[str] | None:
    if "events" not in obj:
        return None
    events, where = obj["events"], _at(path, "events")
    if not isinstance(events, list) or not events:
        raise _fail("events must be a non-empty list (leave it out for every kind)", where)
    for i, kind in enumerate(events):
        if kind not in EVENT_KINDS:
            expected = ", ".join(EVENT_KINDS)
            raise _fail(f"unknown event kind {kind!r}; expected one of {expected}", _at(where, i))
    return frozenset(events)


def _outcome(obj: Mapping[str, Any], path: str) -> Outcome | None:
    if "outcome" not in obj:
        return None
    try:
        return Outcome(obj["outcome"])
    except ValueError:
        expected = ", ".join(o.value for o in Outcome)
        message = f"unknown outcome {obj['outcome']!r}; expected one of {expected}"
        raise _fail(message, _at(path, "outcome")) from None


def _rule(obj: object, path: str, known: frozenset[str] | None) -> Rule:
    rule = _mapping(obj, path, "a rule")
    _only_keys(rule, _RULE_KEYS, path)
    rule_id = rule.get("id")
    if not isinstance(rule_id, str) or not is_snake_name(rule_id):
        raise _fail("id must be lower_snake text of at most 64 characters", _at(path, "id"))
    score = rule.get("score")
    if not (_is_number(score) and 0 <= score <= 1):
        raise _fail("score must be a number between 0 and 1", _at(path, "score"))
    if "when" not in rule:
        raise _fail("a rule needs a when condition", _at(path, "when"))
    return Rule(
        id=rule_id,
        description=_text(rule, "description", path),
        when=_condition(rule["when"], _at(path, "when"), known, 1),
        score=float(score),
        events=_events(rule, path),
        outcome=_outcome(rule, path),
    )


def parse_ruleset(document: object, *, known_fields: Collection[str] | None = None) -> RuleSet:
    """Check ``document`` and return its tree; raise ``ValidationError`` naming the first problem.

    With ``known_fields``, every field and ref must be one of them (the engine's feature list).
    """
    known = None if known_fields is None else frozenset(known_fields)
    doc = _mapping(document, "", "a rule set document")
    _only_keys(doc, _DOC_KEYS, "")
    name = _text(doc, "name", "")
    rules_obj = doc.get("rules")
    if not isinstance(rules_obj, list):
        raise _fail("rules must be a list", "rules")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(rules_obj):
        rule = _rule(item, _at("rules", i), known)
        if rule.id in seen:
            message = f"duplicate rule id {rule.id!r} (also rules[{seen[rule.id]}])"
            raise _fail(message, _at(_at("rules", i), "id"))
        seen[rule.id] = i
        rules.append(rule)
    description = _text(doc, "description", "", required=False)
    return RuleSet(name=name, rules=tuple(rules), description=description)
