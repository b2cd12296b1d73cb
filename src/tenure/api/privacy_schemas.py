"""Bodies of the privacy routes: consents per purpose and channel, and data-subject requests.

Inputs are strict (unknown fields refused); timestamps must carry a time zone and lie between
1970 and 2100. Outputs never hold personal data except an export's document, which is the data
subject's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tenure.privacy.consent import Channel, ConsentDecision, ConsentEvent, ConsentState, Purpose
from tenure.privacy.subject_requests import RequestKind, RequestStatus, SubjectRequest

__all__ = [
    "ConsentCheckOut",
    "ConsentEventOut",
    "ConsentIn",
    "ConsentStateOut",
    "CustomerConsentsOut",
    "FulfilIn",
    "FulfilOut",
    "IdentityChangesIn",
    "OutcomeItemOut",
    "RejectIn",
    "StatusChangeOut",
    "SubjectRequestIn",
    "SubjectRequestOut",
    "checked_moment",
]

ID_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def checked_moment(value: datetime | None) -> datetime | None:
    """``value`` in UTC, refused outside 1970-2100 (an offset near year 1 cannot be converted)."""
    if value is None:
        return None
    if not 1970 <= value.year <= 2099:
        raise ValueError("timestamps must lie between 1970 and 2100")
    moment = value.astimezone(UTC)
    if not _EARLIEST <= moment < _LATEST:
        raise ValueError("timestamps must lie between 1970 and 2100")
    return moment


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentIn(_Strict):
    """A grant or withdrawal the customer made (now, or at ``at`` in the past)."""

    purpose: Purpose
    channel: Channel
    status: Literal["given", "withdrawn"]
    source: Literal["api", "agent"] = Field(
        default="api", description="api: a channel acting for the customer; agent: staff."
    )
    at: AwareDatetime | None = Field(default=None, description="When the customer said so.")
    note: str | None = Field(default=None, max_length=500)

    @field_validator("at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        return checked_moment(value)


class ConsentEventOut(BaseModel):
    event_id: str
    purpose: Purpose
    channel: Channel
    status: Literal["given", "withdrawn"]
    at: datetime
    recorded_at: datetime
    source: str
    actor: str
    note: str | None
    consent_id: str | None

    @classmethod
    def of(cls, event: ConsentEvent) -> ConsentEventOut:
        return cls(
            event_id=event.event_id,
            purpose=event.purpose,
            channel=event.channel,
            status="given" if event.granted else "withdrawn",
            at=event.at,
            recorded_at=event.recorded_at,
            source=event.source.value,
            actor=event.actor,
            note=event.note,
            consent_id=event.consent_id,
        )


class ConsentStateOut(BaseModel):
    purpose: Purpose
    channel: Channel
    allowed: bool
    since: datetime | None
    event_id: str | None

    @classmethod
    def of(cls, state: ConsentState) -> ConsentStateOut:
        event = state.event
        return cls(
            purpose=state.purpose,
            channel=state.channel,
            allowed=state.granted,
            since=None if event is None else event.at,
            event_id=None if event is None else event.event_id,
        )


class CustomerConsentsOut(BaseModel):
    customer_id: str
    current: list[ConsentStateOut]
    history: list[ConsentEventOut]


class ConsentCheckOut(BaseModel):
    customer_id: str
    purpose: Purpose
    channel: Channel
    allowed: bool
    reason: str
    event_id: str | None

    @classmethod
    def of(cls, decision: ConsentDecision) -> ConsentCheckOut:
        return cls(
            customer_id=decision.customer_id,
            purpose=decision.purpose,
            channel=decision.channel,
            allowed=decision.allowed,
            reason=decision.reason,
            event_id=decision.event_id,
        )


class SubjectRequestIn(_Strict):
    """A request the data subject made, logged when it arrives."""

    customer_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    kind: RequestKind
    note: str | None = Field(
        default=None, max_length=500, description="How it arrived; no personal data."
    )


class IdentityChangesIn(_Strict):
    """The corrected identity fields; a field left out is unchanged, null clears it."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=1, max_length=64)
    email: str | None = Field(default=None, min_length=1, max_length=254)
    id_number: str | None = Field(default=None, min_length=1, max_length=64)

    def changes(self) -> dict[str, str | None]:
        """The fields the caller sent, with their new values."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class FulfilIn(_Strict):
    """What a fulfilment needs: the corrected fields for a correction, nothing otherwise."""

    changes: IdentityChangesIn | None = None


class RejectIn(_Strict):
    reason: str = Field(min_length=1, max_length=500, description="Why; no personal data.")


class StatusChangeOut(BaseModel):
    status: RequestStatus
    at: datetime
    actor: str
    note: str | None


class OutcomeItemOut(BaseModel):
    what: str
    action: str
    legal_reason: str | None
    records: int | None
    reference: str | None


class SubjectRequestOut(BaseModel):
    request_id: str
    customer_id: str
    kind: RequestKind
    status: RequestStatus
    received_at: datetime
    due_at: datetime
    overdue: bool
    received_by: str
    handled_by: str | None
    note: str | None
    history: list[StatusChangeOut]
    outcome: list[OutcomeItemOut]

    @classmethod
    def of(cls, request: SubjectRequest, *, now: datetime) -> SubjectRequestOut:
        return cls(
            request_id=request.request_id,
            customer_id=request.customer_id,
            kind=request.kind,
            status=request.status,
            received_at=request.received_at,
            due_at=request.due_at,
            overdue=request.overdue(now),
            received_by=request.received_by,
            handled_by=request.handled_by,
            note=request.note,
            history=[
                StatusChangeOut(status=c.status, at=c.at, actor=c.actor, note=c.note)
                for c in request.history
            ],
            outcome=[
                OutcomeItemOut(
                    what=item.what,
                    action=item.action.value,
                    legal_reason=item.legal_reason,
                    records=item.records,
                    reference=item.reference,
                )
                for item in request.outcome
            ],
        )


class FulfilOut(BaseModel):
    request: SubjectRequestOut
    document: dict[str, Any] | None = Field(
        default=None, description="The export (export requests only): the subject's own data."
    )
