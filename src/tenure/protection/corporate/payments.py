"""Corporate payment services: submit, approve, reject, the approval queue, and the sweeps.

::

    submit -> declined                      (payee or currency not allowed by the mandate)
           -> released                      (no approver needed, no after-hours hold)
           -> pending_approval -> approve.. -> released   (enough distinct approvers, hold over)
                               -> reject    -> rejected
                               -> expire_stale -> expired (approvals missing at expires_at)
                               -> release_due  -> released (fully approved, after-hours hold over)

The initiator never counts as an approver, nobody approves twice, and an approver counts only if
their own single limit covers the amount. Every step and every refusal is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from tenure.core.clock import Clock, SystemClock
from tenure.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tenure.core.money import format_minor_units
from tenure.protection.corporate.audit import AuditSink, refusals_recorded
from tenure.protection.corporate.evaluation import MandateRequirement, evaluate_mandate
from tenure.protection.corporate.model import (
    Actor,
    Approval,
    CorporatePayment,
    Mandate,
    Operator,
    OperatorRole,
    PaymentRequest,
    PaymentStatus,
    check_currency,
)
from tenure.protection.corporate.ports import CorporateUnitOfWork

__all__ = [
    "approve_payment",
    "expire_stale",
    "get_payment",
    "pending_payments",
    "reject_payment",
    "release_due",
    "submit_payment",
]

_SYSTEM_CLOCK = SystemClock()
_MAX_REASON = 500


def _details(payment: CorporatePayment) -> Mapping[str, object]:
    return {
        "customer_id": payment.customer_id,
        "account_id": payment.account_id,
        "payee_id": payment.payee_id,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "status": payment.status.value,
        "approvals": len(payment.approver_ids),
        "required_approvers": payment.required_approvers,
        "mandate_version": payment.mandate_version,
        "reasons": payment.reasons,
        "decision_id": payment.decision_id,
    }


def _record(audit: AuditSink, actor: Actor, action: str, payment: CorporatePayment) -> None:
    audit.record(
        actor=str(actor),
        action=f"corporate.payment_{action}",
        subject=payment.id,
        details=_details(payment),
        at=payment.decided_at or payment.created_at,
    )


def _operator_of(uow: CorporateUnitOfWork, operator_id: str, customer_id: str) -> Operator:
    operator = uow.operators.get(operator_id)
    if operator is None:
        raise NotFound("no such operator")
    if operator.customer_id != customer_id:
        raise PermissionDenied("the operator does not act for this customer")
    if not operator.active:
        raise PermissionDenied("the operator is inactive")
    return operator


def _local_day(at: datetime, mandate: Mandate) -> tuple[datetime, datetime]:
    zone = mandate.business_hours.zone
    day = at.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _check_initiator(
    uow: CorporateUnitOfWork, initiator: Operator, amount_minor: int, mandate: Mandate, at: datetime
) -> None:
    if OperatorRole.INITIATOR not in initiator.roles:
        raise PermissionDenied("the operator does not hold the initiator role")
    if amount_minor > initiator.single_limit_minor:
        limit = format_minor_units(initiator.single_limit_minor, mandate.currency)
        raise PermissionDenied(f"the amount exceeds the initiator's single limit of {limit}")
    since, until = _local_day(at, mandate)
    spent = uow.payments.initiated_total_minor(initiator.id, since=since, until=until)
    if spent + amount_minor > initiator.daily_limit_minor:
        limit = format_minor_units(initiator.daily_limit_minor, mandate.currency)
        raise PermissionDenied(f"the amount would exceed the initiator's daily limit of {limit}")


def _status_at_submission(requirement: MandateRequirement) -> PaymentStatus:
    if not requirement.payee_allowed:
        return PaymentStatus.DECLINED
    if requirement.approvers == 0 and requirement.hold_ends_at is None:
        return PaymentStatus.RELEASED
    return PaymentStatus.PENDING_APPROVAL


def _new_payment(
    request: PaymentRequest,
    *,
    payment_id: str,
    customer_id: str,
    account_id: str,
    initiator_id: str,
    decision_id: str | None,
    mandate: Mandate,
    at: datetime,
) -> CorporatePayment:
    requirement = evaluate_mandate(mandate, request, at)
    status = _status_at_submission(requirement)
    return CorporatePayment(
        id=payment_id,
        customer_id=customer_id,
        account_id=account_id,
        payee_id=request.payee_id,
        amount_minor=request.amount_minor,
        currency=request.currency,
        initiator_id=initiator_id,
        created_at=at,
        status=status,
        approvals=(),
        required_approvers=requirement.approvers,
        reasons=requirement.reasons,
        decision_id=decision_id,
        mandate_version=mandate.version,
        expires_at=(requirement.hold_ends_at or at) + mandate.approval_window,
        hold_ends_at=requirement.hold_ends_at,
        decided_at=None if status is PaymentStatus.PENDING_APPROVAL else at,
    )


def submit_payment(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    customer_id: str,
    account_id: str,
    payee_id: str,
    amount_minor: int,
    currency: str,
    initiator_id: str,
    decision_id: str | None = None,
    payment_id: str | None = None,
    clock: Clock = _SYSTEM_CLOCK,
) -> CorporatePayment:
    """Submit a payment under the customer's mandate; returns it released, pending or declined."""
    at, new_id, actor = clock.now(), payment_id or uuid.uuid4().hex, Actor.operator(initiator_id)
    action = "corporate.payment_submit"
    with refusals_recorded(audit, actor=actor, action=action, subject=new_id, at=at), uow:
        if amount_minor <= 0:
            raise ValidationError("the amount must be positive", field="amount_minor")
        check_currency(currency)
        mandate = uow.mandates.current(customer_id)
        if mandate is None:
            raise NotFound("this customer has no corporate mandate")
        initiator = _operator_of(uow, initiator_id, customer_id)
        _check_initiator(uow, initiator, amount_minor, mandate, at)
        payment = _new_payment(
            PaymentRequest(amount_minor, currency, payee_id),
            payment_id=new_id,
            customer_id=customer_id,
            account_id=account_id,
            initiator_id=initiator_id,
            decision_id=decision_id,
            mandate=mandate,
            at=at,
        )
        uow.payments.add(payment)
        _record(audit, actor, "submitted", payment)
        if payment.status is not PaymentStatus.PENDING_APPROVAL:
            _record(audit, actor, payment.status.value, payment)
        uow.commit()
    return payment


