"""Data-subject requests: export, correction and erasure, each with a due date and a status history.

A customer (the *data subject*) may ask what Tenure holds about them (:attr:`RequestKind.EXPORT`),
have their identity corrected (:attr:`RequestKind.CORRECTION`) or erased
(:attr:`RequestKind.ERASURE`); PIPL art. 44-47. Staff with ``privacy:manage`` open a request
when it arrives; it is due :data:`DEFAULT_DUE_DAYS` days later (configurable) and moves::

    received ──> in_progress ──> completed
        └────────────┴─────────> rejected       (with the reason, e.g. identity not verified)

Every move is kept in the request's history with who made it. What a fulfilment did is kept in
the request as :class:`OutcomeItem` rows, never the personal data itself: an export keeps the
SHA-256 of the document handed over, a correction the *names* of the fields changed, an erasure
one row per kind of record saying whether it was erased, deleted or kept, and the legal reason.

Erasure follows :data:`ERASURE_POLICY`, the one place that says what happens to each kind of
record. The identity vault is crypto-shredded (the customer's data key destroyed; a tombstone
keeps a later extract from restoring it); derived profiling scores are deleted; every consent is
withdrawn; records the bank must keep (anti-money-laundering record keeping, the audit trail,
proof of consent) are kept with their legal reason. :class:`SubjectRequestService` runs the
requests and builds the export document.

Ports: :class:`SubjectRequestStore` (``tenure.adapters.sql.subject_requests``) keeps requests;
:class:`SubjectRecords` reads (and, for profiling, deletes) what other parts of Tenure hold about
a customer. Errors, from ``tenure.core.errors``, name request and customer ids only::

    NotFound          no such request
    Conflict          the request is not in a state that allows the step (already completed...)
    ValidationError   a correction of an unknown field, a due period out of range, a blank reason
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from tenure.core.clock import Clock
from tenure.core.errors import Conflict, ValidationError
from tenure.privacy.audit import AuditSink
from tenure.privacy.consent import (
    ConsentEvent,
    ConsentService,
    ConsentSource,
    customer_subject,
)
from tenure.privacy.identity import (
    IDENTITY_FIELDS,
    CustomerIdentity,
    IdentityNotFound,
    IdentityVault,
)

__all__ = [
    "DEFAULT_DUE_DAYS",
    "ERASURE_POLICY",
    "EXPORT_FORMAT",
    "MAX_DUE_DAYS",
    "ExportResult",
    "OutcomeAction",
    "OutcomeItem",
    "RequestKind",
    "RequestStatus",
    "RetentionRule",
    "StatusChange",
    "SubjectRecords",
    "SubjectRequest",
    "SubjectRequestService",
    "SubjectRequestStore",
    "consent_json",
    "json_ready",
    "overdue",
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


def _digest(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A completed export request and the document to hand to the data subject."""

    request: SubjectRequest
    document: dict[str, Any]


