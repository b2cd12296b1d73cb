"""Data-subject requests: log one when it arrives, list what is open or overdue, fulfil, reject.

Fulfilling runs the request's kind: an export answers with the JSON document of everything Tenure
holds about the customer (their clear identity included: it is theirs; the caller needs
``privacy:manage``), a correction sets the identity fields sent in ``changes``, an erasure
crypto-shreds the identity, deletes profiling scores, withdraws every consent and keeps what the
law requires, each with its reason in the request's ``outcome``. Every step is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from tenure.adapters.sql.subject_requests import SqlSubjectRequestStore, StoreSubjectRecords
from tenure.api.dependencies import State, require_permission
from tenure.api.privacy_schemas import (
    ID_PATTERN,
    FulfilIn,
    FulfilOut,
    RejectIn,
    SubjectRequestIn,
    SubjectRequestOut,
)
from tenure.api.routes.consents import StateAudit, consent_service
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.errors import ValidationError
from tenure.privacy.subject_requests import (
    RequestKind,
    RequestStatus,
    SubjectRequestService,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/subject-requests", tags=["subject-requests"])

PrivacyManager = Annotated[Principal, Depends(require_permission(Permission.PRIVACY_MANAGE))]
RequestId = Annotated[str, Path(min_length=1, max_length=32, pattern=ID_PATTERN)]


def _service(state: ApiState) -> SubjectRequestService:
    return SubjectRequestService(
        SqlSubjectRequestStore(state.engine),
        consents=consent_service(state),
        records=StoreSubjectRecords(state.engine, state.settings.warehouse_path),
        audit=StateAudit(state),
        clock=state.clock,
    )


@router.post("", status_code=201)
def open_request(
    body: SubjectRequestIn, principal: PrivacyManager, state: State
) -> SubjectRequestOut:
    """Log a request received now; it is due 15 days later."""
    request = _service(state).open(
        customer_id=body.customer_id, kind=body.kind, actor=principal.subject, note=body.note
    )
    return SubjectRequestOut.of(request, now=state.clock.now())


@router.get("")
def list_requests(
    principal: PrivacyManager,
    state: State,
    status: RequestStatus | None = None,
    customer_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)
    ] = None,
    overdue: Annotated[bool, Query(description="Only open requests past their due date.")] = False,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> list[SubjectRequestOut]:
    """Requests, soonest due first."""
    now = state.clock.now()
    found = SqlSubjectRequestStore(state.engine).list(
        status=status, customer_id=customer_id, overdue_at=now if overdue else None, limit=limit
    )
    return [SubjectRequestOut.of(request, now=now) for request in found]


@router.get("/{request_id}")
def get_request(
    request_id: RequestId, principal: PrivacyManager, state: State
) -> SubjectRequestOut:
    """One request with its status history and outcome."""
    request = SqlSubjectRequestStore(state.engine).get(request_id)
    return SubjectRequestOut.of(request, now=state.clock.now())


@router.post("/{request_id}/fulfil")
def fulfil_request(
    request_id: RequestId, body: FulfilIn, principal: PrivacyManager, state: State
) -> FulfilOut:
    """Run the request: export (answers with the document), correction or erasure."""
    service = _service(state)
    kind = service.store.get(request_id).kind
    actor = principal.subject
    now = state.clock.now
    if kind is not RequestKind.CORRECTION and body.changes is not None:
        raise ValidationError("changes are for correction requests only", field="changes")
    if kind is RequestKind.EXPORT:
        result = service.export(request_id=request_id, actor=actor, vault=state.identity_vault())
        return FulfilOut(
            request=SubjectRequestOut.of(result.request, now=now()), document=result.document
        )
    if kind is RequestKind.CORRECTION:
        if body.changes is None or not body.changes.changes():
            raise ValidationError("a correction names the fields to change", field="changes")
        done = service.correct(
            request_id=request_id,
            actor=actor,
            vault=state.identity_vault(),
            changes=body.changes.changes(),
        )
        return FulfilOut(request=SubjectRequestOut.of(done, now=now()))
    done = service.erase(request_id=request_id, actor=actor, vault=state.identity_vault())
    return FulfilOut(request=SubjectRequestOut.of(done, now=now()))


@router.post("/{request_id}/reject")
def reject_request(
    request_id: RequestId, body: RejectIn, principal: PrivacyManager, state: State
) -> SubjectRequestOut:
    """Close a request unfulfilled, with the reason (e.g. the requester was not the customer)."""
    request = _service(state).reject(
        request_id=request_id, actor=principal.subject, reason=body.reason
    )
    return SubjectRequestOut.of(request, now=state.clock.now())
