"""Turn a checked condition tree into nested closures.

No ``eval`` or ``exec``: each node becomes a small Python function of
``(features, lists, at) -> bool``. Inside ``all`` and ``any`` the children run cheapest first
(a comparison reads a dict; a list lookup may cross into a store) and stop at the first answer.

A comparison, membership test or list test on a missing feature (absent, or None) is False,
whatever its op: ``ne`` and ``not_in`` included. So ``{"not": ...}`` of such a test is True.
An ordering (gt, gte, lt, lte) between text and a number is False rather than an error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tenure.core.rules.evaluation import ListLookup
from tenure.core.rules.nodes import AllOf, AnyOf, Compare, Condition, InList, Member, Not

__all__ = ["Features", "Predicate", "compile_condition"]

Features = Mapping[str, Any]
Predicate = Callable[[Features, ListLookup, datetime], bool]
_Operator = Callable[[Any, Any], bool]
_OPERATORS: dict[str, _Operator] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
# Relative costs: a dict read is 1; a list lookup goes through a repository, maybe a store.
_COST_READ = 1
_COST_LIST = 10


def _compare(node: Compare) -> Predicate:
    field, value, ref, times, op = node.field, node.value, node.ref, node.times, _OPERATORS[node.op]
    if ref is None:

        def check(features: Features, lists: ListLookup, at: datetime) -> bool:
            found = features.get(field)
            if found is None:
                return False
            try:
                return op(found, value)
            except TypeError:
                return False

    elif times is None:

        def check(features: Features, lists: ListLookup, at: datetime) -> bool:
            found, other = features.get(field), features.get(ref)
            if found is None or other is None:
                return False
            try:
                return op(found, other)
            except TypeError:
                return False

    else:

        def check(features: Features, lists: ListLookup, at: datetime) -> bool:
            found, other = features.get(field), features.get(ref)
            if found is None or other is None:
                return False
            try:
                return op(found, other * times)
            except TypeError:
                return False

    return check


def _member(node: Member) -> Predicate:
    field, values = node.field, node.values
    if node.op == "in":

        def check(features: Features, lists: ListLookup, at: datetime) -> bool:
            found = features.get(field)
            return found is not None and found in values

    else:

        def check(features: Features, lists: ListLookup, at: datetime) -> bool:
            found = features.get(field)
            return found is not None and found not in values

    return check


def _in_list(node: InList) -> Predicate:
    field, name, wanted = node.field, node.list_name, node.op == "in_list"

    def check(features: Features, lists: ListLookup, at: datetime) -> bool:
        found = features.get(field)
        if found is None:
            return False
        key = found if isinstance(found, str) else str(found)
        return lists.contains(name, key, at) is wanted

    return check


def _all(children: tuple[Predicate, ...]) -> Predicate:
    if len(children) == 1:
        return children[0]

    # A plain loop, not all(<generator>): a generator would be allocated on every call.
    def check(features: Features, lists: ListLookup, at: datetime) -> bool:
        for child in children:  # noqa: SIM110
            if not child(features, lists, at):
                return False
        return True

    return check


def _any(children: tuple[Predicate, ...]) -> Predicate:
    if len(children) == 1:
        return children[0]

    def check(features: Features, lists: ListLookup, at: datetime) -> bool:
        for child in children:  # noqa: SIM110
            if child(features, lists, at):
                return True
        return False

    return check


def _not(child: Predicate) -> Predicate:
    def check(features: Features, lists: ListLookup, at: datetime) -> bool:
        return not child(features, lists, at)

    return check


def _build(node: Condition) -> tuple[Predicate, int]:
    """The closure for ``node`` and its worst-case cost."""
    if isinstance(node, AllOf | AnyOf):
        built = sorted((_build(child) for child in node.children), key=lambda pair: pair[1])
        children = tuple(predicate for predicate, _ in built)
        cost = sum(child_cost for _, child_cost in built)
        return (_all(children) if isinstance(node, AllOf) else _any(children)), cost
    if isinstance(node, Not):
        child, cost = _build(node.child)
        return _not(child), cost
    if isinstance(node, InList):
        return _in_list(node), _COST_LIST
    if isinstance(node, Member):
        return _member(node), _COST_READ
    return _compare(node), _COST_READ * (1 if node.ref is None else 2)


def compile_condition(node: Condition) -> Predicate:
    """The closure that decides ``node`` (children of all/any cheapest first)."""
    return _build(node)[0]
