"""Step-up over HTTP: the channel starts a challenge after a ``step_up`` decision and relays the
customer's code; customers enrol an authenticator app (TOTP) through the channel.

An SMS code goes to the notification outbox only: no response carries it. The channel is trusted
to have signed the customer in, as it is for events.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from tenure.api.dependencies import State, require_permission
from tenure.api.protection_schemas import (
    ChallengeIn,
    ChallengeOut,
    CodeIn,
    TotpEnrolmentOut,
    TotpProvisioningOut,
    VerificationOut,
)
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.errors import Conflict, NotFound
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision
from tenure.protection.stepup import (
    confirm_totp_enrolment,
    enroll_totp,
    get_challenge,
    start_challenge,
    verify_challenge,
)

__all__ = ["Decider", "router"]

router = APIRouter(tags=["step-up"])

Decider = Annotated[Principal, Depends(require_permission(Permission.PROTECTION_DECIDE))]
ChallengeId = Annotated[str, Path(min_length=1, max_length=64)]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]


def _logged_decision(state: ApiState, decision_id: str) -> Decision:
    decision = state.decision_log.get(decision_id)
    if decision is None:
        raise NotFound("no decision has this id", field="decision_id")
    return decision


@router.post("/v1/challenges", status_code=status.HTTP_201_CREATED)
def post_challenge(body: ChallengeIn, principal: Decider, state: State) -> ChallengeOut:
    """Start a challenge for a ``step_up`` decision (a resend cancels the pending one); the first
    must start within ``step_up.start_within_minutes`` of the decision, and none once the
    decision has ended."""
    decision = _logged_decision(state, body.decision_id)
    if decision.outcome is not Outcome.STEP_UP:
        raise Conflict(
            f"the decision's outcome is {decision.outcome.value}, not step_up", field="decision_id"
        )
    ended = state.resolutions.of([decision.decision_id]).get(decision.decision_id)
    if ended is not None:
        raise Conflict(
            f"the decision already ended as {ended.outcome.value} ({ended.reason})",
            field="decision_id",
        )
    challenge = start_challenge(
        uow=state.stepup_uow(),
        decision_id=decision.decision_id,
        customer_id=decision.event.customer_id,
        method=body.method,
        code_key=state.stepup_secret(),
        clock=state.clock,
        policy=state.protection_config.step_up,
        decided_at=decision.decided_at,
    )
    return ChallengeOut.of(challenge)


@router.get("/v1/challenges/{challenge_id}")
def get_one_challenge(challenge_id: ChallengeId, principal: Decider, state: State) -> ChallengeOut:
    """A challenge as it stands now (a pending one past its expiry reads as expired)."""
    found = get_challenge(uow=state.stepup_uow(), challenge_id=challenge_id, clock=state.clock)
    return ChallengeOut.of(found)


@router.post("/v1/challenges/{challenge_id}/verify")
def post_verify(
    challenge_id: ChallengeId, body: CodeIn, principal: Decider, state: State
) -> VerificationOut:
    """Check the customer's code; ``outcome`` is what the held decision resumes as, and is
    recorded as the decision's final outcome (a final decline opens an alert)."""
    result = verify_challenge(
        uow=state.stepup_uow(),
        challenge_id=challenge_id,
        code=body.code,
        code_key=state.stepup_secret(),
        clock=state.clock,
        policy=state.protection_config.step_up,
    )
    if result.outcome is not None:
        challenge = result.challenge
        state.resolutions.resolve(
            challenge.decision_id,
            result.outcome,
            reason=f"step_up_{challenge.status.value}",
            at=challenge.finished_at or state.clock.now(),
            alert=True,
        )
    return VerificationOut.of(result)


@router.post("/v1/customers/{customer_id}/totp", status_code=status.HTTP_201_CREATED)
def post_totp(customer_id: CustomerId, principal: Decider, state: State) -> TotpProvisioningOut:
    """Start an authenticator enrolment; the provisioning URI is shown this once."""
    provisioning = enroll_totp(uow=state.stepup_uow(), customer_id=customer_id, clock=state.clock)
    state.record_audit(
        actor=principal.subject,
        action="protection.totp_enrolment_started",
        subject=f"customer:{customer_id}",
        details={},
    )
    return TotpProvisioningOut(
        customer_id=customer_id,
        status=provisioning.enrolment.status,
        provisioning_uri=provisioning.provisioning_uri.get_secret_value(),
    )


@router.post("/v1/customers/{customer_id}/totp/confirm")
def post_totp_confirm(
    customer_id: CustomerId, body: CodeIn, principal: Decider, state: State
) -> TotpEnrolmentOut:
    """Activate the enrolment with one code from the app (422 if it does not match)."""
    enrolment = confirm_totp_enrolment(
        uow=state.stepup_uow(),
        customer_id=customer_id,
        code=body.code,
        clock=state.clock,
        policy=state.protection_config.step_up,
    )
    state.record_audit(
        actor=principal.subject,
        action="protection.totp_enrolment_confirmed",
        subject=f"customer:{customer_id}",
        details={},
    )
    return TotpEnrolmentOut.of(enrolment)