def _pending(uow: CorporateUnitOfWork, payment_id: str) -> CorporatePayment:
    payment = uow.payments.get(payment_id)
    if payment is None:
        raise NotFound("no such payment")
    if payment.status is not PaymentStatus.PENDING_APPROVAL:
        raise Conflict(f"the payment is {payment.status.value}, not pending approval")
    return payment


def _check_approver(payment: CorporatePayment, approver: Operator, at: datetime) -> None:
    if approver.id == payment.initiator_id:
        raise PermissionDenied("the initiator of a payment cannot approve it")
    if approver.id in payment.approver_ids:
        raise Conflict("this operator has already approved the payment")
    if OperatorRole.APPROVER not in approver.roles:
        raise PermissionDenied("the operator does not hold the approver role")
    if approver.single_limit_minor < payment.amount_minor:
        limit = format_minor_units(approver.single_limit_minor, payment.currency)
        raise PermissionDenied(f"the approver's single limit of {limit} does not cover the amount")
    if payment.fully_approved:
        raise Conflict("the payment has all its approvals and waits for business hours")
    if at >= payment.expires_at:
        raise Conflict("the payment's approval window has closed")


def _hold_over(payment: CorporatePayment, at: datetime) -> bool:
    return payment.hold_ends_at is None or at >= payment.hold_ends_at


