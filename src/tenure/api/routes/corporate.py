"""Corporate clients over HTTP: operators, the mandate, and payments awaiting approval.

Bank staff (``corporate:manage``) publish mandates and manage operators as themselves. Operators
act through the channel (``protection:decide``) that signed them in, naming themselves with
``operator_id``; the domain then checks what that operator may do (an initiator never approves
their own payment, nobody approves twice). Every step and every refusal is audited.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status

from tenure.api.corporate_schemas import (
    ApprovalIn,
    MandateIn,
    MandateOut,
    OperatorIn,
    OperatorOut,
    PaymentIn,
    PaymentOut,
    RejectionIn,
)
from tenure.api.dependencies import State, require_any_permission, require_permission
from tenure.api.routes.stepup import Decider
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission, has_permission
from tenure.core.errors import Conflict, PermissionDenied, ValidationError
from tenure.core.outcome import Outcome
from tenure.protection.corporate import (
    Actor,
    add_operator,
    approve_payment,
    current_mandate,
    get_payment,
    list_operators,
    pending_payments,
    publish_mandate,
    reject_payment,
    submit_payment,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/corporate", tags=["corporate"])
# what a decision answers when its transfer must wait for the client's approvers
_SENT_TO_WAIT = frozenset({Outcome.DUAL_APPROVAL, Outcome.HOLD})

CorporateManager = Annotated[Principal, Depends(require_permission(Permission.CORPORATE_MANAGE))]
CorporateActor = Annotated[
    Principal,
    Depends(require_any_permission(Permission.CORPORATE_MANAGE, Permission.PROTECTION_DECIDE)),
]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
PaymentId = Annotated[str, Path(min_length=1, max_length=64)]


def _actor(principal: Principal, operator_id: str | None) -> Actor:
    """An operator through the channel when ``operator_id`` is sent, else the staff member."""
    if operator_id is not None:
        if not has_permission(principal.roles, Permission.PROTECTION_DECIDE):
            raise PermissionDenied("only the channel may act as an operator", field="operator_id")
        return Actor.operator(operator_id)
    if has_permission(principal.roles, Permission.CORPORATE_MANAGE):
        return Actor.staff(principal.subject)
    raise ValidationError("the acting operator_id is required", field="operator_id")


@router.get("/{customer_id}/operators")
def get_operators(
    customer_id: CustomerId, principal: CorporateActor, state: State
) -> list[OperatorOut]:
    """Every operator of the customer, active or not."""
    found = list_operators(uow=state.corporate_uow(), customer_id=customer_id)
    return [OperatorOut.of(operator) for operator in found]


@router.post("/{customer_id}/operators", status_code=status.HTTP_201_CREATED)
def post_operator(
    customer_id: CustomerId, body: OperatorIn, principal: CorporateActor, state: State
) -> OperatorOut:
    """Add an operator (staff, or an admin operator of the customer through the channel)."""
    operator = add_operator(
        uow=state.corporate_uow(),
        audit=state.protection_audit,
        actor=_actor(principal, body.operator_id),
        customer_id=customer_id,
        name_ref=body.name_ref,
        roles=body.roles,
        single_limit_minor=body.single_limit_minor,
        daily_limit_minor=body.daily_limit_minor,
        operator_id=body.id,
        clock=state.clock,
    )
    return OperatorOut.of(operator)


@router.get("/{customer_id}/mandate")
def get_mandate(customer_id: CustomerId, principal: CorporateActor, state: State) -> MandateOut:
    """The mandate in force (404 if the bank has recorded none)."""
    return MandateOut.of(current_mandate(uow=state.corporate_uow(), customer_id=customer_id))


@router.put("/{customer_id}/mandate")
def put_mandate(
    customer_id: CustomerId, body: MandateIn, principal: CorporateManager, state: State
) -> MandateOut:
    """Publish the customer's next mandate version; the engine applies it to the customer's
    next transfer, and payments already waiting keep theirs."""
    mandate = publish_mandate(
        uow=state.corporate_uow(),
        audit=state.protection_audit,
        actor=Actor.staff(principal.subject),
        customer_id=customer_id,
        tiers=[tier.to_tier() for tier in body.tiers],
        currency=body.currency,
        allow_listed_payees_above_minor=body.allow_listed_payees_above_minor,
        allowed_payee_ids=body.allowed_payee_ids,
        business_hours=body.business_hours.to_hours(),
        after_hours=body.after_hours,
        after_hours_above_minor=body.after_hours_above_minor,
        approval_window=body.approval_window,
        clock=state.clock,
    )
    state.mandates_changed()
    return MandateOut.of(mandate)


@router.post("/{customer_id}/payments", status_code=status.HTTP_201_CREATED)
def post_payment(
    customer_id: CustomerId, body: PaymentIn, principal: Decider, state: State
) -> PaymentOut:
    """Submit a payment: released, declined, or pending the approvals the mandate requires.

    A ``decision_id`` names the decision that sent this transfer for approval (422 if no
    decision has that id, 409 if it was another customer's, amount's or payee's, or did not
    send it to wait); the decision then ends as the payment does.
    """
    if body.decision_id is not None:
        _check_decision(state, body.decision_id, customer_id, body)
    payment = submit_payment(
        uow=state.corporate_uow(),
        audit=state.protection_audit,
        customer_id=customer_id,
        account_id=body.account_id,
        payee_id=body.payee_id,
        amount_minor=body.amount_minor,
        currency=body.currency,
        initiator_id=body.operator_id,
        decision_id=body.decision_id,
        payment_id=body.payment_id,
        clock=state.clock,
    )
    state.resolutions.settle(payment)
    return PaymentOut.of(payment)


def _check_decision(state: ApiState, decision_id: str, customer_id: str, body: PaymentIn) -> None:
    decision = state.decision_log.get(decision_id)
    if decision is None:
        raise ValidationError("no decision has this id", field="decision_id")
    event = decision.event
    if decision.outcome not in _SENT_TO_WAIT or (
        event.customer_id,
        event.amount_minor,
        event.payee_id,
    ) != (customer_id, body.amount_minor, body.payee_id):
        raise Conflict("the decision did not send this payment for approval", field="decision_id")


@router.get("/{customer_id}/payments")
def get_payments(
    customer_id: CustomerId,
    principal: CorporateActor,
    state: State,
    payment_status: Annotated[Literal["pending_approval"], Query(alias="status")] = (
        "pending_approval"
    ),
) -> list[PaymentOut]:
    """The customer's approval queue, oldest first."""
    found = pending_payments(uow=state.corporate_uow(), customer_id=customer_id)
    return [PaymentOut.of(payment) for payment in found]


