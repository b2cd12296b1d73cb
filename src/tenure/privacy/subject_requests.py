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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenure.core.clock import Clock
from tenure.core.errors import Conflict, ValidationError
from tenure.privacy.audit import AuditSink
from tenure.privacy.consent import (
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
from tenure.privacy.subject_request_model import (
    DEFAULT_DUE_DAYS,
    ERASURE_POLICY,
    EXPORT_FORMAT,
    MAX_DUE_DAYS,
    OutcomeAction,
    OutcomeItem,
    RequestKind,
    RequestStatus,
    RetentionRule,
    StatusChange,
    SubjectRecords,
    SubjectRequest,
    SubjectRequestStore,
    consent_json,
    json_ready,
    request_json,
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
