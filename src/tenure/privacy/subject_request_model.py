"""What a data-subject request is: its kinds, statuses, history, outcome rows and erasure policy.

The nouns of :mod:`tenure.privacy.subject_requests` (which runs the requests and re-exports all of
these), the ports it needs (:class:`SubjectRequestStore`, :class:`SubjectRecords`) and the JSON
forms of requests and consent events used by the export document, the API and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from tenure.core.errors import Conflict
from tenure.privacy.consent import ConsentEvent

__all__ = [
    "DEFAULT_DUE_DAYS",
    "ERASURE_POLICY",
    "EXPORT_FORMAT",
    "MAX_DUE_DAYS",
    "OutcomeAction",
    "OutcomeItem",
    "RequestKind",
    "RequestStatus",
    "RetentionRule",
    "StatusChange",
    "SubjectRecords",
    "SubjectRequest",
    "SubjectRequestStore",
    "consent_json",
    "json_ready",
    "request_json",
]

DEFAULT_DUE_DAYS = 15
"""Days from receipt to the due date. PIPL (art. 50) asks for a timely answer without a number;
GB/T 35273-2020 §8.7 allows at most 30 days, and banks' privacy notices commonly promise 15
(working) days. 15 calendar days is the stricter reading; set it per installation."""
MAX_DUE_DAYS = 90
EXPORT_FORMAT = "tenure.subject-export/v1"


class RequestKind(StrEnum):
    """What the data subject asked for."""

    EXPORT = "export"
    CORRECTION = "correction"
    ERASURE = "erasure"


class RequestStatus(StrEnum):
    """Where a request stands; ``completed`` and ``rejected`` are final."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        """No further step is possible."""
        return self in (RequestStatus.COMPLETED, RequestStatus.REJECTED)


class OutcomeAction(StrEnum):
    """What a fulfilment did to one kind of record."""

    ERASED = "erased"  # made unreadable for good (crypto-shredding)
    DELETED = "deleted"  # rows removed
    KEPT = "kept"  # kept, with the legal reason
    CORRECTED = "corrected"
    EXPORTED = "exported"


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """What erasure does to one kind of record, and the legal reason."""

    what: str
    action: OutcomeAction
    legal_reason: str


ERASURE_POLICY: tuple[RetentionRule, ...] = (
    RetentionRule(
        "identity_vault",
        OutcomeAction.ERASED,
        "PIPL art. 47: personal information is deleted on the subject's request. The data key "
        "and ciphertexts are destroyed (backups can no longer be opened); a tombstone holding "
        "only the customer id stops a later extract from restoring the identity.",
    ),
    RetentionRule(
        "profiling_scores",
        OutcomeAction.DELETED,
        "PIPL art. 47: no law requires keeping churn scores, segments or reasons (profiling "
        "output); the warehouse's customer_retention rows are deleted.",
    ),
    RetentionRule(
        "consent_history",
        OutcomeAction.KEPT,
        "Proof that past contact was lawful and that consent was withdrawn (PIPL art. 13-15). "
        "Every consent still given is withdrawn by this erasure, so no further contact occurs.",
    ),
    RetentionRule(
        "warehouse_records",
        OutcomeAction.KEPT,
        "Anti-Money Laundering Law of the PRC (art. 19) and the PBoC customer due diligence and "
        "record-keeping rules: identification and transaction records are kept 5 years after the "
        "relationship ends. Held only as keyed pseudonyms; the clear values are erased.",
    ),
    RetentionRule(
        "protection_decisions",
        OutcomeAction.KEPT,
        "Fraud and AML decision records, kept 5 years under the same record-keeping rules; they "
        "hold ids, amounts and reasons, not the identity.",
    ),
    RetentionRule(
        "audit_trail",
        OutcomeAction.KEPT,
        "Integrity of the hash-chained audit trail (Cybersecurity Law art. 21, logs kept >= 6 "
        "months; PIPL art. 54 compliance audits): removing entries would break the chain. "
        "Entries hold ids and field names, never personal values.",
    ),
    RetentionRule(
        "subject_requests",
        OutcomeAction.KEPT,
        "Evidence that the request was received and answered in time (PIPL art. 50).",
    ),
)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move of a request: to ``status``, when, by whom, and why."""

    status: RequestStatus
    at: datetime
    actor: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeItem:
    """What a fulfilment did to one kind of record (``records``: how many, where counted)."""

    what: str
    action: OutcomeAction
    legal_reason: str | None = None
    records: int | None = None
    reference: str | None = None

    def to_json(self) -> dict[str, object]:
        """As a JSON object."""
        return {
            "what": self.what,
            "action": self.action.value,
            "legal_reason": self.legal_reason,
            "records": self.records,
            "reference": self.reference,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> OutcomeItem:
        """Back from :meth:`to_json`."""
        return cls(
            str(document["what"]),
            OutcomeAction(document["action"]),
            document.get("legal_reason"),
            document.get("records"),
            document.get("reference"),
        )


@dataclass(frozen=True, slots=True)
class SubjectRequest:
    """One data-subject request and everything that happened to it."""

    request_id: str
    customer_id: str
    kind: RequestKind
    status: RequestStatus
    received_at: datetime
    due_at: datetime
    received_by: str
    history: tuple[StatusChange, ...]
    note: str | None = None
    handled_by: str | None = None
    outcome: tuple[OutcomeItem, ...] = ()

    def overdue(self, at: datetime) -> bool:
        """Still open after its due date."""
        return not self.status.final and at > self.due_at

    def moved(
        self,
        status: RequestStatus,
        *,
        at: datetime,
        actor: str,
        note: str | None = None,
        outcome: tuple[OutcomeItem, ...] | None = None,
    ) -> SubjectRequest:
        """This request moved to ``status`` (``Conflict`` from a final status)."""
        if self.status.final:
            raise Conflict(
                f"request {self.request_id} is already {self.status.value}", field="status"
            )
        change = StatusChange(status, at, actor, note)
        return replace(
            self,
            status=status,
            handled_by=actor,
            history=(*self.history, change),
            outcome=self.outcome if outcome is None else outcome,
        )


class SubjectRequestStore(Protocol):
    """Where requests are kept; implemented on SQLite / PostgreSQL."""

    def add(self, request: SubjectRequest) -> None:
        """Store a new request."""
        ...

    def get(self, request_id: str) -> SubjectRequest:
        """One request with its history; ``NotFound`` when there is none."""
        ...

    def save(self, request: SubjectRequest, *, expected: RequestStatus) -> None:
        """Store a moved request if it is still at ``expected`` (else ``Conflict``)."""
        ...

    def list(
        self,
        *,
        status: RequestStatus | None = None,
        customer_id: str | None = None,
        overdue_at: datetime | None = None,
        limit: int = 100,
    ) -> list[SubjectRequest]:
        """Requests, soonest due first; ``overdue_at``: open ones due before that moment."""
        ...


class SubjectRecords(Protocol):
    """What the rest of Tenure holds about a customer, for export and erasure."""

    def warehouse_rows(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        """Rows of every canonical warehouse table with a ``customer_id``, by table."""
        ...

    def decisions(self, customer_id: str) -> list[dict[str, Any]]:
        """The protection decisions about the customer, as logged."""
        ...

    def audit_entries(self, customer_id: str) -> list[dict[str, Any]]:
        """Audit trail entries whose subject is the customer."""
        ...

    def delete_profiling(self, customer_id: str) -> int:
        """Delete the customer's derived profiling scores; how many rows went."""
        ...


def json_ready(value: object) -> Any:
    """``value`` with datetimes, dates and decimals as text (for a JSON document)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def consent_json(event: ConsentEvent) -> dict[str, Any]:
    """One consent event as a JSON object."""
    return {
        "event_id": event.event_id,
        "purpose": event.purpose.value,
        "channel": event.channel.value,
        "status": event.action,
        "at": json_ready(event.at),
        "recorded_at": json_ready(event.recorded_at),
        "source": event.source.value,
        "actor": event.actor,
        "note": event.note,
        "consent_id": event.consent_id,
    }


def request_json(request: SubjectRequest) -> dict[str, Any]:
    """One request as a JSON object (history and outcome included; no personal data)."""
    return {
        "request_id": request.request_id,
        "customer_id": request.customer_id,
        "kind": request.kind.value,
        "status": request.status.value,
        "received_at": json_ready(request.received_at),
        "due_at": json_ready(request.due_at),
        "received_by": request.received_by,
        "handled_by": request.handled_by,
        "note": request.note,
        "history": [
            {"status": c.status.value, "at": json_ready(c.at), "actor": c.actor, "note": c.note}
            for c in request.history
        ],
        "outcome": [item.to_json() for item in request.outcome],
    }
