"""Data-subject requests in the operational store, and what Tenure holds about one customer.

::

    privacy_subject_requests         one row per request: kind, status, received / due, outcome
    privacy_subject_request_history  one row per status change (request_id, seq), append-only

``save`` moves a request with a compare-and-set on its status, so two staff fulfilling the same
request at once cannot both complete it: the second gets ``Conflict``. The outcome column holds
the JSON of :class:`~tenure.privacy.subject_requests.OutcomeItem` rows, never personal values.

:class:`StoreSubjectRecords` is the ``SubjectRecords`` port over the operational store (decision
log, audit trail) and, through ``tenure.adapters.duckdb.subject_records``, the DuckDB warehouse
(canonical tables, read-only; derived profiling scores, deleted on erasure).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine

from tenure.adapters.duckdb.subject_records import PROFILING_TABLES, WarehouseSubjectRecords
from tenure.adapters.sql.audit import AUDIT_LOG
from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import DECISIONS
from tenure.adapters.sql.tables import Base, UtcDateTime
from tenure.core.errors import Conflict, NotFound
from tenure.privacy.audit import parse_details
from tenure.privacy.consent import customer_subject
from tenure.privacy.subject_requests import (
    OutcomeItem,
    RequestKind,
    RequestStatus,
    StatusChange,
    SubjectRequest,
    json_ready,
)

__all__ = [
    "PROFILING_TABLES",
    "SUBJECT_REQUESTS",
    "SUBJECT_REQUEST_HISTORY",
    "SqlSubjectRequestStore",
    "StoreSubjectRecords",
]

SUBJECT_REQUESTS = sa.Table(
    "privacy_subject_requests",
    Base.metadata,
    sa.Column("request_id", sa.String(32), primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("received_by", sa.String(200), nullable=False),
    sa.Column("handled_by", sa.String(200), nullable=True),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("outcome", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_privacy_subject_requests_status", "status", "due_at"),
)

SUBJECT_REQUEST_HISTORY = sa.Table(
    "privacy_subject_request_history",
    Base.metadata,
    sa.Column(
        "request_id",
        sa.String(32),
        sa.ForeignKey(
            "privacy_subject_requests.request_id", name="fk_privacy_subject_request_history_request"
        ),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("note", sa.String(500), nullable=True),
)

_R, _H = SUBJECT_REQUESTS, SUBJECT_REQUEST_HISTORY
_IN_LIST = 1_000


def _history_rows(
    request_id: str, changes: Iterable[tuple[int, StatusChange]]
) -> list[dict[str, Any]]:
    return [
        {"request_id": request_id, "seq": seq, "status": c.status.value, "at": c.at,
         "actor": c.actor, "note": c.note}
        for seq, c in changes
    ]  # fmt: skip


def _outcome_text(request: SubjectRequest) -> str:
    return json.dumps([item.to_json() for item in request.outcome], sort_keys=True)


def _request(row: sa.Row[Any], history: list[StatusChange]) -> SubjectRequest:
    return SubjectRequest(
        request_id=row.request_id,
        customer_id=row.customer_id,
        kind=RequestKind(row.kind),
        status=RequestStatus(row.status),
        received_at=row.received_at,
        due_at=row.due_at,
        received_by=row.received_by,
        history=tuple(history),
        note=row.note,
        handled_by=row.handled_by,
        outcome=tuple(OutcomeItem.from_json(item) for item in json.loads(row.outcome)),
    )


def _histories(connection: Connection, request_ids: list[str]) -> dict[str, list[StatusChange]]:
    histories: dict[str, list[StatusChange]] = {rid: [] for rid in request_ids}
    for start in range(0, len(request_ids), _IN_LIST):
        rows = connection.execute(
            sa.select(_H)
            .where(_H.c.request_id.in_(request_ids[start : start + _IN_LIST]))
            .order_by(_H.c.request_id, _H.c.seq)
        )
        for row in rows:
            change = StatusChange(RequestStatus(row.status), row.at, row.actor, row.note)
            histories[row.request_id].append(change)
    return histories


class SqlSubjectRequestStore:
    """Data-subject requests on SQLite or PostgreSQL (the ``SubjectRequestStore`` port)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, request: SubjectRequest) -> None:
        """Store a new request and its first status."""
        row = {
            "request_id": request.request_id,
            "customer_id": request.customer_id,
            "kind": request.kind.value,
            "status": request.status.value,
            "received_at": request.received_at,
            "due_at": request.due_at,
            "received_by": request.received_by,
            "handled_by": request.handled_by,
            "note": request.note,
            "outcome": _outcome_text(request),
            "updated_at": request.history[-1].at,
        }
        with translate_errors(conflict="a request with this id exists"), self._engine.begin() as c:
            c.execute(sa.insert(_R), row)
            c.execute(sa.insert(_H), _history_rows(request.request_id, enumerate(request.history)))

    def get(self, request_id: str) -> SubjectRequest:
        """One request with its history; ``NotFound`` when there is none."""
        with translate_errors(), self._engine.connect() as connection:
            row = connection.execute(sa.select(_R).where(_R.c.request_id == request_id)).first()
            if row is None:
                raise NotFound(f"no subject request {request_id}", field="request_id")
            return _request(row, _histories(connection, [request_id])[request_id])

    def save(self, request: SubjectRequest, *, expected: RequestStatus) -> None:
        """Store a moved request if it is still at ``expected`` (else ``Conflict``)."""
        with translate_errors(conflict="the request changed meanwhile"), self._engine.begin() as c:
            changed = cast(
                CursorResult[Any],
                c.execute(
                    sa.update(_R)
                    .where(_R.c.request_id == request.request_id, _R.c.status == expected.value)
                    .values(
                        status=request.status.value,
                        handled_by=request.handled_by,
                        outcome=_outcome_text(request),
                        updated_at=request.history[-1].at,
                    )
                ),
            ).rowcount
            if changed == 0:
                self._refuse(c, request.request_id)
            stored = c.execute(
                sa.select(sa.func.count()).where(_H.c.request_id == request.request_id)
            ).scalar_one()
            new = list(enumerate(request.history))[int(stored) :]
            if new:
                c.execute(sa.insert(_H), _history_rows(request.request_id, new))

    def list(
        self,
        *,
        status: RequestStatus | None = None,
        customer_id: str | None = None,
        overdue_at: datetime | None = None,
        limit: int = 100,
    ) -> list[SubjectRequest]:
        """Requests, soonest due first; ``overdue_at``: open ones due before that moment."""
        query = sa.select(_R).order_by(_R.c.due_at, _R.c.request_id).limit(limit)
        if status is not None:
            query = query.where(_R.c.status == status.value)
        if customer_id is not None:
            query = query.where(_R.c.customer_id == customer_id)
        if overdue_at is not None:
            final = (RequestStatus.COMPLETED.value, RequestStatus.REJECTED.value)
            query = query.where(_R.c.due_at < overdue_at, _R.c.status.not_in(final))
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(query).all()
            histories = _histories(connection, [row.request_id for row in rows])
        return [_request(row, histories[row.request_id]) for row in rows]

    def _refuse(self, connection: Connection, request_id: str) -> None:
        found = connection.execute(
            sa.select(_R.c.status).where(_R.c.request_id == request_id)
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no subject request {request_id}", field="request_id")
        raise Conflict(f"request {request_id} is {found} now", field="status")


class StoreSubjectRecords:
    """What the operational store and the warehouse hold about a customer (``SubjectRecords``);
    the warehouse side is :class:`~tenure.adapters.duckdb.subject_records.WarehouseSubjectRecords`.
    """

    def __init__(self, engine: Engine, warehouse_path: Path) -> None:
        self._engine = engine
        self._warehouse = WarehouseSubjectRecords(warehouse_path)

    def warehouse_rows(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        """Rows of every canonical table with a ``customer_id`` (and the profiling tables)."""
        return self._warehouse.rows(customer_id)

    def delete_profiling(self, customer_id: str) -> int:
        """Delete the customer's rows from the warehouse's profiling tables; how many went."""
        return self._warehouse.delete_profiling(customer_id)

    def decisions(self, customer_id: str) -> list[dict[str, Any]]:
        """The protection decisions about the customer, oldest first, as logged."""
        query = (
            sa.select(DECISIONS.c.payload)
            .where(DECISIONS.c.customer_id == customer_id)
            .order_by(DECISIONS.c.decided_at, DECISIONS.c.decision_id)
        )
        with translate_errors(), self._engine.connect() as connection:
            return [orjson.loads(payload) for (payload,) in connection.execute(query)]

    def audit_entries(self, customer_id: str) -> list[dict[str, Any]]:
        """Audit trail entries whose subject is the customer, in chain order."""
        query = (
            sa.select(AUDIT_LOG)
            .where(AUDIT_LOG.c.subject == customer_subject(customer_id))
            .order_by(AUDIT_LOG.c.seq)
        )
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            {"seq": r.seq, "at": json_ready(r.at), "actor": r.actor, "action": r.action,
             "details": dict(parse_details(r.details)), "hash": r.hash}
            for r in rows
        ]  # fmt: skip
