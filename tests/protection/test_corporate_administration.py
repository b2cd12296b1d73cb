"""Who may manage a corporate customer's operators and mandate, and how each change is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tenure.protection.corporate import (
    Actor,
    ApprovalTier,
    InMemoryAuditSink,
    InMemoryCorporateUnitOfWork,
    Operator,
    OperatorRole,
    add_operator,
    current_mandate,
    deactivate_operator,
    list_operators,
    publish_mandate,
    update_operator,
)

AT = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
STAFF = Actor.staff("staff-1")
BOSS = Actor.operator("boss")


@pytest.fixture
def uow() -> InMemoryCorporateUnitOfWork:
    return InMemoryCorporateUnitOfWork()


@pytest.fixture
def audit() -> InMemoryAuditSink:
    return InMemoryAuditSink()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def add(uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink, clock: FixedClock) -> Any:
    def _add(actor: Actor = STAFF, **overrides: Any) -> Operator:
        values: dict[str, Any] = {
            "customer_id": "corp-1",
            "name_ref": "hr-4711",
            "roles": ("approver",),
            "single_limit_minor": 1_000_00,
            "daily_limit_minor": 5_000_00,
        }
        values.update(overrides)
        return add_operator(uow=uow, audit=audit, clock=clock, actor=actor, **values)

    return _add


@pytest.fixture
def boss(add: Any, audit: InMemoryAuditSink) -> Operator:
    operator: Operator = add(operator_id="boss", roles=("admin",))
    audit.entries.clear()
    return operator


def test_bank_staff_adds_an_operator_and_the_step_is_audited(
    add: Any, audit: InMemoryAuditSink
) -> None:
    operator = add(operator_id="op-1", roles=("initiator", OperatorRole.APPROVER))

    assert operator.roles == {OperatorRole.INITIATOR, OperatorRole.APPROVER}
    assert operator.active
    [entry] = audit.entries
    assert (entry.actor, entry.action, entry.subject, entry.at) == (
        "staff:staff-1",
        "corporate.operator_added",
        "op-1",
        AT,
    )
    assert dict(entry.details) == {
        "customer_id": "corp-1",
        "roles": ("approver", "initiator"),
        "single_limit_minor": 1_000_00,
        "daily_limit_minor": 5_000_00,
        "active": True,
    }


def test_operator_ids_are_generated_when_not_given(add: Any) -> None:
    first, second = add(), add()

    assert first.id != second.id


def test_admin_operator_adds_an_operator_to_own_customer(add: Any, boss: Operator) -> None:
    operator = add(actor=BOSS, operator_id="op-2")

    assert operator.customer_id == "corp-1"


@pytest.mark.parametrize("actor_id", ["clerk", "other-boss", "ghost"])
def test_only_an_admin_of_the_same_customer_may_add_operators(
    add: Any, audit: InMemoryAuditSink, uow: InMemoryCorporateUnitOfWork, actor_id: str
) -> None:
    add(operator_id="clerk", roles=("initiator", "approver"))
    add(operator_id="other-boss", roles=("admin",), customer_id="corp-2")
    audit.entries.clear()

    with pytest.raises(PermissionDenied, match="only an active admin operator"):
        add(actor=Actor.operator(actor_id), operator_id="new")

    [entry] = audit.entries
    assert entry.action == "corporate.operator_add_refused"
    assert entry.actor == f"operator:{actor_id}"
    assert entry.details["error"] == "permission_denied"
    assert uow.operators.get("new") is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"single_limit_minor": 0}, "single_limit_minor"),
        ({"daily_limit_minor": -1}, "daily_limit_minor"),
        ({"single_limit_minor": 6_000_00}, "single_limit_minor"),
        ({"roles": ("treasurer",)}, "roles"),
        ({"roles": ()}, "roles"),
        ({"name_ref": "  "}, "name_ref"),
    ],
)
def test_invalid_operator_terms_name_the_field_and_are_audited(
    add: Any, audit: InMemoryAuditSink, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        add(**overrides)

    assert caught.value.field == field
    assert audit.entries[-1].details["field"] == field


def test_admin_changes_an_operators_roles_and_limits(
    add: Any, boss: Operator, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    add(operator_id="op-1", actor=BOSS)

    changed = update_operator(
        uow=uow,
        audit=audit,
        actor=BOSS,
        operator_id="op-1",
        roles=("approver", "initiator"),
        single_limit_minor=2_000_00,
    )

    assert changed.roles == {OperatorRole.APPROVER, OperatorRole.INITIATOR}
    assert changed.single_limit_minor == 2_000_00
    assert changed.daily_limit_minor == 5_000_00
    assert uow.operators.get("op-1") == changed
    entry = audit.entries[-1]
    assert entry.action == "corporate.operator_updated"
    assert entry.details["changed"] == ("roles", "single_limit_minor")


def test_an_operator_cannot_change_their_own_record(
    boss: Operator, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    with pytest.raises(PermissionDenied, match="cannot change their own"):
        update_operator(
            uow=uow, audit=audit, actor=BOSS, operator_id="boss", single_limit_minor=10**12
        )

    assert audit.actions() == ["corporate.operator_update_refused"]
    assert uow.operators.get("boss") == boss


def test_an_invalid_update_leaves_the_operator_unchanged(
    add: Any, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    before = add(operator_id="op-1")

    with pytest.raises(ValidationError) as caught:
        update_operator(uow=uow, audit=audit, actor=STAFF, operator_id="op-1", daily_limit_minor=1)

    assert caught.value.field == "single_limit_minor"
    assert uow.operators.get("op-1") == before


def test_updating_an_unknown_operator_is_not_found(
    uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    with pytest.raises(NotFound):
        update_operator(uow=uow, audit=audit, actor=STAFF, operator_id="ghost", roles=("admin",))

    assert audit.actions() == ["corporate.operator_update_refused"]


def test_an_update_that_changes_nothing_is_refused(
    add: Any, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    add(operator_id="op-1")

    with pytest.raises(ValidationError, match="nothing to change"):
        update_operator(uow=uow, audit=audit, actor=STAFF, operator_id="op-1")


def test_deactivating_an_operator_is_audited_and_cannot_be_repeated(
    add: Any, boss: Operator, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    add(operator_id="op-1")

    operator = deactivate_operator(uow=uow, audit=audit, actor=BOSS, operator_id="op-1")

    assert not operator.active
    assert audit.entries[-1].action == "corporate.operator_deactivated"
    assert audit.entries[-1].details["changed"] == ("active",)
    with pytest.raises(Conflict, match="already inactive"):
        deactivate_operator(uow=uow, audit=audit, actor=BOSS, operator_id="op-1")
    assert audit.entries[-1].action == "corporate.operator_deactivate_refused"


def test_a_deactivated_admin_can_no_longer_manage_operators(
    add: Any, boss: Operator, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    deactivate_operator(uow=uow, audit=audit, actor=STAFF, operator_id="boss")

    with pytest.raises(PermissionDenied):
        add(actor=BOSS)


def test_operators_are_listed_per_customer(add: Any, uow: InMemoryCorporateUnitOfWork) -> None:
    add(operator_id="b")
    add(operator_id="a")
    add(operator_id="c", customer_id="corp-2")

    listed = list_operators(uow=uow, customer_id="corp-1")

    assert [operator.id for operator in listed] == ["a", "b"]


def test_staff_publish_mandate_versions_and_each_is_audited(
    uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink, clock: FixedClock
) -> None:
    first = publish_mandate(
        uow=uow,
        audit=audit,
        actor=STAFF,
        customer_id="corp-1",
        tiers=(ApprovalTier(1_000_000_00, 2), ApprovalTier(100_000_00, 1)),
        allowed_payee_ids=("p-1", "p-2"),
        allow_listed_payees_above_minor=500_000_00,
        clock=clock,
    )
    second = publish_mandate(
        uow=uow, audit=audit, actor=STAFF, customer_id="corp-1", tiers=(), clock=clock
    )

    assert (first.version, second.version) == (1, 2)
    assert first.tiers == (ApprovalTier(100_000_00, 1), ApprovalTier(1_000_000_00, 2))
    assert first.created_by == "staff:staff-1"
    assert current_mandate(uow=uow, customer_id="corp-1") == second
    assert uow.mandates.get("corp-1", 1) == first
    assert audit.actions() == ["corporate.mandate_published"] * 2
    details = audit.entries[0].details
    assert details["tiers"] == ((100_000_00, 1), (1_000_000_00, 2))
    assert details["allowed_payee_count"] == 2
    assert details["business_hours"] == "08:00-20:00 Asia/Shanghai, Mon-Fri"


def test_an_admin_operator_cannot_publish_a_mandate(
    boss: Operator, uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    with pytest.raises(PermissionDenied, match="only bank staff"):
        publish_mandate(uow=uow, audit=audit, actor=BOSS, customer_id="corp-1", tiers=())

    assert audit.actions() == ["corporate.mandate_publish_refused"]
    assert uow.mandates.current("corp-1") is None


def test_an_invalid_mandate_is_refused_with_the_field(
    uow: InMemoryCorporateUnitOfWork, audit: InMemoryAuditSink
) -> None:
    with pytest.raises(ValidationError) as caught:
        publish_mandate(
            uow=uow, audit=audit, actor=STAFF, customer_id="corp-1", tiers=(), currency="rmb"
        )

    assert caught.value.field == "currency"
    assert audit.entries[-1].details["field"] == "currency"


def test_a_customer_without_mandate_has_none(uow: InMemoryCorporateUnitOfWork) -> None:
    with pytest.raises(NotFound):
        current_mandate(uow=uow, customer_id="corp-1")


def test_unit_of_work_cannot_be_entered_twice_at_once(uow: InMemoryCorporateUnitOfWork) -> None:
    with uow, pytest.raises(RuntimeError, match="twice"):
        uow.__enter__()
