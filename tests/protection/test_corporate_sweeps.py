"""Expiry of payments missing approvals, and release of payments held until business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.core.clock import FixedClock
from tenure.core.errors import Conflict
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
    expire_stale,
    payment_outcome,
    publish_mandate,
    release_due,
    submit_payment,
)

WEDNESDAY_10_SHANGHAI = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
FRIDAY_22_SHANGHAI = datetime(2025, 3, 7, 14, 0, tzinfo=UTC)
MONDAY_08_SHANGHAI = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)
STAFF = Actor.staff("staff-1")


def setup(at: datetime, **mandate_terms: Any) -> tuple[Any, InMemoryAuditSink, FixedClock]:
    uow, audit, clock = InMemoryCorporateUnitOfWork(), InMemoryAuditSink(), FixedClock(at)
    publish_mandate(
        uow=uow,
        audit=audit,
        actor=STAFF,
        customer_id="corp-1",
        tiers=(ApprovalTier(100_000_00, 1),),
        clock=clock,
        **mandate_terms,
    )
    for operator_id, role in [("maker", "initiator"), ("checker", "approver")]:
        add_operator(
            uow=uow,
            audit=audit,
            actor=STAFF,
            customer_id="corp-1",
            name_ref=operator_id,
            roles=(role,),
            single_limit_minor=10_000_000_00,
            daily_limit_minor=50_000_000_00,
            operator_id=operator_id,
            clock=clock,
        )
    audit.entries.clear()
    return uow, audit, clock


def submit(uow: Any, audit: InMemoryAuditSink, clock: FixedClock, amount: int) -> CorporatePayment:
    return submit_payment(
        uow=uow,
        audit=audit,
        clock=clock,
        customer_id="corp-1",
        account_id="acct-1",
        payee_id="payee-1",
        amount_minor=amount,
        currency="CNY",
        initiator_id="maker",
    )


def test_payments_missing_approvals_expire_after_the_window_and_are_audited() -> None:
    uow, audit, clock = setup(WEDNESDAY_10_SHANGHAI)
    stale = submit(uow, audit, clock, 200_000_00)
    clock.advance(timedelta(hours=1))
    fresh = submit(uow, audit, clock, 200_000_00)
    clock.advance(timedelta(hours=23))

    expired = expire_stale(uow=uow, audit=audit, clock=clock)

    assert [payment.id for payment in expired] == [stale.id]
    assert expired[0].status is PaymentStatus.EXPIRED
    assert payment_outcome(expired[0]) is Outcome.DECLINE
    assert uow.payments.get(fresh.id).status is PaymentStatus.PENDING_APPROVAL
    entry = audit.entries[-1]
    assert (entry.actor, entry.action, entry.subject) == (
        "system",
        "corporate.payment_expired",
        stale.id,
    )
    assert expire_stale(uow=uow, audit=audit, clock=clock) == []


def test_a_custom_approval_window_is_honoured() -> None:
    uow, audit, clock = setup(WEDNESDAY_10_SHANGHAI, approval_window=timedelta(hours=2))
    payment = submit(uow, audit, clock, 200_000_00)
    clock.advance(timedelta(hours=2))

    assert [p.id for p in expire_stale(uow=uow, audit=audit, clock=clock)] == [payment.id]


def test_hold_policy_keeps_an_after_hours_payment_until_monday_opening() -> None:
    uow, audit, clock = setup(FRIDAY_22_SHANGHAI, after_hours="hold")

    payment = submit(uow, audit, clock, 50_000_00)

    assert payment.status is PaymentStatus.PENDING_APPROVAL
    assert payment.required_approvers == 0
    assert payment.hold_ends_at == MONDAY_08_SHANGHAI
    assert payment_outcome(payment) is Outcome.HOLD
    clock.advance(MONDAY_08_SHANGHAI - FRIDAY_22_SHANGHAI - timedelta(seconds=1))
    assert release_due(uow=uow, audit=audit, clock=clock) == []
    assert expire_stale(uow=uow, audit=audit, clock=clock) == []
    clock.advance(timedelta(seconds=1))

    [released] = release_due(uow=uow, audit=audit, clock=clock)

    assert released.status is PaymentStatus.RELEASED
    assert released.decided_at == MONDAY_08_SHANGHAI
    assert audit.actions() == [
        "corporate.payment_submitted",
        "corporate.payment_released",
    ]
    assert audit.entries[-1].actor == "system"


def test_held_payment_approved_over_the_weekend_waits_then_releases() -> None:
    uow, audit, clock = setup(FRIDAY_22_SHANGHAI, after_hours="hold")
    payment = submit(uow, audit, clock, 200_000_00)
    clock.advance(timedelta(hours=1))

    approved = approve_payment(
        uow=uow, audit=audit, clock=clock, payment_id=payment.id, operator_id="checker"
    )

    assert approved.status is PaymentStatus.PENDING_APPROVAL
    assert approved.fully_approved
    assert payment_outcome(approved) is Outcome.HOLD
    clock.advance(MONDAY_08_SHANGHAI - clock.now())
    released = release_due(uow=uow, audit=audit, clock=clock)
    assert [p.status for p in released] == [PaymentStatus.RELEASED]


def test_fully_approved_held_payment_refuses_further_approvals_and_does_not_expire() -> None:
    uow, audit, clock = setup(FRIDAY_22_SHANGHAI, after_hours="hold")
    add_operator(
        uow=uow,
        audit=audit,
        actor=STAFF,
        customer_id="corp-1",
        name_ref="second",
        roles=("approver",),
        single_limit_minor=10_000_000_00,
        daily_limit_minor=50_000_000_00,
        operator_id="checker-2",
        clock=clock,
    )
    payment = submit(uow, audit, clock, 200_000_00)
    approve_payment(uow=uow, audit=audit, clock=clock, payment_id=payment.id, operator_id="checker")

    clock.advance(timedelta(hours=30))
    assert expire_stale(uow=uow, audit=audit, clock=clock) == []
    with pytest.raises(Conflict, match="waits for business hours"):
        approve_payment(
            uow=uow, audit=audit, clock=clock, payment_id=payment.id, operator_id="checker-2"
        )


def test_approval_completing_a_held_payment_during_business_hours_releases_it() -> None:
    uow, audit, clock = setup(FRIDAY_22_SHANGHAI, after_hours="hold")
    payment = submit(uow, audit, clock, 200_000_00)
    clock.advance(MONDAY_08_SHANGHAI - FRIDAY_22_SHANGHAI + timedelta(minutes=30))

    released = approve_payment(
        uow=uow, audit=audit, clock=clock, payment_id=payment.id, operator_id="checker"
    )

    assert released.status is PaymentStatus.RELEASED


def test_held_payments_approval_window_counts_from_the_end_of_the_hold() -> None:
    uow, audit, clock = setup(FRIDAY_22_SHANGHAI, after_hours="hold")

    payment = submit(uow, audit, clock, 200_000_00)

    assert payment.expires_at == MONDAY_08_SHANGHAI + timedelta(hours=24)
