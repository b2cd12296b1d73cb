"""``tenure protection train | policy-compare | backtest | replay`` as an analyst runs them, on a
small simulated bank (600 customers, 4 months: about 12,500 events and 60 fraud labels)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tenure.adapters.duckdb import DuckDBWarehouse
from tenure.adapters.sql import create_store_engine
from tenure.adapters.sql.audit import SqlAuditLog
from tenure.bootstrap import load_fraud_scorer
from tenure.cli.main import app
from tenure.core.clock import FixedClock
from tenure.data.ingest import ephemeral_protector, ingest_directory
from tenure.data.simulator import SimulationConfig, synthesize
from tenure.protection.engine import Engine
from tenure.protection.history import history_events
from tenure.protection.memory import InMemoryDecisionLog, MappingCustomerValues
from tenure.protection.scorer import SCORER_FEATURES
from tenure.protection.state.memory import MemoryKeyedState
from tenure.settings import Settings

pytestmark = pytest.mark.slow

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "examples" / "rules" / "default.yaml"
# seed 5 puts fraud in every part the commands split off: both sides of training's time split,
# the months before and inside policy-compare's two judged months, and replay's judged month
BANK = SimulationConfig(customers=600, months=4, seed=5)


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("protection-cli")
    synthesize(BANK, root / "bank")
    data = root / "data"
    data.mkdir()
    with DuckDBWarehouse.open(data / "warehouse.duckdb") as warehouse:
        ingest_directory(
            warehouse=warehouse, source_dir=root / "bank", protector=ephemeral_protector()
        )
    return data


@pytest.fixture(scope="module")
def history_size(bank_dir: Path) -> int:
    with DuckDBWarehouse.open(bank_dir / "warehouse.duckdb", read_only=True) as warehouse:
        return sum(1 for _ in history_events(warehouse))


def _run(data: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("TENURE_DATA_DIR", str(data))
    return CliRunner().invoke(app, ["protection", *args])


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def _unit_or_none(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and 0.0 <= value <= 1.0)


def test_train_registers_a_fraud_model_the_engine_loads(
    bank_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(bank_dir, monkeypatch, "train")

    assert result.exit_code == 0, result.output
    assert "registered fraud v0001" in result.output
    manifest_path = bank_dir / "models" / "fraud" / "v0001" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["name"] == "fraud"
    assert tuple(manifest["features"]) == SCORER_FEATURES
    assert manifest["training"]["fraud_events"] >= 10
    assert 0.5 < manifest["metrics"]["roc_auc"] <= 1.0
    store = create_store_engine(Settings(data_dir=bank_dir).operational_url)
    try:
        registered = [e for e in SqlAuditLog(store).entries() if e.action == "model.registered"]
    finally:
        store.dispose()
    assert [e.subject for e in registered] == ["model:fraud/v0001"]
    assert registered[0].details["artefact_sha256"] == manifest["artefact_sha256"]

    scorer = load_fraud_scorer(Settings(data_dir=bank_dir))
    assert scorer is not None
    assert scorer.version == "v0001"
    with DuckDBWarehouse.open(bank_dir / "warehouse.duckdb", read_only=True) as warehouse:
        event = next(history_events(warehouse)).event
    engine = Engine(
        state=MemoryKeyedState(),
        log=InMemoryDecisionLog(),
        values=MappingCustomerValues({}),
        scorer=scorer,
        clock=FixedClock(event.occurred_at),
    )
    decision = engine.decide(event)
    assert decision.model_version == "v0001"
    assert decision.model_risk is not None
    assert 0.0 <= decision.model_risk <= 1.0


def _bill_adds_up(bill: dict[str, Any], total: float, events: int) -> None:
    parts = bill["fraud_loss"] + bill["friction"] + bill["churn_caused"] + bill["handling"]
    assert parts == pytest.approx(bill["total"], abs=0.05)
    assert bill["total"] == total
    assert sum(bill["outcomes"].values()) == events


def test_policy_compare_bills_both_policies_on_the_judged_months(
    bank_dir: Path, monkeypatch: pytest.MonkeyPatch, history_size: int
) -> None:
    figures = _json(_run(bank_dir, monkeypatch, "policy-compare", "--json"))

    assert isinstance(figures["expected_cost_total"], float | int)
    assert isinstance(figures["threshold_total"], float | int)
    assert 0.0 <= figures["auprc"] <= 1.0
    assert 0.0 <= figures["recall_at_1pct_fpr"] <= 1.0
    assert 0 < figures["fraud_events"] < figures["events"] < history_size
    assert figures["judged_from"].startswith("2025-03-01")
    _bill_adds_up(figures["expected_cost"], figures["expected_cost_total"], figures["events"])
    _bill_adds_up(figures["threshold"], figures["threshold_total"], figures["events"])
    assert 0.0 <= figures["threshold_step_up_at"] <= figures["threshold_decline_at"] <= 1.0


def test_backtest_of_the_default_rules_counts_alerts_and_hits_over_all_history(
    bank_dir: Path, monkeypatch: pytest.MonkeyPatch, history_size: int
) -> None:
    figures = _json(_run(bank_dir, monkeypatch, "backtest", str(DEFAULT_RULES), "--json"))

    assert figures["events"] == history_size
    assert 0 < figures["fraud_events"] < figures["events"]
    assert 0 <= figures["alerts"] <= figures["events"]
    assert _unit_or_none(figures["precision"])
    assert _unit_or_none(figures["recall"])
    rules = figures["rules"]
    assert [rule["rule_id"] for rule in rules][:2] == ["blocked_payee", "sanctioned_bank"]
    assert sum(rule["hits"] for rule in rules) >= figures["alerts"]
    assert all(0 <= rule["fraud_hits"] <= rule["hits"] for rule in rules)
    assert figures["cost_total"] >= figures["fraud_loss"] >= 0


def test_backtest_bills_the_alerts_with_the_costs_in_force(
    bank_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built_in = _json(_run(bank_dir, monkeypatch, "backtest", str(DEFAULT_RULES), "--json"))
    config = tmp_path / "protection.yaml"
    # every alert the backtest raises is at least a step-up: make handling one cost 10,000 CNY
    config.write_text(
        "costs:\n  actions:\n"
        + "".join(
            f"    {action}: {{handling_minor: 1000000}}\n"
            for action in ("step_up", "confirm", "hold", "decline")
        )
    )
    monkeypatch.setenv("TENURE_PROTECTION_CONFIG_FILE", str(config))
    costly = _json(_run(bank_dir, monkeypatch, "backtest", str(DEFAULT_RULES), "--json"))

    assert costly["alerts"] == built_in["alerts"] > 0
    assert costly["fraud_loss"] == built_in["fraud_loss"]
    assert costly["cost_total"] >= built_in["cost_total"] + 9_000 * costly["alerts"]


def test_backtest_of_a_missing_rule_set_fails_with_a_message(
    bank_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(bank_dir, monkeypatch, "backtest", "no-such-file.yaml")

    assert result.exit_code == 2
    assert "neither a file nor name@version" in " ".join(result.output.split())


def test_replay_runs_the_live_engine_over_the_last_month(
    bank_dir: Path, monkeypatch: pytest.MonkeyPatch, history_size: int
) -> None:
    figures = _json(_run(bank_dir, monkeypatch, "replay", "--evaluate-months", "1", "--json"))

    assert figures["decisions_per_second"] > 0
    assert 0 < figures["events"] < history_size
    assert sum(figures["outcomes"].values()) == figures["events"]
    assert 0 < figures["fraud_events"] <= figures["events"]
    assert 0.0 <= figures["auprc"] <= 1.0
    assert 0 <= figures["fraud_stopped"] <= figures["fraud_events"]
    assert figures["total_cost"] >= figures["fraud_loss"] >= 0


@pytest.mark.parametrize(
    ("command", "failure"),
    [
        (["train"], "training failed"),
        (["policy-compare", "--json"], "comparison failed"),
        (["replay", "--json"], "replay failed"),
    ],
)
def test_empty_warehouse_fails_with_a_clear_message(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], failure: str
) -> None:
    result = _run(data_dir, monkeypatch, *command)

    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert failure in said
    assert "the warehouse holds no events" in said
    assert not (data_dir / "models" / "fraud").exists()
