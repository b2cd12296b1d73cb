"""How held decisions ended, on SQLite and PostgreSQL: written once, the first word stands, and a
final decline opens an alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from protection_store import BACKENDS, open_store
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from tenure.adapters.sql.decision_log import SqlDecisionLog
from tenure.adapters.sql.resolutions import Resolution, SqlResolutions
from tenure.bootstrap import open_stepup_units
from tenure.core.clock import FixedClock
from tenure.core.decision import ActionCost
from tenure.core.errors import Conflict, NotFound
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision
from tenure.protection.events import Event, EventKind
from tenure.protection.stepup import start_challenge

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
LATER = AT + timedelta(minutes=2)


@pytest.fixture(params=BACKENDS[1:])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture
def log(engine: Engine) -> Iterator[SqlDecisionLog]:
    log = SqlDecisionLog(engine)
    yield log
    log.close()


def step_up(
    log: SqlDecisionLog,
    decision_id: str,
    customer_id: str = "c1",
    *,
    decided_at: datetime = AT,
    outcome: Outcome = Outcome.STEP_UP,
) -> Decision:
    event = Event(
        kind=EventKind.TRANSFER,
        event_id=f"e-{decision_id}",
        customer_id=customer_id,
        occurred_at=AT,
        amount_minor=800_000,
        payee_id="p1",
    )
    decision = Decision(
        decision_id=decision_id,
        idempotency_key=f"transfer:e-{decision_id}",
        event=event,
        outcome=outcome,
        risk=0.3,
        model_risk=0.3,
        rule_score=0.0,
        reasons=(),
        costs=(ActionCost(outcome, 10.0, 5.0, 1.0),),
        decided_at=decided_at,
        policy="expected_cost",
    )
    log.append(decision)
    return decision


def test_the_log_gets_a_decision_by_its_id(log: SqlDecisionLog) -> None:
    decision = step_up(log, "d1")
    assert log.get("d1") == decision
    assert log.get("nope") is None


def test_a_verified_step_up_ends_as_allow_once_and_opens_no_alert(
    engine: Engine, log: SqlDecisionLog
) -> None:
    step_up(log, "d1")
    step_up(log, "d2")
    resolutions = SqlResolutions(engine)
    first = resolutions.resolve("d1", Outcome.ALLOW, reason="step_up_verified", at=LATER)
    assert first == Resolution("d1", Outcome.ALLOW, "step_up_verified", LATER)
    again = resolutions.resolve("d1", Outcome.ALLOW, reason="a retry", at=LATER + timedelta(1))
    assert again == first  # the first word stands
    assert resolutions.of(["d1", "d2", "unknown"]) == {"d1": first}
    assert log.open_alerts() == []


def test_a_decision_that_ended_cannot_end_otherwise(engine: Engine, log: SqlDecisionLog) -> None:
    step_up(log, "d1")
    resolutions = SqlResolutions(engine)
    resolutions.resolve("d1", Outcome.ALLOW, reason="step_up_verified", at=LATER)
    with pytest.raises(Conflict, match="already ended as allow"):
        resolutions.resolve("d1", Outcome.DECLINE, reason="step_up_failed", at=LATER)
    assert resolutions.of(["d1"])["d1"].outcome is Outcome.ALLOW


def test_a_failed_step_up_ends_as_decline_and_opens_an_alert(
    engine: Engine, log: SqlDecisionLog
) -> None:
    step_up(log, "d1", customer_id="c7")
    step_up(log, "d2", customer_id="c8")
    resolutions = SqlResolutions(engine)
    for _ in range(2):  # once only
        resolutions.resolve("d1", Outcome.DECLINE, reason="step_up_failed", at=LATER, alert=True)
    # the client's own approvers saying no is no fraud signal: no alert
    resolutions.resolve("d2", Outcome.DECLINE, reason="dual_approval_rejected", at=LATER)
    alerts = log.open_alerts()
    assert [(a.decision_id, a.customer_id, a.outcome, a.created_at) for a in alerts] == [
        ("d1", "c7", Outcome.DECLINE, LATER)
    ]
    assert alerts[0].risk == pytest.approx(0.3)


def test_an_unknown_decision_cannot_be_resolved(engine: Engine) -> None:
    with pytest.raises(NotFound):
        SqlResolutions(engine).resolve("nope", Outcome.ALLOW, reason="step_up_verified", at=AT)
    assert SqlResolutions(engine).of([]) == {}


def test_unstarted_step_ups_are_the_old_ones_with_no_challenge_and_no_end(
    engine: Engine, log: SqlDecisionLog
) -> None:
    early, late = AT - timedelta(minutes=30), AT - timedelta(minutes=5)
    cutoff = AT - timedelta(minutes=15)
    step_up(log, "d-old", decided_at=early)
    step_up(log, "d-older", decided_at=early - timedelta(minutes=1))
    step_up(log, "d-recent", decided_at=late)
    step_up(log, "d-allowed", decided_at=early, outcome=Outcome.ALLOW)
    step_up(log, "d-ended", decided_at=early)
    step_up(log, "d-challenged", decided_at=early)
    resolutions = SqlResolutions(engine)
    resolutions.resolve("d-ended", Outcome.ALLOW, reason="step_up_verified", at=early)
    clock = FixedClock(AT)
    start_challenge(
        uow=open_stepup_units(engine, clock=clock)(), decision_id="d-challenged",
        customer_id="c1", method="sms", code_key=SecretStr("k" * 32), clock=clock,
    )  # fmt: skip

    assert resolutions.unstarted_step_ups(cutoff) == ["d-older", "d-old"]
    assert resolutions.unstarted_step_ups(cutoff, limit=1) == ["d-older"]
    assert resolutions.unstarted_step_ups(early - timedelta(minutes=1)) == []


def test_record_keeps_the_first_end_and_warns_of_a_decision_it_cannot_end(
    engine: Engine, log: SqlDecisionLog, caplog: pytest.LogCaptureFixture
) -> None:
    step_up(log, "d1")
    resolutions = SqlResolutions(engine)
    first = resolutions.record(
        "d1", Outcome.ALLOW, reason="step_up_verified", at=LATER, source="challenge c1"
    )
    assert first == Resolution("d1", Outcome.ALLOW, "step_up_verified", LATER)
    with caplog.at_level("WARNING", logger="tenure.adapters.sql.resolutions"):
        for decision_id, source in (("d1", "s1"), ("nope", "s2")):
            ended = resolutions.record(
                decision_id, Outcome.DECLINE, reason="x", at=LATER, source=source
            )
            assert ended is None
    assert [r.getMessage() for r in caplog.records] == [
        "s1, decision d1: the decision already ended as allow (step_up_verified)",
        "s2, decision nope: no decision has this id",
    ]
    assert resolutions.of(["d1"])["d1"] == first
