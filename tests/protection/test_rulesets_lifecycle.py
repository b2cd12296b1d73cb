"""Rule set versions move draft -> approved -> active -> retired, with a second pair of eyes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import (
    ConfigurationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from tenure.protection.rulesets import (
    InMemoryRuleSetRepository,
    RuleSetStatus,
    activate,
    active,
    approve,
    compile_version,
    create_draft,
    history,
    set_shadow,
    shadows,
)

START = datetime(2025, 3, 1, 9, tzinfo=UTC)


def _document(threshold: int = 500000, name: str = "default") -> dict[str, Any]:
    when = {"field": "event.amount_minor", "op": "gte", "value": threshold}
    rule = {"id": "large", "description": "a large transfer", "when": when, "score": 0.4}
    return {"name": name, "rules": [rule]}


@pytest.fixture
def repo() -> InMemoryRuleSetRepository:
    return InMemoryRuleSetRepository()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _approved(repo: InMemoryRuleSetRepository, clock: FixedClock, threshold: int = 500000) -> int:
    draft = create_draft(
        repo, name="default", document=_document(threshold), author="ana", clock=clock
    )
    approve(repo, name="default", version=draft.version, approver="ben", clock=clock)
    return draft.version


def test_creates_numbered_drafts_with_author_time_and_hash(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    first = create_draft(repo, name="default", document=_document(), author="ana", clock=clock)
    clock.advance(timedelta(minutes=5))
    second = create_draft(repo, name="default", document=_document(1), author="ana", clock=clock)
    assert (first.version, second.version) == (1, 2)
    assert first.status is RuleSetStatus.DRAFT
    assert first.author == "ana"
    assert first.created_at == START
    assert len(first.content_hash) == 64
    assert first.content_hash != second.content_hash
    assert history(repo, "default") == [first, second]


def test_a_draft_keeps_its_own_copy_of_the_document(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    document = _document()
    draft = create_draft(repo, name="default", document=document, author="ana", clock=clock)
    document["rules"][0]["score"] = 1.0
    assert draft.document["rules"][0]["score"] == 0.4
    assert compile_version(draft).content_hash == draft.content_hash


def test_refuses_an_invalid_document_with_its_path(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    document = _document()
    document["rules"][0]["when"]["op"] = "bigger"
    with pytest.raises(ValidationError) as caught:
        create_draft(repo, name="default", document=document, author="ana", clock=clock)
    assert caught.value.field == "rules[0].when.op"
    assert history(repo, "default") == []


def test_refuses_a_document_named_differently_or_a_bad_name(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    with pytest.raises(ValidationError, match="named 'other'"):
        create_draft(
            repo, name="default", document=_document(name="other"), author="a", clock=clock
        )
    with pytest.raises(ValidationError, match="lower_snake"):
        create_draft(
            repo, name="Default", document=_document(name="Default"), author="a", clock=clock
        )


def test_refuses_checking_against_known_fields_the_engine_lacks(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    with pytest.raises(ValidationError, match="unknown field"):
        create_draft(
            repo, name="default", document=_document(), author="ana", clock=clock, known_fields=[]
        )


def test_the_author_cannot_approve_their_own_draft(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    create_draft(repo, name="default", document=_document(), author="ana", clock=clock)
    with pytest.raises(PermissionDenied, match="second user"):
        approve(repo, name="default", version=1, approver="ana", clock=clock)
    assert history(repo, "default")[0].status is RuleSetStatus.DRAFT


def test_a_second_user_approves_once(repo: InMemoryRuleSetRepository, clock: FixedClock) -> None:
    create_draft(repo, name="default", document=_document(), author="ana", clock=clock)
    clock.advance(timedelta(hours=1))
    approved = approve(repo, name="default", version=1, approver="ben", clock=clock)
    assert approved.status is RuleSetStatus.APPROVED
    assert (approved.approved_by, approved.approved_at) == ("ben", START + timedelta(hours=1))
    with pytest.raises(Conflict, match="not a draft"):
        approve(repo, name="default", version=1, approver="cat", clock=clock)


def test_a_draft_cannot_be_activated(repo: InMemoryRuleSetRepository, clock: FixedClock) -> None:
    create_draft(repo, name="default", document=_document(), author="ana", clock=clock)
    with pytest.raises(Conflict, match="only an approved version"):
        activate(repo, name="default", version=1, actor="ben", clock=clock)
    assert active(repo, "default") is None


def test_activating_retires_the_previous_active_version(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    first = _approved(repo, clock)
    activate(repo, name="default", version=first, actor="ana", clock=clock)
    second = _approved(repo, clock, threshold=400000)
    clock.advance(timedelta(days=1))
    now_active = activate(repo, name="default", version=second, actor="ben", clock=clock)
    assert active(repo, "default") == now_active
    assert (now_active.activated_by, now_active.activated_at) == ("ben", clock.now())
    retired = history(repo, "default")[0]
    assert retired.status is RuleSetStatus.RETIRED
    assert (retired.retired_by, retired.retired_at) == ("ben", clock.now())


def test_a_retired_or_active_version_cannot_be_activated_again(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    first = _approved(repo, clock)
    activate(repo, name="default", version=first, actor="ana", clock=clock)
    with pytest.raises(Conflict):
        activate(repo, name="default", version=first, actor="ana", clock=clock)
    second = _approved(repo, clock)
    activate(repo, name="default", version=second, actor="ana", clock=clock)
    with pytest.raises(Conflict, match="retired"):
        activate(repo, name="default", version=first, actor="ana", clock=clock)


def test_drafts_and_approved_versions_run_in_shadow_until_activated(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    approved = _approved(repo, clock)
    draft = create_draft(repo, name="default", document=_document(1), author="ana", clock=clock)
    set_shadow(repo, name="default", version=approved, enabled=True, actor="ana")
    set_shadow(repo, name="default", version=draft.version, enabled=True, actor="ana")
    assert [v.version for v in shadows(repo, "default")] == [approved, draft.version]
    activated = activate(repo, name="default", version=approved, actor="ben", clock=clock)
    assert not activated.shadow
    assert [v.version for v in shadows(repo, "default")] == [draft.version]
    with pytest.raises(Conflict, match="only a draft or approved"):
        set_shadow(repo, name="default", version=approved, enabled=True, actor="ana")
    set_shadow(repo, name="default", version=draft.version, enabled=False, actor="ana")
    assert shadows(repo, "default") == []


def test_unknown_versions_are_not_found(repo: InMemoryRuleSetRepository, clock: FixedClock) -> None:
    with pytest.raises(NotFound):
        approve(repo, name="default", version=7, approver="ben", clock=clock)
    with pytest.raises(NotFound):
        set_shadow(repo, name="default", version=7, enabled=True, actor="ben")
    assert active(repo, "nothing") is None
    assert history(repo, "nothing") == []


def test_compiling_a_version_whose_document_no_longer_matches_its_hash_is_refused(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    draft = create_draft(repo, name="default", document=_document(), author="ana", clock=clock)
    tampered = replace(draft, document=_document(threshold=1))
    with pytest.raises(ConfigurationError, match="does not match its hash"):
        compile_version(tampered)


def test_the_repository_refuses_a_stale_status_or_a_duplicate_version(
    repo: InMemoryRuleSetRepository, clock: FixedClock
) -> None:
    draft = create_draft(repo, name="default", document=_document(), author="ana", clock=clock)
    with pytest.raises(Conflict):
        repo.add(draft)
    with pytest.raises(Conflict, match="is draft, not approved"):
        repo.replace(draft, expected=RuleSetStatus.APPROVED)
    with pytest.raises(NotFound):
        repo.replace(replace(draft, version=9), expected=RuleSetStatus.DRAFT)
    assert repo.names() == ["default"]
