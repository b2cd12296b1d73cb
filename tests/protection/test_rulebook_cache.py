"""Each worker's compiled rule book follows the store: checked every few seconds, recompiled only
when the active or shadow versions changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.core.clock import FixedClock
from tenure.protection.rulesets import (
    InMemoryRuleSetRepository,
    activate,
    approve,
    create_draft,
    set_shadow,
)
from tenure.protection.service import CachedRuleBook

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TTL = 5.0


def document(score: float) -> dict[str, Any]:
    return {
        "name": "default",
        "description": "Big transfers.",
        "rules": [
            {
                "id": "big_transfer",
                "description": "More than 1,000 CNY.",
                "events": ["transfer"],
                "when": {"field": "event.amount_minor", "op": "gt", "value": 100_000},
                "score": score,
            }
        ],
    }


def active_version(repo: InMemoryRuleSetRepository, clock: FixedClock, version: int) -> None:
    create_draft(repo, name="default", document=document(version / 10), author="ann", clock=clock)
    approve(repo, name="default", version=version, approver="bob", clock=clock)
    activate(repo, name="default", version=version, actor="ann", clock=clock)


def test_an_activation_elsewhere_is_picked_up_once_the_book_is_ttl_old() -> None:
    repo, clock = InMemoryRuleSetRepository(), FixedClock(START)
    active_version(repo, clock, 1)
    books = CachedRuleBook(repo, clock=clock, ttl=TTL)
    assert books.current().label == "default@1"

    active_version(repo, clock, 2)  # through another worker: this one is not told
    clock.advance(timedelta(seconds=TTL - 0.1))
    assert books.current().label == "default@1"
    clock.advance(timedelta(seconds=0.1))
    book = books.current()
    assert book.label == "default@2"
    assert book.active is not None
    assert book.active.rules[0].score == 0.2


def test_an_unchanged_store_keeps_the_compiled_book_and_a_new_shadow_replaces_it() -> None:
    repo, clock = InMemoryRuleSetRepository(), FixedClock(START)
    active_version(repo, clock, 1)
    books = CachedRuleBook(repo, clock=clock, ttl=TTL)
    first = books.current()
    clock.advance(timedelta(seconds=3 * TTL))
    assert books.current() is first  # checked again, same versions: not compiled again

    create_draft(repo, name="default", document=document(0.5), author="ann", clock=clock)
    set_shadow(repo, name="default", version=2, enabled=True, actor="ann")
    shadowed = books.refresh()  # the worker that made the change checks at once
    assert shadowed is not first
    assert [version for _, version in shadowed.shadows] == [2]
    assert shadowed.label == "default@1"


def test_a_rule_set_with_no_versions_gives_an_empty_book() -> None:
    books = CachedRuleBook(InMemoryRuleSetRepository(), clock=FixedClock(START), ttl=TTL)
    book = books.current()
    assert book.active is None
    assert book.shadows == ()
    assert book.label is None
