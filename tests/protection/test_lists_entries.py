"""Block and allow lists match live entries only, hold one kind each, and feed the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound, ValidationError
from tenure.core.outcome import Outcome
from tenure.core.rules import ListLookup, compile_ruleset
from tenure.protection.rulesets import InMemoryListRepository, add_list_entry, remove_list_entry

START = datetime(2025, 3, 1, 9, tzinfo=UTC)


@pytest.fixture
def repo() -> InMemoryListRepository:
    return InMemoryListRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _block(repo: InMemoryListRepository, clock: FixedClock, value: str, **extra: Any) -> None:
    add_list_entry(
        repo,
        list_name="blocked_payees",
        value=value,
        kind="block",
        reason="confirmed mule account",
        added_by="ana",
        clock=clock,
        **extra,
    )


def test_an_entry_matches_until_it_expires(repo: InMemoryListRepository, clock: FixedClock) -> None:
    _block(repo, clock, "P9", expires_at=START + timedelta(days=1))
    assert repo.contains("blocked_payees", "P9", START)
    assert repo.contains("blocked_payees", "P9", START + timedelta(hours=23))
    assert not repo.contains("blocked_payees", "P9", START + timedelta(days=1))
    assert not repo.contains("blocked_payees", "P1", START)
    assert not repo.contains("other_list", "P9", START)


def test_lists_live_entries_sorted_by_value(
    repo: InMemoryListRepository, clock: FixedClock
) -> None:
    _block(repo, clock, "P9")
    _block(repo, clock, "P2", expires_at=START + timedelta(hours=1))
    _block(repo, clock, "P5")
    assert [e.value for e in repo.entries("blocked_payees", START)] == ["P2", "P5", "P9"]
    later = repo.entries("blocked_payees", START + timedelta(hours=2))
    assert [e.value for e in later] == ["P5", "P9"]
    assert later[0].added_by == "ana"
    assert later[0].added_at == START


def test_adding_a_value_again_replaces_its_entry(
    repo: InMemoryListRepository, clock: FixedClock
) -> None:
    _block(repo, clock, "P9", expires_at=START + timedelta(hours=1))
    _block(repo, clock, " P9 ")
    assert repo.contains("blocked_payees", "P9", START + timedelta(days=30))
    assert len(repo.entries("blocked_payees", START)) == 1


def test_removing_an_entry_stops_it_matching(
    repo: InMemoryListRepository, clock: FixedClock
) -> None:
    _block(repo, clock, "P9")
    remove_list_entry(repo, list_name="blocked_payees", value="P9")
    assert not repo.contains("blocked_payees", "P9", START)
    with pytest.raises(NotFound):
        remove_list_entry(repo, list_name="blocked_payees", value="P9")


def test_a_list_holds_one_kind_of_entry(repo: InMemoryListRepository, clock: FixedClock) -> None:
    _block(repo, clock, "P9", expires_at=START + timedelta(hours=1))
    allow = {"list_name": "blocked_payees", "value": "P9", "reason": "r", "added_by": "ben"}
    with pytest.raises(Conflict, match="holds block entries"):
        add_list_entry(repo, kind="allow", clock=clock, **allow)
    clock.advance(timedelta(hours=2))  # once the block entry has expired, the list is free
    add_list_entry(repo, kind="allow", clock=clock, **allow)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"list_name": "Blocked Payees"}, "list_name"),
        ({"kind": "maybe"}, "kind"),
        ({"value": "  "}, "value"),
        ({"reason": ""}, "reason"),
        ({"added_by": ""}, "added_by"),
        ({"expires_at": START}, "expires_at"),
        ({"expires_at": datetime(2030, 1, 1)}, "expires_at"),
    ],
)
def test_refuses_a_bad_entry(
    repo: InMemoryListRepository, clock: FixedClock, changes: dict[str, object], field: str
) -> None:
    entry: dict[str, object] = {
        "list_name": "blocked_payees",
        "value": "P9",
        "kind": "block",
        "reason": "mule",
        "added_by": "ana",
    }
    with pytest.raises(ValidationError) as caught:
        add_list_entry(repo, clock=clock, **(entry | changes))
    assert caught.value.field == field


def test_the_repository_is_the_lookup_rules_evaluate_with(
    repo: InMemoryListRepository, clock: FixedClock
) -> None:
    lookup: ListLookup = repo
    _block(repo, clock, "P9", expires_at=START + timedelta(days=1))
    rules = compile_ruleset(
        {
            "name": "lists",
            "rules": [
                {
                    "id": "blocked_payee",
                    "description": "payee on the block list",
                    "when": {"field": "event.payee_id", "op": "in_list", "list": "blocked_payees"},
                    "score": 1.0,
                    "outcome": "decline",
                }
            ],
        }
    )
    features = {"event.payee_id": "P9"}
    now = rules.evaluate(features, event_kind="transfer", lists=lookup, at=START)
    later = rules.evaluate(
        features, event_kind="transfer", lists=lookup, at=START + timedelta(days=2)
    )
    assert (now.outcome, now.score) == (Outcome.DECLINE, 1.0)
    assert later.hits == ()
