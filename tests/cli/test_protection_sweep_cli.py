"""``tenure protection sweep``: a corporate payment left waiting past its approval window expires,
the audit trail says the system did it, and the decision that sent it for approval ends; a step-up
challenge nobody answered expires and its decision ends as a failed step-up, with an alert; a
step-up never started ends the same way, without one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.audit import QueuedAuditLog, SqlAuditLog
from tenure.adapters.sql.corporate import SqlCorporateUnitOfWorkFactory
from tenure.adapters.sql.decision_log import SqlDecisionLog
from tenure.adapters.sql.resolutions import SqlResolutions
from tenure.bootstrap import open_stepup_units
from tenure.cli.main import app
from tenure.core.clock import FixedClock, SystemClock
from tenure.core.decision import ActionCost
from tenure.core.outcome import Outcome
from tenure.protection.corporate import (
    Actor,
    ApprovalTier,
    PaymentStatus,
    add_operator,
    get_payment,
    publish_mandate,
    submit_payment,
)
from tenure.protection.decision import Decision
from tenure.protection.events import Event, EventKind
from tenure.protection.stepup import ChallengeStatus, start_challenge

THREE_DAYS_AGO = datetime.now(UTC) - timedelta(days=3)


def dual_approval_decision(log: SqlDecisionLog) -> str:
    event = Event(
        kind=EventKind.TRANSFER,
        event_id="big-1",
        customer_id="corp-1",
        occurred_at=THREE_DAYS_AGO,
        amount_minor=500_000_00,
        payee_id="payee-1",
        operator_id="maker",
    )
    log.append(Decision(
        decision_id="d-big-1", idempotency_key="transfer:big-1", event=event,
        outcome=Outcome.DUAL_APPROVAL, risk=0.01, model_risk=0.01, rule_score=0.0, reasons=(),
        costs=(ActionCost(Outcome.DUAL_APPROVAL, 1.0, 0.0, 5.0),), decided_at=THREE_DAYS_AGO,
        policy="expected_cost",
    ))  # fmt: skip
    return "d-big-1"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TENURE_DATA_DIR", str(tmp_path))
    return tmp_path


def waiting_payment(url: str) -> str:
    """A payment submitted three days ago that nobody approved (its window was one day)."""
    upgrade_to_head(url)
    engine = create_store_engine(url)
    uows, audit = SqlCorporateUnitOfWorkFactory(engine), QueuedAuditLog(SqlAuditLog(engine))
    clock = FixedClock(THREE_DAYS_AGO)
    staff = Actor.staff("staff-1")
    publish_mandate(
        uow=uows(), audit=audit, actor=staff, customer_id="corp-1",
        tiers=(ApprovalTier(100_000_00, 1),), clock=clock,
    )  # fmt: skip
    for operator_id, role in [("maker", "initiator"), ("checker", "approver")]:
        add_operator(
            uow=uows(), audit=audit, actor=staff, customer_id="corp-1", name_ref=operator_id,
            roles=(role,), single_limit_minor=10_000_000_00, daily_limit_minor=50_000_000_00,
            operator_id=operator_id, clock=clock,
        )  # fmt: skip
    log = SqlDecisionLog(engine)
    decision_id = dual_approval_decision(log)
    log.close()
    payment = submit_payment(
        uow=uows(), audit=audit, clock=clock, customer_id="corp-1", account_id="acct-1",
        payee_id="payee-1", amount_minor=500_000_00, currency="CNY", initiator_id="maker",
        decision_id=decision_id,
    )  # fmt: skip
    assert payment.status is PaymentStatus.PENDING_APPROVAL
    assert audit.flush(timeout=10)
    engine.dispose()
    return payment.id


def test_a_sweep_expires_the_overdue_payment_once_and_ends_its_decision(data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'operational.sqlite3'}"
    payment_id = waiting_payment(url)

    first = CliRunner().invoke(app, ["protection", "sweep", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {
        "expired": [payment_id],
        "released": [],
        "challenges_expired": [],
        "step_ups_not_started": [],
    }
    again = CliRunner().invoke(app, ["protection", "sweep", "--json"])
    assert json.loads(again.output) == {
        "expired": [],
        "released": [],
        "challenges_expired": [],
        "step_ups_not_started": [],
    }

    engine = create_store_engine(url)
    try:
        payment = get_payment(uow=SqlCorporateUnitOfWorkFactory(engine)(), payment_id=payment_id)
        assert payment.status is PaymentStatus.EXPIRED
        ended = SqlResolutions(engine).of(["d-big-1"])["d-big-1"]
        assert (ended.outcome, ended.reason) == (Outcome.DECLINE, "dual_approval_expired")
        with engine.connect() as db:
            actors = db.execute(
                sa.text("SELECT actor FROM audit_log WHERE action = 'corporate.payment_expired'")
            ).scalars().all()  # fmt: skip
        assert actors == ["system"]
    finally:
        engine.dispose()


def log_step_up(engine: sa.Engine, decision_id: str, at: datetime) -> None:
    """A step-up decision on a transfer of customer c-1, made at ``at``."""
    event = Event(
        kind=EventKind.TRANSFER, event_id=f"t-{decision_id}", customer_id="c-1", occurred_at=at,
        amount_minor=20_000_00, payee_id="payee-1",
    )  # fmt: skip
    log = SqlDecisionLog(engine)
    log.append(Decision(
        decision_id=decision_id, idempotency_key=f"transfer:t-{decision_id}", event=event,
        outcome=Outcome.STEP_UP, risk=0.2, model_risk=0.2, rule_score=0.0, reasons=(),
        costs=(ActionCost(Outcome.STEP_UP, 1.0, 0.0, 5.0),), decided_at=at,
        policy="expected_cost",
    ))  # fmt: skip
    log.close()


def unanswered_challenge(url: str) -> str:
    """A step-up decision ten minutes old whose SMS challenge (five minutes) was never answered."""
    upgrade_to_head(url)
    engine = create_store_engine(url)
    at = datetime.now(UTC) - timedelta(minutes=10)
    log_step_up(engine, "d-step-1", at)
    clock = FixedClock(at)
    challenge = start_challenge(
        uow=open_stepup_units(engine, clock=clock)(), decision_id="d-step-1", customer_id="c-1",
        method="sms", code_key=SecretStr("k" * 32), clock=clock,
    )  # fmt: skip
    engine.dispose()
    return challenge.id


def test_a_sweep_expires_an_unanswered_challenge_once_and_declines_its_decision(
    data_dir: Path,
) -> None:
    url = f"sqlite:///{data_dir / 'operational.sqlite3'}"
    challenge_id = unanswered_challenge(url)

    first = CliRunner().invoke(app, ["protection", "sweep", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["challenges_expired"] == [challenge_id]
    again = CliRunner().invoke(app, ["protection", "sweep", "--json"])
    assert json.loads(again.output)["challenges_expired"] == []

    engine = create_store_engine(url)
    try:
        stepup = open_stepup_units(engine, clock=SystemClock())()
        with stepup:  # read as stored (get_challenge would expire it itself)
            found = stepup.challenges.get(challenge_id)
        assert found is not None
        assert found.status is ChallengeStatus.EXPIRED
        ended = SqlResolutions(engine).of(["d-step-1"])["d-step-1"]
        assert (ended.outcome, ended.reason) == (Outcome.DECLINE, "step_up_expired")
        alerts = SqlDecisionLog(engine).open_alerts()
        assert [(a.decision_id, a.outcome) for a in alerts] == [("d-step-1", Outcome.DECLINE)]
    finally:
        engine.dispose()


def test_a_sweep_ends_a_step_up_never_started_once_and_without_an_alert(data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'operational.sqlite3'}"
    upgrade_to_head(url)
    engine = create_store_engine(url)
    now = datetime.now(UTC)
    log_step_up(engine, "d-abandoned", now - timedelta(minutes=20))  # past the 15 minutes
    log_step_up(engine, "d-fresh", now - timedelta(minutes=5))  # the customer may still start
    engine.dispose()

    first = CliRunner().invoke(app, ["protection", "sweep", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["step_ups_not_started"] == ["d-abandoned"]
    again = CliRunner().invoke(app, ["protection", "sweep", "--json"])
    assert json.loads(again.output)["step_ups_not_started"] == []

    engine = create_store_engine(url)
    try:
        ended = SqlResolutions(engine).of(["d-abandoned", "d-fresh"])
        assert list(ended) == ["d-abandoned"]
        assert (ended["d-abandoned"].outcome, ended["d-abandoned"].reason) == (
            Outcome.DECLINE,
            "step_up_not_started",
        )
        assert SqlDecisionLog(engine).open_alerts() == []
    finally:
        engine.dispose()


def test_sweep_help_tells_an_analyst_how_to_schedule_it() -> None:
    result = CliRunner().invoke(app, ["protection", "sweep", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--every" in result.output
    assert "approval window" in result.output
