"""The engine's decision log in the operational store: one Core insert and one commit per decision.

The log is on the hot path, so it skips the ORM and the pool: ``append`` runs a prepared
``INSERT`` (two for a hold or decline, which also opens an alert) on one connection the log keeps
open (no checkout or pre-ping per decision; reopened after a failure) and commits before it
returns; ``find`` is one select on the unique index of ``idempotency_key``. The stored payload is
the exact text of ``Decision.to_json()``, so a retried request gets byte-for-byte the first answer.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import ALERTS, DECISIONS
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision, decision_from_json, event_from_json, event_to_json
from tenure.protection.events import Event

__all__ = ["ALERTING_OUTCOMES", "Alert", "SqlDecisionLog"]

# Outcomes that stop the customer until someone looks: each opens an alert.
ALERTING_OUTCOMES = frozenset({Outcome.HOLD, Outcome.DECLINE})
_STREAM_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class Alert:
    """A held or declined decision waiting for an analyst."""

    alert_id: str
    decision_id: str
    customer_id: str
    created_at: datetime
    outcome: Outcome
    status: str
    risk: float


def _close_all(connections: list[sa.Connection]) -> None:
    for connection in connections:
        connection.close()
    connections.clear()


def _new_id() -> str:
    return uuid.uuid4().hex


def _decision_row(decision: Decision) -> dict[str, Any]:
    event = decision.event
    return {
        "decision_id": decision.decision_id,
        "idempotency_key": decision.idempotency_key,
        "event_kind": event.kind.value,
        "event_id": event.event_id,
        "customer_id": event.customer_id,
        "occurred_at": event.occurred_at,
        "decided_at": decision.decided_at,
        "action": decision.outcome.value,
        "risk": decision.risk,
        "model_risk": decision.model_risk,
        "rule_score": decision.rule_score,
        "policy": decision.policy,
        "ruleset": decision.ruleset,
        "model_version": decision.model_version,
        "payload": orjson.dumps(decision.to_json()).decode(),
        "event": orjson.dumps(event_to_json(event)).decode(),
    }


def _decision(payload: str, event: str) -> Decision:
    return decision_from_json(orjson.loads(payload), event_from_json(orjson.loads(event)))


def _alert(row: sa.Row[Any]) -> Alert:
    return Alert(
        alert_id=row.alert_id,
        decision_id=row.decision_id,
        customer_id=row.customer_id,
        created_at=row.created_at,
        outcome=Outcome(row.outcome),
        status=row.status,
        risk=row.risk,
    )


class SqlDecisionLog:
    """Decisions in ``protection_decisions``, alerts in ``protection_alerts``; thread-safe."""

    def __init__(self, engine: Engine, *, new_id: Callable[[], str] = _new_id) -> None:
        self._engine = engine
        self._new_id = new_id
        self._writers: list[sa.Connection] = []  # the one open writer, if any
        self._lock = threading.Lock()
        # close the writer when the log is dropped, so no connection is left dangling
        weakref.finalize(self, _close_all, self._writers)
        self._insert_decision = sa.insert(DECISIONS)
        self._insert_alert = sa.insert(ALERTS)
        self._find = sa.select(DECISIONS.c.payload, DECISIONS.c.event).where(
            DECISIONS.c.idempotency_key == sa.bindparam("key")
        )

    def append(self, decision: Decision) -> None:
        """Store ``decision`` durably; ``Conflict`` if its idempotency key is stored already."""
        row = _decision_row(decision)
        alert = self._alert_row(decision) if decision.outcome in ALERTING_OUTCOMES else None
        with (
            self._lock,
            translate_errors(
                conflict="this idempotency key was decided already", field="idempotency_key"
            ),
        ):
            if not self._writers:
                self._writers.append(self._engine.connect())
            connection = self._writers[0]
            try:
                connection.execute(self._insert_decision, row)
                if alert is not None:
                    connection.execute(self._insert_alert, alert)
                connection.commit()
            except BaseException:
                self._reset(connection)
                raise

    def _reset(self, connection: sa.Connection) -> None:
        """Roll back; after anything but a duplicate key, drop the connection to reopen it."""
        try:
            connection.rollback()
        except sa.exc.SQLAlchemyError:
            connection.invalidate()
            self._writers.clear()

    def close(self) -> None:
        """Close the writing connection (the log reopens one if used again)."""
        with self._lock:
            _close_all(self._writers)

    def _alert_row(self, decision: Decision) -> dict[str, Any]:
        return {
            "alert_id": self._new_id(),
            "decision_id": decision.decision_id,
            "customer_id": decision.event.customer_id,
            "created_at": decision.decided_at,
            "outcome": decision.outcome.value,
            "status": "open",
            "risk": decision.risk,
        }

    def find(self, idempotency_key: str) -> Decision | None:
        """The decision stored under ``idempotency_key``, rebuilt from its payload."""
        with translate_errors(), self._engine.connect() as connection:
            row = connection.execute(self._find, {"key": idempotency_key}).first()
        return None if row is None else _decision(row.payload, row.event)

    def events_since(self, since: datetime) -> Iterator[Event]:
        """Logged events at or after ``since``, by event time then decision time (streamed)."""
        query = (
            sa.select(DECISIONS.c.event)
            .where(DECISIONS.c.occurred_at >= since)
            .order_by(DECISIONS.c.occurred_at, DECISIONS.c.decided_at, DECISIONS.c.decision_id)
        )
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execution_options(yield_per=_STREAM_BATCH).execute(query)
            for (event,) in rows:
                yield event_from_json(orjson.loads(event))

    def decisions(
        self, *, customer_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Decision]:
        """The newest ``limit`` decisions (of one customer, decided at or after ``since``)."""
        query = sa.select(DECISIONS.c.payload, DECISIONS.c.event)
        if customer_id is not None:
            query = query.where(DECISIONS.c.customer_id == customer_id)
        if since is not None:
            query = query.where(DECISIONS.c.decided_at >= since)
        query = query.order_by(DECISIONS.c.decided_at.desc(), DECISIONS.c.decision_id.desc()).limit(
            limit
        )
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_decision(row.payload, row.event) for row in rows]

    def open_alerts(self, limit: int = 100) -> list[Alert]:
        """Alerts nobody has closed yet, oldest first."""
        query = (
            sa.select(ALERTS)
            .where(ALERTS.c.status == "open")
            .order_by(ALERTS.c.created_at, ALERTS.c.alert_id)
            .limit(limit)
        )
        with translate_errors(), self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_alert(row) for row in rows]
