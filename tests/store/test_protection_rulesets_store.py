"""Rule sets, lists and snoozes: the same behaviour in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from protection_store import BACKENDS, open_store
from sqlalchemy.engine import Engine

from tenure.adapters.sql.rulesets import (
    SqlListRepository,
    SqlRuleSetRepository,
    SqlSnoozeRepository,
)
from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound
from tenure.protection.rulesets import (
    InMemoryListRepository,
    InMemoryRuleSetRepository,
    InMemorySnoozeRepository,
    ListEntry,
    RuleSetStatus,
    RuleSetVersion,
    Snooze,
    activate,
    active,
    approve,
    create_draft,
)

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

RuleSets = InMemoryRuleSetRepository | SqlRuleSetRepository
Lists = InMemoryListRepository | SqlListRepository
Snoozes = InMemorySnoozeRepository | SqlSnoozeRepository


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture(params=BACKENDS[1:])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture
def rulesets(store: Engine | None) -> RuleSets:
    return InMemoryRuleSetRepository() if store is None else SqlRuleSetRepository(store)


@pytest.fixture
def lists(store: Engine | None) -> Lists:
    return InMemoryListRepository() if store is None else SqlListRepository(store)


@pytest.fixture
def snoozes(store: Engine | None) -> Snoozes:
    return InMemorySnoozeRepository() if store is None else SqlSnoozeRepository(store)


def document(threshold: int = 500_000) -> dict[str, Any]:
    when = {"field": "event.amount_minor", "op": "gte", "value": threshold}
    rule = {"id": "large", "description": "a large transfer", "when": when, "score": 0.4}
    return {"name": "default", "rules": [rule]}


def make_version(version: int = 1, *, name: str = "default") -> RuleSetVersion:
    return RuleSetVersion(
        name=name,
        version=version,
        status=RuleSetStatus.DRAFT,
        document=document(),
        content_hash="ab" * 32,
        author="ana",
        created_at=AT,
    )


def make_entry(value: str = "p1", *, expires_at: datetime | None = None) -> ListEntry:
    return ListEntry(
        list_name="blocked_payees",
        value=value,
        kind="block",
        reason="mule account",
        added_by="ana",
        added_at=AT,
        expires_at=expires_at,
    )


def make_snooze(rule_id: str = "large", *, entity: str = "customer:C1", hours: int = 1) -> Snooze:
    return Snooze(
        rule_id=rule_id,
        entity=entity,
        until=AT + timedelta(hours=hours),
        reason="payroll",
        added_by="ana",
        added_at=AT,
    )


def test_stores_and_gets_a_version(rulesets: RuleSets) -> None:
    rulesets.add(make_version())
    assert rulesets.get("default", 1) == make_version()
    assert rulesets.get("default", 2) is None


def test_a_version_number_is_taken_once(rulesets: RuleSets) -> None:
    rulesets.add(make_version())
    with pytest.raises(Conflict):
        rulesets.add(replace(make_version(), author="ben"))
    assert rulesets.get("default", 1) == make_version()


def test_replace_needs_the_status_it_expects(rulesets: RuleSets) -> None:
    rulesets.add(make_version())
    approved = replace(make_version(), status=RuleSetStatus.APPROVED, approved_by="ben")
    rulesets.replace(approved, expected=RuleSetStatus.DRAFT)
    with pytest.raises(Conflict):
        rulesets.replace(replace(approved, shadow=True), expected=RuleSetStatus.DRAFT)
    with pytest.raises(NotFound):
        rulesets.replace(make_version(9), expected=RuleSetStatus.DRAFT)
    assert rulesets.get("default", 1) == approved


def test_lists_versions_oldest_first_and_names_sorted(rulesets: RuleSets) -> None:
    for version in (2, 1, 3):
        rulesets.add(make_version(version))
    rulesets.add(make_version(1, name="cards"))
    assert [v.version for v in rulesets.versions("default")] == [1, 2, 3]
    assert rulesets.versions("unknown") == []
    assert rulesets.names() == ["cards", "default"]


def test_activating_a_second_version_retires_the_first(rulesets: RuleSets) -> None:
    clock = FixedClock(AT)
    for threshold in (500_000, 800_000):
        draft = create_draft(
            rulesets, name="default", document=document(threshold), author="ana", clock=clock
        )
        approve(rulesets, name="default", version=draft.version, approver="ben", clock=clock)
        activate(rulesets, name="default", version=draft.version, actor="ben", clock=clock)
    live = active(rulesets, "default")
    assert live is not None
    assert (live.version, live.document) == (2, document(800_000))
    assert rulesets.versions("default")[0].status is RuleSetStatus.RETIRED


def test_the_store_refuses_two_active_versions_of_one_name(engine: Engine) -> None:
    rulesets = SqlRuleSetRepository(engine)
    for version in (1, 2):
        rulesets.add(make_version(version))
    rulesets.replace(
        replace(make_version(1), status=RuleSetStatus.ACTIVE), expected=RuleSetStatus.DRAFT
    )
    with pytest.raises(Conflict):
        rulesets.replace(
            replace(make_version(2), status=RuleSetStatus.ACTIVE), expected=RuleSetStatus.DRAFT
        )
    assert rulesets.versions("default")[1].status is RuleSetStatus.DRAFT


def test_a_listed_value_matches_until_it_expires(lists: Lists) -> None:
    lists.add(make_entry(expires_at=AT + timedelta(hours=1)))
    assert lists.contains("blocked_payees", "p1", AT)
    assert not lists.contains("blocked_payees", "p1", AT + timedelta(hours=1))
    assert not lists.contains("blocked_payees", "p2", AT)
    assert not lists.contains("blocked_devices", "p1", AT)


def test_adding_a_value_again_replaces_its_entry(lists: Lists) -> None:
    lists.add(make_entry(expires_at=AT + timedelta(minutes=1)))
    lists.add(replace(make_entry(), reason="confirmed mule"))
    assert lists.entries("blocked_payees", AT + timedelta(days=1)) == [
        replace(make_entry(), reason="confirmed mule")
    ]


def test_entries_are_the_live_ones_sorted_by_value(lists: Lists) -> None:
    for value in ("p3", "p1", "p2"):
        lists.add(make_entry(value))
    lists.add(make_entry("p0", expires_at=AT))
    assert [e.value for e in lists.entries("blocked_payees", AT)] == ["p1", "p2", "p3"]
    assert lists.entries("unknown", AT) == []


def test_removing_a_value_says_whether_it_was_there(lists: Lists) -> None:
    lists.add(make_entry())
    assert lists.remove("blocked_payees", "p1")
    assert not lists.remove("blocked_payees", "p1")
    assert not lists.contains("blocked_payees", "p1", AT)


def test_list_times_come_back_utc(lists: Lists) -> None:
    shanghai = timezone(timedelta(hours=8))
    lists.add(make_entry(expires_at=(AT + timedelta(hours=2)).astimezone(shanghai)))
    [entry] = lists.entries("blocked_payees", AT)
    assert entry.expires_at == AT + timedelta(hours=2)
    assert entry.added_at == AT


def test_a_snooze_silences_its_rule_until_it_ends(snoozes: Snoozes) -> None:
    snoozes.add(make_snooze())
    assert snoozes.is_snoozed("large", "customer:C1", AT)
    assert not snoozes.is_snoozed("large", "customer:C1", AT + timedelta(hours=1))
    assert not snoozes.is_snoozed("large", "customer:C2", AT)
    assert not snoozes.is_snoozed("night", "customer:C1", AT)


def test_snoozing_again_replaces_the_snooze(snoozes: Snoozes) -> None:
    snoozes.add(make_snooze())
    snoozes.add(make_snooze(hours=5))
    assert snoozes.snoozes("customer:C1", AT) == [make_snooze(hours=5)]


def test_lists_an_entitys_live_snoozes_by_rule(snoozes: Snoozes) -> None:
    for rule_id in ("night", "large"):
        snoozes.add(make_snooze(rule_id))
    snoozes.add(make_snooze("expired", hours=0))
    snoozes.add(make_snooze("other", entity="customer:C2"))
    assert [s.rule_id for s in snoozes.snoozes("customer:C1", AT)] == ["large", "night"]


def test_lists_every_live_snooze_by_rule_then_entity(snoozes: Snoozes) -> None:
    snoozes.add(make_snooze("night", entity="account:A9", hours=3))
    snoozes.add(make_snooze(entity="customer:C2"))
    snoozes.add(make_snooze())
    snoozes.add(make_snooze("expired", hours=0))
    live = snoozes.live_snoozes(AT)
    assert [(s.rule_id, s.entity) for s in live] == [
        ("large", "customer:C1"),
        ("large", "customer:C2"),
        ("night", "account:A9"),
    ]
    assert live[0] == make_snooze()
    later = snoozes.live_snoozes(AT + timedelta(hours=1))
    assert later == [make_snooze("night", entity="account:A9", hours=3)]


def test_lifting_a_snooze_says_whether_there_was_one(snoozes: Snoozes) -> None:
    snoozes.add(make_snooze())
    assert snoozes.remove("large", "customer:C1")
    assert not snoozes.remove("large", "customer:C1")
    assert snoozes.snoozes("customer:C1", AT) == []
