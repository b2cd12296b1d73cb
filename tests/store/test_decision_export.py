"""Protection decisions into the warehouse (from SQLite and PostgreSQL): each copied once, late
commits inside the overlap still copied, and retention's friction features count them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from protection_store import BACKENDS, open_store
from sqlalchemy.engine import Engine

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.duckdb.decision_export import OVERLAP, export_decisions
from tenure.adapters.sql.decision_log import SqlDecisionLog
from tenure.core.decision import ActionCost
from tenure.core.outcome import Outcome
from tenure.protection.decision import Decision
from tenure.protection.events import Event, EventKind
from tenure.retention.features.compute import compute_features

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS[1:])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path)


@pytest.fixture
def log(store: Engine) -> Iterator[SqlDecisionLog]:
    log = SqlDecisionLog(store)
    yield log
    log.close()


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    with DuckDBWarehouse.open(tmp_path / "warehouse.duckdb") as opened:
        yield opened


def decide(log: SqlDecisionLog, name: str, outcome: Outcome, minutes: float) -> None:
    at = AT + timedelta(minutes=minutes)
    event = Event(
        kind=EventKind.LOGIN, event_id=name, customer_id="C1", occurred_at=at, success=True
    )
    log.append(Decision(
        decision_id=f"d-{name}", idempotency_key=f"login:{name}", event=event, outcome=outcome,
        risk=0.1, model_risk=0.1, rule_score=0.0, reasons=(),
        costs=(ActionCost(outcome, 1.0, 1.0, 1.0),), decided_at=at, policy="expected_cost",
    ))  # fmt: skip


def held(warehouse: DuckDBWarehouse) -> list[tuple[str, str]]:
    rows = warehouse.fetch_all("SELECT decision_id, action FROM protection_decisions ORDER BY 1")
    return [(str(row[0]), str(row[1])) for row in rows]


def test_each_decision_is_copied_once(
    store: Engine, log: SqlDecisionLog, warehouse: DuckDBWarehouse
) -> None:
    assert export_decisions(store, warehouse).copied == 0  # nothing decided yet: an empty table
    decide(log, "a", Outcome.ALLOW, 0)
    decide(log, "b", Outcome.STEP_UP, 1)
    first = export_decisions(store, warehouse)
    assert (first.copied, first.newest) == (2, AT + timedelta(minutes=1))
    assert export_decisions(store, warehouse).copied == 0
    decide(log, "c", Outcome.DECLINE, 2)
    assert export_decisions(store, warehouse).copied == 1
    assert held(warehouse) == [("d-a", "allow"), ("d-b", "step_up"), ("d-c", "decline")]


def test_a_decision_logged_late_within_the_overlap_is_still_copied(
    store: Engine, log: SqlDecisionLog, warehouse: DuckDBWarehouse
) -> None:
    decide(log, "a", Outcome.ALLOW, 10)
    export_decisions(store, warehouse)
    # another worker commits a decision made a few minutes before the newest one copied
    late = (OVERLAP / timedelta(minutes=1)) / 2
    decide(log, "late", Outcome.HOLD, 10 - late)
    assert export_decisions(store, warehouse).copied == 1
    assert ("d-late", "hold") in held(warehouse)


def test_retention_counts_the_exported_friction(
    store: Engine, log: SqlDecisionLog, warehouse: DuckDBWarehouse
) -> None:
    customer = {
        "customer_id": "C1", "customer_type": "retail", "full_name": "p-name", "region": "east",
        "kyc_risk": "low", "channel_preference": "mobile",
        "opened_at": pd.Timestamp(AT - timedelta(days=400)),
    }  # fmt: skip
    warehouse.insert_frame("customers", pd.DataFrame([customer]))
    for index, outcome in enumerate([Outcome.STEP_UP, Outcome.STEP_UP, Outcome.HOLD]):
        decide(log, f"e{index}", outcome, index)
    export_decisions(store, warehouse)
    features = compute_features(warehouse=warehouse, as_of=AT + timedelta(days=1))
    row = features.set_index("customer_id").loc["C1"]
    assert (row["step_ups_90d"], row["holds_90d"], row["protection_friction_30d"]) == (2, 1, 3)