class SubjectRequestService:
    """Opens, rejects and fulfils data-subject requests; every step is audited."""

    def __init__(
        self,
        store: SubjectRequestStore,
        *,
        consents: ConsentService,
        records: SubjectRecords,
        audit: AuditSink,
        clock: Clock,
        due_days: int = DEFAULT_DUE_DAYS,
    ) -> None:
        if not 1 <= due_days <= MAX_DUE_DAYS:
            raise ValidationError(f"due days must be 1 to {MAX_DUE_DAYS}", field="due_days")
        self.store = store
        self.consents = consents
        self.records = records
        self.audit = audit
        self.clock = clock
        self.due_days = due_days

    def open(
        self, *, customer_id: str, kind: RequestKind, actor: str, note: str | None = None
    ) -> SubjectRequest:
        """Log a request received now; it is due ``due_days`` later."""
        if not customer_id.strip():
            raise ValidationError("a request names the customer", field="customer_id")
        now = self.clock.now()
        request = SubjectRequest(
            request_id="SR-" + uuid.uuid4().hex[:20],
            customer_id=customer_id,
            kind=kind,
            status=RequestStatus.RECEIVED,
            received_at=now,
            due_at=now + timedelta(days=self.due_days),
            received_by=actor,
            history=(StatusChange(RequestStatus.RECEIVED, now, actor, note),),
            note=note,
        )
        self.store.add(request)
        self._audit(request, actor, "opened", {"due_at": request.due_at})
        return request

    def reject(self, *, request_id: str, actor: str, reason: str) -> SubjectRequest:
        """Close a request without fulfilling it (e.g. the requester's identity not verified)."""
        if not reason.strip():
            raise ValidationError("a rejection needs a reason", field="reason")
        request = self.store.get(request_id)
        moved = request.moved(RequestStatus.REJECTED, at=self.clock.now(), actor=actor, note=reason)
        self.store.save(moved, expected=request.status)
        self._audit(moved, actor, "rejected", {})
        return moved

    def export(self, *, request_id: str, actor: str, vault: IdentityVault) -> ExportResult:
        """Fulfil an export request: everything Tenure holds about the customer, as JSON."""
        request = self._started(request_id, RequestKind.EXPORT, actor)
        document = self.export_document(request.customer_id, vault=vault, request_id=request_id)
        sections = [key for key in document if key not in ("format", "customer_id")]
        item = OutcomeItem(
            "export_document", OutcomeAction.EXPORTED, records=len(sections),
            reference=_digest(document),
        )  # fmt: skip
        done = self._complete(request, actor, (item,))
        self._audit(done, actor, "exported", {"document": item.reference})
        return ExportResult(done, document)

    def correct(
        self,
        *,
        request_id: str,
        actor: str,
        vault: IdentityVault,
        changes: Mapping[str, str | None],
    ) -> SubjectRequest:
        """Fulfil a correction request: the named identity fields set to the values given."""
        unknown = sorted(set(changes) - set(IDENTITY_FIELDS))
        if unknown or not changes:
            raise ValidationError(
                f"corrections name identity fields: {', '.join(IDENTITY_FIELDS)}", field="changes"
            )
        request = self.store.get(request_id)
        try:
            current = vault.reveal(request.customer_id)
        except IdentityNotFound as exc:
            if exc.erased:
                raise Conflict(
                    "an erased identity cannot be corrected", field="customer_id"
                ) from exc
            current = dict.fromkeys(IDENTITY_FIELDS)
        request = self._started(request_id, RequestKind.CORRECTION, actor)
        changed = sorted(name for name, value in changes.items() if current.get(name) != value)
        merged = {**current, **changes}
        vault.upsert([CustomerIdentity(request.customer_id, **merged)])
        items = tuple(OutcomeItem(f"identity.{name}", OutcomeAction.CORRECTED) for name in changed)
        done = self._complete(request, actor, items)
        self._audit(done, actor, "corrected", {"fields": changed})  # names only, never values
        return done

    def erase(self, *, request_id: str, actor: str, vault: IdentityVault) -> SubjectRequest:
        """Fulfil an erasure request following :data:`ERASURE_POLICY`."""
        request = self._started(request_id, RequestKind.ERASURE, actor)
        customer_id = request.customer_id
        # Deletions that can fail (a busy warehouse) run before the identity is shredded, so
        # a retry finds the request in progress and the vault intact.
        counts: dict[str, int | None] = {
            "profiling_scores": self.records.delete_profiling(customer_id)
        }
        withdrawn = self.consents.withdraw_all(
            customer_id=customer_id, source=ConsentSource.ERASURE, actor=actor,
            note=f"erasure request {request_id}",
        )  # fmt: skip
        counts["identity_vault"] = int(vault.erase(customer_id))
        counts["consent_history"] = len(self.consents.history(customer_id))
        counts["protection_decisions"] = len(self.records.decisions(customer_id))
        items = tuple(
            OutcomeItem(rule.what, rule.action, rule.legal_reason, counts.get(rule.what))
            for rule in ERASURE_POLICY
        )
        done = self._complete(request, actor, items)
        details = {
            "consents_withdrawn": len(withdrawn),
            "outcome": {item.what: item.action.value for item in items},
        }
        self._audit(done, actor, "erased", details)
        return done

    def export_document(
        self, customer_id: str, *, vault: IdentityVault, request_id: str | None = None
    ) -> dict[str, Any]:
        """Everything Tenure holds about ``customer_id`` (identity in clear while held)."""
        try:
            identity: dict[str, Any] = {"status": "held", "fields": vault.reveal(customer_id)}
        except IdentityNotFound as exc:
            identity = {"status": "erased" if exc.erased else "not_held", "fields": None}
        now = self.clock.now()
        document: dict[str, Any] = json_ready(
            {
                "format": EXPORT_FORMAT,
                "customer_id": customer_id,
                "request_id": request_id,
                "generated_at": now,
                "identity": identity,
                "consents": {
                    "current": [
                        {
                            "purpose": s.purpose.value,
                            "channel": s.channel.value,
                            "status": "given" if s.granted else "not_given",
                            "event_id": None if s.event is None else s.event.event_id,
                        }
                        for s in self.consents.current(customer_id, now)
                    ],
                    "history": [consent_json(e) for e in self.consents.history(customer_id)],
                },
                "warehouse": {
                    "note": "personal-data columns hold keyed pseudonyms, as stored",
                    "tables": self.records.warehouse_rows(customer_id),
                },
                "protection_decisions": self.records.decisions(customer_id),
                "audit_entries": self.records.audit_entries(customer_id),
                "subject_requests": [
                    request_json(r) for r in self.store.list(customer_id=customer_id, limit=1_000)
                ],
            }
        )
        return document

    def _started(self, request_id: str, kind: RequestKind, actor: str) -> SubjectRequest:
        """The request, moved to in progress (one already in progress is being retried)."""
        request = self.store.get(request_id)
        if request.kind is not kind:
            raise Conflict(f"request {request_id} is an {request.kind.value} request", field="kind")
        if request.status is RequestStatus.IN_PROGRESS:
            return request
        moved = request.moved(RequestStatus.IN_PROGRESS, at=self.clock.now(), actor=actor)
        self.store.save(moved, expected=request.status)
        return moved

    def _complete(
        self, request: SubjectRequest, actor: str, outcome: tuple[OutcomeItem, ...]
    ) -> SubjectRequest:
        done = request.moved(
            RequestStatus.COMPLETED, at=self.clock.now(), actor=actor, outcome=outcome
        )
        self.store.save(done, expected=RequestStatus.IN_PROGRESS)
        return done

    def _audit(
        self, request: SubjectRequest, actor: str, step: str, extra: Mapping[str, object]
    ) -> None:
        self.audit.record(
            actor=actor,
            action=f"subject_request.{step}",
            subject=customer_subject(request.customer_id),
            details={"request_id": request.request_id, "kind": request.kind.value, **extra},
            at=self.clock.now(),
        )


def overdue(requests: Sequence[SubjectRequest], at: datetime) -> list[SubjectRequest]:
    """The requests still open after their due date at ``at``."""
    return [request for request in requests if request.overdue(at)]