def approve_payment(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    payment_id: str,
    operator_id: str,
    clock: Clock = _SYSTEM_CLOCK,
) -> CorporatePayment:
    """Add one operator's approval; releases the payment once enough distinct approvers agree."""
    at, actor = clock.now(), Actor.operator(operator_id)
    action = "corporate.payment_approve"
    with refusals_recorded(audit, actor=actor, action=action, subject=payment_id, at=at), uow:
        payment = _pending(uow, payment_id)
        approver = _operator_of(uow, operator_id, payment.customer_id)
        _check_approver(payment, approver, at)
        approved = replace(payment, approvals=(*payment.approvals, Approval(operator_id, at)))
        released = approved.fully_approved and _hold_over(approved, at)
        if released:
            approved = replace(approved, status=PaymentStatus.RELEASED, decided_at=at)
        uow.payments.update(approved, expected=payment)
        audit.record(
            actor=str(actor),
            action="corporate.payment_approved",
            subject=payment_id,
            details=_details(approved),
            at=at,
        )
        if released:
            _record(audit, actor, "released", approved)
        uow.commit()
    return approved


def reject_payment(
    *,
    uow: CorporateUnitOfWork,
    audit: AuditSink,
    payment_id: str,
    operator_id: str,
    reason: str,
    clock: Clock = _SYSTEM_CLOCK,
) -> CorporatePayment:
    """Reject a pending payment: an approver or admin of the customer, or its initiator (withdraw).

    The free-text ``reason`` is kept on the payment but not in the audit trail, which must carry
    no personal data.
    """
    at, actor = clock.now(), Actor.operator(operator_id)
    action = "corporate.payment_reject"
    with refusals_recorded(audit, actor=actor, action=action, subject=payment_id, at=at), uow:
        cleaned = reason.strip()
        if not 1 <= len(cleaned) <= _MAX_REASON:
            raise ValidationError(
                f"a reason of 1-{_MAX_REASON} characters is required", field="reason"
            )
        payment = _pending(uow, payment_id)
        operator = _operator_of(uow, operator_id, payment.customer_id)
        is_initiator = operator.id == payment.initiator_id
        if not is_initiator and not operator.roles & {OperatorRole.APPROVER, OperatorRole.ADMIN}:
            raise PermissionDenied(
                "only an approver, an admin or the initiator may reject a payment"
            )
        rejected = replace(
            payment, status=PaymentStatus.REJECTED, decided_at=at, rejection_reason=cleaned
        )
        uow.payments.update(rejected, expected=payment)
        details = {**_details(rejected), "by_initiator": is_initiator}
        audit.record(
            actor=str(actor),
            action="corporate.payment_rejected",
            subject=payment_id,
            details=details,
            at=at,
        )
        uow.commit()
    return rejected


def get_payment(*, uow: CorporateUnitOfWork, payment_id: str) -> CorporatePayment:
    """One payment; ``NotFound`` if there is no such payment."""
    with uow:
        payment = uow.payments.get(payment_id)
    if payment is None:
        raise NotFound("no such payment")
    return payment


def pending_payments(*, uow: CorporateUnitOfWork, customer_id: str) -> list[CorporatePayment]:
    """The customer's approval queue, oldest first."""
    with uow:
        return uow.payments.list_pending(customer_id=customer_id)


def _sweep(
    *, uow: CorporateUnitOfWork, audit: AuditSink, clock: Clock, expire: bool
) -> list[CorporatePayment]:
    at, actor, changed = clock.now(), Actor.system(), []
    with uow:
        for payment in uow.payments.list_pending():
            if expire and not payment.fully_approved and at >= payment.expires_at:
                status = PaymentStatus.EXPIRED
            elif not expire and payment.fully_approved and _hold_over(payment, at):
                status = PaymentStatus.RELEASED
            else:
                continue
            swept = replace(payment, status=status, decided_at=at)
            uow.payments.update(swept, expected=payment)
            _record(audit, actor, status.value, swept)
            changed.append(swept)
        uow.commit()
    return changed


def expire_stale(
    *, uow: CorporateUnitOfWork, audit: AuditSink, clock: Clock = _SYSTEM_CLOCK
) -> list[CorporatePayment]:
    """Expire pending payments still missing approvals at their ``expires_at``."""
    return _sweep(uow=uow, audit=audit, clock=clock, expire=True)


def release_due(
    *, uow: CorporateUnitOfWork, audit: AuditSink, clock: Clock = _SYSTEM_CLOCK
) -> list[CorporatePayment]:
    """Release fully approved payments whose after-hours hold has ended."""
    return _sweep(uow=uow, audit=audit, clock=clock, expire=False)
