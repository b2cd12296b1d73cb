"""Consents per purpose and channel: read a customer's, record a change, check before contact.

``GET /v1/consents/check`` is what a campaign or journey asks before it contacts anyone: it
answers allowed or not, with the event that decided (no record means no consent). Every change is
appended to the ledger (history is never overwritten) and to the hash-chained audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from tenure.adapters.sql.consent import SqlConsentLedger
from tenure.api.dependencies import State, require_permission
from tenure.api.privacy_schemas import (
    ID_PATTERN,
    ConsentCheckOut,
    ConsentEventOut,
    ConsentIn,
    ConsentStateOut,
    CustomerConsentsOut,
    checked_moment,
)
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.errors import ValidationError
from tenure.privacy.consent import Channel, ConsentService, ConsentSource, Purpose

__all__ = ["StateAudit", "consent_service", "router"]

router = APIRouter(tags=["consents"])

ConsentReader = Annotated[Principal, Depends(require_permission(Permission.CONSENTS_READ))]
ConsentRecorder = Annotated[Principal, Depends(require_permission(Permission.CONSENTS_RECORD))]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


class StateAudit:
    """The ``AuditSink`` port over ``ApiState.record_audit`` (stamped with the app's clock)."""

    def __init__(self, state: ApiState) -> None:
        self._state = state

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        at: datetime,
    ) -> None:
        self._state.record_audit(actor=actor, action=action, subject=subject, details=details)


def consent_service(state: ApiState) -> ConsentService:
    """The consent service on the app's store (the ledger holds no state of its own)."""
    return ConsentService(
        SqlConsentLedger(state.engine), clock=state.clock, audit=StateAudit(state)
    )


@router.get("/v1/customers/{customer_id}/consents")
def get_consents(
    customer_id: CustomerId, principal: ConsentReader, state: State
) -> CustomerConsentsOut:
    """Every purpose x channel as it stands now, and the full history, oldest first."""
    service = consent_service(state)
    return CustomerConsentsOut(
        customer_id=customer_id,
        current=[ConsentStateOut.of(s) for s in service.current(customer_id)],
        history=[ConsentEventOut.of(e) for e in service.history(customer_id)],
    )


@router.post("/v1/customers/{customer_id}/consents", status_code=201)
def record_consent(
    customer_id: CustomerId, body: ConsentIn, principal: ConsentRecorder, state: State
) -> ConsentEventOut:
    """Append a grant or withdrawal; it is audited, and later checks see it at once."""
    event = consent_service(state).record(
        customer_id=customer_id,
        purpose=body.purpose,
        channel=body.channel,
        granted=body.status == "given",
        source=ConsentSource(body.source),
        actor=principal.subject,
        at=body.at,
        note=body.note,
    )
    return ConsentEventOut.of(event)


@router.get("/v1/consents/check")
def check_consent(
    principal: ConsentReader,
    state: State,
    customer_id: Annotated[str, Query(min_length=1, max_length=64, pattern=ID_PATTERN)],
    purpose: Purpose,
    channel: Channel,
    at: Annotated[datetime | None, Query(description="Default now; with a time zone.")] = None,
) -> ConsentCheckOut:
    """May this customer be contacted for this purpose on this channel? No record: no."""
    if at is not None and at.tzinfo is None:
        raise ValidationError("at must carry a time zone", field="at")
    try:
        moment = checked_moment(at)
    except ValueError as exc:
        raise ValidationError(str(exc), field="at") from None
    decision = consent_service(state).may_contact(customer_id, purpose, channel, moment)
    return ConsentCheckOut.of(decision)
