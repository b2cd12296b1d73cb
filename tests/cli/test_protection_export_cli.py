"""``tenure protection export-decisions``: the operational store's decisions into the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.adapters.sql import create_store_engine, upgrade_to_head
from tenure.adapters.sql.decision_log import SqlDecisionLog
from tenure.cli.main import app
from tenure.core.decision import ActionCost
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision
from tenure.protection.events import Event, EventKind

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_new_decisions_are_copied_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_DATA_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'operational.sqlite3'}"
    upgrade_to_head(url)
    store = create_store_engine(url)
    log = SqlDecisionLog(store)
    event = Event(kind=EventKind.LOGIN, event_id="l1", customer_id="C1", occurred_at=AT)
    log.append(Decision(
        decision_id="d1", idempotency_key="login:l1", event=event, outcome=Outcome.STEP_UP,
        risk=0.2, model_risk=0.2, rule_score=0.0, reasons=(),
        costs=(ActionCost(Outcome.STEP_UP, 1.0, 1.0, 1.0),), decided_at=AT, policy="expected_cost",
    ))  # fmt: skip
    log.close()
    store.dispose()

    first = CliRunner().invoke(app, ["protection", "export-decisions"], env={"COLUMNS": "120"})
    assert first.exit_code == 0, first.output
    assert "copied 1 decisions" in first.output
    assert "2025-03-01 09:00:00" in first.output
    again = CliRunner().invoke(app, ["protection", "export-decisions"], env={"COLUMNS": "120"})
    assert "copied 0 decisions" in again.output