@router.get("/payments/{payment_id}")
def get_one_payment(payment_id: PaymentId, principal: CorporateActor, state: State) -> PaymentOut:
    """One payment and its approvals."""
    return PaymentOut.of(get_payment(uow=state.corporate_uow(), payment_id=payment_id))


@router.post("/payments/{payment_id}/approve")
def post_approval(
    payment_id: PaymentId, body: ApprovalIn, principal: Decider, state: State
) -> PaymentOut:
    """One operator's approval; the payment is released once enough distinct approvers agree."""
    payment = approve_payment(
        uow=state.corporate_uow(),
        audit=state.protection_audit,
        payment_id=payment_id,
        operator_id=body.operator_id,
        clock=state.clock,
    )
    state.resolutions.settle(payment)
    return PaymentOut.of(payment)


@router.post("/payments/{payment_id}/reject")
def post_rejection(
    payment_id: PaymentId, body: RejectionIn, principal: Decider, state: State
) -> PaymentOut:
    """Reject a pending payment (an approver or admin, or the initiator withdrawing it)."""
    payment = reject_payment(
        uow=state.corporate_uow(),
        audit=state.protection_audit,
        payment_id=payment_id,
        operator_id=body.operator_id,
        reason=body.reason,
        clock=state.clock,
    )
    state.resolutions.settle(payment)
    return PaymentOut.of(payment)
