"""Customer limits: read them, and change one as the customer (through the channel) or as staff.

The customer channel (``protection:decide``) may lower a limit freely; a raise needs a challenge
this customer passed within the policy's window (10 minutes unless the protection config says
otherwise), named by ``step_up_challenge_id``.
Staff (``rules:manage``) set a limit within the product's maximum without one. Every change is
audited, and acts on the next decision of this process (others reload within seconds).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from tenure.api.dependencies import State, require_any_permission
from tenure.api.protection_schemas import LimitChangeOut, LimitIn, LimitOut
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission, has_permission
from tenure.core.errors import PermissionDenied
from tenure.protection.limits import Actor, change_limit, list_limits
from tenure.protection.stepup import ChallengeStatus, get_challenge

__all__ = ["router"]

router = APIRouter(prefix="/v1/customers/{customer_id}/limits", tags=["limits"])

LimitActor = Annotated[
    Principal,
    Depends(require_any_permission(Permission.PROTECTION_DECIDE, Permission.RULES_MANAGE)),
]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Product = Annotated[str, Path(min_length=1, max_length=64)]


def _actor(principal: Principal, customer_id: str) -> Actor:
    """Staff act as themselves; the channel acts for the customer named in the path."""
    if has_permission(principal.roles, Permission.RULES_MANAGE):
        return Actor(principal.subject, "staff")
    return Actor(customer_id, "customer")


def _verified_at(state: ApiState, customer_id: str, challenge_id: str | None) -> datetime | None:
    """When this customer passed the named challenge (another customer's reads as missing)."""
    if challenge_id is None:
        return None
    challenge = get_challenge(
        uow=state.stepup_uow(),
        challenge_id=challenge_id,
        clock=state.clock,
        customer_id=customer_id,
    )
    if challenge.status is not ChallengeStatus.VERIFIED:
        raise PermissionDenied(
            f"the step-up challenge is {challenge.status.value}, not verified",
            field="step_up_challenge_id",
        )
    return challenge.finished_at


@router.get("")
def get_limits(customer_id: CustomerId, principal: LimitActor, state: State) -> list[LimitOut]:
    """The customer's limit for every product (the policy default where none was set)."""
    return [
        LimitOut.of(limit)
        for limit in list_limits(
            uow=state.limits_uow(), customer_id=customer_id, policy=state.protection_config.limits
        )
    ]


@router.put("/{product}")
def put_limit(
    customer_id: CustomerId, product: Product, body: LimitIn, principal: LimitActor, state: State
) -> LimitChangeOut:
    """Set one limit; a customer's raise without a recent step-up is 403."""
    actor = _actor(principal, customer_id)
    verified_at = None
    if actor.kind == "customer":
        verified_at = _verified_at(state, customer_id, body.step_up_challenge_id)
    change = change_limit(
        uow=state.limits_uow(),
        customer_id=customer_id,
        product=product,
        new_amount_minor=body.amount_minor,
        actor=actor,
        clock=state.clock,
        step_up_verified_at=verified_at,
        policy=state.protection_config.limits,
    )
    state.record_audit(
        actor=principal.subject,
        action="protection.limit_changed",
        subject=f"customer:{customer_id}",
        details={
            "product": product,
            "old_amount_minor": change.old_amount_minor,
            "new_amount_minor": change.new_amount_minor,
            "actor_kind": actor.kind,
            "step_up_challenge_id": body.step_up_challenge_id,
        },
    )
    state.limits_changed()
    return LimitChangeOut.of(change)
