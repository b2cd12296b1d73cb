"""A compiled rule set: what the engine holds and calls on every event.

>>> from tenure.core.rules.evaluation import NO_LISTS
>>> rules = compile_ruleset({"name": "demo", "rules": [{
...     "id": "large_transfer", "description": "over 5,000", "events": ["transfer"],
...     "when": {"field": "event.amount_minor", "op": "gt", "value": 500000},
...     "score": 0.4, "outcome": "step_up"}]})
>>> at = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
>>> found = rules.evaluate({"event.amount_minor": 600000}, event_kind="transfer",
...                        lists=NO_LISTS, at=at)
>>> found.rule_ids, found.score, found.outcome
(('large_transfer',), 0.4, <Outcome.STEP_UP: 'step_up'>)
>>> rules.evaluate({"event.amount_minor": 600000}, event_kind="login",
...                lists=NO_LISTS, at=at).rule_ids
()
>>> sorted(rules.fields)
['event.amount_minor']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from tenure.core.errors import ValidationError
from tenure.core.outcome import Outcome
from tenure.core.rules.compiler import Predicate, compile_condition
from tenure.core.rules.evaluation import Evaluation, ListLookup, RuleHit
from tenure.core.rules.fields import EVENT_KINDS
from tenure.core.rules.nodes import (
    Rule,
    RuleSet,
    condition_fields,
    condition_lists,
    normalized,
)
from tenure.core.rules.parsing import parse_ruleset

__all__ = ["CompiledRuleSet", "compile_ruleset", "content_hash"]

# One entry per rule: its closure, the hit it reports, 1 - score, its outcome and that rank.
_Entry = tuple[Predicate, RuleHit, float, Outcome, int]


def content_hash(ruleset: RuleSet) -> str:
    """SHA-256 of the canonical JSON of ``ruleset``: equal meaning, equal hash."""
    text = json.dumps(normalized(ruleset), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(rule: Rule) -> _Entry:
    hit = RuleHit(rule.id, rule.description, rule.score, rule.outcome)
    outcome = Outcome.ALLOW if rule.outcome is None else rule.outcome
    return compile_condition(rule.when), hit, 1.0 - rule.score, outcome, outcome.rank


def _unknown_kind(event_kind: str) -> ValidationError:
    expected = ", ".join(EVENT_KINDS)
    return ValidationError(
        f"unknown event kind {event_kind!r}; expected one of {expected}", field="event_kind"
    )


class CompiledRuleSet:
    """A rule set ready to run: build it with ``compile_ruleset``.

    ``fields`` is every feature some rule reads (what the engine must compute), ``lists`` every
    named list looked up, and ``content_hash`` identifies the normalized document.
    """

    __slots__ = ("_by_event", "_fields_by_event", "content_hash", "fields", "lists", "tree")

    def __init__(self, tree: RuleSet) -> None:
        self.tree = tree
        self.content_hash = content_hash(tree)
        self.fields = frozenset().union(*(condition_fields(r.when) for r in tree.rules))
        self.lists = frozenset().union(*(condition_lists(r.when) for r in tree.rules))
        entries = [(rule, _entry(rule)) for rule in tree.rules]
        # Rules are filtered by event kind once, here, rather than on every call.
        self._by_event: dict[str, tuple[_Entry, ...]] = {}
        self._fields_by_event: dict[str, frozenset[str]] = {}
        for kind in EVENT_KINDS:
            applying = [(r, e) for r, e in entries if r.events is None or kind in r.events]
            self._by_event[kind] = tuple(e for _, e in applying)
            self._fields_by_event[kind] = frozenset().union(
                *(condition_fields(r.when) for r, _ in applying)
            )

    @property
    def name(self) -> str:
        """The rule set's name."""
        return self.tree.name

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in document order."""
        return self.tree.rules

    def __repr__(self) -> str:
        return f"CompiledRuleSet({self.name!r}, rules={len(self.rules)}, {self.content_hash[:12]})"

    def fields_for(self, event_kind: str) -> frozenset[str]:
        """The features the rules that apply to ``event_kind`` read."""
        found = self._fields_by_event.get(event_kind)
        if found is None:
            raise _unknown_kind(event_kind)
        return found

    def evaluate(
        self,
        features: Mapping[str, object],
        *,
        event_kind: str,
        lists: ListLookup,
        at: datetime,
    ) -> Evaluation:
        """The rules that fire on ``features`` for an ``event_kind`` event at ``at``."""
        entries = self._by_event.get(event_kind)
        if entries is None:
            raise _unknown_kind(event_kind)
        hits: list[RuleHit] = []
        keep = 1.0
        top, top_rank = Outcome.ALLOW, 0
        for predicate, hit, rule_keep, outcome, rank in entries:
            if predicate(features, lists, at):
                hits.append(hit)
                keep *= rule_keep
                if rank > top_rank:
                    top, top_rank = outcome, rank
        return Evaluation(tuple(hits), 1.0 - keep, top)


def compile_ruleset(
    document: Mapping[str, Any], *, known_fields: Collection[str] | None = None
) -> CompiledRuleSet:
    """Check ``document`` (raising ``ValidationError`` at a path) and compile it."""
    return CompiledRuleSet(parse_ruleset(document, known_fields=known_fields))
