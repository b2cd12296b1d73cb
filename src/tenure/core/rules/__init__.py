"""The fraud-rule language: rules as data, checked up front, compiled to closures.

A rule set document is a plain dict (YAML or JSON); ``compile_ruleset`` checks it, raising
``ValidationError`` with a path such as ``rules[2].when.all[1].op``, and returns a
``CompiledRuleSet`` whose ``evaluate`` runs on every event. ``docs/rules.md`` is the analyst's
reference.

::

    parse_ruleset(document)     dict -> RuleSet (nodes)       parsing.py
    compile_condition(node)     node -> closure               compiler.py
    compile_ruleset(document)   dict -> CompiledRuleSet        compiled.py
    CompiledRuleSet.evaluate    features -> Evaluation         evaluation.py
"""

from __future__ import annotations

from tenure.core.rules.compiled import CompiledRuleSet, compile_ruleset, content_hash
from tenure.core.rules.compiler import Predicate, compile_condition
from tenure.core.rules.evaluation import NO_LISTS, Evaluation, ListLookup, RuleHit, combine
from tenure.core.rules.fields import (
    AGGREGATES,
    ENTITIES,
    EVENT_KINDS,
    WINDOW_FEATURES,
    WINDOWS,
    is_feature_name,
    is_snake_name,
    window_feature,
)
from tenure.core.rules.nodes import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    InList,
    Member,
    Not,
    Rule,
    RuleSet,
    normalized,
)
from tenure.core.rules.parsing import parse_ruleset

__all__ = [
    "AGGREGATES",
    "ENTITIES",
    "EVENT_KINDS",
    "NO_LISTS",
    "WINDOWS",
    "WINDOW_FEATURES",
    "AllOf",
    "AnyOf",
    "Compare",
    "CompiledRuleSet",
    "Condition",
    "Evaluation",
    "InList",
    "ListLookup",
    "Member",
    "Not",
    "Predicate",
    "Rule",
    "RuleHit",
    "RuleSet",
    "combine",
    "compile_condition",
    "compile_ruleset",
    "content_hash",
    "is_feature_name",
    "is_snake_name",
    "normalized",
    "parse_ruleset",
    "window_feature",
]
