"""Corporate payments: submission, distinct approvals, refusals, and the audit trail of each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.corporate import (
    Actor,
    ApprovalTier,
    CorporatePayment,
    InMemoryAuditSink,
    InMemoryCorporateUnitOfWork,
    PaymentStatus,
    add_operator,
    approve_payment,
    deactivate_operator,
    get_payment,
    payment_outcome,
    publish_mandate,
    reject_payment,
    submit_payment,
)

WEDNESDAY_10_SHANGHAI = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
CUSTOMER = "corp-1"
STAFF = Actor.staff("staff-1")
CNY_100K = 100_000_00
CNY_1M = 1_000_000_00


@dataclass
class World:
    uow: InMemoryCorporateUnitOfWork
    audit: InMemoryAuditSink
    clock: FixedClock

    def submit(self, amount_minor: int, **overrides: Any) -> CorporatePayment:
        values: dict[str, Any] = {
            "customer_id": CUSTOMER,
            "account_id": "acct-1",
            "payee_id": "payee-ok",
            "amount_minor": amount_minor,
            "currency": "CNY",
            "initiator_id": "maker",
        }
        values.update(overrides)
        return submit_payment(uow=self.uow, audit=self.audit, clock=self.clock, **values)

    def approve(self, payment_id: str, operator_id: str) -> CorporatePayment:
        return approve_payment(
            uow=self.uow,
            audit=self.audit,
            clock=self.clock,
            payment_id=payment_id,
            operator_id=operator_id,
        )

    def reject(self, payment_id: str, operator_id: str, reason: str = "wrong invoice") -> Any:
        return reject_payment(
            uow=self.uow,
            audit=self.audit,
            clock=self.clock,
            payment_id=payment_id,
            operator_id=operator_id,
            reason=reason,
        )

    def refusal(self) -> dict[str, object]:
        last = self.audit.entries[-1]
        assert last.action.endswith("_refused")
        return {"action": last.action, "actor": last.actor, **last.details}


OPERATORS = [
    ("maker", CUSTOMER, ("initiator",), 5 * CNY_1M, 8 * CNY_1M),
    ("checker-1", CUSTOMER, ("approver",), 5 * CNY_1M, 10 * CNY_1M),
    ("checker-2", CUSTOMER, ("approver",), 5 * CNY_1M, 10 * CNY_1M),
    ("small-checker", CUSTOMER, ("approver",), 50_000_00, 50_000_00),
    ("maker-2", CUSTOMER, ("initiator", "approver"), 5 * CNY_1M, 10 * CNY_1M),
    ("boss", CUSTOMER, ("admin",), 1, 1),
    ("outsider", "corp-2", ("approver", "initiator"), 5 * CNY_1M, 10 * CNY_1M),
]


def make_world(**mandate_terms: Any) -> World:
    world = World(
        InMemoryCorporateUnitOfWork(), InMemoryAuditSink(), FixedClock(WEDNESDAY_10_SHANGHAI)
    )
    terms: dict[str, Any] = {
        "tiers": (ApprovalTier(CNY_100K, 1), ApprovalTier(CNY_1M, 2)),
        "allow_listed_payees_above_minor": 500_000_00,
        "allowed_payee_ids": {"payee-ok"},
    }
    terms.update(mandate_terms)
    for customer in (CUSTOMER, "corp-2"):
        publish_mandate(
            uow=world.uow,
            audit=world.audit,
            actor=STAFF,
            customer_id=customer,
            clock=world.clock,
            **terms,
        )
    for operator_id, customer, roles, single, daily in OPERATORS:
        add_operator(
            uow=world.uow,
            audit=world.audit,
            actor=STAFF,
            customer_id=customer,
            name_ref=f"ref-{operator_id}",
            roles=roles,
            single_limit_minor=single,
            daily_limit_minor=daily,
            operator_id=operator_id,
            clock=world.clock,
        )
    world.audit.entries.clear()
    return world


@pytest.fixture
def world() -> World:
    return make_world()


def test_large_payment_is_released_after_two_distinct_approvers_with_full_audit_trail(
    world: World,
) -> None:
    payment = world.submit(2 * CNY_1M, payment_id="pay-1", decision_id="dec-9")
    assert payment.status is PaymentStatus.PENDING_APPROVAL
    assert payment.required_approvers == 2
    assert payment.reasons == ("payments over 1,000,000 CNY need 2 approvers",)
    assert payment_outcome(payment) is Outcome.DUAL_APPROVAL

    world.clock.advance(timedelta(minutes=5))
    first = world.approve("pay-1", "checker-1")
    assert first.status is PaymentStatus.PENDING_APPROVAL
    world.clock.advance(timedelta(minutes=5))
    released = world.approve("pay-1", "checker-2")

    assert released.status is PaymentStatus.RELEASED
    assert released.decided_at == WEDNESDAY_10_SHANGHAI + timedelta(minutes=10)
    assert [approval.operator_id for approval in released.approvals] == ["checker-1", "checker-2"]
    assert payment_outcome(released) is Outcome.ALLOW
    trail = [(e.actor, e.action, e.subject, e.at) for e in world.audit.entries]
    assert trail == [
        ("operator:maker", "corporate.payment_submitted", "pay-1", WEDNESDAY_10_SHANGHAI),
        (
            "operator:checker-1",
            "corporate.payment_approved",
            "pay-1",
            WEDNESDAY_10_SHANGHAI + timedelta(minutes=5),
        ),
        (
            "operator:checker-2",
            "corporate.payment_approved",
            "pay-1",
            WEDNESDAY_10_SHANGHAI + timedelta(minutes=10),
        ),
        (
            "operator:checker-2",
            "corporate.payment_released",
            "pay-1",
            WEDNESDAY_10_SHANGHAI + timedelta(minutes=10),
        ),
    ]
    submitted, approved_once, _, done = world.audit.entries
    assert submitted.details["amount_minor"] == 2 * CNY_1M
    assert submitted.details["status"] == "pending_approval"
    assert submitted.details["decision_id"] == "dec-9"
    assert approved_once.details["approvals"] == 1
    assert done.details["status"] == "released"
    assert done.details["approvals"] == 2


def test_audit_details_carry_no_operator_name_reference(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    world.approve(payment.id, "checker-1")

    text = repr([entry.details for entry in world.audit.entries])

    assert "ref-" not in text


def test_small_payment_is_released_at_once(world: World) -> None:
    payment = world.submit(10_000_00)

    assert payment.status is PaymentStatus.RELEASED
    assert payment.required_approvers == 0
    assert world.audit.actions() == ["corporate.payment_submitted", "corporate.payment_released"]


def test_large_payment_to_unlisted_payee_is_declined_with_the_reason(world: World) -> None:
    payment = world.submit(600_000_00, payee_id="stranger")

    assert payment.status is PaymentStatus.DECLINED
    assert "payments over 500,000 CNY may go only to allow-listed payees" in payment.reasons[0]
    assert world.audit.actions() == ["corporate.payment_submitted", "corporate.payment_declined"]
    assert world.audit.entries[-1].details["reasons"] == payment.reasons


def test_payment_in_another_currency_is_declined(world: World) -> None:
    payment = world.submit(100_00, currency="USD")

    assert payment.status is PaymentStatus.DECLINED
    assert payment.reasons == ("this mandate covers CNY payments only",)


def test_initiator_cannot_approve_own_payment(world: World) -> None:
    payment = world.submit(2 * CNY_1M, initiator_id="maker-2")

    with pytest.raises(PermissionDenied, match="initiator of a payment cannot approve it"):
        world.approve(payment.id, "maker-2")

    assert world.refusal() == {
        "action": "corporate.payment_approve_refused",
        "actor": "operator:maker-2",
        "error": "permission_denied",
        "field": None,
        "message": "the initiator of a payment cannot approve it",
    }
    assert get_payment(uow=world.uow, payment_id=payment.id).approvals == ()


def test_same_operator_cannot_approve_twice(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    world.approve(payment.id, "checker-1")

    with pytest.raises(Conflict, match="already approved"):
        world.approve(payment.id, "checker-1")

    assert world.refusal()["error"] == "conflict"
    assert len(get_payment(uow=world.uow, payment_id=payment.id).approvals) == 1


def test_operator_without_approver_role_cannot_approve(world: World) -> None:
    payment = world.submit(2 * CNY_1M, initiator_id="maker-2")

    with pytest.raises(PermissionDenied, match="does not hold the approver role"):
        world.approve(payment.id, "maker")

    assert world.refusal()["action"] == "corporate.payment_approve_refused"


def test_approver_whose_single_limit_does_not_cover_the_amount_does_not_count(
    world: World,
) -> None:
    payment = world.submit(200_000_00)

    with pytest.raises(PermissionDenied, match=r"single limit of 50,000 CNY does not cover"):
        world.approve(payment.id, "small-checker")

    assert world.refusal()["error"] == "permission_denied"


def test_operator_of_another_customer_cannot_approve(world: World) -> None:
    payment = world.submit(2 * CNY_1M)

    with pytest.raises(PermissionDenied, match="does not act for this customer"):
        world.approve(payment.id, "outsider")


def test_deactivated_approver_cannot_approve(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    deactivate_operator(uow=world.uow, audit=world.audit, actor=STAFF, operator_id="checker-1")

    with pytest.raises(PermissionDenied, match="inactive"):
        world.approve(payment.id, "checker-1")


def test_approving_a_released_payment_is_a_conflict(world: World) -> None:
    payment = world.submit(200_000_00)
    world.approve(payment.id, "checker-1")

    with pytest.raises(Conflict, match="released, not pending approval"):
        world.approve(payment.id, "checker-2")

    assert world.refusal()["action"] == "corporate.payment_approve_refused"


def test_approving_an_unknown_payment_is_not_found_and_audited(world: World) -> None:
    with pytest.raises(NotFound):
        world.approve("no-such", "checker-1")

    assert world.refusal()["error"] == "not_found"
    assert world.audit.entries[-1].subject == "no-such"


def test_approval_after_the_window_closes_is_a_conflict(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    world.clock.advance(timedelta(hours=24))

    with pytest.raises(Conflict, match="approval window has closed"):
        world.approve(payment.id, "checker-1")


def test_rejected_payment_keeps_its_reason_but_the_audit_does_not(world: World) -> None:
    payment = world.submit(2 * CNY_1M)
    world.approve(payment.id, "checker-1")

    rejected = world.reject(payment.id, "checker-2", reason="  invoice paid twice  ")

    assert rejected.status is PaymentStatus.REJECTED
    assert rejected.rejection_reason == "invoice paid twice"
    entry = world.audit.entries[-1]
    assert entry.action == "corporate.payment_rejected"
    assert entry.details["by_initiator"] is False
    assert "invoice" not in repr(entry.details)
    with pytest.raises(Conflict, match="rejected, not pending"):
        world.approve(payment.id, "checker-2")


def test_initiator_may_withdraw_own_payment(world: World) -> None:
    payment = world.submit(2 * CNY_1M)

    rejected = world.reject(payment.id, "maker")

    assert rejected.status is PaymentStatus.REJECTED
    assert world.audit.entries[-1].details["by_initiator"] is True


def test_initiator_only_operator_cannot_reject_anothers_payment(world: World) -> None:
    payment = world.submit(2 * CNY_1M, initiator_id="maker-2")

    with pytest.raises(PermissionDenied, match="approver, an admin or the initiator"):
        world.reject(payment.id, "maker")

    assert world.refusal()["action"] == "corporate.payment_reject_refused"


def test_rejection_needs_a_reason(world: World) -> None:
    payment = world.submit(2 * CNY_1M)

    with pytest.raises(ValidationError) as caught:
        world.reject(payment.id, "checker-1", reason="   ")

    assert caught.value.field == "reason"
