"""How a decision that waited on someone ended, in ``protection_resolutions``.

A ``step_up`` decision answers the channel at once, but the event only goes through once the
customer passes the challenge: the decision log keeps the first answer (a retry must get it back
unchanged) and this table keeps how it ended: ``allow`` after a verified code, the step-up
policy's failed outcome (``decline`` by default) after the last wrong code, the expiry, or when no
challenge started in time (``tenure protection sweep``). One row per decision, written once: the
first word stands. A failed or expired step-up opens an alert for an analyst as a declined
decision does (someone who had the password but not the phone is what account takeover looks
like); one never started does not (no code was sent, nothing was tried). A ``dual_approval``
decision ends as its corporate payment does: released, or stopped by the client's own approvers
(``settle``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tenure.adapters.sql.decision_log import ALERTING_OUTCOMES, new_id, open_alert_row
from tenure.adapters.sql.engine import translate_errors
from tenure.adapters.sql.protection_tables import (
    ALERTS,
    CHALLENGES,
    DECISIONS,
    RESOLUTIONS,
    STEP_UP_ONLY,
)
from tenure.core.errors import Conflict, NotFound
from tenure.core.outcome import Outcome
from tenure.protection.corporate.evaluation import payment_ending
from tenure.protection.corporate.model import CorporatePayment

__all__ = ["Resolution", "SqlResolutions"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The final outcome of a decision, why (``step_up_verified``, ...) and when."""

    decision_id: str
    outcome: Outcome
    reason: str
    resolved_at: datetime


def _resolution(row: sa.Row[Any]) -> Resolution:
    return Resolution(row.decision_id, Outcome(row.outcome), row.reason, row.resolved_at)


class SqlResolutions:
    """Final outcomes of decisions, and the alert a failed step-up opens."""

    def __init__(self, engine: Engine, *, new_id: Callable[[], str] = new_id) -> None:
        self._engine = engine
        self._new_id = new_id

    def resolve(
        self, decision_id: str, outcome: Outcome, *, reason: str, at: datetime, alert: bool = False
    ) -> Resolution:
        """Record how ``decision_id`` ended; the same again returns the first record. With
        ``alert``, a final hold or decline opens an alert (once).

        ``NotFound`` for a decision not in the log, ``Conflict`` when it already ended otherwise.
        """
        conflict = "the decision was resolved already"
        with translate_errors(conflict=conflict), self._engine.begin() as db:
            decided = db.execute(
                sa.select(DECISIONS.c.customer_id, DECISIONS.c.risk).where(
                    DECISIONS.c.decision_id == decision_id
                )
            ).first()
            if decided is None:
                raise NotFound("no decision has this id", field="decision_id")
            earlier = self._of(db, [decision_id]).get(decision_id)
            if earlier is not None:
                return _same(earlier, outcome)
            resolution = Resolution(decision_id, outcome, reason, at)
            db.execute(sa.insert(RESOLUTIONS).values(
                decision_id=decision_id, outcome=outcome.value, reason=reason, resolved_at=at
            ))  # fmt: skip
            if alert and outcome in ALERTING_OUTCOMES:
                self._alert(db, resolution, customer_id=decided.customer_id, risk=decided.risk)
        return resolution

    def _alert(
        self, db: Connection, resolution: Resolution, *, customer_id: str, risk: float
    ) -> None:
        exists = db.execute(
            sa.select(ALERTS.c.alert_id).where(ALERTS.c.decision_id == resolution.decision_id)
        ).first()
        if exists is None:
            row = open_alert_row(
                alert_id=self._new_id(),
                decision_id=resolution.decision_id,
                customer_id=customer_id,
                created_at=resolution.resolved_at,
                outcome=resolution.outcome,
                risk=risk,
            )
            db.execute(sa.insert(ALERTS).values(row))

    def settle(self, payment: CorporatePayment) -> Resolution | None:
        """End the decision a corporate payment came from as the payment ended (released:
        ``allow``; rejected, expired or declined: ``decline``, with no alert: the client's own
        approvers said no). None while it waits, or when it names no logged decision or one
        that already ended otherwise (both logged: the payment itself has changed already)."""
        ending = payment_ending(payment)
        if ending is None or payment.decision_id is None:
            return None
        outcome, reason = ending
        at = payment.decided_at or payment.created_at
        return self.record(
            payment.decision_id, outcome, reason=reason, at=at,
            source=f"corporate payment {payment.id}",
        )  # fmt: skip

    def record(
        self,
        decision_id: str,
        outcome: Outcome,
        *,
        reason: str,
        at: datetime,
        alert: bool = False,
        source: str,
    ) -> Resolution | None:
        """:meth:`resolve`, for a caller whose own change stands whatever the decision did (a
        payment settled, a challenge expired): a decision that left the log or ended otherwise
        is logged as a warning naming ``source``, and gives None."""
        try:
            return self.resolve(decision_id, outcome, reason=reason, at=at, alert=alert)
        except (NotFound, Conflict) as error:
            _log.warning("%s, decision %s: %s", source, decision_id, error.message)
            return None

    def unstarted_step_ups(self, decided_before: datetime, *, limit: int = 500) -> list[str]:
        """Ids of ``step_up`` decisions made before ``decided_before`` that have no challenge
        and have not ended, oldest first (at most ``limit``)."""
        query = (
            sa.select(DECISIONS.c.decision_id)
            .where(
                STEP_UP_ONLY,
                DECISIONS.c.decided_at < decided_before,
                ~sa.exists().where(RESOLUTIONS.c.decision_id == DECISIONS.c.decision_id),
                ~sa.exists().where(CHALLENGES.c.decision_id == DECISIONS.c.decision_id),
            )
            .order_by(DECISIONS.c.decided_at, DECISIONS.c.decision_id)
            .limit(limit)
        )
        with translate_errors(), self._engine.connect() as db:
            return [str(row.decision_id) for row in db.execute(query)]

    def of(self, decision_ids: Collection[str]) -> dict[str, Resolution]:
        """The resolutions of those of ``decision_ids`` that ended, by decision id."""
        if not decision_ids:
            return {}
        with translate_errors(), self._engine.connect() as db:
            return self._of(db, decision_ids)

    @staticmethod
    def _of(db: Connection, decision_ids: Collection[str]) -> dict[str, Resolution]:
        query = sa.select(RESOLUTIONS).where(RESOLUTIONS.c.decision_id.in_(list(decision_ids)))
        return {row.decision_id: _resolution(row) for row in db.execute(query)}


def _same(earlier: Resolution, outcome: Outcome) -> Resolution:
    if earlier.outcome is not outcome:
        raise Conflict(
            f"the decision already ended as {earlier.outcome.value} ({earlier.reason})",
            field="decision_id",
        )
    return earlier
