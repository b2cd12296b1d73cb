"""Whatever anyone does, in any order, no draft becomes active without a second user's approval."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tenure.core.clock import FixedClock
from tenure.core.errors import TenureError
from tenure.protection.rulesets import (
    InMemoryRuleSetRepository,
    RuleSetStatus,
    RuleSetVersion,
    activate,
    approve,
    create_draft,
    history,
    set_shadow,
)

USERS = ["ana", "ben", "cat"]
_ORDER = list(RuleSetStatus)


def _document(threshold: int) -> dict[str, Any]:
    when = {"field": "event.amount_minor", "op": "gte", "value": threshold}
    rule = {"id": "large", "description": "a large transfer", "when": when, "score": 0.4}
    return {"name": "default", "rules": [rule]}


operations = st.lists(
    st.tuples(
        # Repeated names weigh the draw towards the steps that move a version forward.
        st.sampled_from(
            ["create", "create", "approve", "approve", "activate", "shadow_on"] * 2 + ["shadow_off"]
        ),
        st.sampled_from(USERS),
        st.integers(min_value=1, max_value=3),
    ),
    min_size=8,
    max_size=60,
)


def _apply(repo: InMemoryRuleSetRepository, clock: FixedClock, op: str, user: str, n: int) -> None:
    if op == "create":
        create_draft(repo, name="default", document=_document(n), author=user, clock=clock)
    elif op == "approve":
        approve(repo, name="default", version=n, approver=user, clock=clock)
    elif op == "activate":
        activate(repo, name="default", version=n, actor=user, clock=clock)
    else:
        enabled = op == "shadow_on"
        set_shadow(repo, name="default", version=n, enabled=enabled, actor=user)


def _check(versions: list[RuleSetVersion], before: dict[int, RuleSetStatus]) -> None:
    assert sum(v.status is RuleSetStatus.ACTIVE for v in versions) <= 1
    for v in versions:
        if v.activated_at is not None or v.status in (RuleSetStatus.ACTIVE, RuleSetStatus.RETIRED):
            assert v.approved_by is not None
            assert v.approved_by != v.author
            assert v.activated_by is not None
        if v.shadow:
            assert v.status in (RuleSetStatus.DRAFT, RuleSetStatus.APPROVED)
        if v.version in before:
            assert _ORDER.index(v.status) >= _ORDER.index(before[v.version])


@settings(max_examples=200)
@given(operations)
def test_no_draft_becomes_active_without_a_second_users_approval(
    ops: list[tuple[str, str, int]],
) -> None:
    repo, clock = InMemoryRuleSetRepository(), FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    for op, user, n in ops:
        before = {v.version: v.status for v in history(repo, "default")}
        try:
            _apply(repo, clock, op, user, n)
        except TenureError:
            assert {v.version: v.status for v in history(repo, "default")} == before
        clock.advance(timedelta(minutes=1))
        _check(history(repo, "default"), before)
    statuses = {v.status for v in history(repo, "default")}
    event(f"reached {max(statuses, key=_ORDER.index) if statuses else 'nothing'}")


@given(st.lists(st.tuples(st.sampled_from(["create", "approve", "activate"]), st.integers(1, 4))))
def test_a_single_user_can_never_activate_anything(ops: list[tuple[str, int]]) -> None:
    repo, clock = InMemoryRuleSetRepository(), FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    for op, n in ops:
        with contextlib.suppress(TenureError):
            _apply(repo, clock, op, "ana", n)
    assert all(v.status is RuleSetStatus.DRAFT for v in history(repo, "default"))
