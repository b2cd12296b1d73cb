"""The rule language's syntax tree: what a parsed, validated rule set is made of.

Nodes are frozen values with no behaviour beyond describing themselves; ``parsing`` builds them
from a plain dict and ``compiler`` turns them into closures. ``normalized`` writes a tree back as
a canonical dict, so that two documents that mean the same thing (window sugar or a plain field
name, events in any order) hash the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tenure.core.outcome import Outcome

__all__ = [
    "AllOf",
    "AnyOf",
    "Compare",
    "CompareOp",
    "Condition",
    "InList",
    "ListOp",
    "Member",
    "MemberOp",
    "Not",
    "Rule",
    "RuleSet",
    "Scalar",
    "condition_fields",
    "condition_lists",
    "normalized",
]

Scalar = str | int | float | bool
CompareOp = Literal["eq", "ne", "gt", "gte", "lt", "lte"]
MemberOp = Literal["in", "not_in"]
ListOp = Literal["in_list", "not_in_list"]


@dataclass(frozen=True, slots=True)
class Compare:
    """``field <op> value``, or ``field <op> times * ref`` when ``ref`` names another feature."""

    field: str
    op: CompareOp
    value: Scalar | None = None
    ref: str | None = None
    times: float | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """``field`` is (``in``) or is not (``not_in``) one of a fixed set of values."""

    field: str
    op: MemberOp
    values: frozenset[str | int]


@dataclass(frozen=True, slots=True)
class InList:
    """``field`` is (``in_list``) or is not (``not_in_list``) on a named block/allow list."""

    field: str
    op: ListOp
    list_name: str


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every child holds."""

    children: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one child holds."""

    children: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child does not hold."""

    child: Condition


Condition = Compare | Member | InList | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: on ``events`` (None = every kind), when ``when`` holds, add ``score``."""

    id: str
    description: str
    when: Condition
    score: float
    events: frozenset[str] | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A named, ordered collection of rules."""

    name: str
    rules: tuple[Rule, ...]
    description: str = ""


def condition_fields(node: Condition) -> frozenset[str]:
    """Every feature ``node`` reads, ``ref`` targets included."""
    if isinstance(node, AllOf | AnyOf):
        return frozenset().union(*(condition_fields(child) for child in node.children))
    if isinstance(node, Not):
        return condition_fields(node.child)
    if isinstance(node, Compare) and node.ref is not None:
        return frozenset({node.field, node.ref})
    return frozenset({node.field})


def condition_lists(node: Condition) -> frozenset[str]:
    """Every named list ``node`` looks values up in."""
    if isinstance(node, AllOf | AnyOf):
        return frozenset().union(*(condition_lists(child) for child in node.children))
    if isinstance(node, Not):
        return condition_lists(node.child)
    return frozenset({node.list_name}) if isinstance(node, InList) else frozenset()


def _condition_dict(node: Condition) -> dict[str, Any]:
    if isinstance(node, AllOf):
        return {"all": [_condition_dict(child) for child in node.children]}
    if isinstance(node, AnyOf):
        return {"any": [_condition_dict(child) for child in node.children]}
    if isinstance(node, Not):
        return {"not": _condition_dict(node.child)}
    if isinstance(node, Member):
        ordered = sorted(node.values, key=lambda v: (type(v).__name__, v))
        return {"field": node.field, "op": node.op, "value": ordered}
    if isinstance(node, InList):
        return {"field": node.field, "op": node.op, "list": node.list_name}
    out: dict[str, Any] = {"field": node.field, "op": node.op}
    if node.ref is None:
        out["value"] = node.value
    else:
        out["ref"] = node.ref
        if node.times is not None:
            out["times"] = node.times
    return out


def _rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "description": rule.description,
        "when": _condition_dict(rule.when),
        "score": rule.score,
    }
    if rule.events is not None:
        out["events"] = sorted(rule.events)
    if rule.outcome is not None:
        out["outcome"] = rule.outcome.value
    return out


def normalized(ruleset: RuleSet) -> dict[str, Any]:
    """The canonical document for ``ruleset``: window sugar spelled as fields, sets sorted."""
    out: dict[str, Any] = {"name": ruleset.name, "rules": [_rule_dict(r) for r in ruleset.rules]}
    if ruleset.description:
        out["description"] = ruleset.description
    return out
